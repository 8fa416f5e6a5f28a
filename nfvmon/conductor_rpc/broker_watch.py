"""Whether this conductor may judge monitors by their silence yet.

A monitor's check-ins cross the broker. While the broker is away, or for one grace period
after it came back (a check-in sent into the outage waits out its timeout), silence says
nothing about the monitor: re-creating it, or reporting it lost, would replace healthy
monitors wholesale. The conductor asks the broker itself, with a call to its own topic.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LOG = logging.getLogger(__name__)


class BrokerWatch:
    def __init__(self, reachable: Callable[[], bool], grace: float,
                 clock: Callable[[], float] = time.monotonic):
        self._reachable = reachable
        self._grace = grace
        self._clock = clock
        self._back_at: float | None = None

    def settled(self) -> bool:
        """True when the broker answers and has answered for at least one grace period
        (counted from this conductor's start, too: monitors could not check in while every
        conductor was down)."""
        now = self._clock()
        try:
            reachable = self._reachable()
        except Exception:  # noqa: BLE001 - any failure of the probe is "not reachable"
            reachable = False
        if not reachable:
            if self._back_at is not None:
                LOG.warning("the broker does not answer: monitors are not judged by their "
                            "silence until it has been back for %g s", self._grace)
            self._back_at = None
            return False
        if self._back_at is None:
            self._back_at = now
        return now - self._back_at >= self._grace


def self_call(api) -> Callable[[], bool]:
    """A probe of the broker: a check-in for no action, to any conductor on our topic; the
    answer (bad_action) proves the round trip."""
    def reachable() -> bool:
        api.check_in({}, "broker-probe", "-")
        return True
    return reachable
