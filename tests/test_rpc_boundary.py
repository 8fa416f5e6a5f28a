"""The conductor's RPC boundary: every argument checked before anything runs or is stored.

On SQLite and PostgreSQL (PostgreSQL refuses NUL in text: a NUL that reached it was an
internal error). A refused call answers `error: <short reason>`, logs one short WARNING line,
and leaves the store and the VNF manager untouched.
"""

from __future__ import annotations

import json
import logging

import pytest

from nfvmon import protocol
from nfvmon import status_machine as sm
from nfvmon.conductor_rpc import rpc_args, states
from nfvmon.conductor_rpc.endpoints import ConductorEndpoint
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.policy_actions.builtin import Log, Respawn
from nfvmon.conductor_rpc.policy_runner import PolicyRunner
from nfvmon.db.api import VIM, VNF
from tests.conftest import wait_for
from tests.test_conductor_endpoint import FakeControl, ScriptedManager

REPORT = {"vdu": "VDU1", "target": "127.0.0.2", "event": "failure", "monitor": "ping"}
MEGA = "X" * (1024 * 1024)


@pytest.fixture
def conductor(store):
    manager = ScriptedManager(new_ips={"VDU1": ["127.0.0.9"]})
    control = FakeControl()
    policy = states.HealPolicy(max_attempts=3, backoff_initial=0.05, backoff_max=0.2,
                               reset_after=3600)
    runner = PolicyRunner(store, {"respawn": Respawn(None), "log": Log(None)}, manager, policy,
                          workers=2, timeout=5, control=control)
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.3"]},
                     status="ACTIVE", action_id="a1")
    store.create_vim("vim-1", target="127.0.0.1", action_id="v1")
    yield ConductorEndpoint(store, runner, Metrics()), runner, manager, control
    runner.shutdown(wait=True)


def _report(endpoint, report=None, vnf=None, policy_actions=None, action_id="a1"):
    return endpoint.execute_policy_action(
        {}, vnf={"id": "vnf-1"} if vnf is None else vnf,
        monitor_return_value=REPORT if report is None else report,
        policy_actions={"failure": "respawn"} if policy_actions is None else policy_actions,
        action_id=action_id)


def _events(store):
    return [(e.event_type, e.state) for e in store.events(VNF, "vnf-1")]


def _assert_refused(answer, reason, caplog):
    """`error: <reason...>`, short, on one line; one short WARNING line and nothing else."""
    assert answer.startswith(protocol.ERROR_PREFIX + reason), answer[:300]
    assert len(answer) <= rpc_args.MAX_ERROR and "\n" not in answer
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in loud] == ["nfvmon.conductor_rpc.endpoints"], \
        [(r.name, r.getMessage()[:200]) for r in loud]
    line = loud[0].getMessage()
    assert len(line) <= 250 and "\n" not in line and "internal error" not in line


def _with(**changes):
    return {**REPORT, **changes}


BAD_REPORTS = [
    (_with(vdu={"a": 1}), "vdu must be a name"),
    (_with(target=["x"]), "target must be an IP address or a host name"),
    (_with(vdu="NO_SUCH_VDU"), "unknown VDU 'NO_SUCH_VDU' of VNF vnf-1"),
    (_with(vdu="VDU1\nNFVMON_OPERATION=kill"), "vdu must be a name"),
    (_with(vdu="VDU1;$(reboot)"), "vdu must be a name"),
    (_with(vdu=None), "vdu must be a name"),
    (_with(target="127.0.0.2\x00"), "monitor_return_value holds a NUL"),
    (_with(target="h" * 65), "target must be"),
    (_with(target="not an address"), "target must be"),
    (_with(details="lost\x00"), "monitor_return_value holds a NUL"),
    (_with(details={"k\x00": 1}), "monitor_return_value holds a NUL"),
    (_with(details="x" * 900_000), "monitor_return_value is 900"),
    (_with(details="x" * 4095), "details is 4097 bytes of JSON (at most 4096)"),
    (_with(extra="y" * 10_000), "monitor_return_value is 10"),
    (_with(event=MEGA), "monitor_return_value is 104"),
    (_with(event="X" * 5000), "unknown event 'XXXX"),
    (_with(monitor="ping\nx"), "monitor must be a name"),
    (_with(details=[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]), "monitor_return_value is nested"),
    ("failure", "monitor_return_value must be a mapping"),
]


@pytest.mark.parametrize("report, reason", BAD_REPORTS)
def test_a_malformed_report_is_refused_and_runs_nothing(store, conductor, caplog, report,
                                                        reason):
    endpoint, runner, manager, control = conductor
    caplog.set_level(logging.INFO)
    _assert_refused(_report(endpoint, report), reason, caplog)
    # Status writes and job submission happen inside the call: nothing happened.
    assert store.get_vnf("vnf-1").status == "ACTIVE"
    assert _events(store) == [("CREATE", "ACTIVE")]
    assert not runner.busy("vnf-1") and manager.calls == [] and control.casts == []


@pytest.mark.parametrize("kwargs, reason", [
    ({"vnf": {"id": "vnf-1\x00"}}, "vnf holds a NUL"),
    ({"vnf": {"id": "vnf-1", "name": MEGA}}, "vnf is 10"),
    ({"vnf": "vnf 1; reboot"}, "vnf.id must be an id"),
    ({"vnf": {"id": "v" * 129}}, "vnf.id must be an id"),
    ({"action_id": "a1\x00"}, "action_id must be an id"),
    ({"action_id": MEGA}, "action_id must be an id"),
    ({"policy_actions": {"failure": "respawn\x00"}}, "policy_actions holds a NUL"),
    ({"policy_actions": {"failure": ["respawn"]}}, "policy action for failure must be a name"),
    ({"policy_actions": {"explode": "respawn"}}, "unknown policy_actions event 'explode'"),
    ({"policy_actions": {"failure": "reboot_the_world"}},
     "unknown policy action 'reboot_the_world'"),
])
def test_malformed_call_arguments_are_refused(store, conductor, caplog, kwargs, reason):
    endpoint, runner, manager, _ = conductor
    caplog.set_level(logging.INFO)
    _assert_refused(_report(endpoint, **kwargs), reason, caplog)
    assert _events(store) == [("CREATE", "ACTIVE")] and not runner.busy("vnf-1")


@pytest.mark.parametrize("kwargs, reason", [
    ({"vim_id": "vim-1", "status": MEGA, "action_id": "v1"}, "unknown VIM status 'XXX"),
    ({"vim_id": "vim-1\x00", "status": "REACHABLE", "action_id": "v1"}, "vim_id must be"),
    ({"vim_id": "vim-1", "status": "REACHABLE\x00", "action_id": "v1"}, "unknown VIM status"),
    ({"vim_id": "vim-1", "status": "REACHABLE", "action_id": "v1\x00"}, "action_id must be"),
    ({"vim_id": ["vim-1"], "status": "REACHABLE", "action_id": "v1"}, "vim_id must be"),
])
def test_malformed_update_vim_is_refused_with_a_short_answer(store, conductor, caplog, kwargs,
                                                             reason):
    endpoint, _, _, _ = conductor
    caplog.set_level(logging.INFO)
    _assert_refused(endpoint.update_vim({}, **kwargs), reason, caplog)
    assert store.get_vim("vim-1").status == "PENDING"
    assert [e.event_type for e in store.events(VIM, "vim-1")] == ["CREATE"]


@pytest.mark.parametrize("kwargs, reason", [
    ({"action_id": "v1\x00", "digest": "d"}, "action_id must be"),
    ({"action_id": "v1", "digest": MEGA}, "digest must be a string of 1-64"),
    ({"action_id": "v1", "digest": "d\x00"}, "digest must be"),
])
def test_malformed_check_in_is_refused(store, conductor, caplog, kwargs, reason):
    endpoint, _, _, _ = conductor
    caplog.set_level(logging.INFO)
    _assert_refused(endpoint.check_in({}, **kwargs), reason, caplog)
    assert store.get_monitor(VIM, "vim-1").last_checkin_at is None


def test_an_unknown_vdu_from_a_stale_action_is_told_to_exit(store, conductor):
    endpoint, runner, manager, _ = conductor
    assert _report(endpoint, _with(vdu="VDU9"), action_id="old") == protocol.BAD_ACTION
    assert _events(store) == [("CREATE", "ACTIVE")] and not runner.busy("vnf-1")


def test_a_recovery_of_an_unknown_vdu_leaves_the_vnf_dead(store, conductor, caplog):
    endpoint, _, _, _ = conductor
    assert store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="a1").outcome == "changed"
    caplog.set_level(logging.INFO)
    _assert_refused(_report(endpoint, _with(vdu="NO_SUCH_VDU", event="recovery")),
                    "unknown VDU", caplog)
    assert store.get_vnf("vnf-1").status == "DEAD"


def test_a_recovery_of_an_address_the_vdu_no_longer_has_resends_the_update(store, conductor):
    """The old address answering says nothing about the VDU: the VNF stays DEAD and the
    monitor that missed the update gets it again."""
    endpoint, _, _, control = conductor
    store.set_vdu_ips("vnf-1", {"VDU1": ["127.0.0.9"]})
    assert store.write_status(VNF, "vnf-1", sm.FAILURE, action_id="a1").outcome == "changed"
    assert _report(endpoint, _with(event="recovery")) == "DEAD"
    assert store.get_vnf("vnf-1").status == "DEAD"
    assert control.casts == [("update", "a1", {"mgmt_ips": {"VDU1": ["127.0.0.9"],
                                                            "VDU2": ["127.0.0.3"]},
                                               "renewed": []})]
    # The current address answering brings it back.
    assert _report(endpoint, _with(event="recovery", target="127.0.0.9")) == "ACTIVE"


def test_event_rows_hold_only_the_checked_report_and_stay_small(store, conductor):
    endpoint, runner, manager, _ = conductor
    details = "x" * 4094  # 4096 bytes of JSON: the most accepted
    answer = _report(endpoint, _with(details=details, extra="not stored"))
    assert answer in ("DEAD", "PENDING_HEAL")
    event = store.events(VNF, "vnf-1")[1]
    assert (event.event_type, event.state) == ("MONITOR", "DEAD")
    assert event.details["report"] == {"vdu": "VDU1", "target": "127.0.0.2",
                                       "event": "failure", "monitor": "ping",
                                       "details": details}
    assert len(json.dumps(event.details)) < rpc_args.MAX_DETAILS + 256
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE")


def test_a_valid_report_in_another_spelling_of_the_address_is_acted_on(store, conductor):
    endpoint, runner, manager, _ = conductor
    assert _report(endpoint, _with(target="::ffff:127.0.0.2")) in ("DEAD", "PENDING_HEAL")
    assert store.events(VNF, "vnf-1")[1].details["report"]["target"] == "127.0.0.2"
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE")
    assert manager.calls == [("respawn", "vnf-1", "VDU1")]
