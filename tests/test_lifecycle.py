"""The lifecycle over a recording workflow backend: rows, action ids, failures, clean-up."""

from __future__ import annotations

import pytest
import yaml

from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
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


class RecordingControl:
    def __init__(self):
        self.kills = []

    def kill(self, ctxt, action_id):
        self.kills.append(action_id)


@pytest.fixture
def store(tmp_path):
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    store = Store(make_engine(url))
    yield store
    store.close()


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
    assert backend.removed == [(f"vim_id_{vim_id}", "execution-1")]
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
