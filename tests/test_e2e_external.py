"""Monitors deployed by hand with Mistral's own CLI (`--deploy external`), end to end.

`nfvmon vim register ... --deploy external -o wf.yaml` records the VIM; the operator runs
`mistral workflow-create` and `mistral execution-create` (as subprocesses here, the
`mistral` command of python-mistralclient); the monitor then runs and reports as one
nfvmon deployed would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import oslo_messaging as messaging
import pytest
import yaml
from mistralclient.api import client as mistral_client

from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from nfvmon.db.models import utcnow
from nfvmon.lifecycle.reconciling import reconciler_lifecycle
from tests.conftest import (
    MistralServer,
    queue_exists,
    rabbit_url,
    require_module,
    serve_ok,
    wait_for,
)
from tests.test_e2e_mistral import (  # noqa: F401 - e2e: the fixture, shared
    _vim_config,
    e2e,
    mistral_execution_end,
    run_by_hand,
    run_cli,
)


def _conf(path: Path, db: str, topic: str, mistral_url: str | None) -> Path:
    path.write_text(f"[DEFAULT]\ntransport_url = {rabbit_url()}\n"
                    f"[database]\nconnection = {db}\n"
                    f"[conductor]\ntopic = {topic}\ncheckin_interval = 2\n"
                    + (f"[mistral]\nurl = {mistral_url}\n" if mistral_url else ""))
    return path


@pytest.fixture
def operator(request, mistral_server, tmp_path):
    """A conductor (from the e2e fixture) and the nfvmon config files an operator's CLI
    uses: one naming Mistral, one not."""
    setup, mistral, log_path = request.getfixturevalue("e2e")

    def start(**vnf_manager):
        _lifecycle, store = setup(**vnf_manager)
        db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
        with_mistral = _conf(tmp_path / "nfvmon.conf", db, mistral_server.topic,
                             mistral_server.url)
        without = _conf(tmp_path / "nfvmon-no-mistral.conf", db, mistral_server.topic, None)
        return store, with_mistral, without

    return start, mistral, log_path


def nfvmon(*args: str, url: str, cwd: Path) -> str:
    return run_cli("nfvmon", *args, mistral_url=url, cwd=cwd)


def test_an_external_vim_goes_reachable_once_the_operator_runs_its_workflow(
        operator, mistral_server, tmp_path):
    start, mistral, _log = operator
    store, conf, _ = start()
    url = mistral_server.url
    (tmp_path / "vim.yaml").write_text(yaml.safe_dump(_vim_config("127.0.0.1")))
    vim_id = nfvmon("vim", "register", "vim.yaml", "--deploy", "external", "-o", "wf.yaml",
                    "--config-file", str(conf), url=url, cwd=tmp_path).strip()
    assert store.get_vim(vim_id).status == "PENDING"
    assert f"vim_id_{vim_id}" not in [w.name for w in mistral.workflows.list()]
    execution_id = run_by_hand(tmp_path / "wf.yaml", f"vim_id_{vim_id}", url)
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
    finally:
        nfvmon("vim", "deregister", vim_id, "--config-file", str(conf), url=url, cwd=tmp_path)
    assert execution_id not in [e.id for e in mistral.executions.list()]


def test_an_external_vnf_is_respawned_and_followed_to_its_new_address(
        operator, mistral_server, tmp_path):
    first = serve_ok("127.0.0.81", 0)
    port = first.server_address[1]
    second = serve_ok("127.0.0.82", port)
    manager = tmp_path / "respawn.py"
    manager.write_text('import json\nprint(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.82"]}}))\n')
    start, _mistral, _log = operator
    store, conf, _ = start(driver="command", command=[sys.executable, str(manager)])
    (tmp_path / "vnfd.yaml").write_text(textwrap.dedent(f"""\
        tosca_definitions_version: tosca_simple_profile_for_nfv_1_0_0
        topology_template:
          node_templates:
            VDU1:
              type: tosca.nodes.nfv.VDU.Tacker
              properties:
                monitoring_policy:
                  name: http_ping
                  parameters: {{monitoring_delay: 0, count: 1, interval: 0.3, timeout: 0.3,
                               retry: 2, port: {port}}}
                  actions: {{failure: respawn}}
        """))
    url = mistral_server.url
    vnf_id = nfvmon("vnf", "create", "vnfd.yaml", "--mgmt-ip", "VDU1=127.0.0.81", "--deploy",
                    "external", "-o", "wf.yaml", "--config-file", str(conf),
                    url=url, cwd=tmp_path).strip()
    assert store.get_vnf(vnf_id).status == "PENDING_CREATE"
    run_by_hand(tmp_path / "wf.yaml", f"vnf_id_{vnf_id}", url)
    try:
        assert wait_for(lambda: store.get_vnf(vnf_id).status == "ACTIVE")  # its check-in
        first.shutdown()
        first.server_close()
        assert wait_for(lambda: store.get_vnf(vnf_id).mgmt_ips == {"VDU1": ["127.0.0.82"]}
                        and store.get_vnf(vnf_id).status == "ACTIVE")
        assert [e.state for e in store.events(VNF, vnf_id)] == [
            "PENDING_CREATE", "ACTIVE", "DEAD", "PENDING_HEAL", "ACTIVE"]
    finally:
        nfvmon("vnf", "delete", vnf_id, "--config-file", str(conf), url=url, cwd=tmp_path)
        second.shutdown()
        second.server_close()


def _external_vim(store, conf, url, tmp_path) -> tuple[str, str, str]:
    """An external VIM whose monitor runs and has checked in: (vim id, action, execution)."""
    (tmp_path / "vim.yaml").write_text(yaml.safe_dump(_vim_config("127.0.0.1")))
    vim_id = nfvmon("vim", "register", "vim.yaml", "--deploy", "external", "-o", "wf.yaml",
                    "--config-file", str(conf), url=url, cwd=tmp_path).strip()
    execution_id = run_by_hand(tmp_path / "wf.yaml", f"vim_id_{vim_id}", url)
    assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
    return vim_id, store.get_monitor(VIM, vim_id).action_id, execution_id


def test_deregistering_an_external_vim_without_mistral_prints_commands_that_work(
        operator, mistral_server, tmp_path):
    start, mistral, _log = operator
    store, with_mistral, without = start()
    url = mistral_server.url
    vim_id, action_id, execution_id = _external_vim(store, with_mistral, url, tmp_path)
    said = nfvmon("vim", "deregister", vim_id, "--config-file", str(without), url=url,
                  cwd=tmp_path)
    stopped = time.monotonic()
    end = mistral_execution_end(execution_id, url, tmp_path, timeout=10)
    assert end["State"] == "SUCCESS" and time.monotonic() - stopped < 2.5
    assert "nfvmon did not remove workflow" in said and "[mistral] url is not set" in said
    commands = [line.strip() for line in said.splitlines() if line.startswith("  mistral")]
    assert len(commands) == 2
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OS_")},
           "OS_MISTRAL_URL": url, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for command in commands:  # exactly what the operator would paste
        subprocess.run(["sh", "-c", command], env=env, check=True, capture_output=True,
                       timeout=60)
    assert execution_id not in [e.id for e in mistral.executions.list()]
    assert f"vim_id_{vim_id}" not in [w.name for w in mistral.workflows.list()]
    assert wait_for(lambda: not queue_exists(f"KILL_ACTION.{action_id}"))


def test_deregistering_an_external_vim_with_mistral_removes_it_there(
        operator, mistral_server, tmp_path):
    start, mistral, _log = operator
    store, with_mistral, _ = start()
    url = mistral_server.url
    vim_id, action_id, execution_id = _external_vim(store, with_mistral, url, tmp_path)
    said = nfvmon("vim", "deregister", vim_id, "--config-file", str(with_mistral), url=url,
                  cwd=tmp_path)
    assert f"nfvmon removed workflow vim_id_{vim_id} and its executions" in said
    assert execution_id not in [e.id for e in mistral.executions.list()]
    assert f"vim_id_{vim_id}" not in [w.name for w in mistral.workflows.list()]
    assert wait_for(lambda: not queue_exists(f"KILL_ACTION.{action_id}"))


@pytest.fixture
def mistral_apart(tmp_path, postgres_url):
    """A Mistral of this test's own whose executor runs as a process apart (to kill it)."""
    require_module("mistral")
    work = tmp_path / "mistral"
    work.mkdir()
    server = MistralServer(work, rabbit_url(), executor_apart=True, database=postgres_url)
    server.start()
    yield server
    server.stop()


def test_an_external_monitor_whose_executor_died_is_reported_lost_not_recreated(
        mistral_apart, global_conf, tmp_path):
    db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    upgrade(db)
    store = Store(make_engine(db))
    for group, key, value in (("database", "connection", db),
                              ("conductor", "topic", mistral_apart.topic),
                              ("mistral", "url", mistral_apart.url),
                              ("conductor", "checkin_interval", 2),
                              ("conductor", "checkin_missed_limit", 3),
                              ("conductor", "reconcile_interval", 1)):
        global_conf.set_override(key, value, group=group)
    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    conductor = Conductor(global_conf, transport=transport, store=store,
                          lifecycle_factory=reconciler_lifecycle)
    conductor.start()
    conf = _conf(tmp_path / "nfvmon.conf", db, mistral_apart.topic, mistral_apart.url)
    mistral = mistral_client.client(mistral_url=mistral_apart.url)
    try:
        vim_id, action_id, execution_id = _external_vim(store, conf, mistral_apart.url,
                                                        tmp_path)
        mistral_apart.stop_executor()
        killed = utcnow()
        # Lost once its executor is gone, and for good: nothing checks in any more (a slow
        # check-in on a loaded machine may have been taken for lost before, and cleared).
        assert wait_for(lambda: any(e.event_type == "MONITOR_LOST" and e.created_at > killed
                                    for e in store.events(VIM, vim_id)), timeout=30)
        assert wait_for(lambda: conductor.metrics.registry.get_sample_value(
            "nfvmon_monitors_lost", {"resource": "vim"}) == 1)
        assert store.get_monitor(VIM, vim_id).action_id == action_id  # not re-created
        assert [e.id for e in mistral.executions.list(workflow_name=f"vim_id_{vim_id}")] == \
            [execution_id]
    finally:
        conductor.stop()
        transport.cleanup()
        store.close()
