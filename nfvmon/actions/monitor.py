"""The monitor loops the actions run on the engine: probing, reporting, check-in, control.

A monitor ends, and says why, when it is killed (`kill` on KILL_ACTION.<action_id>), when the
conductor answers `bad_action` (to a report or to the periodic check-in), or on an error it
cannot recover from. Transient faults never end it (see reporter.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nfvmon.actions import tracking
from nfvmon.actions.probes.http import tcp_connect
from nfvmon.actions.reporter import BAD_ACTION, Reporter
from nfvmon.actions.rounds import icmp_rounds
from nfvmon.actions.runtime import Engine

LOG = logging.getLogger(__name__)

KILLED, BAD, ERROR = "killed", "bad_action", "error"
EXECUTION_GONE = "execution_gone"


async def probe_round(probe: Callable[[float], Awaitable[bool]], count: int,
                      timeout: float) -> bool:
    """Up to `count` probes one after another; True at the first answer (see tracking.py)."""
    for _ in range(count):
        if await probe(timeout):
            return True
    return False


class Monitor:
    """The common part: control server, reporter, check-in, and the end result."""

    kind = ""

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
        declared when it is back, and check-in's `bad_action` covers a kill sent before."""
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
        if method == "kill":
            self.threadsafe(self.stop, KILLED)
        elif method == "update" and isinstance(args.get("parameter"), Mapping):
            self.threadsafe(self.on_update, dict(args["parameter"]))

    # --- conductor -------------------------------------------------------------------------

    async def _report(self) -> None:
        if await self.reporter.run() == BAD_ACTION:
            self.stop(BAD)

    async def _check_in(self) -> None:
        """Once at start, then every interval. The first one matters for a stale action: a
        kill cast before our queue existed was dropped by the broker, and a quiet monitor
        (a VNF's reports only failures) would otherwise probe until its first interval."""
        interval = self.engine.settings.checkin_interval
        while await self._check_in_once():
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def _check_in_once(self) -> bool:
        """One check-in; False when the monitor must end."""
        from nfvmon.conductor_rpc.client import RESYNC, state_digest

        digest = state_digest({"status": self.believed})
        try:
            answer = await self.engine.call_blocking(self._api.check_in, {},
                                                     self.action_id, digest)
        except Exception as exc:  # noqa: BLE001 - the next check-in tries again
            LOG.warning("check-in of %s failed: %s", self.action_id, type(exc).__name__)
            return True
        if answer == BAD_ACTION:
            self.stop(BAD)
            return False
        if await self._execution_gone():
            self.stop(EXECUTION_GONE)
            return False
        if answer == RESYNC:
            self.resync()
        return True

    async def _execution_gone(self) -> bool:
        """True when Mistral says our workflow execution does not exist (deleted while the
        conductor still had us as current: a lost deregistration, a manual delete)."""
        url = self.engine.settings.mistral_url
        if not url or not self.execution_id:
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
            self.stop(f"error: {type(exc).__name__}: {exc}")

    def send(self, payload) -> str:
        """Blocking RPC for one payload (runs on the engine's thread pool)."""
        raise NotImplementedError

    def _answered(self, payload, answer: str) -> None:
        if not answer.startswith("error"):
            self.believed = answer

    def resync(self) -> None:
        raise NotImplementedError

    def on_update(self, parameter: dict) -> None:
        LOG.info("%s monitor %s ignores update %r", self.kind, self.action_id, parameter)


class VimMonitor(Monitor):
    kind = "VIM"

    def __init__(self, engine: Engine, vim_id: str, target: str, count: int, timeout: float,
                 interval: float, action_id: str):
        super().__init__(engine, action_id)
        self.vim_id, self.target = vim_id, target
        self.count, self.timeout, self.interval = count, timeout, interval
        self.tracker = tracking.VimTracker()

    def identity(self):
        return {"vim_id": self.vim_id}

    def start_probing(self):
        self.spawn(self._probe_loop())

    async def _probe_loop(self) -> None:
        def observe(alive: bool) -> None:
            status = self.tracker.observe(alive)
            if status is not None:
                LOG.info("VIM %s (%s) is %s", self.vim_id, self.target, status)
                self.reporter.report("vim", status)

        await icmp_rounds(self.engine.icmp).follow(self.target, self.count, self.timeout,
                                                   self.interval, observe)

    def send(self, status: str) -> str:
        return self._api.update_vim({}, self.vim_id, status, self.action_id)

    def resync(self) -> None:
        if self.tracker.status != tracking.PENDING:
            self.reporter.report("vim", self.tracker.status)


class VnfMonitor(Monitor):
    kind = "VNF"

    def __init__(self, engine: Engine, vnf_id: str, policies: list[dict], action_id: str):
        super().__init__(engine, action_id)
        self.vnf_id = vnf_id
        self.policies = [dict(p) for p in policies]
        self.believed = "ACTIVE"
        self._targets: dict[tuple[int, str], tuple[asyncio.Task, tracking.TargetTracker]] = {}

    def identity(self):
        return {"vnf_id": self.vnf_id}

    def start_probing(self):
        for index, policy in enumerate(self.policies):
            for address in policy["mgmt_ips"]:
                self._start_target(index, address)

    def _start_target(self, index: int, address: str) -> None:
        params = self.policies[index]["parameters"]
        tracker = tracking.TargetTracker(retry=params["retry"],
                                         monitoring_delay=params["monitoring_delay"],
                                         started_at=time.monotonic())
        task = self.spawn(self._probe_loop(index, address, tracker))
        self._targets[(index, address)] = (task, tracker)

    def _prober(self, monitor: str, address: str, params: Mapping[str, Any]):
        if monitor == "http_ping":
            async def probe(timeout: float) -> bool:
                return await self.engine.http.get(address, params["port"], timeout)
        elif monitor == "tcp":
            async def probe(timeout: float) -> bool:
                return await tcp_connect(address, params["port"], timeout)
        else:
            raise ValueError(f"unknown monitor {monitor!r}")
        return probe

    async def _probe_loop(self, index: int, address: str,
                          tracker: tracking.TargetTracker) -> None:
        policy = self.policies[index]
        params = policy["parameters"]

        def observe(alive: bool) -> None:
            event = tracker.observe(alive, time.monotonic())
            if event is not None:
                LOG.info("VNF %s VDU %s (%s, %s): %s", self.vnf_id, policy["vdu"], address,
                         policy["monitor"], event)
                self.reporter.report((policy["vdu"], address, policy["monitor"]),
                                     self._event(policy, address, event))

        icmp = policy["monitor"] == "ping"
        probe = None if icmp else self._prober(policy["monitor"], address, params)
        await asyncio.sleep(random.uniform(0, min(params["interval"], 1.0)))
        if icmp:  # the process's shared ICMP rounds: one batch per tick for all targets
            await icmp_rounds(self.engine.icmp).follow(address, params["count"],
                                                       params["timeout"], params["interval"],
                                                       observe)
            return
        while True:
            started = time.monotonic()
            observe(await probe_round(probe, params["count"], params["timeout"]))
            await asyncio.sleep(max(0.0, started + params["interval"] - time.monotonic()))

    @staticmethod
    def _event(policy: dict, address: str, event: str) -> dict:
        return {"vdu": policy["vdu"], "target": address, "event": event,
                "monitor": policy["monitor"], "actions": dict(policy["actions"])}

    def send(self, event: dict) -> str:
        report = {key: event[key] for key in ("vdu", "target", "event", "monitor")}
        return self._api.execute_policy_action({}, {"id": self.vnf_id}, report,
                                               event["actions"], self.action_id)

    def resync(self) -> None:
        failed = [(i, a) for (i, a), (_t, tr) in self._targets.items() if tr.reported]
        for index, address in failed or list(self._targets)[:1]:
            policy = self.policies[index]
            self.reporter.report((policy["vdu"], address, policy["monitor"]),
                                 self._event(policy, address,
                                             tracking.FAILURE if failed else tracking.RECOVERY))

    def on_update(self, parameter: dict) -> None:
        """New management IPs (after respawn, heal or scale): re-target those VDUs.

        `parameter`: {"mgmt_ips": {VDU: [IP, ...]}, "renewed": [VDU, ...]}; a VDU is
        re-targeted when its addresses changed or it is named in `renewed` (respawned in
        place); the other VDUs keep their targets and their state."""
        mgmt_ips = parameter.get("mgmt_ips")
        if not isinstance(mgmt_ips, Mapping):
            LOG.warning("VNF monitor %s: update without mgmt_ips ignored", self.action_id)
            return
        renewed = set(parameter.get("renewed") or ())
        for index, policy in enumerate(self.policies):
            if policy["vdu"] not in mgmt_ips:
                continue
            new = [str(a) for a in mgmt_ips[policy["vdu"]]]
            if new == policy["mgmt_ips"] and policy["vdu"] not in renewed:
                continue  # untouched VDU: keep its targets and their state
            # The VDU was respawned, healed or scaled: judge every address afresh, after
            # monitoring_delay, even one that kept its address.
            for (i, address), (task, _tracker) in list(self._targets.items()):
                if i == index:
                    task.cancel()
                    del self._targets[(i, address)]
            for address in new:
                self._start_target(index, address)
            policy["mgmt_ips"] = new
            LOG.info("VNF %s VDU %s now monitored at %s", self.vnf_id, policy["vdu"],
                     ", ".join(new))
