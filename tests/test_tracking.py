"""What a monitor reports after each round (pure; see nfvmon/actions/tracking.py)."""

from __future__ import annotations

from nfvmon.actions.tracking import TargetTracker, VimTracker


def test_vim_reports_the_first_result_and_changes_only():
    tracker = VimTracker()
    assert [tracker.observe(alive) for alive in (True, True, False, False, True)] == [
        "REACHABLE", None, "UNREACHABLE", None, "REACHABLE"]


def test_target_is_not_judged_during_monitoring_delay():
    tracker = TargetTracker(retry=1, monitoring_delay=45, started_at=0)
    assert tracker.observe(False, now=10) is None
    assert tracker.observe(False, now=44.9) is None
    assert tracker.observe(False, now=45) == "failure"


def test_retry_consecutive_failed_rounds_make_one_failure():
    tracker = TargetTracker(retry=3, monitoring_delay=0, started_at=0)
    rounds = [False, False, True, False, False, False, False, False]
    assert [tracker.observe(alive, now=1) for alive in rounds] == [
        None, None, None, None, None, "failure", None, None]


def test_a_reported_target_waits_then_reports_recovery_once():
    tracker = TargetTracker(retry=1, monitoring_delay=0, started_at=0)
    assert tracker.observe(False, now=1) == "failure"
    assert tracker.observe(False, now=2) is None
    assert tracker.observe(True, now=3) == "recovery"
    assert tracker.observe(True, now=4) is None
    assert tracker.observe(False, now=5) == "failure"
