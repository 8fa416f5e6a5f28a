"""The lifecycle over a recording workflow backend: rows, action ids, failures, clean-up;
on SQLite and PostgreSQL (conftest's `store`)."""

from __future__ import annotations

import pytest
import yaml

from nfvmon import status_machine as sm
from nfvmon.db.api import VIM, VNF
from nfvmon.errors import InputError
from nfvmon.lifecycle import Lifecycle, LifecycleError
from tests.conftest import TACKER_SAMPLES


class RecordingBackend:
    def __init__(self, fail: str | None = None):
        self.fail = fail
        self.deployed = []
        self.removed = []

    def deploy(self, workflow):
        if self.fail:
            raise RuntimeError(self.fail)
        self.deployed.append(workflow)
        return f"execution-{len(self.deployed)}"

    def remove(self, workflow_name, execution_id):
        self.removed.append((workflow_name, execution_id))

    def remove_execution(self, execution_id):
        self.removed.append(("execution", execution_id))


class RecordingControl:
    def __init__(self):
        self.kills = []

    def kill(self, ctxt, action_id):
        self.kills.append(action_id)


VIM_CONFIG = {"auth_url": "https://[fd00::1]:5000/v3", "password": "s3cret"}


def test_register_records_the_action_workflow_and_execution(store):
    backend = RecordingBackend()
    vim_id = Lifecycle(store, backend).register_vim(VIM_CONFIG, "vim.yaml", name="edge-1")
    vim, monitor = store.get_vim(vim_id), store.get_monitor(VIM, vim_id)
    assert (vim.status, vim.target, vim.name) == ("PENDING", "fd00::1", "edge-1")
    (workflow,) = backend.deployed
    assert workflow.name == f"vim_id_{vim_id}" == monitor.workflow_name
    assert monitor.action_id == workflow.action_id and monitor.execution_id == "execution-1"
    assert "s3cret" not in workflow.text


def test_a_failed_deployment_is_visible_not_a_silent_pending(store):
    lifecycle = Lifecycle(store, RecordingBackend(fail="Mistral is down"))
    with pytest.raises(LifecycleError, match="Mistral is down"):
        lifecycle.register_vim(VIM_CONFIG, "vim.yaml", vim_id="vim-1")
    vim = store.get_vim("vim-1")
    assert vim.status == "ERROR" and "Mistral is down" in vim.status_reason
    assert store.get_monitor(VIM, "vim-1").action_id is None


def test_bad_input_is_refused_before_any_row_exists(store):
    with pytest.raises(InputError):
        Lifecycle(store, RecordingBackend()).register_vim({"auth_url": "ftp://x"}, "vim.yaml",
                                                          vim_id="vim-1")
    assert store.get_vim("vim-1") is None


def test_deregister_clears_the_action_kills_removes_and_deletes(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    action_id = store.get_monitor(VIM, vim_id).action_id
    assert lifecycle.deregister_vim(vim_id)
    assert control.kills == [action_id]
    assert backend.removed == [("execution", "execution-1"), (f"vim_id_{vim_id}", None)]
    assert store.get_vim(vim_id) is None and store.check_in(action_id) is None
    assert not lifecycle.deregister_vim(vim_id)  # idempotent


def test_create_and_delete_a_vnf(store):
    vnfd = yaml.safe_load((TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text())
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    vnf_id = lifecycle.create_vnf(vnfd, "vnfd.yaml", {"VDU1": ["127.0.0.2"]})
    vnf = store.get_vnf(vnf_id)
    assert vnf.status == "ACTIVE" and vnf.vdus[0].mgmt_ips == ["127.0.0.2"]
    assert [e.state for e in store.events(VNF, vnf_id)] == ["PENDING_CREATE", "ACTIVE"]
    assert lifecycle.delete_vnf(vnf_id) and store.get_vnf(vnf_id) is None


def test_update_vim_replaces_the_action_and_ends_the_old_one(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    old = store.get_monitor(VIM, vim_id).action_id
    new = lifecycle.update_vim(vim_id, {"auth_url": "https://keystone.example:5000/v3",
                                        "monitor": {"interval": 5}}, "vim2.yaml")
    monitor = store.get_monitor(VIM, vim_id)
    assert monitor.action_id == new != old and monitor.execution_id == "execution-2"
    assert control.kills == [old] and ("execution", "execution-1") in backend.removed
    assert store.get_vim(vim_id).target == "keystone.example"
    text = backend.deployed[-1].text
    assert '"keystone.example"' in text and "interval: 5" in text and new in text
    written = store.write_status(VIM, vim_id, sm.MONITOR_REACHABLE, action_id=old)
    assert written.outcome == "bad_action"


def test_probe_config_keeps_no_credentials(store):
    config = {"auth_url": "https://admin:pw@127.0.0.1:5000/v3?token=x", "password": "pw"}
    vim_id = Lifecycle(store, RecordingBackend()).register_vim(config, "vim.yaml")
    assert store.get_vim(vim_id).probe_config == {"auth_url": "https://127.0.0.1:5000/v3"}


def test_scale_out_monitors_the_new_addresses_through_a_new_action(store):
    vnfd = (TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text()
    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    vnf_id = lifecycle.create_vnf(yaml.safe_load(vnfd), "vnfd.yaml", {"VDU1": ["127.0.0.2"]},
                                  vnfd_text=vnfd)
    lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.2", "127.0.0.3"]})
    (policy,) = yaml.safe_load(backend.deployed[-1].text)[f"vnf_id_{vnf_id}"]["tasks"][
        "monitor_vnf_policies"]["input"]["policies"]
    assert policy["mgmt_ips"] == ["127.0.0.2", "127.0.0.3"]
    assert store.get_vnf(vnf_id).vdus[0].mgmt_ips == ["127.0.0.2", "127.0.0.3"]


def test_only_one_of_two_reconcilers_replaces_a_stale_action(store):
    lifecycle = Lifecycle(store, RecordingBackend(), RecordingControl())
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    stale = store.get_monitor(VIM, vim_id).action_id
    lifecycle.redeploy(VIM, vim_id, expected_action=stale)
    with pytest.raises(LifecycleError, match="changed meanwhile"):
        lifecycle.redeploy(VIM, vim_id, expected_action=stale)


def test_reconciler_recreates_only_monitors_that_stopped_checking_in(store):
    from datetime import timedelta

    from nfvmon.conductor_rpc.reconciler import Reconciler
    from nfvmon.db.models import utcnow

    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    quiet = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    alive = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    later = utcnow() + timedelta(seconds=200)
    store.check_in(store.get_monitor(VIM, alive).action_id, when=later)
    reconciler = Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60)
    old = store.get_monitor(VIM, quiet).action_id
    assert reconciler.run_once(now=later) == [(VIM, quiet)]
    assert store.get_monitor(VIM, quiet).action_id != old
    assert reconciler.run_once(now=utcnow() + timedelta(seconds=100)) == []  # in its grace


def test_a_failed_redeployment_keeps_the_claim_and_is_retried(store):
    from datetime import timedelta

    from nfvmon.conductor_rpc.reconciler import Reconciler
    from nfvmon.db.models import utcnow

    backend = RecordingBackend()
    lifecycle = Lifecycle(store, backend, RecordingControl())
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    store.write_status(VIM, vim_id, sm.MONITOR_REACHABLE,
                       action_id=store.get_monitor(VIM, vim_id).action_id)
    backend.fail = "Mistral is down"
    reconciler = Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60)
    later = utcnow() + timedelta(seconds=200)
    assert reconciler.run_once(now=later) == []
    monitor = store.get_monitor(VIM, vim_id)
    assert monitor.action_id is not None and store.get_vim(vim_id).status == "REACHABLE"
    backend.fail = None
    assert reconciler.run_once(now=later + timedelta(seconds=200)) == [(VIM, vim_id)]
    assert store.get_monitor(VIM, vim_id).execution_id == "execution-2"


class HealingManager:
    def __init__(self, fail=False):
        self.fail = fail

    def run(self, operation, vnf_id, vdu):
        if self.fail:
            raise RuntimeError("no capacity")
        return {vdu: ["127.0.0.9"]}


def test_operator_heal_moves_the_monitor_to_the_healed_address(store):
    vnfd = (TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text()
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vnf_id = lifecycle.create_vnf(yaml.safe_load(vnfd), "vnfd.yaml", {"VDU1": ["127.0.0.2"]})
    old = store.get_monitor(VNF, vnf_id).action_id
    lifecycle.heal_vnf(vnf_id, "VDU1", HealingManager())
    assert store.get_vnf(vnf_id).status == "ACTIVE"
    assert store.get_vnf(vnf_id).vdus[0].mgmt_ips == ["127.0.0.9"]
    assert old in control.kills and "127.0.0.9" in backend.deployed[-1].text
    assert [e.state for e in store.events(VNF, vnf_id)][-2:] == ["PENDING_HEAL", "ACTIVE"]


def test_a_failed_heal_leaves_the_vnf_in_error_with_the_reason(store):
    vnfd = (TACKER_SAMPLES / "tosca-vnfd-monitor.yaml").read_text()
    lifecycle = Lifecycle(store, RecordingBackend(), RecordingControl())
    vnf_id = lifecycle.create_vnf(yaml.safe_load(vnfd), "vnfd.yaml", {"VDU1": ["127.0.0.2"]})
    with pytest.raises(LifecycleError, match="no capacity"):
        lifecycle.heal_vnf(vnf_id, "VDU1", HealingManager(fail=True))
    vnf = store.get_vnf(vnf_id)
    assert vnf.status == "ERROR" and "no capacity" in vnf.status_reason
    with pytest.raises(LifecycleError, match="no VDU VDU7"):
        lifecycle.heal_vnf(vnf_id, "VDU7", HealingManager())


class FakeMistral:
    """Just enough of python-mistralclient for MistralBackend's clean-up paths."""

    class _Executions:
        def __init__(self, items):
            self.items = items
            self.deleted = []

        def list(self, **filters):
            return [e for e in self.items if e.state == filters.get("state", e.state)]

        def delete(self, execution_id, force=None):
            from mistralclient.api.base import APIException

            if execution_id not in {e.id for e in self.items}:
                raise APIException(404, "WorkflowExecution not found")
            self.deleted.append((execution_id, force))
            self.items = [e for e in self.items if e.id != execution_id]

    def __init__(self, items):
        self.executions = self._Executions(items)


def test_reconciler_deletes_failed_executions_of_workflows_nfvmon_deploys_only(store):
    """Not an operator's (external), nor one of a resource nfvmon does not know (a refused
    run, whose state_info says why): those are theirs to read."""
    from types import SimpleNamespace

    from nfvmon.conductor_rpc.reconciler import Reconciler
    from nfvmon.lifecycle import MistralBackend

    ours = Lifecycle(store, RecordingBackend()).register_vim(VIM_CONFIG, "vim.yaml")
    theirs = Lifecycle(store, RecordingBackend()).register_vim(VIM_CONFIG, "vim.yaml",
                                                               deployment="external")
    client = FakeMistral([
        SimpleNamespace(id="e1", state="ERROR", workflow_name=f"vim_id_{ours}"),
        SimpleNamespace(id="e2", state="ERROR", workflow_name="payroll"),
        SimpleNamespace(id="e3", state="RUNNING", workflow_name=f"vim_id_{ours}"),
        SimpleNamespace(id="e4", state="ERROR", workflow_name=f"vim_id_{theirs}"),
        SimpleNamespace(id="e5", state="ERROR", workflow_name="vnf_id_unregistered")])
    lifecycle = Lifecycle(store, MistralBackend("http://unused", client=client))
    Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60).run_once()
    assert client.executions.deleted == [("e1", True)]
    MistralBackend("http://unused", client=client).remove_execution("e1")  # gone: fine
