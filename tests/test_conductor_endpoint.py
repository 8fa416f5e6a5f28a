"""The conductor's RPC methods and policy runner, called directly (no broker needed), on
SQLite and PostgreSQL (conftest's `store`)."""

from __future__ import annotations

import threading
import time

import pytest

from nfvmon import protocol, statuses
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.endpoints import ConductorEndpoint
from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyResult
from nfvmon.conductor_rpc.policy_actions.builtin import Log, LogAndKill, Respawn
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.conductor_rpc.vnf_managers.base import ManagerError, VnfManager
from nfvmon.db.api import VIM, VNF

REPORT = {"vdu": "VDU1", "target": "127.0.0.2", "event": "failure", "details": "3 rounds lost"}


class FakeControl:
    def __init__(self):
        self.casts = []

    def kill(self, ctxt, action_id):
        self.casts.append(("kill", action_id, None))

    def update(self, ctxt, action_id, parameter):
        self.casts.append(("update", action_id, parameter))


class ScriptedManager(VnfManager):
    """Fails `failures` times, then answers with new addresses for the VDU."""

    def __init__(self, failures=0, new_ips=None):
        super().__init__(None)
        self.failures = failures
        self.new_ips = new_ips or {}
        self.calls = []

    def run(self, operation, vnf_id, vdu):
        self.calls.append((operation, vnf_id, vdu))
        if len(self.calls) <= self.failures:
            raise ManagerError(f"{operation} failed (call {len(self.calls)})")
        return self.new_ips


class Blocking(PolicyAction):
    pending_status = statuses.PENDING_HEAL

    def __init__(self, conf=None):
        super().__init__(conf)
        self.release = threading.Event()
        self.started = threading.Event()

    def execute(self, context):
        self.started.set()
        self.release.wait(10)
        return PolicyResult(statuses.ACTIVE, "done")


@pytest.fixture
def make_conductor(store):
    made = []

    def make(manager=None, plugins=None, max_attempts=3, backoff=0.05, timeout=5.0):
        manager = manager or ScriptedManager()
        control = FakeControl()
        plugins = plugins or {"respawn": Respawn(None), "log": Log(None),
                              "log_and_kill": LogAndKill(None)}
        policy = states.HealPolicy(max_attempts=max_attempts, backoff_initial=backoff,
                                   backoff_max=backoff * 4, reset_after=3600)
        runner = PolicyRunner(store, plugins, manager, policy, workers=2, timeout=timeout,
                              control=control)
        made.append(runner)
        return ConductorEndpoint(store, runner, Metrics()), runner, control

    yield make
    for runner in made:
        runner.shutdown(wait=False)


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _vnf(store, status="ACTIVE", action_id="a1"):
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.3"]},
                     status=status, action_id=action_id)


def _fail(endpoint, action="respawn", action_id="a1", **report):
    return endpoint.execute_policy_action({}, vnf={"id": "vnf-1"},
                                          monitor_return_value={**REPORT, **report},
                                          policy_actions={"failure": action},
                                          action_id=action_id)


def _states(store):
    return [(e.event_type, e.state) for e in store.events(VNF, "vnf-1")]


def test_update_vim_answers_the_stored_status(store, make_conductor):
    endpoint, _, _ = make_conductor()
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    assert endpoint.update_vim({}, vim_id="vim-1", status="REACHABLE", action_id="a1") == \
        "REACHABLE"
    assert endpoint.update_vim({}, vim_id="vim-1", status="UNREACHABLE", action_id="zz") == \
        "bad_action"
    assert store.get_vim("vim-1").status == "REACHABLE"


@pytest.mark.parametrize("kwargs, message", [
    ({"vim_id": "vim-1", "status": "SLEEPY", "action_id": "a1"}, "unknown VIM status 'SLEEPY'"),
    ({"vim_id": None, "status": "REACHABLE", "action_id": "a1"}, "vim_id must be"),
    ({"vim_id": "vim-1", "status": "REACHABLE", "action_id": 7}, "action_id must be"),
])
def test_malformed_update_vim_gets_an_error_result(make_conductor, kwargs, message):
    endpoint, _, _ = make_conductor()
    answer = endpoint.update_vim({}, **kwargs)
    assert answer.startswith(protocol.ERROR_PREFIX) and message in answer


def test_failure_then_respawn_brings_the_vnf_back_with_new_addresses(store, make_conductor):
    manager = ScriptedManager(new_ips={"VDU1": ["127.0.0.9"]})
    endpoint, _, control = make_conductor(manager)
    _vnf(store)
    assert _fail(endpoint) == "DEAD"
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE")
    assert manager.calls == [("respawn", "vnf-1", "VDU1")]
    assert _states(store) == [("CREATE", "ACTIVE"), ("MONITOR", "DEAD"),
                              ("POLICY", "PENDING_HEAL"), ("POLICY", "ACTIVE")]
    assert control.casts == [("update", "a1", {"mgmt_ips": {"VDU1": ["127.0.0.9"],
                                                             "VDU2": ["127.0.0.3"]},
                                                "renewed": ["VDU1"]})]


def test_reports_while_healing_are_ignored_not_queued(store, make_conductor):
    blocking = Blocking()
    endpoint, _, _ = make_conductor(plugins={"respawn": blocking})
    _vnf(store)
    assert _fail(endpoint) == "DEAD"
    assert blocking.started.wait(5)
    assert _fail(endpoint, vdu="VDU2") == "PENDING_HEAL"
    assert _fail(endpoint) == "PENDING_HEAL"
    blocking.release.set()
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE")
    assert [s for s in _states(store) if s[1] == "DEAD"] == [("MONITOR", "DEAD")]


@pytest.mark.parametrize("status", ["ERROR", "PENDING_HEAL", "PENDING_CREATE"])
def test_never_dead_while_pending_or_error(store, make_conductor, status):
    endpoint, runner, _ = make_conductor()
    _vnf(store, status=status)
    assert _fail(endpoint) == status
    assert store.get_vnf("vnf-1").status == status
    assert not runner.busy("vnf-1")


def test_stale_action_report_gets_bad_action_and_runs_nothing(store, make_conductor):
    manager = ScriptedManager()
    endpoint, runner, _ = make_conductor(manager)
    _vnf(store, action_id="new")
    assert _fail(endpoint, action_id="old") == "bad_action"
    assert store.get_vnf("vnf-1").status == "ACTIVE"
    # A marker after it: a failure of the current action, acted on by `log`. Had the stale
    # report started a respawn, the VNF would be PENDING_HEAL and the marker coalesced.
    assert _fail(endpoint, action="log", action_id="new") == "DEAD"
    assert wait_for(lambda: not runner.busy("vnf-1"))
    assert manager.calls == []
    assert _states(store) == [("CREATE", "ACTIVE"), ("MONITOR", "DEAD")]


def test_unknown_policy_action_and_event_are_error_results(store, make_conductor):
    endpoint, _, _ = make_conductor()
    _vnf(store)
    answer = _fail(endpoint, action="reboot_the_world")
    assert answer.startswith("error: unknown policy action 'reboot_the_world'")
    assert _fail(endpoint, event="exploded").startswith("error: unknown event 'exploded'")
    assert endpoint.execute_policy_action({}, vnf=None, monitor_return_value=REPORT,
                                          policy_actions={}, action_id="a1") \
        .startswith("error: vnf.id")
    assert store.get_vnf("vnf-1").status == "ACTIVE"


def test_log_keeps_the_vnf_dead_until_its_monitor_reports_recovery(store, make_conductor):
    endpoint, runner, _ = make_conductor()
    _vnf(store)
    assert _fail(endpoint, action="log") == "DEAD"
    assert wait_for(lambda: not runner.busy("vnf-1"))
    assert store.get_vnf("vnf-1").status == "DEAD"
    assert _fail(endpoint, event="recovery") == "ACTIVE"


def test_log_and_kill_stops_the_monitor(store, make_conductor):
    manager = ScriptedManager()
    endpoint, runner, control = make_conductor(manager)
    _vnf(store)
    assert _fail(endpoint, action="log_and_kill") == "DEAD"
    assert wait_for(lambda: ("kill", "a1", None) in control.casts)
    assert manager.calls == [("kill", "vnf-1", "VDU1")]
    assert endpoint.check_in({}, action_id="a1", digest="x") == "bad_action"


def test_failing_respawn_backs_off_then_goes_to_cooldown_error(store, make_conductor):
    manager = ScriptedManager(failures=99)
    endpoint, runner, _ = make_conductor(manager, max_attempts=3, backoff=0.05)
    _vnf(store)
    assert _fail(endpoint) == "DEAD"
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ERROR")
    assert len(manager.calls) == 3
    vnf = store.get_vnf("vnf-1")
    assert "gave up after 3 attempts" in vnf.status_reason
    assert _fail(endpoint) == "ERROR"  # the cooldown holds
    assert wait_for(lambda: not runner.busy("vnf-1"))
    assert store.clear_vnf_error("vnf-1").outcome == "changed"
    assert _fail(endpoint) == "DEAD"  # cleared: the next failure acts again
    assert wait_for(lambda: len(manager.calls) == 4)


def test_a_respawn_that_succeeds_on_retry_ends_active(store, make_conductor):
    manager = ScriptedManager(failures=1, new_ips={"VDU1": ["127.0.0.8"]})
    endpoint, _, _ = make_conductor(manager, backoff=0.05)
    _vnf(store)
    _fail(endpoint)
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ACTIVE")
    assert len(manager.calls) == 2
    assert store.get_vnf("vnf-1").vdus[0].mgmt_ips == ["127.0.0.8"]


def test_hanging_plugin_is_abandoned_and_the_vnf_goes_to_error(store, make_conductor):
    blocking = Blocking()
    endpoint, runner, _ = make_conductor(plugins={"respawn": blocking}, timeout=0.3)
    _vnf(store)
    _fail(endpoint)
    assert wait_for(lambda: store.get_vnf("vnf-1").status == "ERROR")
    assert "did not finish in 0.3 s" in store.get_vnf("vnf-1").status_reason
    assert wait_for(lambda: not runner.busy("vnf-1"))
    blocking.release.set()


def test_a_second_job_for_a_busy_vnf_is_coalesced(store, make_conductor):
    blocking = Blocking()
    _, runner, _ = make_conductor(plugins={"respawn": blocking})
    _vnf(store, status="DEAD")
    assert runner.submit(PolicyJob("vnf-1", "VDU1", "respawn", "a1"))
    assert not runner.submit(PolicyJob("vnf-1", "VDU2", "respawn", "a1"))
    blocking.release.set()


def test_check_in_answers_ok_resync_or_bad_action(store, make_conductor):
    endpoint, _, _ = make_conductor()
    store.create_vim("vim-1", target="127.0.0.1", action_id="a1")
    pending = protocol.state_digest({"status": "PENDING"})
    assert endpoint.check_in({}, action_id="a1", digest=pending) == "ok"
    assert endpoint.check_in({}, action_id="a1",
                             digest=protocol.state_digest({"status": "REACHABLE"})) == "resync"
    assert endpoint.check_in({}, action_id="gone", digest=pending) == "bad_action"
    assert store.get_monitor(VIM, "vim-1").last_checkin_at is not None


def test_metrics_show_resources_by_status_transitions_and_rpc_time(store, make_conductor):
    _, runner, _ = make_conductor()
    metrics = Metrics(lambda: {VIM: store.statuses(VIM), VNF: store.statuses(VNF)})
    endpoint = ConductorEndpoint(store, runner, metrics)
    for index in range(3):
        store.create_vim(f"vim-{index}", target="127.0.0.1", action_id=f"a{index}")
    endpoint.update_vim({}, vim_id="vim-0", status="REACHABLE", action_id="a0")
    endpoint.update_vim({}, vim_id="vim-1", status="UNREACHABLE", action_id="a1")
    endpoint.update_vim({}, vim_id="vim-1", status="UNREACHABLE", action_id="a1")
    sample = metrics.registry.get_sample_value
    assert sample("nfvmon_resources", {"resource": "vim", "status": "PENDING"}) == 1
    assert sample("nfvmon_resources", {"resource": "vim", "status": "REACHABLE"}) == 1
    assert sample("nfvmon_status_transitions_total", {"resource": "vim", "to": "UNREACHABLE"}) \
        == 1
    assert sample("nfvmon_rpc_seconds_count", {"method": "update_vim"}) == 3


def test_a_failure_of_an_address_the_vdu_no_longer_has_resends_the_update(store,
                                                                          make_conductor):
    """A monitor that missed the update after a respawn re-sends the old failure at its
    check-in: the VDU is not respawned again; the monitor is told where it moved."""
    endpoint, _, control = make_conductor()
    _vnf(store)
    store.set_vdu_ips("vnf-1", {"VDU1": ["127.0.0.9"]})  # respawned: the update got lost
    assert _fail(endpoint) == "ACTIVE"
    assert store.get_vnf("vnf-1").status == "ACTIVE"
    assert _states(store) == [("CREATE", "ACTIVE")]
    assert control.casts == [("update", "a1", {"mgmt_ips": {"VDU1": ["127.0.0.9"],
                                                            "VDU2": ["127.0.0.3"]},
                                               "renewed": []})]
    assert _fail(endpoint, action_id="stale") == "bad_action"  # only to the current action
    assert len(control.casts) == 1
    # A failure of the current address is acted on as ever.
    assert _fail(endpoint, target="127.0.0.9") in ("DEAD", "PENDING_HEAL")
