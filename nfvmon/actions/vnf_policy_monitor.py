"""`nfvmon.vnf_policy_monitor`: the liveness monitors of every policy of one VNF.

`policies` is a list of `{vdu, mgmt_ips, monitor, parameters, actions}` mappings, one per VDU
policy, as the generator writes them. Only plain JSON values live on the instance; `run()`
hands the loops to the process-wide engine and, as `run_mode` says, waits for their end
(sync) or returns at once (async; see nfvmon.actions.modes).
"""

from __future__ import annotations

from mistral_lib import actions

from nfvmon import defaults
from nfvmon.actions import modes


class VnfPolicyMonitorAction(actions.Action):
    """Monitor a VNF's VDUs and send failure events to the conductor's policy actions."""

    def __init__(self, vnf_id: str, policies: list, action_id: str,
                 run_mode: str = defaults.SYNC):
        self.vnf_id = vnf_id
        self.policies = policies
        self.action_id = action_id
        self.run_mode = run_mode

    def is_sync(self) -> bool:
        return self.run_mode != defaults.ASYNC

    def run(self, context):
        from nfvmon.actions.runtime import engine
        from nfvmon.actions.vnf_monitor import VnfMonitor

        monitor = VnfMonitor(engine(), self.vnf_id, self.policies, self.action_id)
        return modes.run_monitor(monitor, self.run_mode, context)
