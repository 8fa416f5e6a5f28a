"""What a monitor should report after each probe round: pure decisions, no I/O.

Probe rounds (the same for every monitor):
- a round sends up to `count` probes one after another; each waits up to `timeout` seconds
  for its answer, and the round succeeds at the first answer (so a healthy target costs one
  probe per round, and a dead one is judged after count x timeout seconds);
- rounds start every `interval` seconds; one that runs longer than `interval` is followed
  at once by the next (rounds never overlap).
A VIM is REACHABLE after a successful round and UNREACHABLE after a failed one. A VNF target
is not judged until `monitoring_delay` seconds after it was first monitored; `retry`
consecutive failed rounds make one `failure` event; after it the target waits (reporting no
further failure) until the conductor sends new addresses, or until it answers again, which is
reported once as a `recovery`.
"""

from __future__ import annotations

from dataclasses import dataclass

REACHABLE, UNREACHABLE, PENDING = "REACHABLE", "UNREACHABLE", "PENDING"
FAILURE, RECOVERY = "failure", "recovery"


class VimTracker:
    """The VIM's status as its monitor sees it; `observe` returns a status to report."""

    def __init__(self) -> None:
        self.status = PENDING

    def observe(self, alive: bool) -> str | None:
        status = REACHABLE if alive else UNREACHABLE
        if status == self.status:
            return None
        self.status = status
        return status


@dataclass
class TargetTracker:
    """One VNF target (a VDU policy on one management address)."""

    retry: int
    monitoring_delay: float
    started_at: float
    failed_rounds: int = 0
    reported: bool = False
    #: A round after monitoring_delay was seen: the monitor knows something of this target.
    judged: bool = False

    def observe(self, alive: bool, now: float) -> str | None:
        """`failure`, `recovery`, or None after one round at time `now`."""
        if now < self.started_at + self.monitoring_delay:
            return None
        self.judged = True
        if alive:
            self.failed_rounds = 0
            if self.reported:
                self.reported = False
                return RECOVERY
            return None
        if self.reported:
            return None
        self.failed_rounds += 1
        if self.failed_rounds >= self.retry:
            self.reported = True
            return FAILURE
        return None
