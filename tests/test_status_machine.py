"""The status machine: its table, and the Store applying every row of it from every status,
on SQLite and PostgreSQL (conftest's `store`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nfvmon import status_machine as sm
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyResult
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.conductor_rpc.vnf_managers.base import VnfManager
from nfvmon.db.models import utcnow
from nfvmon.db.policy_jobs import JobSpec
from nfvmon.statuses import VNF_PENDING_STATUSES
from tests.conftest import wait_for

ROWS = list(sm.TRANSITIONS.values())


def _create(store, resource_type: str, resource_id: str, status: str, action_id: str) -> None:
    if resource_type == sm.VIM:
        store.create_vim(resource_id, target="127.0.0.1", status=status, action_id=action_id)
    else:
        store.create_vnf(resource_id, vdus={"VDU1": ["127.0.0.2"]}, status=status,
                         action_id=action_id)


def test_every_row_moves_between_statuses_of_its_resource():
    for row in ROWS:
        known = sm.STATUSES[row.resource_type]
        assert row.to in known, row
        assert row.from_statuses is sm.ANY or set(row.from_statuses) <= set(known), row
        assert row.event_type in ("MONITOR", "CREATE", "CLEAR", "HEAL", "POLICY", "RECONCILE")


def test_only_a_monitors_reports_need_its_action_id():
    caused_by_monitor = {row.event for row in ROWS if row.needs_action}
    assert caused_by_monitor == {sm.MONITOR_REACHABLE, sm.MONITOR_UNREACHABLE, sm.FAILURE,
                                 sm.RECOVERY, sm.FIRST_CHECKIN}


def test_every_pending_status_says_what_ends_it_and_by_when():
    assert set(sm.PENDING) == set(VNF_PENDING_STATUSES)
    assert sm.pending_ended_by(sm.FIRST_CHECKIN_ENDS) == ("PENDING_CREATE",)
    assert set(sm.pending_ended_by(sm.JOB)) == set(sm.POLICY_PENDING_STATUSES)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert sm.job_deadline(now, 60, after=10) == now + timedelta(seconds=70 + sm.DEADLINE_GRACE)


def test_a_policy_action_can_start_in_and_end_from_each_pending_status_it_may_show():
    for pending in sm.POLICY_PENDING_STATUSES:
        started = sm.transition(sm.VNF, sm.policy_started(pending))
        assert (started.from_statuses, started.to) == (("DEAD",), pending)
        for event in (sm.POLICY_SUCCEEDED, sm.POLICY_FAILED, sm.POLICY_GAVE_UP,
                      sm.POLICY_TIMED_OUT, sm.POLICY_ATTEMPT_FAILED):
            assert sm.transition(sm.VNF, event).allows(pending), (event, pending)
    for status, event in sm.POLICY_RESULT_EVENTS.items():
        assert sm.transition(sm.VNF, event).to == status


def test_the_rendered_table_has_a_line_per_row():
    assert len(sm.render().splitlines()) == 1 + len(ROWS)
    assert "vnf       failure" in sm.render() and "ACTIVE -> DEAD" in sm.render()


@pytest.mark.parametrize("row", ROWS, ids=lambda row: f"{row.resource_type}-{row.event}")
def test_the_store_applies_the_row_exactly_from_the_statuses_it_names(store, row):
    for index, origin in enumerate(sm.STATUSES[row.resource_type]):
        resource_id = f"{row.resource_type}-{index}"
        action_id = f"action-{index}"
        _create(store, row.resource_type, resource_id, origin, action_id=action_id)
        written = store.write_status(row.resource_type, resource_id, row.event,
                                     action_id=action_id if row.needs_action else None,
                                     reason="by the table's test")
        get = store.get_vim if row.resource_type == sm.VIM else store.get_vnf
        last = store.events(row.resource_type, resource_id)[-1]
        if origin == row.to:
            assert (written.outcome, written.status) == ("unchanged", row.to), origin
            assert last.event_type == "CREATE"
        elif row.allows(origin):
            assert (written.outcome, written.status, written.previous) == \
                ("changed", row.to, origin)
            assert (last.event_type, last.state) == (row.event_type, row.to)
            assert last.details["from"] == origin
        else:
            assert (written.outcome, written.status) == ("guarded", origin), origin
            assert last.event_type == "CREATE"
        assert get(resource_id).status == (row.to if row.allows(origin) else origin)


@pytest.mark.parametrize("row", [row for row in ROWS if row.needs_action],
                         ids=lambda row: f"{row.resource_type}-{row.event}")
def test_a_monitor_event_from_a_stale_action_changes_nothing(store, row):
    origin = next(status for status in sm.STATUSES[row.resource_type]
                  if row.allows(status) and status != row.to)
    _create(store, row.resource_type, "r-1", origin, action_id="new")
    written = store.write_status(row.resource_type, "r-1", row.event, action_id="old")
    assert written.outcome == "bad_action"
    assert [event.event_type for event in store.events(row.resource_type, "r-1")] == ["CREATE"]


def test_a_failure_report_records_its_job_only_from_active(store):
    for index, origin in enumerate(sm.STATUSES[sm.VNF]):
        vnf_id = f"vnf-{index}"
        _create(store, sm.VNF, vnf_id, origin, action_id=f"action-{index}")
        written = store.jobs.fail_with_job(
            JobSpec(vnf_id, "VDU1", "respawn", f"action-{index}", {}), owner="c1",
            deadline=utcnow() + timedelta(seconds=60), reason="lost", details={})
        row = sm.transition(sm.VNF, sm.FAILURE)
        expected = ("changed" if row.allows(origin) else
                    "unchanged" if origin == row.to else "guarded")
        assert written.outcome == expected, origin
        assert (store.jobs.get(vnf_id) is not None) == (expected == "changed"), origin


def test_a_caller_that_saw_another_status_writes_nothing(store):
    _create(store, sm.VNF, "vnf-1", "PENDING_HEAL", action_id="a1")
    written = store.write_status(sm.VNF, "vnf-1", sm.POLICY_FAILED, seen="DEAD", reason="x")
    assert (written.outcome, written.status) == ("guarded", "PENDING_HEAL")
    with pytest.raises(sm.UnknownTransition):
        store.write_status(sm.VNF, "vnf-1", sm.POLICY_FAILED, seen="ACTIVE")
    assert store.get_vnf("vnf-1").status == "PENDING_HEAL"


def test_an_event_the_table_does_not_know_or_a_wrong_caller_is_refused(store):
    _create(store, sm.VNF, "vnf-1", "DEAD", action_id="a1")
    for event, action_id in (("DEAD", None), (sm.MONITOR_REACHABLE, "a1"),
                             (sm.RECOVERY, None), (sm.OPERATOR_CLEAR, "a1")):
        with pytest.raises(sm.UnknownTransition):
            store.write_status(sm.VNF, "vnf-1", event, action_id=action_id)
    assert [event.event_type for event in store.events(sm.VNF, "vnf-1")] == ["CREATE"]


class _NoManager(VnfManager):
    def run(self, operation, vnf_id, vdu):
        raise AssertionError("not called by these plugins")


class _Returns(PolicyAction):
    def __init__(self, status: str, pending: str | None = None):
        super().__init__(None)
        self.status = status
        self.pending_status = pending
        self.calls = 0

    def execute(self, context):
        self.calls += 1
        return PolicyResult(self.status, "done")


@pytest.mark.parametrize("plugin, line", [
    (_Returns("REACHABLE"), "returned status 'REACHABLE', not one of ACTIVE, DEAD, ERROR"),
    (_Returns("ACTIVE", pending="PENDING_CREATE"), "declares pending status PENDING_CREATE"),
])
def test_a_plugin_outside_the_table_ends_its_job_in_error(store, plugin, line):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a1")
    runner = PolicyRunner(store, {"odd": plugin}, _NoManager(None),
                          states.HealPolicy(3, 0.01, 0.05, 3600), workers=1, timeout=10)
    try:
        runner.fail(PolicyJob("vnf-1", "VDU1", "odd", "a1"), reason="lost", details={})
        assert wait_for(lambda: store.get_vnf("vnf-1").status == "ERROR", timeout=10)
        assert wait_for(lambda: store.jobs.get("vnf-1") is None, timeout=10)
    finally:
        runner.shutdown(wait=False)
    last = store.events(sm.VNF, "vnf-1")[-1]
    assert (last.event_type, last.state) == ("POLICY", "ERROR")
    assert line in last.details["reason"]
