"""`nfvmon.vnf_policy_monitor`: the probe loops for every liveness policy of one VNF.

`policies` is a list of `{vdu, mgmt_ips, monitor, parameters, actions}` mappings, one per VDU
policy, as the generator writes them. The probe loop arrives with the action-pack issue; until
then `run()` reports that it is not available rather than pretending to monitor.
"""

from __future__ import annotations

from mistral_lib import actions


class VnfPolicyMonitorAction(actions.Action):
    """Monitor a VNF's VDUs and send failure events to the conductor's policy actions."""

    def __init__(self, vnf_id: str, policies: list, action_id: str):
        self.vnf_id = vnf_id
        self.policies = policies
        self.action_id = action_id

    def run(self, context):
        return actions.Result(error="nfvmon.vnf_policy_monitor: the probe loop is not "
                                    "implemented in this nfvmon version")
