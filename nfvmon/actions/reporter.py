"""Deliver the latest state to the conductor, whatever the broker or the conductor does.

Each key (the VIM, or one VNF target) holds only its newest payload: a conductor that comes
back after an outage gets the current state, not a backlog of stale transitions. A failed
delivery (RPC timeout, broker restart, conductor down, or an internal error of the
conductor's: its database went away) is retried with bounded, jittered exponential
back-off while probing goes on. `bad_action` stops the monitor.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from nfvmon import protocol

LOG = logging.getLogger(__name__)

BAD_ACTION = protocol.BAD_ACTION  # what run() returns when the monitor must end


class ConductorFault(Exception):
    """The conductor answered an error of its own (`error: internal error ...`)."""


class Reporter:
    def __init__(self, send: Callable[[Any], Awaitable[str]],
                 on_answer: Callable[[Any, str], None], *, initial: float, maximum: float):
        self._send = send
        self._on_answer = on_answer
        self._initial = initial
        self._maximum = maximum
        self._latest: dict[Any, Any] = {}
        self._wake = asyncio.Event()
        self.failures = 0

    def report(self, key: Any, payload: Any) -> None:
        """Queue `payload` for `key`, replacing anything not yet delivered for it."""
        self._latest.pop(key, None)
        self._latest[key] = payload
        self._wake.set()

    def pending(self) -> int:
        return len(self._latest)

    async def run(self) -> str:
        """Deliver forever; returns `bad_action` when the conductor says so."""
        delay = self._initial
        while True:
            if not self._latest:
                self._wake.clear()
                await self._wake.wait()
            key, payload = next(iter(self._latest.items()))
            try:
                answer = await self._send(payload)
                if protocol.is_transient_error(answer):
                    raise ConductorFault(answer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every delivery fault is transient here
                self.failures += 1
                LOG.warning("conductor unreachable or failing (%s); retrying in about %.0f s",
                            str(exc)[:200] if isinstance(exc, ConductorFault)
                            else type(exc).__name__, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
                delay = min(delay * 2, self._maximum)
                continue
            delay = self._initial
            if self._latest.get(key) is payload:
                del self._latest[key]
            if answer == BAD_ACTION:
                return BAD_ACTION
            if protocol.is_error(answer):
                LOG.error("conductor refused %.300r: %.300s", payload, answer)
            self._on_answer(payload, answer)
