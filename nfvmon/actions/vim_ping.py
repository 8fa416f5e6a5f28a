"""`nfvmon.vim_ping_action`: the ICMP monitor of one VIM.

The constructor's parameters are the contract with the generator (`nfvmon validate` checks
each generated task against them); only plain JSON values live on the instance, because
Mistral rebuilds actions on the executor without calling `__init__`. `run()` hands the loop
to the process-wide engine (nfvmon.actions.runtime); `run_mode` says whether it then waits
for the monitor's end (sync) or returns at once (async; see nfvmon.actions.modes). The end
result says why the monitor ended: `killed` or `execution_gone` (SUCCESS), or an error or a
refusal (ERROR, with one line: see nfvmon.actions.reasons).
"""

from __future__ import annotations

from mistral_lib import actions

from nfvmon import defaults
from nfvmon.actions import modes

_D = defaults.VIM_MONITOR_DEFAULTS


class VimPingAction(actions.Action):
    """Ping a VIM's endpoint and report REACHABLE/UNREACHABLE changes to the conductor."""

    def __init__(self, vim_id: str, targetip: str, action_id: str,
                 count: int = _D["count"], timeout: float = _D["timeout"],
                 interval: float = _D["interval"], run_mode: str = defaults.SYNC):
        self.vim_id = vim_id
        self.targetip = targetip
        self.action_id = action_id
        self.count = count
        self.timeout = timeout
        self.interval = interval
        self.run_mode = run_mode

    def is_sync(self) -> bool:
        return self.run_mode != defaults.ASYNC

    def run(self, context):
        from nfvmon.actions.runtime import engine
        from nfvmon.actions.vim_monitor import VimMonitor

        monitor = VimMonitor(engine(), self.vim_id, self.targetip, self.count, self.timeout,
                             self.interval, self.action_id)
        return modes.run_monitor(monitor, self.run_mode, context)
