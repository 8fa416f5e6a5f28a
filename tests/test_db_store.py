"""The database rules, on SQLite and PostgreSQL: only the current action may write."""

from __future__ import annotations

import json
import threading

from nfvmon import status_machine as sm
from nfvmon.db.api import VIM, VNF
from nfvmon.db.migrate import current_revision


def test_upgrade_reaches_the_head_revision(store, database_url):
    assert current_revision(database_url) == "0004"


def test_current_action_writes_and_each_change_is_one_event(store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    up, down = sm.MONITOR_REACHABLE, sm.MONITOR_UNREACHABLE
    assert store.write_status(VIM, "vim-1", up, action_id="a1").outcome == "changed"
    assert store.write_status(VIM, "vim-1", up, action_id="a1").outcome == "unchanged"
    assert store.write_status(VIM, "vim-1", down, action_id="a1").previous == "REACHABLE"
    events = [(e.event_type, e.state) for e in store.events(VIM, "vim-1")]
    assert events == [("CREATE", "PENDING"), ("MONITOR", "REACHABLE"), ("MONITOR", "UNREACHABLE")]


def test_stale_action_gets_bad_action_and_changes_nothing(store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="old")
    store.set_action(VIM, "vim-1", "new", workflow_name="vim_id_vim-1")
    written = store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE, action_id="old")
    assert written.outcome == "bad_action"
    assert store.get_vim("vim-1").status == "PENDING"
    assert store.check_in("old") is None
    assert store.check_in("new").resource_id == "vim-1"


def test_an_execution_is_recorded_only_for_the_current_action_and_keeps_its_check_in(store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    store.check_in("a1")  # the action checked in before its deploy call returned
    assert store.record_execution(VIM, "vim-1", "a1", workflow_name="vim_id_vim-1",
                                  execution_id="e1")
    monitor = store.get_monitor(VIM, "vim-1")
    assert (monitor.execution_id, monitor.workflow_name) == ("e1", "vim_id_vim-1")
    assert monitor.last_checkin_at is not None
    assert store.replace_action(VIM, "vim-1", "a1", "a2")  # another conductor took over
    assert not store.record_execution(VIM, "vim-1", "a1", workflow_name="vim_id_vim-1",
                                      execution_id="e-late")
    assert store.get_monitor(VIM, "vim-1").action_id == "a2"


def test_deleted_resource_gets_bad_action(store):
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    assert store.delete_resource(VIM, "vim-1")
    written = store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE, action_id="a1")
    assert written.outcome == "bad_action"
    assert store.check_in("a1") is None
    assert [e.event_type for e in store.events(VIM, "vim-1")] == ["CREATE", "DELETE"]


def test_guard_keeps_a_pending_vnf_from_going_dead(store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, status="PENDING_HEAL",
                     action_id="a1")
    written = store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="a1")
    assert (written.outcome, written.status) == ("guarded", "PENDING_HEAL")
    assert store.get_vnf("vnf-1").status == "PENDING_HEAL"


def test_clear_error_is_the_only_way_out_of_error(store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, status="ERROR", action_id="a1")
    store.record_heal_attempt("vnf-1", 3, None)
    assert store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="a1").outcome == "guarded"
    assert store.clear_vnf_error("vnf-1").outcome == "changed"
    vnf = store.get_vnf("vnf-1")
    assert (vnf.status, vnf.heal_attempts) == ("ACTIVE", 0)
    assert store.clear_vnf_error("vnf-1").outcome == "unchanged"  # already ACTIVE


def test_vdu_addresses_are_replaced_and_added(store):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a1")
    store.set_vdu_ips("vnf-1", {"VDU1": ["127.0.0.3"], "VDU2": ["127.0.0.4", "127.0.0.5"]})
    vnf = store.get_vnf("vnf-1")
    assert {v.name: v.mgmt_ips for v in vnf.vdus} == {"VDU1": ["127.0.0.3"],
                                                       "VDU2": ["127.0.0.4", "127.0.0.5"]}


def test_racing_old_and_new_actions_never_let_the_old_one_write(store):
    """Two writers hammer the row while the current action switches from old to new."""
    store.create_vim("vim-1", target="127.0.0.1", action_id="old")
    switched = threading.Event()
    late_old_writes = []

    def writer(action_id: str, events: tuple[str, str]):
        for i in range(60):
            outcome = store.write_status(VIM, "vim-1", events[i % 2], action_id=action_id)
            if action_id == "old" and switched.is_set() and outcome.accepted:
                late_old_writes.append(i)
            if i == 20 and action_id == "old":
                store.set_action(VIM, "vim-1", "new")
                switched.set()

    up, down = sm.MONITOR_REACHABLE, sm.MONITOR_UNREACHABLE
    threads = [threading.Thread(target=writer, args=("old", (up, down))),
               threading.Thread(target=writer, args=("new", (down, up)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert late_old_writes == []
    final = store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE, action_id="new")
    assert final.accepted
    assert store.write_status(VIM, "vim-1", sm.MONITOR_UNREACHABLE,
                              action_id="old").outcome == "bad_action"


def test_many_writes_keep_the_rules_and_survive_new_connections(store):
    """Status writes reuse compiled (on PostgreSQL: prepared) statements and, on SQLite, one
    connection: past the first few calls, and after the connections are dropped, the rules
    still hold (a generic plan must not skip the action check)."""
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    events = ((sm.MONITOR_REACHABLE, "REACHABLE"), (sm.MONITOR_UNREACHABLE, "UNREACHABLE"))
    for _ in range(2):
        for index in range(12):
            event, status = events[index % 2]
            written = store.write_status(VIM, "vim-1", event, action_id="a1")
            assert (written.outcome, written.status) == ("changed", status)
        assert store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE,
                                  action_id="a2").outcome == "bad_action"
        assert store.write_status(VIM, "vim-1", sm.MONITOR_UNREACHABLE,
                                  action_id="a1").outcome == "unchanged"
        store.close()  # the next round starts on new connections
    assert len(store.events(VIM, "vim-1")) == 1 + 2 * 12


def test_an_event_row_has_a_bounded_size_whoever_writes_it(store):
    """A plugin's 100 KB exception text, a 900 KB report: the row keeps a bounded summary."""
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    written = store.write_status(VIM, "vim-1", sm.MONITOR_REACHABLE, action_id="a1",
                                 reason="boom\n" * 20000, details={"report": "x" * 900_000})
    assert written.outcome == "changed"
    vim = store.get_vim("vim-1")
    assert len(vim.status_reason) <= 1024 and "\n" not in vim.status_reason
    event = store.events(VIM, "vim-1")[-1]
    assert len(json.dumps(event.details)) <= 10_000  # details, reason and the old status
    assert event.details["truncated"].startswith('{"report": "xxx')
