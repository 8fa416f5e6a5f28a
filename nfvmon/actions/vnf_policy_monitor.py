"""`nfvmon.vnf_policy_monitor`: the liveness monitors of every policy of one VNF.

`policies` is a list of `{vdu, mgmt_ips, monitor, parameters, actions}` mappings, one per VDU
policy, as the generator writes them. Only plain JSON values live on the instance; `run()`
hands the loops to the process-wide engine and returns when the monitor ends, with a result
saying why.
"""

from __future__ import annotations

from mistral_lib import actions

from nfvmon.actions.vim_ping import _result, execution_id_of


class VnfPolicyMonitorAction(actions.Action):
    """Monitor a VNF's VDUs and send failure events to the conductor's policy actions."""

    def __init__(self, vnf_id: str, policies: list, action_id: str):
        self.vnf_id = vnf_id
        self.policies = policies
        self.action_id = action_id

    def run(self, context):
        from nfvmon.actions.monitor import VnfMonitor
        from nfvmon.actions.runtime import engine

        eng = engine()
        monitor = VnfMonitor(eng, self.vnf_id, self.policies, self.action_id)
        monitor.execution_id = execution_id_of(context)
        return _result(eng.submit(monitor.run()).result())
