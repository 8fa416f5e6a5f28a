"""The small typed policy model between the input formats and the templates.

Three VNFD forms and a VIM config all normalise into these dataclasses; the templates and the
output check see nothing else. `task_input()` is the exact mapping a workflow task passes to
its action, so the renderer and the round-trip check share one definition of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nfvmon.defaults import SYNC

Number = int | float

VIM_ACTION = "nfvmon.vim_ping_action"
VIM_TASK = "monitor_ping_vimPingVIMTASK"
VNF_ACTION = "nfvmon.vnf_policy_monitor"
VNF_TASK = "monitor_vnf_policies"


def _run_mode_input(run_mode: str) -> dict[str, object]:
    """The default, sync, is left out of the task input: workflows stay as they always were."""
    return {} if run_mode == SYNC else {"run_mode": run_mode}


@dataclass(frozen=True)
class VimMonitor:
    """One VIM's ICMP monitor: who to ping and how."""

    vim_id: str
    target: str
    count: int
    timeout: Number
    interval: Number
    action_id: str
    run_mode: str = SYNC

    @property
    def workflow_name(self) -> str:
        return f"vim_id_{self.vim_id}"

    def task_input(self) -> dict[str, object]:
        return {
            "vim_id": self.vim_id,
            "targetip": self.target,
            "count": self.count,
            "timeout": self.timeout,
            "interval": self.interval,
            "action_id": self.action_id,
            **_run_mode_input(self.run_mode),
        }


@dataclass(frozen=True)
class VduPolicy:
    """One monitor on one VDU, parameters complete (defaults filled in)."""

    vdu: str
    monitor: str
    parameters: Mapping[str, Number]
    actions: Mapping[str, str]


@dataclass(frozen=True)
class VduTarget:
    """A VDU policy bound to the management addresses it probes."""

    policy: VduPolicy
    mgmt_ips: tuple[str, ...]

    def as_input(self) -> dict[str, object]:
        return {
            "vdu": self.policy.vdu,
            "mgmt_ips": list(self.mgmt_ips),
            "monitor": self.policy.monitor,
            "parameters": dict(self.policy.parameters),
            "actions": dict(self.policy.actions),
        }


@dataclass(frozen=True)
class VnfMonitor:
    """All liveness policies of one VNF, run by one action with one action_id."""

    vnf_id: str
    action_id: str
    targets: tuple[VduTarget, ...] = field(default_factory=tuple)
    run_mode: str = SYNC

    @property
    def workflow_name(self) -> str:
        return f"vnf_id_{self.vnf_id}"

    def task_input(self) -> dict[str, object]:
        return {
            "vnf_id": self.vnf_id,
            "action_id": self.action_id,
            **_run_mode_input(self.run_mode),
            "policies": [target.as_input() for target in self.targets],
        }
