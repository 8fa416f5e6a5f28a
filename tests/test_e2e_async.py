"""run_mode async in the real Mistral: more monitors than executor threads.

A Mistral of its own whose executor has 8 threads: in sync mode it could run 8 monitors; in
async mode each action returns its thread at once, runs on nfvmon's engine, and reports its
own end through Mistral's action-execution API. (With 4 threads Mistral's own engine, which
shares that pool size, stops answering start_workflow.) Mistral's database is PostgreSQL, as
in production: on SQLite, 16 monitors asking the API about their executions lock out the engine's
writes, and Mistral retries a locked write up to 50 times, so start_workflow outlives its 60 s.
"""

from __future__ import annotations

import json
import uuid
from types import SimpleNamespace

import oslo_messaging as messaging
import pytest
from mistralclient.api import client as mistral_client

from nfvmon.actions.vim_ping import VimPingAction
from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from nfvmon.lifecycle import Lifecycle, MistralBackend
from nfvmon.lifecycle.reconciling import reconciler_lifecycle
from tests.conftest import MistralServer, rabbit_url, require_module, wait_for
from tests.test_e2e_mistral import _vim_config, mistral_execution_end, run_by_hand, run_cli

EXECUTOR_THREADS = 8
MONITORS = 16


@pytest.fixture
def small_mistral(tmp_path, postgres_url):
    require_module("mistral")
    work = tmp_path / "mistral"
    work.mkdir()
    server = MistralServer(work, rabbit_url(), executor_threads=EXECUTOR_THREADS,
                           executor_apart=True, database=postgres_url)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def async_lifecycle(small_mistral, global_conf, tmp_path):
    db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(db)
    store = Store(make_engine(db))
    global_conf.set_override("connection", db, group="database")
    global_conf.set_override("topic", small_mistral.topic, group="conductor")
    global_conf.set_override("url", small_mistral.url, group="mistral")
    global_conf.set_override("run_mode", "async", group="mistral")
    global_conf.set_override("checkin_interval", 2, group="conductor")
    global_conf.set_override("reconcile_interval", 1, group="conductor")
    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    conductor = Conductor(global_conf, transport=transport, store=store,
                          lifecycle_factory=reconciler_lifecycle)
    conductor.start()
    control = MonitorControlAPI(transport)
    lifecycle = Lifecycle(store, MistralBackend(small_mistral.url), control,
                          run_mode=global_conf.mistral.run_mode)
    yield SimpleNamespace(lifecycle=lifecycle, store=store, control=control,
                          conductor=conductor, mistral_server=small_mistral,
                          mistral=mistral_client.client(mistral_url=small_mistral.url))
    conductor.stop()
    transport.cleanup()
    store.close()


def test_async_monitors_outnumber_the_executor_threads_and_report_their_end(async_lifecycle):
    lifecycle, store, control, mistral = (async_lifecycle.lifecycle, async_lifecycle.store,
                                          async_lifecycle.control, async_lifecycle.mistral)
    vim_ids = [lifecycle.register_vim(_vim_config(f"127.0.3.{i + 1}"), "vim.yaml")
               for i in range(MONITORS)]
    try:
        assert wait_for(lambda: all(store.get_vim(v).status == "REACHABLE" for v in vim_ids),
                        timeout=60)
        monitor = store.get_monitor(VIM, vim_ids[0])
        assert 'run_mode: "async"' in mistral.workflows.get(monitor.workflow_name).definition
        (task,) = mistral.tasks.list(workflow_execution_id=monitor.execution_id)
        (action_ex,) = mistral.action_executions.list(task_execution_id=task.id)
        assert action_ex.state == "RUNNING"

        async_lifecycle.conductor.reconciler.stop()  # keep the ended monitor ended
        control.kill({}, monitor.action_id)  # the action ends and tells Mistral so itself
        assert wait_for(lambda: mistral.executions.get(monitor.execution_id).state
                        == "SUCCESS")
        output = mistral.action_executions.get(action_ex.id).output
        assert '"reason": "killed"' in output and '"status": "REACHABLE"' in output
        # The others go on: a kill reaches the action it names and no other.
        others = [store.get_monitor(VIM, v) for v in vim_ids[1:]]
        assert all(mistral.executions.get(m.execution_id).state == "RUNNING" for m in others)
    finally:
        for vim_id in vim_ids:
            lifecycle.deregister_vim(vim_id)


def test_an_async_workflow_of_an_unregistered_vim_ends_in_error_saying_why(async_lifecycle,
                                                                         tmp_path):
    """The async action hears `bad_action` at its first check-in and reports its own end
    to Mistral: ERROR, with the conductor's one line as its output and in state_info."""
    async_lifecycle.conductor.reconciler.stop()  # it would delete the failed execution
    url, mistral = async_lifecycle.mistral_server.url, async_lifecycle.mistral
    vim_id = str(uuid.uuid4())
    (tmp_path / "vim.yaml").write_text(json.dumps(_vim_config("127.0.0.1")))
    run_cli("nfvmon", "generate", "vim", "vim.yaml", "--vim-id", vim_id, "--run-mode",
            "async", "-o", "wf.yaml", mistral_url=url, cwd=tmp_path)
    execution_id = run_by_hand(tmp_path / "wf.yaml", f"vim_id_{vim_id}", url)
    line = (f"VIM {vim_id} is not registered with this nfvmon: run nfvmon vim register "
            f"CONFIG --deploy external, or deploy through nfvmon")
    try:
        end = mistral_execution_end(execution_id, url, tmp_path)
        assert end["State"] == "ERROR" and line in end["State info"]
        (task,) = mistral.tasks.list(workflow_execution_id=execution_id)
        (action_ex,) = mistral.action_executions.list(task_execution_id=task.id)
        action_ex = mistral.action_executions.get(action_ex.id)
        assert action_ex.state == "ERROR"
        assert json.loads(action_ex.output) == {"result": {"error": line}}
    finally:
        mistral.executions.delete(execution_id, force=True)
        mistral.workflows.delete(f"vim_id_{vim_id}")


def test_async_action_refuses_to_start_without_mistral_api_configured():
    from nfvmon.actions import runtime

    runtime.reset(runtime.Settings(transport_url="fake://", topic="t", checkin_interval=60))
    try:
        action = VimPingAction(vim_id="v", targetip="127.0.0.1", action_id="a",
                               run_mode="async")
        assert action.is_sync() is False
        assert VimPingAction(vim_id="v", targetip="127.0.0.1", action_id="a").is_sync()
        result = action.run(None)
        assert result.is_error() and "[mistral] url" in result.error
    finally:
        runtime.reset(None)


def test_the_conductor_recreates_async_monitors_whose_executor_died(async_lifecycle):
    """Nothing in Mistral watches an async action: when its executor dies, the check-ins
    stop and the conductor's reconciler re-creates the monitor on a live executor."""
    lifecycle, store = async_lifecycle.lifecycle, async_lifecycle.store
    vim_id = lifecycle.register_vim(_vim_config("127.0.3.100"), "vim.yaml")
    try:
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
        first = store.get_monitor(VIM, vim_id)
        async_lifecycle.mistral_server.stop_executor()
        async_lifecycle.mistral_server.start_executor()
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).action_id != first.action_id,
                        timeout=60)
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None,
                        timeout=60)
        second = store.get_monitor(VIM, vim_id)
        assert async_lifecycle.mistral.executions.get(second.execution_id).state == "RUNNING"
        assert first.execution_id not in [e.id for e in
                                          async_lifecycle.mistral.executions.list()]
        assert store.get_vim(vim_id).status == "REACHABLE"
    finally:
        lifecycle.deregister_vim(vim_id)
