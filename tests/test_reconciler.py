"""The reconciler and a monitor it cannot re-create: the resource says so, once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from nfvmon.conductor_rpc.reconciler import Reconciler
from nfvmon.db.api import VIM
from nfvmon.db.models import Vim, utcnow
from nfvmon.lifecycle import Lifecycle
from tests.test_lifecycle import VIM_CONFIG, RecordingBackend, RecordingControl


def test_a_stopped_monitor_whose_workflow_cannot_be_generated_marks_the_vim_error(store):
    backend, control = RecordingBackend(), RecordingControl()
    lifecycle = Lifecycle(store, backend, control)
    vim_id = lifecycle.register_vim(VIM_CONFIG, "vim.yaml")
    action = store.get_monitor(VIM, vim_id).action_id
    with store.engine.begin() as connection:  # a stored config no workflow can come from
        connection.execute(update(Vim).where(Vim.id == vim_id).values(
            probe_config={"auth_url": "ftp://127.0.0.1/"}))
    reconciler = Reconciler(lifecycle, checkin_interval=60, missed_limit=3, interval=60)
    later = utcnow() + timedelta(seconds=200)
    assert reconciler.run_once(now=later) == []
    vim = store.get_vim(vim_id)
    assert vim.status == "ERROR"
    assert "cannot be re-created" in vim.status_reason and "auth_url" in vim.status_reason
    assert store.get_monitor(VIM, vim_id).action_id == action  # nothing rotated or killed
    assert len(backend.deployed) == 1 and control.kills == []
    assert reconciler.run_once(now=later) == []
    assert [e.state for e in store.events(VIM, vim_id)].count("ERROR") == 1
