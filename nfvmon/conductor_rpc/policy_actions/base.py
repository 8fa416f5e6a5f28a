"""The policy-action plugin interface."""

from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stevedore import extension

from nfvmon.conductor_rpc.vnf_managers.base import MgmtIps, VnfManager
from nfvmon.protocol import POLICY_ACTIONS

NAMESPACE = POLICY_ACTIONS
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class PolicyContext:
    """What a policy action knows: the VNF, the failed VDU, the report, the VNF manager."""

    vnf_id: str
    vdu: str | None
    mgmt_ips: Mapping[str, list[str]]
    report: Mapping[str, Any]
    manager: VnfManager


@dataclass(frozen=True)
class PolicyResult:
    """The VNF's status afterwards, new addresses to push to the monitor, and whether the
    monitor should stop (the VNF is gone)."""

    status: str
    reason: str = ""
    mgmt_ips: MgmtIps = field(default_factory=dict)
    stop_monitor: bool = False


class PolicyAction(abc.ABC):
    """One policy action. `execute` runs on a conductor worker thread, never an RPC thread."""

    #: Status the VNF shows while this action runs (None: it keeps DEAD).
    pending_status: str | None = None
    #: Counts against the per-VNF respawn/heal cap with back-off.
    capped: bool = False

    def __init__(self, conf):
        self.conf = conf

    @abc.abstractmethod
    def execute(self, context: PolicyContext) -> PolicyResult:
        """Do the action; raise to report failure (the runner records it)."""


def load_policy_actions(conf) -> dict[str, PolicyAction]:
    """Every installed policy action, by entry-point name; broken plugins are logged, skipped."""
    def on_failure(_manager, entry_point, exc):
        LOG.error("policy action %s cannot be loaded: %s", entry_point.name, exc)

    manager = extension.ExtensionManager(NAMESPACE, invoke_on_load=True, invoke_args=(conf,),
                                         on_load_failure_callback=on_failure)
    return {ext.name: ext.obj for ext in manager}
