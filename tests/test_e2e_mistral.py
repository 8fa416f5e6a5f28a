"""End to end with the real Mistral: nfvmon's workflows run there, its actions on Mistral's
executor, reporting to a conductor over RabbitMQ. Scenarios from the seed design's tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import oslo_messaging as messaging
import pytest
import yaml
from mistralclient.api import client as mistral_client

from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.conductor_rpc.server import Conductor
from nfvmon.db.api import VIM, VNF, Store
from nfvmon.db.engine import make_engine
from nfvmon.db.migrate import upgrade
from nfvmon.lifecycle import Lifecycle, MistralBackend
from nfvmon.lifecycle.reconciling import reconciler_lifecycle
from tests.conftest import rabbit_url, serve_ok, wait_for


@pytest.fixture
def e2e(mistral_server, global_conf, tmp_path):
    url, topic, log_path = mistral_server.url, mistral_server.topic, mistral_server.log_path

    def setup(reconcile: bool = True, reconcile_interval: int = 1, **vnf_manager):
        db = f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
        upgrade(db)
        store = Store(make_engine(db))
        global_conf.set_override("connection", db, group="database")
        global_conf.set_override("topic", topic, group="conductor")
        global_conf.set_override("url", url, group="mistral")
        global_conf.set_override("checkin_interval", 2, group="conductor")
        global_conf.set_override("reconcile", reconcile, group="conductor")
        global_conf.set_override("reconcile_interval", reconcile_interval, group="conductor")
        for key, value in vnf_manager.items():
            global_conf.set_override(key, value, group="vnf_manager")
        transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
        conductor = Conductor(global_conf, transport=transport, store=store,
                          lifecycle_factory=reconciler_lifecycle)
        conductor.start()
        made.append((conductor, transport, store))
        lifecycle = Lifecycle(store, MistralBackend(url), MonitorControlAPI(transport))
        return lifecycle, store

    made = []
    yield setup, mistral_client.client(mistral_url=url), log_path
    for conductor, transport, store in made:
        conductor.stop()
        transport.cleanup()
        store.close()


def _vim_config(host: str) -> dict:
    return {"auth_url": f"http://{host}:5000/v3", "username": "admin", "password": "pw",
            "monitor": {"count": 2, "timeout": 0.5, "interval": 0.5}}


def _action_ended(log_path, action_id: str) -> bool:
    return f"monitor {action_id} ended" in log_path.read_text()


def run_cli(program: str, *args: str, mistral_url: str, cwd: Path) -> str:
    """Run `nfvmon` or `mistral` (python-mistralclient's command) from this virtualenv as
    an operator would, against the test's Mistral (no authentication); its stdout."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env.update(OS_MISTRAL_URL=mistral_url, PYTHONWARNINGS="ignore")
    done = subprocess.run([str(Path(sys.executable).parent / program), *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{program} {' '.join(args)}: {done.stderr[-2000:]}"
    return done.stdout


def mistral_execution_end(execution_id: str, mistral_url: str, cwd: Path,
                          timeout: float = 30) -> dict[str, str]:
    """`mistral execution-get` until the execution is no longer RUNNING: its columns."""
    deadline = time.monotonic() + timeout
    while True:
        shown = json.loads(run_cli("mistral", "execution-get", execution_id, "-f", "json",
                                   mistral_url=mistral_url, cwd=cwd))
        if shown["State"] not in ("IDLE", "RUNNING") or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def run_by_hand(workflow_file: Path, workflow_name: str, mistral_url: str,
                namespace: str = "") -> str:
    """`mistral workflow-create` and `mistral execution-create`: the new execution's id."""
    where = ["--namespace", namespace] if namespace else []
    cwd = workflow_file.parent
    run_cli("mistral", "workflow-create", str(workflow_file), *where,
            mistral_url=mistral_url, cwd=cwd)
    created = json.loads(run_cli("mistral", "execution-create", workflow_name, *where,
                                 "-f", "json", mistral_url=mistral_url, cwd=cwd))
    return created["ID"]


def test_a_workflow_of_an_unregistered_vim_ends_in_error_saying_how_to_register_it(
        e2e, mistral_server, tmp_path):
    """An operator runs a generated workflow by hand, with a conductor running (its
    reconciler on, at the default interval) but the VIM never registered."""
    setup, mistral, _log = e2e
    setup(reconcile_interval=60)
    vim_id, url = str(uuid.uuid4()), mistral_server.url
    (tmp_path / "vim.yaml").write_text(yaml.safe_dump(_vim_config("127.0.0.1")))
    run_cli("nfvmon", "generate", "vim", "vim.yaml", "--vim-id", vim_id, "-o", "wf.yaml",
            mistral_url=url, cwd=tmp_path)
    started = time.monotonic()
    execution_id = run_by_hand(tmp_path / "wf.yaml", f"vim_id_{vim_id}", url)
    try:
        end = mistral_execution_end(execution_id, url, tmp_path)
        assert end["State"] == "ERROR"
        assert time.monotonic() - started < 20
        assert (f"VIM {vim_id} is not registered with this nfvmon: run nfvmon vim register "
                f"CONFIG --deploy external, or deploy through nfvmon") in end["State info"]
    finally:
        mistral.executions.delete(execution_id, force=True)
        mistral.workflows.delete(f"vim_id_{vim_id}")


def test_an_old_execution_of_a_redeployed_monitor_ends_in_error_superseded(
        e2e, mistral_server, tmp_path):
    """The definition of a redeployed monitor, run again by hand (in a namespace of its
    own: the current one keeps its name): its action is superseded and says so."""
    setup, mistral, _log = e2e
    lifecycle, store = setup(reconcile_interval=60)
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    first = store.get_monitor(VIM, vim_id)
    (tmp_path / "old.yaml").write_text(mistral.workflows.get(first.workflow_name).definition)
    execution_id = None
    try:
        lifecycle.redeploy(VIM, vim_id)
        second = store.get_monitor(VIM, vim_id)
        execution_id = run_by_hand(tmp_path / "old.yaml", first.workflow_name,
                                   mistral_server.url, namespace="superseded")
        end = mistral_execution_end(execution_id, mistral_server.url, tmp_path)
        assert end["State"] == "ERROR"
        assert (f"VIM {vim_id}: this monitor (action {first.action_id}) was superseded by a "
                f"newer one; nothing to do") in end["State info"]
        assert mistral.executions.get(second.execution_id).state == "RUNNING"
        assert store.get_monitor(VIM, vim_id).action_id == second.action_id
    finally:
        lifecycle.deregister_vim(vim_id)
        if execution_id is not None:
            mistral.executions.delete(execution_id, force=True)
            mistral.workflows.delete(first.workflow_name, namespace="superseded")


def test_a_killed_monitor_ends_in_success_with_its_reason(e2e):
    setup, mistral, _log = e2e
    lifecycle, store = setup(reconcile=False)  # nothing re-creates the ended monitor
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        monitor = store.get_monitor(VIM, vim_id)
        lifecycle.control.kill({}, monitor.action_id)
        assert wait_for(lambda: mistral.executions.get(monitor.execution_id).state
                        != "RUNNING")
        execution = mistral.executions.get(monitor.execution_id)
        assert execution.state == "SUCCESS"
        (task,) = mistral.tasks.list(workflow_execution_id=monitor.execution_id)
        (action_ex,) = mistral.action_executions.list(task_execution_id=task.id)
        output = json.loads(mistral.action_executions.get(action_ex.id).output)["result"]
        assert (output["reason"], output["status"]) == ("killed", "REACHABLE")
    finally:
        lifecycle.deregister_vim(vim_id)


def test_register_monitor_and_deregister_a_vim(e2e):
    setup, mistral, log_path = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    monitor = store.get_monitor(VIM, vim_id)
    assert monitor.workflow_name == f"vim_id_{vim_id}"
    assert mistral.workflows.get(monitor.workflow_name).name == monitor.workflow_name
    assert mistral.executions.get(monitor.execution_id).state == "RUNNING"
    assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
    (task,) = mistral.tasks.list(workflow_execution_id=monitor.execution_id)
    assert (task.name, task.state) == ("monitor_ping_vimPingVIMTASK", "RUNNING")

    assert lifecycle.deregister_vim(vim_id)
    assert monitor.workflow_name not in [w.name for w in mistral.workflows.list()]
    assert monitor.execution_id not in [e.id for e in mistral.executions.list()]
    assert wait_for(lambda: _action_ended(log_path, monitor.action_id))


def test_vim_unreachable_and_back(e2e, netns_host):
    setup, _mistral, _log = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config(netns_host.address), "vim.yaml")
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        netns_host.down()
        assert wait_for(lambda: store.get_vim(vim_id).status == "UNREACHABLE")
        netns_host.up()
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        assert [e.state for e in store.events(VIM, vim_id)] == [
            "PENDING", "REACHABLE", "UNREACHABLE", "REACHABLE"]
    finally:
        lifecycle.deregister_vim(vim_id)






def test_vnf_failure_respawn_new_address_and_delete(e2e, tmp_path):
    first = serve_ok("127.0.0.71", 0)
    port = first.server_address[1]
    second = serve_ok("127.0.0.72", port)
    manager = tmp_path / "respawn.py"
    manager.write_text(textwrap.dedent("""
        import json
        print(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.72"]}}))
    """))
    setup, mistral, log_path = e2e
    lifecycle, store = setup(driver="command", command=[sys.executable, str(manager)])
    vnfd = yaml.safe_load(textwrap.dedent(f"""
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
    vnf_id = lifecycle.create_vnf(vnfd, "vnfd.yaml", {"VDU1": ["127.0.0.71"]},
                                  vnf_id=str(uuid.uuid4()))
    monitor = store.get_monitor(VNF, vnf_id)
    try:
        assert mistral.executions.get(monitor.execution_id).state == "RUNNING"
        time.sleep(1.5)
        assert store.get_vnf(vnf_id).status == "ACTIVE"
        first.shutdown()
        first.server_close()
        assert wait_for(lambda: store.get_vnf(vnf_id).vdus[0].mgmt_ips == ["127.0.0.72"]
                        and store.get_vnf(vnf_id).status == "ACTIVE")
        time.sleep(1.5)  # the monitor follows the new, healthy address: no new failure
        assert [e.state for e in store.events(VNF, vnf_id)] == [
            "PENDING_CREATE", "ACTIVE", "DEAD", "PENDING_HEAL", "ACTIVE"]
    finally:
        assert lifecycle.delete_vnf(vnf_id)
        second.shutdown()
        second.server_close()
    assert monitor.execution_id not in [e.id for e in mistral.executions.list()]
    assert monitor.workflow_name not in [w.name for w in mistral.workflows.list()]
    assert wait_for(lambda: _action_ended(log_path, monitor.action_id))


def test_monitors_come_back_after_the_executor_dies(e2e, mistral_server):
    """Kill Mistral (engine and executor) while a monitor runs, start it again: the
    conductor's reconciler sees the check-ins stop and re-creates the monitor."""
    setup, _mistral, _log = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        first = store.get_monitor(VIM, vim_id)
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
        mistral_server.stop()
        time.sleep(3)
        mistral_server.start()
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).action_id != first.action_id,
                        timeout=60)
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None,
                        timeout=30)
        second = store.get_monitor(VIM, vim_id)
        client = mistral_client.client(mistral_url=mistral_server.url)
        assert client.executions.get(second.execution_id).state == "RUNNING"
        assert store.get_vim(vim_id).status == "REACHABLE"
    finally:
        lifecycle.deregister_vim(vim_id)


def test_redeploys_in_quick_succession_run_the_latest_definition(e2e):
    """Mistral caches parsed workflows by definition id and `updated_at`, kept to the
    second: had the backend updated the definition in place, an execution started after
    two updates within one second would run the older one, whose action is no longer
    current and exits at once (then the reconciler re-creates it, a grace period later)."""
    setup, _mistral, log_path = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    try:
        time.sleep(1 - time.time() % 1)  # at the start of a second: both land within it
        lifecycle.redeploy(VIM, vim_id)
        latest = lifecycle.redeploy(VIM, vim_id)
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
        assert store.get_monitor(VIM, vim_id).action_id == latest
        assert not _action_ended(log_path, latest)
    finally:
        lifecycle.deregister_vim(vim_id)


def test_scale_out_and_in_the_monitored_targets_follow(e2e):
    servers = {"127.0.0.81": serve_ok("127.0.0.81", 0)}
    port = servers["127.0.0.81"].server_address[1]
    servers["127.0.0.82"] = serve_ok("127.0.0.82", port)
    setup, mistral, log_path = e2e
    lifecycle, store = setup(driver="noop")
    vnfd = {"vdus": {"VDU1": {"monitoring_policy": {"http_ping": {
        "monitoring_params": {"monitoring_delay": 0, "count": 1, "interval": 0.3,
                              "timeout": 0.3, "retry": 2, "port": port},
        "actions": {"failure": "log"}}}}}}
    vnf_id = lifecycle.create_vnf(vnfd, "vnfd.yaml", {"VDU1": ["127.0.0.81"]})
    try:
        first = store.get_monitor(VNF, vnf_id)
        lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.81", "127.0.0.82"]})
        second = store.get_monitor(VNF, vnf_id)
        definition = mistral.workflows.get(second.workflow_name).definition
        assert "127.0.0.82" in definition and second.action_id in definition
        assert mistral.executions.get(second.execution_id).state == "RUNNING"
        assert first.execution_id not in [e.id for e in mistral.executions.list()]
        assert wait_for(lambda: _action_ended(log_path, first.action_id))

        lifecycle.scale_vnf(vnf_id, {"VDU1": ["127.0.0.82"]})  # scale in
        third = store.get_monitor(VNF, vnf_id)
        assert wait_for(lambda: _action_ended(log_path, second.action_id))
        assert wait_for(lambda: store.get_monitor(VNF, vnf_id).last_checkin_at is not None)
        servers["127.0.0.81"].shutdown()  # no longer monitored: nothing happens
        time.sleep(2.0)
        assert store.get_vnf(vnf_id).status == "ACTIVE"
        servers["127.0.0.82"].shutdown()  # monitored: the log policy marks the VNF DEAD
        assert wait_for(lambda: store.get_vnf(vnf_id).status == "DEAD")
        dead = [e for e in store.events(VNF, vnf_id) if e.state == "DEAD"]
        assert dead[-1].details["report"]["target"] == "127.0.0.82"
        assert third.action_id == store.get_monitor(VNF, vnf_id).action_id
    finally:
        lifecycle.delete_vnf(vnf_id)
        for server in servers.values():
            server.server_close()


def test_the_cli_registers_lists_shows_and_deregisters(e2e, mistral_server, tmp_path, capsys):
    import json

    from nfvmon.cli import main

    setup, mistral, _log = e2e
    _lifecycle, store = setup()
    conf_file = tmp_path / "nfvmon.conf"
    conf_file.write_text(
        f"[DEFAULT]\ntransport_url = {rabbit_url()}\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'nfvmon.sqlite'}\n"
        f"[conductor]\ntopic = {mistral_server.topic}\n[mistral]\nurl = {mistral_server.url}\n")
    vim_file = tmp_path / "vim.yaml"
    vim_file.write_text(yaml.safe_dump(_vim_config("127.0.0.1")))
    common = ["--config-file", str(conf_file)]
    assert main(["vim", "register", str(vim_file), "--name", "lab", *common]) == 0
    vim_id = capsys.readouterr().out.strip()
    assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
    assert main(["vim", "list", "-f", "json", *common]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["id"], row["name"], row["status"]) == (vim_id, "lab", "REACHABLE")
    assert main(["vim", "show", vim_id, *common]) == 0
    assert "REACHABLE" in capsys.readouterr().out
    assert main(["vim", "deregister", vim_id, *common]) == 0
    assert "deregistered" in capsys.readouterr().out
    assert f"vim_id_{vim_id}" not in [w.name for w in mistral.workflows.list()]
    assert main(["vim", "show", vim_id, *common]) == 2


def test_deregister_works_when_mistral_already_lost_the_workflow(e2e):
    setup, mistral, log_path = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    monitor = store.get_monitor(VIM, vim_id)
    assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")  # its action runs
    mistral.executions.delete(monitor.execution_id, force=True)
    mistral.workflows.delete(monitor.workflow_name)
    assert lifecycle.deregister_vim(vim_id)
    assert not lifecycle.deregister_vim(vim_id)  # a Removal: false when nothing existed
    assert store.get_vim(vim_id) is None
    assert wait_for(lambda: _action_ended(log_path, monitor.action_id))


def test_an_action_whose_execution_was_deleted_ends_and_the_monitor_comes_back(e2e):
    setup, mistral, log_path = e2e
    lifecycle, store = setup()
    vim_id = lifecycle.register_vim(_vim_config("127.0.0.1"), "vim.yaml")
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE")
        first = store.get_monitor(VIM, vim_id)
        mistral.executions.delete(first.execution_id, force=True)  # behind nfvmon's back
        assert wait_for(lambda: f"monitor {first.action_id} ended: execution_gone"
                        in log_path.read_text())
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).action_id != first.action_id,
                        timeout=60)  # the reconciler re-creates it
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None)
        second = store.get_monitor(VIM, vim_id)
        assert mistral.executions.get(second.execution_id).state == "RUNNING"
    finally:
        lifecycle.deregister_vim(vim_id)
