"""`vnf heal` is a policy job too: it refuses a live job, replaces a dead one, and a heal
whose process dies is taken over by a conductor. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from nfvmon import status_machine as sm
from nfvmon.conductor_rpc import states
from nfvmon.conductor_rpc.policy_actions.builtin import VduAutoheal
from nfvmon.conductor_rpc.policy_runner import PolicyJob, PolicyRunner
from nfvmon.db.api import VNF
from nfvmon.db.models import utcnow
from nfvmon.lifecycle import Lifecycle, LifecycleError
from tests.conftest import TACKER_SAMPLES, wait_for
from tests.test_lifecycle import RecordingBackend, RecordingControl


class Manager:
    def __init__(self, answer=None):
        self.answer = answer if answer is not None else {"VDU1": ["127.0.0.9"]}
        self.calls = []

    def run(self, operation, vnf_id, vdu):
        self.calls.append((operation, vnf_id, vdu))
        return self.answer


@pytest.fixture
def lifecycle(store):
    return Lifecycle(store, RecordingBackend(), RecordingControl())


@pytest.fixture
def vnf_id(lifecycle):
    vnfd = yaml.safe_load((TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text())
    return lifecycle.create_vnf(vnfd, "vnfd.yaml", {"VDU1": ["127.0.0.2"]})


def _stuck_pending_heal(store, vnf_id, deadline):
    """What a conductor killed mid-respawn leaves: PENDING_HEAL and its job."""
    store.jobs.ensure(PolicyJob(vnf_id, "VDU1", "respawn", "x").spec(), owner="dead",
                      deadline=deadline)
    action_id = store.get_monitor(VNF, vnf_id).action_id
    store.write_status(VNF, vnf_id, sm.FAILURE, action_id=action_id, reason="VDU1 failed")
    store.write_status(VNF, vnf_id, sm.policy_started("PENDING_HEAL"), reason="respawn started")


def test_heal_refuses_a_vnf_whose_job_is_live(store, lifecycle, vnf_id):
    _stuck_pending_heal(store, vnf_id, utcnow() + timedelta(seconds=600))
    manager = Manager()
    with pytest.raises(LifecycleError, match="a respawn of VDU VDU1 is under way"):
        lifecycle.heal_vnf(vnf_id, "VDU1", manager)
    assert manager.calls == [] and store.get_vnf(vnf_id).status == "PENDING_HEAL"
    assert store.jobs.get(vnf_id).owner == "dead"


def test_heal_works_on_a_vnf_whose_job_is_past_its_deadline(store, lifecycle, vnf_id):
    _stuck_pending_heal(store, vnf_id, utcnow() - timedelta(seconds=1))
    lifecycle.heal_vnf(vnf_id, "VDU1", Manager())
    vnf = store.get_vnf(vnf_id)
    assert vnf.status == "ACTIVE" and vnf.mgmt_ips == {"VDU1": ["127.0.0.9"]}
    assert store.jobs.get(vnf_id) is None


def test_a_heal_answer_for_a_vdu_the_vnf_lacks_is_refused(store, lifecycle, vnf_id):
    with pytest.raises(LifecycleError, match="does not have"):
        lifecycle.heal_vnf(vnf_id, "VDU1", Manager({"EVIL VDU; $(x)": ["10.0.0.1"]}))
    vnf = store.get_vnf(vnf_id)
    assert vnf.status == "ERROR" and vnf.mgmt_ips == {"VDU1": ["127.0.0.2"]}
    assert store.jobs.get(vnf_id) is None


def test_a_heal_whose_process_died_is_taken_over_by_a_conductor(store, vnf_id):
    """What a CLI killed mid-heal leaves: PENDING_HEAL and its own vdu_autoheal job; past
    the job's deadline a conductor redoes the heal through the vdu_autoheal plugin."""
    store.jobs.ensure(PolicyJob(vnf_id, "VDU1", "vdu_autoheal", None).spec(),
                      owner="cli:test:1", deadline=utcnow() - timedelta(seconds=1))
    store.write_status(VNF, vnf_id, sm.OPERATOR_HEAL, reason="heal requested")
    manager = Manager()
    runner = PolicyRunner(store, {"vdu_autoheal": VduAutoheal(None)}, manager,
                          states.HealPolicy(3, 0.01, 0.05, 3600), workers=1, timeout=10,
                          owner="c1")
    try:
        assert runner.recover() == [vnf_id]
        assert wait_for(lambda: store.get_vnf(vnf_id).status == "ACTIVE")
        assert manager.calls == [("heal", vnf_id, "VDU1")]
        assert store.get_vnf(vnf_id).mgmt_ips == {"VDU1": ["127.0.0.9"]}
    finally:
        runner.shutdown(wait=False)
