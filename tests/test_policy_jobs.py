"""Policy actions are durable: a conductor that dies mid-action leaves a job another one (or
itself, restarted) takes over, and no VNF stays pending for good. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from nfvmon import status_machine as sm
from nfvmon import statuses
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.policy_actions.base import PolicyAction, PolicyResult
from nfvmon.conductor_rpc.policy_actions.builtin import Respawn
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.conductor_rpc.vnf_managers.base import VnfManager
from nfvmon.db.api import VNF
from nfvmon.db.models import utcnow
from tests.conftest import wait_for

REPORT = {"vdu": "VDU1", "target": "127.0.0.2", "event": "failure", "details": "lost"}


class Clock:
    """utcnow, moved on by the test: deadlines pass without waiting for them."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self):
        return utcnow() + self.offset


class Manager(VnfManager):
    """Hangs while `hang` is set (like a VNF manager that never answers); else answers."""

    def __init__(self, answer=None, hang=False):
        super().__init__(None)
        self.answer = answer if answer is not None else {"VDU1": ["127.0.0.8"]}
        self.hang = threading.Event()
        if hang:
            self.hang.set()
        self.calls = []
        self.entered = threading.Event()
        self.release = threading.Event()

    def run(self, operation, vnf_id, vdu):
        self.calls.append((operation, vnf_id, vdu))
        self.entered.set()
        if self.hang.is_set():
            self.release.wait(30)
        return dict(self.answer)


@pytest.fixture
def runners(store):
    """PolicyRunners on the test's store; at the end every hung manager call is let go."""
    made = []

    def make(manager, owner="c1", clock=None, timeout=30.0, workers=2, plugins=None,
             max_attempts=3, max_running=64):
        runner = PolicyRunner(
            store, plugins or {"respawn": Respawn(None)}, manager,
            states.HealPolicy(max_attempts=max_attempts, backoff_initial=0.01,
                              backoff_max=0.05, reset_after=3600),
            workers=workers, timeout=timeout, owner=owner, clock=clock or Clock(),
            max_running=max_running)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        runner.shutdown(wait=False)
        getattr(runner._manager, "release", threading.Event()).set()


def _vnf(store, vnf_id="vnf-1", action_id="a1"):
    store.create_vnf(vnf_id, vdus={"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.3"]},
                     status="ACTIVE", action_id=action_id)


def _fail(runner, vnf_id="vnf-1", action_id="a1"):
    return runner.fail(PolicyJob(vnf_id, "VDU1", "respawn", action_id, REPORT),
                       reason="VDU1 failed", details={"report": REPORT})


def _status(store, vnf_id="vnf-1"):
    return store.get_vnf(vnf_id).status


def _killed_mid_respawn(store, runners, owner="c1"):
    """What a conductor killed mid-respawn leaves: PENDING_HEAL and its running job."""
    manager = Manager(hang=True)
    dying = runners(manager, owner=owner)
    _vnf(store)
    _fail(dying)
    assert manager.entered.wait(5)
    dying.shutdown(wait=False)  # its plugin thread is as good as dead: nothing more comes
    return manager


def test_a_failure_records_its_job_with_the_dead_status(store, runners):
    manager = Manager(hang=True)
    runner = runners(manager)
    _vnf(store)
    assert _fail(runner).outcome == "changed"
    assert manager.entered.wait(5)
    job = store.jobs.get("vnf-1")
    assert (job.action_name, job.vdu, job.owner, job.state) == ("respawn", "VDU1", "c1",
                                                                "running")
    assert job.monitor_action_id == "a1" and job.deadline > utcnow()
    assert _status(store) == "PENDING_HEAL"
    manager.release.set()
    assert wait_for(lambda: _status(store) == "ACTIVE")
    assert wait_for(lambda: store.jobs.get("vnf-1") is None)


def test_a_stale_failure_records_no_job(store, runners):
    runner = runners(Manager())
    _vnf(store, action_id="new")
    assert _fail(runner, action_id="old").outcome == "bad_action"
    assert store.jobs.get("vnf-1") is None and _status(store) == "ACTIVE"


def test_a_job_whose_conductor_died_is_taken_over_and_redone(store, runners):
    """kill -9 mid-respawn: the VNF was left PENDING_HEAL; past the job's deadline another
    conductor redoes the respawn and the VNF ends ACTIVE on its new address."""
    _killed_mid_respawn(store, runners)

    clock = Clock()
    manager = Manager({"VDU1": ["127.0.0.9"]})
    rival = runners(manager, owner="c2", clock=clock, timeout=30.0)
    assert rival.recover() == []  # within the deadline: the owner may still be alive
    assert _status(store) == "PENDING_HEAL"
    clock.offset = timedelta(seconds=40)
    assert rival.recover() == ["vnf-1"]
    assert wait_for(lambda: _status(store) == "ACTIVE")
    assert store.get_vnf("vnf-1").mgmt_ips["VDU1"] == ["127.0.0.9"]
    assert manager.calls == [("respawn", "vnf-1", "VDU1")]
    assert wait_for(lambda: store.jobs.get("vnf-1") is None)
    assert rival.recover() == []


def test_a_restarted_conductor_redoes_its_own_jobs_at_once(store, runners):
    _killed_mid_respawn(store, runners)
    restarted = runners(Manager(), owner="c1")
    assert restarted.recover(own=True) == ["vnf-1"]
    assert wait_for(lambda: _status(store) == "ACTIVE")


def test_two_conductors_take_over_a_job_once(store, runners):
    _killed_mid_respawn(store, runners)
    clock = Clock()
    clock.offset = timedelta(seconds=3600)
    second_manager, third_manager = Manager(hang=True), Manager(hang=True)
    second = runners(second_manager, owner="c2", clock=clock)
    third = runners(third_manager, owner="c3", clock=clock)
    job = store.jobs.expired(clock())[0]
    assert store.jobs.take_over(job, "c2", clock() + timedelta(seconds=60))
    assert not store.jobs.take_over(job, "c3", clock() + timedelta(seconds=60))
    assert third.recover() == [] and second.recover() == []  # c2's deadline is live


def test_a_redo_that_hangs_again_ends_in_error(store, runners):
    _killed_mid_respawn(store, runners)
    clock = Clock()
    clock.offset = timedelta(seconds=3600)
    hanging = Manager(hang=True)
    rival = runners(hanging, owner="c2", clock=clock, timeout=0.3)
    assert rival.recover() == ["vnf-1"]
    assert wait_for(lambda: _status(store) == "ERROR")
    assert "did not finish in 0.3 s" in store.get_vnf("vnf-1").status_reason
    assert wait_for(lambda: store.jobs.get("vnf-1") is None)


def test_clear_error_and_a_pending_vnf(store, runners):
    """clear-error refuses a VNF whose job is live, and lifts one whose job is past its
    deadline (its conductor died)."""
    _killed_mid_respawn(store, runners)
    assert store.clear_vnf_error("vnf-1").outcome == "guarded"
    later = utcnow() + timedelta(seconds=3600)
    assert store.clear_vnf_error("vnf-1", now=later).outcome == "changed"
    assert _status(store) == "ACTIVE"
    assert store.jobs.get("vnf-1") is None


def test_a_pending_vnf_with_no_job_behind_it_goes_to_error(store, runners):
    """A CLI killed mid-heal (or a create cut short) leaves PENDING_* and no job."""
    _vnf(store)
    store.write_status(VNF, "vnf-1", sm.OPERATOR_HEAL, reason="heal requested")
    clock = Clock()
    runner = runners(Manager(), clock=clock, timeout=10)
    assert runner.recover() == []
    clock.offset = timedelta(seconds=11)
    assert runner.recover() == ["vnf-1"]
    vnf = store.get_vnf("vnf-1")
    assert vnf.status == "ERROR"
    assert "PENDING_HEAL for over 10 s" in vnf.status_reason
    assert "nfvmon vnf clear-error vnf-1" in vnf.status_reason


@pytest.mark.parametrize("answer, why", [
    ({"EVIL VDU; $(x)": ["10.0.0.1"]}, "VDUs VNF vnf-1 does not have"),
    ({"VDU1": ["[fd00::3]"]}, "not a canonical IP address"),
    ({"VDU1": []}, "no addresses for VDU VDU1"),
])
def test_a_manager_answer_naming_what_the_vnf_lacks_is_refused(store, runners, answer, why):
    manager = Manager(answer)
    runner = runners(manager, max_attempts=1)
    _vnf(store)
    _fail(runner)
    assert wait_for(lambda: _status(store) == "ERROR")
    vnf = store.get_vnf("vnf-1")
    assert why in vnf.status_reason
    assert vnf.mgmt_ips == {"VDU1": ["127.0.0.2"], "VDU2": ["127.0.0.3"]}
    assert all("mgmt_ips" not in (e.details or {}) for e in store.events(VNF, "vnf-1"))


def test_hung_manager_calls_do_not_hold_up_other_vnfs(store, runners):
    """Two VNFs whose manager hangs, two decision workers: a third VNF is respawned at once."""

    class PerVnf(Manager):
        def run(self, operation, vnf_id, vdu):
            self.calls.append((operation, vnf_id, vdu))
            if vnf_id != "vnf-3":
                self.release.wait(30)
            return {"VDU1": ["127.0.0.9"]}

    manager = PerVnf()
    runner = runners(manager, workers=2)
    for index in (1, 2, 3):
        _vnf(store, f"vnf-{index}", f"a{index}")
    _fail(runner, "vnf-1", "a1")
    _fail(runner, "vnf-2", "a2")
    assert wait_for(lambda: len(manager.calls) == 2)
    _fail(runner, "vnf-3", "a3")
    assert wait_for(lambda: _status(store, "vnf-3") == "ACTIVE", timeout=3)
    assert _status(store, "vnf-1") == "PENDING_HEAL"
    manager.release.set()
    assert wait_for(lambda: _status(store, "vnf-1") == "ACTIVE")


def test_a_capped_plugin_with_its_own_pending_status_can_give_up(store, runners):
    """The give-up guard follows the plugin's pending status, not PENDING_HEAL alone."""

    class Rebuild(PolicyAction):
        pending_status = statuses.PENDING_SCALE_OUT
        capped = True

        def execute(self, context):
            raise RuntimeError("no capacity")

    runner = runners(Manager(), plugins={"respawn": Rebuild(None)}, max_attempts=2)
    _vnf(store)
    _fail(runner)
    assert wait_for(lambda: _status(store) == "ERROR")
    assert "gave up after 2 attempts" in store.get_vnf("vnf-1").status_reason


def test_a_job_for_a_plugin_this_conductor_lacks_ends_in_error(store, runners):
    class Elsewhere(PolicyAction):
        def execute(self, context):
            return PolicyResult(statuses.ACTIVE)

    runner = runners(Manager(), plugins={"respawn": Respawn(None)})
    _vnf(store)
    store.jobs.fail_with_job(PolicyJob("vnf-1", "VDU1", "rebuild", "a1").spec(), owner="gone",
                             deadline=utcnow() - timedelta(seconds=1), reason="failed",
                             details={})
    assert runner.recover() == ["vnf-1"]
    assert wait_for(lambda: _status(store) == "ERROR")
    assert "'rebuild' is not installed on conductor c1" in store.get_vnf("vnf-1").status_reason


def test_a_conductor_that_stops_right_after_a_failure_leaves_its_job(store, runners):
    """The failure report's DEAD and its job are written together: a conductor that runs
    nothing more after the write (here: already shut down) leaves a job to take over."""
    from nfvmon.conductor_rpc.endpoints import ConductorEndpoint
    from nfvmon.conductor_rpc.metrics import Metrics

    stopped = runners(Manager(), owner="c1")
    stopped.shutdown(wait=False)
    _vnf(store)
    answer = ConductorEndpoint(store, stopped, Metrics()).execute_policy_action(
        {}, vnf={"id": "vnf-1"}, monitor_return_value=REPORT,
        policy_actions={"failure": "respawn"}, action_id="a1")
    assert answer == "DEAD"
    assert store.jobs.get("vnf-1").state == "queued"
    clock = Clock()
    clock.offset = timedelta(seconds=3600)
    assert runners(Manager(), owner="c2", clock=clock).recover() == ["vnf-1"]
    assert wait_for(lambda: _status(store) == "ACTIVE")
