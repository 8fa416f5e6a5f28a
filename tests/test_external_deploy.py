"""Monitors the operator deploys with Mistral's own tools: recorded, never deployed or
re-created by nfvmon, reported lost when silent, removed on request. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import yaml
from keystoneauth1 import loading

from nfvmon.conductor_rpc.metrics import Metrics
from nfvmon.conductor_rpc.reconciler import Reconciler, mark_lost_monitors
from nfvmon.db.api import VIM, VNF
from nfvmon.db.models import utcnow
from nfvmon.lifecycle import Lifecycle
from nfvmon.lifecycle.external import teardown_commands
from tests.conftest import TACKER_SAMPLES
from tests.test_lifecycle import VIM_CONFIG, RecordingBackend, RecordingControl

GRACE = timedelta(seconds=180)


class MistralStandIn(RecordingBackend):
    """A backend that can remove an external workflow with its executions."""

    def __init__(self, fail: str | None = None):
        super().__init__()
        self.fail_removal = fail
        self.removed_with_executions = []

    def remove_with_executions(self, workflow_name):
        if self.fail_removal:
            raise ConnectionError(self.fail_removal)
        self.removed_with_executions.append(workflow_name)


def _vnfd():
    return yaml.safe_load((TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text())


def test_an_external_vim_is_recorded_and_nothing_is_deployed(store):
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml", deployment="external")
    assert backend.deployed == []
    monitor = store.get_monitor(VIM, vim_id)
    assert (monitor.deployment, monitor.workflow_name) == ("external", f"vim_id_{vim_id}")
    assert store.get_vim(vim_id).status == "PENDING"
    workflow = lifecycle.workflow(VIM, vim_id)
    assert workflow.action_id == monitor.action_id
    assert workflow.text == lifecycle.workflow(VIM, vim_id).text  # the same bytes each time


def test_an_external_vnf_waits_in_pending_create_for_its_first_check_in(store):
    lifecycle = Lifecycle(store, RecordingBackend())
    vnf_id = lifecycle.create_vnf(_vnfd(), "vnfd.yaml", {"VDU1": ["127.0.0.2"]},
                                  deployment="external")
    assert store.get_vnf(vnf_id).status == "PENDING_CREATE"
    action = store.get_monitor(VNF, vnf_id).action_id
    assert store.check_in(action).status == "ACTIVE"
    assert [e.state for e in store.events(VNF, vnf_id)] == ["PENDING_CREATE", "ACTIVE"]


def test_the_reconciler_never_recreates_an_external_monitor_and_reports_it_lost(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml", deployment="external")
    action = store.get_monitor(VIM, vim_id).action_id
    later = utcnow() + GRACE + timedelta(seconds=10)
    reconciler = Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60)
    assert reconciler.run_once(now=later) == []
    assert backend.deployed == [] and control.kills == []
    assert store.get_monitor(VIM, vim_id).action_id == action

    metrics = Metrics(lost=store.lost_monitors)

    def lost():
        return metrics.registry.get_sample_value("nfvmon_monitors_lost", {"resource": "vim"})

    assert lost() == 0
    assert mark_lost_monitors(store, GRACE, now=later) == [(VIM, vim_id)]
    assert mark_lost_monitors(store, GRACE, now=later) == []  # once
    assert lost() == 1
    (event,) = [e for e in store.events(VIM, vim_id) if e.event_type == "MONITOR_LOST"]
    assert "mistral execution-create" in event.details["reason"]
    store.check_in(action)  # the operator started it again
    assert lost() == 0


def test_a_monitor_nfvmon_deploys_is_never_reported_lost(store):
    lifecycle = Lifecycle(store, RecordingBackend())
    lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    assert mark_lost_monitors(store, GRACE, now=utcnow() + GRACE * 2) == []


def test_removing_an_external_vim_kills_it_and_removes_its_workflow_when_it_can(store):
    backend, control = MistralStandIn(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml", deployment="external")
    action = store.get_monitor(VIM, vim_id).action_id
    removal = lifecycle.deregister_vim(vim_id)
    assert removal and removal.deployment == "external" and removal.removed_from_mistral
    assert control.kills == [action]
    assert backend.removed_with_executions == [f"vim_id_{vim_id}"]
    assert store.get_vim(vim_id) is None


def test_removing_an_external_vnf_without_mistral_says_what_to_run(store):
    control = RecordingControl()
    lifecycle = Lifecycle(store, RecordingBackend(), control)  # no way to reach Mistral
    vnf_id = lifecycle.create_vnf(_vnfd(), "vnfd.yaml", {"VDU1": ["127.0.0.2"]},
                                  deployment="external")
    removal = lifecycle.delete_vnf(vnf_id)
    assert removal and not removal.removed_from_mistral
    assert removal.problem == "[mistral] url is not set"
    assert len(control.kills) == 1 and store.get_vnf(vnf_id) is None
    assert teardown_commands(removal.workflow_name)[-1] == \
        f"mistral workflow-delete vnf_id_{vnf_id}"


def test_mistral_down_at_removal_is_reported_not_raised(store):
    lifecycle = Lifecycle(store, MistralStandIn(fail="connection refused"), RecordingControl())
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml", deployment="external")
    removal = lifecycle.deregister_vim(vim_id)
    assert removal and removal.problem == "Mistral: connection refused"


def test_scaling_an_external_vnf_rotates_its_action_and_deploys_nothing(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vnf_id = lifecycle.create_vnf(_vnfd(), "vnfd.yaml", {"VDU1": ["127.0.0.2"]},
                                  deployment="external")
    old = store.get_monitor(VNF, vnf_id).action_id
    new = lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.2", "127.0.0.3"]})
    assert new != old and control.kills == [old] and backend.deployed == []
    assert "127.0.0.3" in lifecycle.workflow(VNF, vnf_id).text


def test_the_cli_removes_external_deployments_from_a_mistral_found_through_keystone(
        tmp_path, global_conf):
    """[mistral] with Keystone options and no url names a Mistral (the catalog's) just as a
    url does; with neither, nfvmon never guesses the built-in local one."""
    from nfvmon.cli.services import open_lifecycle
    from nfvmon.db.migrate import upgrade
    from tests.conftest import rabbit_url

    db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(db)
    base = f"[DEFAULT]\ntransport_url = {rabbit_url()}\n[database]\nconnection = {db}\n"
    plain = tmp_path / "plain.conf"
    plain.write_text(base)
    assert open_lifecycle([str(plain)]).external_backend is None
    global_conf.reset()
    global_conf.clear()
    keystone = tmp_path / "keystone.conf"
    keystone.write_text(base + "[mistral]\nauth_type = password\n"
                        "auth_url = http://127.0.0.1:9/v3\nusername = nfvmon\n"
                        "password = pw\nproject_name = nfvmon\nuser_domain_name = Default\n"
                        "project_domain_name = Default\n")
    try:
        lifecycle = open_lifecycle([str(keystone)])
        assert lifecycle.external_backend is lifecycle.backend
    finally:  # the password plugin registered its options (auth_url required) on cfg.CONF
        global_conf.reset()
        global_conf.clear()
        for opt in loading.get_auth_plugin_conf_options("password"):
            try:
                global_conf.unregister_opt(opt, group="mistral")
            except Exception:  # noqa: BLE001 - not registered: nothing to undo
                pass
