"""The heal back-off decision (pure): whether another respawn/heal may start, and when.

Which event moves which status is nfvmon.status_machine's table. This decision takes an
observation and returns what to do, so tests drive it without sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class HealPolicy:
    max_attempts: int
    backoff_initial: float
    backoff_max: float
    #: A VNF that stayed healthy this long since its last heal starts counting afresh.
    reset_after: float


@dataclass(frozen=True)
class HealDecision:
    """`attempt` now (as attempt number `attempt`), `wait` `delay` seconds, or `give_up`."""

    verdict: str
    attempt: int = 0
    delay: float = 0.0


def decide_heal(policy: HealPolicy, attempts: int, last_heal_at: datetime | None,
                now: datetime) -> HealDecision:
    """Whether another respawn/heal may start, after how long, or whether to stop trying.

    The n-th attempt (n >= 2) waits backoff_initial * 2**(n-2) seconds (capped at
    backoff_max) after the previous one; after max_attempts the VNF goes to ERROR.
    """
    if last_heal_at is not None and (now - last_heal_at).total_seconds() >= policy.reset_after:
        attempts = 0
    if attempts >= policy.max_attempts:
        return HealDecision("give_up", attempts)
    if attempts == 0 or last_heal_at is None:
        return HealDecision("attempt", attempts + 1)
    wait = min(policy.backoff_initial * 2 ** (attempts - 1), policy.backoff_max)
    due = last_heal_at + timedelta(seconds=wait)
    if now >= due:
        return HealDecision("attempt", attempts + 1)
    return HealDecision("wait", attempts + 1, (due - now).total_seconds())
