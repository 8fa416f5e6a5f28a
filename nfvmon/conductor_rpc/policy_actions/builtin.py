"""The built-in policy actions."""

from __future__ import annotations

import logging

from nfvmon import statuses
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyContext, PolicyResult

LOG = logging.getLogger(__name__)


def _describe(context: PolicyContext) -> str:
    target = context.report.get("target", "?")
    return f"VNF {context.vnf_id} VDU {context.vdu} ({target}) failed its liveness check"


class Log(PolicyAction):
    """Record the failure; the VNF stays DEAD until its monitor reports a recovery."""

    def execute(self, context: PolicyContext) -> PolicyResult:
        LOG.warning("%s", _describe(context))
        return PolicyResult(statuses.DEAD, _describe(context))


class LogAndKill(PolicyAction):
    """Record the failure, then have the VNF manager remove the VNF; monitoring stops."""

    def execute(self, context: PolicyContext) -> PolicyResult:
        LOG.warning("%s: killing it", _describe(context))
        context.manager.run("kill", context.vnf_id, context.vdu)
        return PolicyResult(statuses.DEAD, _describe(context) + "; killed", stop_monitor=True)


class _Heal(PolicyAction):
    pending_status = statuses.PENDING_HEAL
    capped = True
    operation = ""

    def execute(self, context: PolicyContext) -> PolicyResult:
        LOG.warning("%s: %s", _describe(context), self.operation)
        new_ips = context.manager.run(self.operation, context.vnf_id, context.vdu)
        return PolicyResult(statuses.ACTIVE, f"{self.operation} of VDU {context.vdu} done",
                            mgmt_ips=new_ips)


class Respawn(_Heal):
    """Recreate the failed VDU through the VNF manager; monitor its new addresses."""

    operation = "respawn"


class VduAutoheal(_Heal):
    """Heal the failed VDU in place through the VNF manager; monitor its new addresses."""

    operation = "heal"


class Autoscaling(PolicyAction):
    """Scale the VDU out through the VNF manager; monitor the larger set of addresses."""

    pending_status = statuses.PENDING_SCALE_OUT

    def execute(self, context: PolicyContext) -> PolicyResult:
        LOG.warning("%s: scaling out", _describe(context))
        new_ips = context.manager.run("scale_out", context.vnf_id, context.vdu)
        return PolicyResult(statuses.ACTIVE, f"scale-out of VDU {context.vdu} done",
                            mgmt_ips=new_ips)
