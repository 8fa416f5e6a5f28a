"""The monitor loops the actions run on the engine: probing, reporting, check-in, control.

A monitor ends, and says why, when it is killed (`kill` on KILL_ACTION.<action_id>), when the
conductor answers `bad_action` (to a report or to the periodic check-in: it then asks the
conductor once why, and ends refused with that line), or on an error it cannot recover
from. Transient faults never end it (see reporter.py). What is probed and what is reported
is per kind: vim_monitor.py, vnf_monitor.py.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from typing import Any

from nfvmon import protocol
from nfvmon.actions import tracking
from nfvmon.actions.reasons import EXECUTION_GONE, KILLED, error_reason, refused_reason
from nfvmon.actions.reporter import Reporter
from nfvmon.actions.runtime import Engine

LOG = logging.getLogger(__name__)


class Monitor:
    """The common part: control server, reporter, check-in, and the end result."""

    kind = ""
    #: What the conductor calls this kind of resource ("vim", "vnf").
    resource_type = ""

    def __init__(self, engine: Engine, action_id: str):
        self.engine = engine
        self.action_id = action_id
        #: Mistral's workflow execution running this action (from the action context).
        self.execution_id: str | None = None
        self.believed = tracking.PENDING
        self._stopped: asyncio.Event | None = None
        self._reason = ""
        self._tasks: list[asyncio.Task] = []
        self.reporter: Reporter | None = None

    # --- life cycle ------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        from nfvmon.conductor_rpc.client import ConductorAPI

        self._stopped = asyncio.Event()
        settings = self.engine.settings
        self._api = ConductorAPI(self.engine.transport, topic=settings.topic,
                                 timeout=settings.rpc_timeout)
        self.reporter = Reporter(self._deliver, self._answered, initial=settings.retry_initial,
                                 maximum=settings.retry_max)
        await self._register_control()
        try:
            self.spawn(self._report())
            self.spawn(self._check_in())
            self.start_probing()
            await self._stopped.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.engine.call_blocking(self.engine.control.unregister, self.action_id)
        LOG.info("%s monitor %s ended: %s", self.kind, self.action_id, self._reason)
        return self.outcome(self._reason)

    def outcome(self, reason: str) -> dict[str, Any]:
        """The action's result: who, which action, why it ended, the status it believed."""
        return {**self.identity(), "action_id": self.action_id, "reason": reason,
                "status": self.believed}

    def stop(self, reason: str) -> None:
        if self._stopped is not None and not self._stopped.is_set():
            self._reason = reason
            self._stopped.set()

    def threadsafe(self, function, *args) -> None:
        self.engine.loop.call_soon_threadsafe(function, *args)

    async def _register_control(self) -> None:
        """Serve KILL_ACTION.<action_id>. With the broker down, carry on: the queue is
        declared when it is back, and check-in's `bad_action` covers a kill sent before (the
        monitor then ends refused: superseded or stopped)."""
        registration = await self.engine.call_blocking(self.engine.control.register,
                                                       self.action_id, self._on_control)
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(registration)),
                                   self.engine.settings.control_wait)
        except TimeoutError:
            LOG.warning("%s monitor %s: control queue not declared after %.0f s (broker down "
                        "or busy); probing meanwhile", self.kind, self.action_id,
                        self.engine.settings.control_wait)

    def _on_control(self, method: str, args: dict) -> None:
        """`kill` or `update` from the control hub's thread, for this action only."""
        if args.get("action_id") != self.action_id:
            return
        if method == protocol.KILL:
            self.threadsafe(self.stop, KILLED)
        elif method == protocol.UPDATE and isinstance(args.get("parameter"), Mapping):
            self.threadsafe(self.on_update, dict(args["parameter"]))

    # --- conductor -------------------------------------------------------------------------

    async def _report(self) -> None:
        if await self.reporter.run() == protocol.BAD_ACTION:
            await self._refused()

    async def _refused(self) -> None:
        """End on `bad_action`, with the conductor's one line saying why (not registered,
        superseded, stopped), or ours when it cannot say (a 1.0 conductor, a lost answer)."""
        try:
            line = await self.engine.call_blocking(self._api.refusal, {}, self.action_id,
                                                   self.resource_type, self.resource_id())
            why = f"answer {line!r}"
        except Exception as exc:  # noqa: BLE001 - the refusal stands; only its reason is lost
            line, why = None, type(exc).__name__
        if not isinstance(line, str) or not line.strip() or protocol.is_error(line):
            LOG.warning("%s monitor %s: no reason for its refusal (%s)", self.kind,
                        self.action_id, why)
            line = (f"{self.kind} {self.resource_id()}: the conductor refused this monitor "
                    f"(action {self.action_id}): not registered, superseded or stopped "
                    f"(no reason given: {why})")
        self.stop(refused_reason(line))

    async def _check_in(self) -> None:
        """Once at start, then every interval. The first one matters for a stale action: a
        kill cast before our queue existed was dropped by the broker, and a quiet monitor
        (a VNF's reports only failures) would otherwise probe until its first interval."""
        interval = self.engine.settings.checkin_interval
        while await self._check_in_once():
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def _check_in_once(self) -> bool:
        """One check-in; False when the monitor must end."""
        digest = protocol.state_digest({"status": self.believed})
        try:
            answer = await self.engine.call_blocking(self._api.check_in, {},
                                                     self.action_id, digest)
        except Exception as exc:  # noqa: BLE001 - the next check-in tries again
            LOG.warning("check-in of %s failed: %s", self.action_id, type(exc).__name__)
            return True
        if answer == protocol.BAD_ACTION:
            await self._refused()
            return False
        if await self._execution_gone():
            self.stop(EXECUTION_GONE)
            return False
        if answer == protocol.RESYNC:
            self.resync()
        return True

    async def _execution_gone(self) -> bool:
        """True when Mistral says our workflow execution does not exist (deleted while the
        conductor still had us as current: a lost deregistration, a manual delete)."""
        if self.engine.mistral_access is None or not self.execution_id:
            return False

        def ask() -> bool:
            from mistralclient.api.base import APIException

            try:
                self.engine.mistral().executions.get(self.execution_id)
            except APIException as exc:
                return getattr(exc, "error_code", None) == 404
            return False

        try:
            return await self.engine.call_blocking(ask)
        except Exception as exc:  # noqa: BLE001 - Mistral unreachable: not a reason to end
            LOG.debug("execution check of %s failed: %s", self.action_id, exc)
            return False

    async def _deliver(self, payload) -> str:
        return await self.engine.call_blocking(self.send, payload)

    # --- per kind ----------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        raise NotImplementedError

    def resource_id(self) -> str:
        raise NotImplementedError

    def start_probing(self) -> None:
        raise NotImplementedError

    def spawn(self, coroutine) -> asyncio.Task:
        """A task of this monitor; if it fails, the monitor ends with the error."""
        task = asyncio.create_task(coroutine)
        task.add_done_callback(self._task_done)
        self._tasks.append(task)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            LOG.error("%s monitor %s failed: %s", self.kind, self.action_id, exc)
            self.stop(error_reason(exc))

    def send(self, payload) -> str:
        """Blocking RPC for one payload (runs on the engine's thread pool)."""
        raise NotImplementedError

    def _answered(self, payload, answer: str) -> None:
        if not protocol.is_error(answer):
            self.believed = answer

    def resync(self) -> None:
        raise NotImplementedError

    def on_update(self, parameter: dict) -> None:
        LOG.info("%s monitor %s ignores update %r", self.kind, self.action_id, parameter)
