"""`nfvmon.vim_ping_action`: the ICMP monitor of one VIM.

The constructor's parameters are the contract with the generator (`nfvmon validate` checks
each generated task against them); only plain JSON values live on the instance, because
Mistral rebuilds actions on the executor without calling `__init__`. `run()` hands the loop
to the process-wide engine (nfvmon.actions.runtime) and returns when the monitor ends, with a
result saying why: `killed`, `bad_action`, or an error.
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
        from nfvmon.actions.monitor import VimMonitor
        from nfvmon.actions.runtime import engine

        eng = engine()
        monitor = VimMonitor(eng, self.vim_id, self.targetip, self.count, self.timeout,
                             self.interval, self.action_id)
        monitor.execution_id = execution_id_of(context)
        return _result(eng.submit(monitor.run()).result())


def execution_id_of(context) -> str | None:
    """The workflow execution id Mistral passes in the action context (None when run
    outside Mistral)."""
    execution = getattr(context, "execution", None)
    return getattr(execution, "workflow_execution_id", None)


def _result(ended: dict) -> actions.Result:
    if ended["reason"].startswith("error"):
        return actions.Result(data=ended, error=ended["reason"])
    return actions.Result(data=ended)
