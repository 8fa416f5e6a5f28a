"""The probe rounds of every ICMP target of the process, sent in shared batches.

Each target's rounds follow tracking.py: up to `count` probes one after another, each
waiting up to `timeout`, success at the first answer; rounds start every `interval` seconds,
and one that runs longer is followed at once by the next (rounds never overlap). Rounds
due in the same tick (50 ms; a round is started at the end of the tick it falls in) go out
as one `IcmpProber.echo_many` batch, and so do the next probes of the rounds that batch left
unanswered, and overdue rounds that turn up in the same turn of the event loop: a thousand
targets cost a few batches a second, not a thousand coroutines, futures and timers.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import weakref
from collections.abc import Callable, Sequence
from typing import Protocol

TICK = 0.05


class BatchProber(Protocol):
    async def echo_many(self, addresses: Sequence[str], timeout: float,
                        on_answer: Callable[[int, float], None] | None = None,
                        ) -> list[float | None]: ...


class _Target:
    """One followed address: its parameters, and where its current round stands."""

    __slots__ = ("address", "count", "timeout", "interval", "on_round", "ended", "start",
                 "sent", "active")

    def __init__(self, address: str, count: int, timeout: float, interval: float,
                 on_round: Callable[[bool], None], ended: asyncio.Future, start: float):
        self.address, self.count, self.timeout, self.interval = address, count, timeout, interval
        self.on_round = on_round
        self.ended = ended  # its `follow` call returns (raises) when this is done
        self.start = start  # when the current (or next) round is due
        self.sent = 0  # probes sent in the current round
        self.active = True

    def fail(self, exc: BaseException) -> None:
        self.active = False
        if not self.ended.done():
            self.ended.set_exception(exc)


class IcmpRounds:
    """Schedules the rounds of all the targets followed on one prober (so: one per engine,
    see `icmp_rounds`)."""

    def __init__(self, prober: BatchProber, tick: float = TICK):
        self._prober = prober
        self._tick = tick
        self._due: dict[int, list[_Target]] = {}  # tick number -> rounds starting then
        self._ticks: list[int] = []  # heap of the keys of _due
        self._timer: asyncio.TimerHandle | None = None
        self._timer_tick = 0
        self._overdue: list[_Target] = []  # rounds to start as soon as the loop turns
        self._batches: set[asyncio.Task] = set()

    async def follow(self, address: str, count: int, timeout: float, interval: float,
                     on_round: Callable[[bool], None]) -> None:
        """Probe `address` in rounds until cancelled, calling `on_round(alive)` after each
        round. Raises what `on_round` or the prober raise (and then probes no more)."""
        loop = asyncio.get_running_loop()
        target = _Target(address, count, timeout, interval, on_round, loop.create_future(),
                         loop.time())
        self._schedule(target)
        try:
            await target.ended
        finally:
            target.active = False  # its pending round, if any, is dropped when due

    # --- when ------------------------------------------------------------------------------

    def _schedule(self, target: _Target) -> None:
        """Start the round of `target` at its tick, or at once if it is already due (a
        first round; the round after one that lasted longer than its interval)."""
        if target.start <= asyncio.get_running_loop().time():
            if not self._overdue:
                asyncio.get_running_loop().call_soon(self._on_overdue)
            self._overdue.append(target)
            return
        tick = math.ceil(target.start / self._tick)
        bucket = self._due.get(tick)
        if bucket is None:
            bucket = self._due[tick] = []
            heapq.heappush(self._ticks, tick)
            if self._timer is None or tick < self._timer_tick:
                self._arm(tick)
        bucket.append(target)

    def _arm(self, tick: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_at(tick * self._tick, self._on_tick,
                                                         tick)
        self._timer_tick = tick

    def _on_tick(self, tick: int) -> None:
        self._timer = None
        last = max(tick, math.floor(asyncio.get_running_loop().time() / self._tick))
        due: list[_Target] = []
        while self._ticks and self._ticks[0] <= last:
            due += self._due.pop(heapq.heappop(self._ticks))
        if self._ticks:
            self._arm(self._ticks[0])
        self._start(due)

    def _on_overdue(self) -> None:
        due, self._overdue = self._overdue, []
        self._start(due)

    def _start(self, due: list[_Target]) -> None:
        """Start these rounds: one batch per timeout value."""
        groups: dict[float, list[_Target]] = {}
        for target in due:
            if target.active:
                target.sent = 0
                groups.setdefault(target.timeout, []).append(target)
        for timeout, targets in groups.items():
            batch = asyncio.get_running_loop().create_task(self._probe(targets, timeout))
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)

    # --- what ------------------------------------------------------------------------------

    async def _probe(self, targets: list[_Target], timeout: float) -> None:
        """One probe for each round of `targets`, then the next for the unanswered ones,
        until each round has its answer or its `count` probes."""
        while targets:
            targets = [target for target in targets if target.active]
            for target in targets:
                target.sent += 1

            def answered(index: int, _rtt: float, targets: list[_Target] = targets) -> None:
                self._finish(targets[index], True)

            try:
                rtts = await self._prober.echo_many([t.address for t in targets], timeout,
                                              answered)
            except asyncio.CancelledError:  # the prober closed (the engine stops)
                for target in targets:
                    target.active = False
                    target.ended.cancel()
                raise
            except Exception as exc:  # noqa: BLE001 - each follower raises it
                for target in targets:
                    target.fail(exc)
                return
            unanswered = [t for t, rtt in zip(targets, rtts, strict=True) if rtt is None]
            targets = [t for t in unanswered if t.active and t.sent < t.count]
            for target in unanswered:
                if target.sent >= target.count:
                    self._finish(target, False)

    def _finish(self, target: _Target, alive: bool) -> None:
        """The round of `target` ended: report it, and schedule the next one."""
        if not target.active:
            return
        try:
            target.on_round(alive)
        except Exception as exc:  # noqa: BLE001 - raised by the target's `follow`
            target.fail(exc)
            return
        now = asyncio.get_running_loop().time()
        target.start = max(target.start + target.interval, now)
        self._schedule(target)


#: id(prober) -> its scheduler, while anything (a follower, a timer) holds the scheduler;
#: the scheduler holds its prober, so the id cannot be reused meanwhile.
_rounds: weakref.WeakValueDictionary[int, IcmpRounds] = weakref.WeakValueDictionary()


def icmp_rounds(prober: BatchProber) -> IcmpRounds:
    """The scheduler of `prober` (the engine's prober: one per process), made on first use."""
    rounds = _rounds.get(id(prober))
    if rounds is None:
        rounds = _rounds[id(prober)] = IcmpRounds(prober)
    return rounds
