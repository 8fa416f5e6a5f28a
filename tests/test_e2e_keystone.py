"""End to end with a real Keystone in front of a real Mistral (`[pecan] auth_enable = True`).

nfvmon's three Mistral clients authenticate with `[mistral]` keystoneauth options and find
Mistral in Keystone's catalog (no `[mistral] url` anywhere): the CLI (`nfvmon vim register`
/ `deregister`), the conductor's reconciler (a `nfvmon conductor` process), and the actions
on Mistral's executor (its nfvmon.conf, written by KeystoneMistralServer). One Keystone and
one Mistral serve the module; the token-expiry run restarts Keystone with a 20 s token life.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import oslo_messaging as messaging
import pytest
import yaml

from nfvmon.conductor_rpc.client import MonitorControlAPI
from nfvmon.db.api import VIM, Store
from nfvmon.db.engine import make_engine
from nfvmon.errors import NfvmonError
from tests.conftest import fresh_postgres_database, rabbit_url, require_module, wait_for
from tests.fixtures_keystone import KeystoneMistralServer, KeystoneServer
from tests.test_e2e_mistral import _vim_config

#: Keystone's `[token] expiration` in the renewal run: shorter than that run.
SHORT_TOKEN_LIFE = 20


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_module("mistral")
    require_module("keystone")
    work = tmp_path_factory.mktemp("keystone-e2e")
    (work / "keystone").mkdir()
    (work / "mistral").mkdir()
    keystone = KeystoneServer(work / "keystone")
    keystone.setup()
    keystone.start()
    try:
        with fresh_postgres_database("mistral_keystone") as database:
            mistral = KeystoneMistralServer(work / "mistral", rabbit_url(), keystone,
                                            database=database)
            keystone.register_mistral(mistral.url)
            mistral.start()
            try:
                yield SimpleNamespace(keystone=keystone, mistral=mistral)
            finally:
                mistral.stop()
    finally:
        keystone.stop()


def _write_conf(path: Path, stack, *, run_mode: str = "sync", reconcile: bool = True,
                **mistral_options: str) -> Path:
    """nfvmon's configuration for the CLI and the conductor: Keystone's options only."""
    options = {**stack.keystone.nfvmon_options(), **mistral_options}
    path.write_text(
        f"[DEFAULT]\ntransport_url = {rabbit_url()}\n"
        f"[database]\nconnection = sqlite:///{path.parent / 'nfvmon.sqlite'}\n"
        f"[conductor]\ntopic = {stack.mistral.topic}\ncheckin_interval = 2\n"
        f"reconcile = {reconcile}\nreconcile_interval = 1\n"
        f"[mistral]\nrun_mode = {run_mode}\n"
        + "".join(f"{key} = {value}\n" for key, value in options.items()))
    return path


def nfvmon(*args: str, conf: Path, check: bool = True) -> subprocess.CompletedProcess:
    """The `nfvmon` command as an operator runs it (no OS_* variables in its environment)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OS_")}
    env["PYTHONWARNINGS"] = "ignore"
    done = subprocess.run([str(Path(sys.executable).parent / "nfvmon"), *args,
                           "--config-file", str(conf)], cwd=conf.parent, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, f"nfvmon {' '.join(args)}: {done.stderr[-2000:]}"
    return done


def mistral_client(conf: Path):
    """A Mistral client authenticated as nfvmon is, from the same configuration."""
    from oslo_config import cfg

    from nfvmon import config, mistral_api

    return mistral_api.Access(config.load([str(conf)], conf=cfg.ConfigOpts(),
                                          setup_logging=False))


class ConductorProcess:
    """`nfvmon conductor` in a process of its own, stopped with SIGTERM."""

    def __init__(self, conf: Path):
        self.log_path = conf.parent / "conductor.log"
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).parent / "nfvmon"), "conductor", "--config-file",
                 str(conf)], stdout=log, stderr=log, start_new_session=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if not wait_for(lambda: "listening on topic" in self.log_path.read_text()
                        or self.process.poll() is not None, timeout=90):
            self.stop()
            pytest.fail(f"conductor did not start: {self.log_path.read_text()[-2000:]}")
        assert self.process.poll() is None, self.log_path.read_text()[-2000:]

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


@pytest.fixture
def operator(stack, tmp_path):
    """Start a conductor with a configuration written by `_write_conf`; the store it uses."""
    started = []

    def start(**options) -> tuple[Path, Store]:
        conf = _write_conf(tmp_path / "nfvmon.conf", stack, **options)
        nfvmon("db", "upgrade", conf=conf)
        started.append(ConductorProcess(conf))
        store = Store(make_engine(f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"))
        return conf, store

    yield start
    for conductor in started:
        conductor.stop()


def _register(conf: Path, host: str = "127.0.0.1") -> str:
    (conf.parent / "vim.yaml").write_text(yaml.safe_dump(_vim_config(host)))
    return nfvmon("vim", "register", "vim.yaml", conf=conf).stdout.strip()


def _action_output(mistral, execution_id: str) -> dict:
    (task,) = mistral.tasks.list(workflow_execution_id=execution_id)
    (action_ex,) = mistral.action_executions.list(task_execution_id=task.id)
    return json.loads(mistral.action_executions.get(action_ex.id).output)["result"]


def test_mistral_refuses_a_request_without_a_token(stack):
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{stack.mistral.url}/workflows", timeout=10)
    assert refused.value.code == 401


def test_a_vim_registered_through_keystone_is_monitored_recreated_and_deregistered(
        stack, operator):
    """The CLI deploys through Keystone; the action on the executor checks its execution
    through Keystone (and ends when it is deleted behind nfvmon's back); the conductor's
    reconciler re-creates the monitor through Keystone; the CLI removes it."""
    conf, store = operator()
    mistral = mistral_client(conf).client()
    vim_id = _register(conf)
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE", timeout=60)
        first = store.get_monitor(VIM, vim_id)
        assert mistral.executions.get(first.execution_id).state == "RUNNING"

        mistral.executions.delete(first.execution_id, force=True)
        assert wait_for(lambda: f"monitor {first.action_id} ended: execution_gone"
                        in stack.mistral.log_path.read_text(), timeout=60)
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).action_id != first.action_id,
                        timeout=60)  # the reconciler re-created it
        assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at is not None,
                        timeout=60)
        second = store.get_monitor(VIM, vim_id)
        assert mistral.executions.get(second.execution_id).state == "RUNNING"
    finally:
        nfvmon("vim", "deregister", vim_id, conf=conf)
    assert store.get_vim(vim_id) is None
    names = [w.name for w in mistral.workflows.list()]
    assert f"vim_id_{vim_id}" not in names


def _kill_and_read_end(global_conf, store, mistral, vim_id: str) -> dict:
    """Kill the async monitor over the broker; its end as Mistral recorded it."""
    monitor = store.get_monitor(VIM, vim_id)
    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    try:
        MonitorControlAPI(transport).kill({}, monitor.action_id)
    finally:
        transport.cleanup()
    assert wait_for(lambda: mistral.executions.get(monitor.execution_id).state != "RUNNING",
                    timeout=60)
    assert mistral.executions.get(monitor.execution_id).state == "SUCCESS"
    return _action_output(mistral, monitor.execution_id)


def test_an_async_monitor_reports_its_end_to_mistral_through_keystone(
        stack, operator, global_conf):
    conf, store = operator(run_mode="async", reconcile=False)  # nothing re-creates it
    mistral = mistral_client(conf).client()
    vim_id = _register(conf)
    try:
        assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE", timeout=60)
        output = _kill_and_read_end(global_conf, store, mistral, vim_id)
        assert (output["reason"], output["status"]) == ("killed", "REACHABLE")
    finally:
        nfvmon("vim", "deregister", vim_id, conf=conf)


def test_wrong_credentials_are_one_line_naming_the_password_option(stack, tmp_path):
    conf = _write_conf(tmp_path / "nfvmon.conf", stack, password="not-the-password")
    with pytest.raises(NfvmonError) as refused:
        mistral_client(conf).client().workflows.list()
    assert str(refused.value) == (
        f"[mistral] password: Keystone at {stack.keystone.url} refused the credentials of "
        "user nfvmon in project nfvmon (401)")
    # and the operator sees that line, not a traceback
    nfvmon("db", "upgrade", conf=conf)
    (tmp_path / "vim.yaml").write_text(yaml.safe_dump(_vim_config("127.0.0.1")))
    done = nfvmon("vim", "register", "vim.yaml", conf=conf, check=False)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert str(refused.value) in done.stderr


def test_a_region_without_mistral_is_one_line_naming_region_name(stack, tmp_path):
    conf = _write_conf(tmp_path / "nfvmon.conf", stack, region_name="Elsewhere")
    with pytest.raises(NfvmonError, match=r"^\[mistral\] region_name/valid_interfaces: no "
                                          r"workflowv2 endpoint in the catalog of Keystone "
                                          r"at .*region Elsewhere"):
        mistral_client(conf).client()


def test_tokens_shorter_than_the_run_are_renewed_by_every_client(
        stack, operator, global_conf):
    """Keystone's tokens live 20 s; the run lasts longer. The token nfvmon first got is
    refused by Mistral once expired, yet every client goes on: the test's own session (a
    new token), the async action's end reported by the executor's session, the conductor's
    reconciler and the CLI's deregistration."""
    keystone = stack.keystone
    keystone.restart(token_expiration=SHORT_TOKEN_LIFE)
    try:
        conf, store = operator(run_mode="async")
        access = mistral_client(conf)
        mistral = access.client()
        mistral.workflows.list()
        first_token = access.session.get_token()
        expires = access.session.auth.auth_ref.expires
        assert (expires.timestamp() - time.time()) <= SHORT_TOKEN_LIFE
        vim_id = _register(conf)
        try:
            assert wait_for(lambda: store.get_vim(vim_id).status == "REACHABLE", timeout=60)
            assert wait_for(lambda: time.time() > expires.timestamp() + 1,
                            timeout=SHORT_TOKEN_LIFE + 5)
            expired = urllib.request.Request(f"{stack.mistral.url}/workflows",
                                             headers={"X-Auth-Token": first_token})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(expired, timeout=10)
            assert refused.value.code == 401

            issued = keystone.tokens_issued()
            assert vim_id in [w.name.removeprefix("vim_id_")
                              for w in mistral.workflows.list()]
            assert access.session.get_token() != first_token
            assert keystone.tokens_issued() > issued
            # The executor's session reports the end after its first token expired, and
            # the conductor's reconciler re-creates the now silent monitor in Mistral.
            monitor = store.get_monitor(VIM, vim_id)
            output = _kill_and_read_end(global_conf, store, mistral, vim_id)
            assert output["reason"] == "killed"
            assert wait_for(lambda: store.get_monitor(VIM, vim_id).action_id
                            != monitor.action_id, timeout=60)
            assert wait_for(lambda: store.get_monitor(VIM, vim_id).last_checkin_at
                            is not None, timeout=60)
            recreated = store.get_monitor(VIM, vim_id)
            assert mistral.executions.get(recreated.execution_id).state == "RUNNING"
        finally:
            nfvmon("vim", "deregister", vim_id, conf=conf)
        assert vim_id not in [w.name.removeprefix("vim_id_") for w in mistral.workflows.list()]
    finally:
        keystone.restart(token_expiration=3600)
