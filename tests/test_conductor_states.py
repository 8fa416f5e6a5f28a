"""The heal back-off decision, driven without sockets or a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nfvmon.conductor_rpc.states import HealPolicy, decide_heal

POLICY = HealPolicy(max_attempts=3, backoff_initial=10, backoff_max=25, reset_after=3600)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_first_attempt_starts_at_once():
    assert decide_heal(POLICY, 0, None, T0).verdict == "attempt"


def test_second_attempt_waits_the_initial_backoff():
    decision = decide_heal(POLICY, 1, T0, T0 + timedelta(seconds=4))
    assert (decision.verdict, decision.delay) == ("wait", 6)
    assert decide_heal(POLICY, 1, T0, T0 + timedelta(seconds=10)).verdict == "attempt"


def test_backoff_doubles_and_is_capped():
    assert decide_heal(POLICY, 2, T0, T0).delay == 20
    big = HealPolicy(max_attempts=10, backoff_initial=10, backoff_max=25, reset_after=3600)
    assert decide_heal(big, 5, T0, T0).delay == 25


def test_gives_up_after_the_cap():
    decision = decide_heal(POLICY, 3, T0, T0 + timedelta(seconds=100))
    assert (decision.verdict, decision.attempt) == ("give_up", 3)


def test_a_long_healthy_spell_resets_the_count():
    assert decide_heal(POLICY, 3, T0, T0 + timedelta(hours=2)).verdict == "attempt"
    assert decide_heal(POLICY, 3, T0, T0 + timedelta(hours=2)).attempt == 1
