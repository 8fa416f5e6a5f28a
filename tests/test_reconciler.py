"""The reconciler and a monitor it cannot re-create: the resource says so, once."""

from __future__ import annotations

from datetime import timedelta

import oslo_messaging as messaging
from sqlalchemy import update

from nfvmon.conductor_rpc.reconciler import Reconciler
from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from nfvmon.db.models import Vim, utcnow
from nfvmon.lifecycle import Lifecycle
from nfvmon.lifecycle.reconciling import reconciler_lifecycle
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


def test_a_conductor_reconciles_through_the_lifecycle_its_starter_hands_it(
        global_conf, tmp_path):
    """The conductor imports no lifecycle: whoever starts it passes the factory."""
    url = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(url)
    global_conf.set_override("url", "http://127.0.0.1:9/v2", group="mistral")
    transport = messaging.get_rpc_transport(global_conf, url="fake://")
    store = Store(make_engine(url))
    try:
        assert Conductor(global_conf, transport=transport, store=store).reconciler is None
        reconciling = Conductor(global_conf, transport=transport, store=store,
                                lifecycle_factory=reconciler_lifecycle)
        assert reconciling.reconciler.lifecycle.store is store
        assert reconciling.reconciler.lifecycle.backend is not None
    finally:
        store.close()
        transport.cleanup()
