"""`nfvmon.vim_ping_action`: the probe loop for one VIM.

The constructor's parameters are the contract with the generator (`nfvmon validate` checks
each generated task against them). The probe loop itself arrives with the action-pack issue;
until then `run()` reports that it is not available rather than pretending to monitor.
"""

from __future__ import annotations

from mistral_lib import actions

from nfvmon import defaults

_D = defaults.VIM_MONITOR_DEFAULTS


class VimPingAction(actions.Action):
    """Ping a VIM's endpoint and report REACHABLE/UNREACHABLE changes to the conductor."""

    def __init__(self, vim_id: str, targetip: str, action_id: str,
                 count: int = _D["count"], timeout: float = _D["timeout"],
                 interval: float = _D["interval"]):
        self.vim_id = vim_id
        self.targetip = targetip
        self.action_id = action_id
        self.count = count
        self.timeout = timeout
        self.interval = interval

    def run(self, context):
        return actions.Result(error="nfvmon.vim_ping_action: the probe loop is not "
                                    "implemented in this nfvmon version")
