"""How a monitor action runs on Mistral's executor: sync (the default) or async.

sync: `run()` hands the monitor to the process's engine and waits for its end on Mistral's
executor thread, then returns a result saying why it ended. Mistral runs each action on one
of its executor threads (`executor_thread_pool_size`, 64 by default) for as long as it runs,
so an executor hosts at most that many monitors. Nothing else is needed.

async (task input `run_mode: async`): `is_sync()` is False, so `run()` starts the monitor on
the engine and returns the thread at once; one executor then hosts as many monitors as the
engine can probe (1,000+). Mistral watches no asynchronous action: the monitor reports its
own end through Mistral's action-execution API (`PUT /v2/action_executions/<id>`, which
needs `[mistral] url` or Keystone's options in the executor's nfvmon configuration), and the
conductor's check-in is the watchdog: a monitor whose executor died stops checking in and
the conductor's reconciler re-creates it. Mistral calls `is_sync()` on its engine, before
any executor is chosen, which is why the mode is a task input and not executor configuration.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from mistral_lib import actions

from nfvmon.actions.reasons import error_reason, is_error, mistral_error
from nfvmon.defaults import ASYNC

LOG = logging.getLogger(__name__)

#: How many times an async monitor tries to report its end while Mistral is away (with
#: back-off doubling up to a minute: about 5 minutes in all). Past that, its check-ins have
#: stopped, and the reconciler replaces the execution Mistral still shows RUNNING.
COMPLETION_ATTEMPTS = 12


def execution_id_of(context) -> str | None:
    """The workflow execution id Mistral passes in the action context (None when run
    outside Mistral)."""
    execution = getattr(context, "execution", None)
    return getattr(execution, "workflow_execution_id", None)


def action_execution_id_of(context) -> str | None:
    execution = getattr(context, "execution", None)
    return getattr(execution, "action_execution_id", None)


def to_result(ended: dict[str, Any]) -> actions.Result:
    """SUCCESS with the end (`killed`, `execution_gone`); ERROR with one line for an error
    or a refusal (Mistral keeps only the error; `data` serves in-process callers)."""
    if is_error(ended["reason"]):
        return actions.Result(data=ended, error=mistral_error(ended["reason"]))
    return actions.Result(data=ended)


def run_monitor(monitor, run_mode: str, context) -> actions.Result | None:
    """Run `monitor` on its engine as `run_mode` says; what the action's `run()` returns."""
    monitor.execution_id = execution_id_of(context)
    engine = monitor.engine
    if run_mode != ASYNC:
        return to_result(engine.submit(monitor.run()).result())
    action_execution_id = action_execution_id_of(context)
    if engine.mistral_access is None:
        return actions.Result(error="run_mode async needs [mistral] url, or auth_type and "
                                    "its options (Keystone), in the nfvmon configuration of "
                                    "Mistral's executors")
    if not action_execution_id:
        return actions.Result(error="run_mode async runs only inside Mistral (no action "
                                    "execution id in the context)")
    engine.submit(_run_then_complete(monitor, action_execution_id))
    return None


async def _run_then_complete(monitor, action_execution_id: str) -> None:
    try:
        ended = await monitor.run()
    except Exception as exc:  # noqa: BLE001 - whatever happened, Mistral must hear of the end
        LOG.exception("monitor %s failed", monitor.action_id)
        ended = monitor.outcome(error_reason(exc))
    await complete_in_mistral(monitor.engine, action_execution_id, ended)


async def complete_in_mistral(engine, action_execution_id: str, ended: dict[str, Any]) -> bool:
    """Tell Mistral the action ended (SUCCESS with the end, or ERROR with `{"error": one
    line}` for an error or a refusal, as to_result says), retrying with back-off while
    Mistral is unreachable. True once Mistral has it or no longer knows the action
    execution (deleted with its workflow execution)."""
    reason = ended["reason"]
    # Mistral takes only a mapping as the output (a bare string is refused and the execution
    # would stay RUNNING); the task's state_info is then that mapping as text, the line in it.
    state, output = (("ERROR", {"error": mistral_error(reason)}) if is_error(reason)
                     else ("SUCCESS", ended))
    delay = 1.0
    for attempt in range(COMPLETION_ATTEMPTS):
        try:
            await engine.call_blocking(_put_action_execution, engine, action_execution_id,
                                       state, output)
            return True
        except _Gone:
            return True
        except Exception as exc:  # noqa: BLE001 - Mistral away: try again later
            LOG.warning("cannot report the end of action execution %s to Mistral "
                        "(attempt %d: %s)", action_execution_id, attempt + 1, exc)
        await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        delay = min(delay * 2, 60.0)
    LOG.error("gave up reporting the end of action execution %s to Mistral",
              action_execution_id)
    return False


class _Gone(Exception):
    pass


def _put_action_execution(engine, action_execution_id: str, state: str, output) -> None:
    from mistralclient.api.base import APIException

    try:
        engine.mistral().action_executions.update(action_execution_id, state=state,
                                                  output=output)
    except APIException as exc:
        code = getattr(exc, "error_code", None) or 0
        if 400 <= code < 500:  # deleted (404) or already completed: nothing to retry
            LOG.info("Mistral refused the end of action execution %s: %s",
                     action_execution_id, exc)
            raise _Gone() from None
        raise
