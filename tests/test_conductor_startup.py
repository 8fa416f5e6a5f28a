"""`nfvmon conductor` as a process: it checks its database first, says in one line what is
wrong, ends within seconds on SIGTERM/SIGINT in every state, and logs each line once."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from nfvmon.db.migrate import upgrade
from tests.conftest import rabbit_url

STOP_WITHIN = 5.0  # seconds a signalled conductor may take to exit


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _write_conf(directory: Path, transport_url: str, db_url: str | None = None,
                extra: str = "") -> Path:
    path = directory / f"nfvmon-{uuid.uuid4().hex[:6]}.conf"
    database = f"[database]\nconnection = {db_url}\n" if db_url else ""
    path.write_text(f"[DEFAULT]\ntransport_url = {transport_url}\nstate_path = {directory}/state\n"
                    f"{extra}{database}[conductor]\ntopic = nfvmon_test_{uuid.uuid4().hex[:8]}\n"
                    "reconcile = false\n")
    return path


def _sqlite(directory: Path) -> str:
    url = f"sqlite:///{directory / 'nfvmon.sqlite'}"
    upgrade(url)
    return url


class ConductorProcess:
    """`nfvmon conductor --config-file CONF`, its stdout and stderr in one log file."""

    def __init__(self, conf: Path, preexec_user: tuple[int, int] | None = None):
        self.log_path = conf.with_suffix(".log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        prefix = []
        if preexec_user is not None:
            uid, gid = preexec_user
            prefix = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"]
        self.popen = subprocess.Popen(
            [*prefix, sys.executable, "-m", "nfvmon.cli", "conductor", "--config-file",
             str(conf)], stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONWARNINGS": "ignore", "HOME": str(conf.parent)})

    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output():
            assert self.popen.poll() is None, f"exited early:\n{self.output()}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.output()}"
            time.sleep(0.1)

    def signal_and_time_exit(self, signum: int = signal.SIGTERM) -> float:
        started = time.monotonic()
        self.popen.send_signal(signum)
        try:
            self.popen.wait(STOP_WITHIN * 3)
        except subprocess.TimeoutExpired:
            pass
        return time.monotonic() - started

    def exit_status(self, timeout: float = 30) -> int:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running after {timeout} s:\n{self.output()}")

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()
        self._log.close()


@pytest.fixture
def run_conductor():
    started: list[ConductorProcess] = []

    def run(conf: Path, **kwargs) -> ConductorProcess:
        started.append(ConductorProcess(conf, **kwargs))
        return started[-1]

    yield run
    for process in started:
        process.close()


# --- signals --------------------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_ends_a_conductor_whose_broker_is_unreachable(tmp_path, run_conductor,
                                                               signum):
    conf = _write_conf(tmp_path, f"rabbit://guest:guest@127.0.0.1:{_closed_port()}/",
                       _sqlite(tmp_path))
    conductor = run_conductor(conf)
    conductor.wait_for("Connection refused")  # oslo.messaging is retrying the broker
    took = conductor.signal_and_time_exit(signum)
    assert conductor.popen.returncode == 0, conductor.output()
    assert took < STOP_WITHIN, conductor.output()


def test_sigterm_ends_a_conductor_serving_on_rabbitmq(tmp_path, run_conductor):
    conductor = run_conductor(_write_conf(tmp_path, rabbit_url(), _sqlite(tmp_path)))
    conductor.wait_for("listening on topic")
    took = conductor.signal_and_time_exit()
    assert conductor.popen.returncode == 0, conductor.output()
    assert took < STOP_WITHIN, conductor.output()
    assert "stopping" in conductor.output()


def test_sigterm_ends_a_conductor_whose_broker_went_away(tmp_path, run_conductor):
    from tests.test_control import Proxy

    proxy = Proxy()
    proxy.start()
    try:
        conductor = run_conductor(_write_conf(
            tmp_path, f"rabbit://guest:guest@127.0.0.1:{proxy.port}/", _sqlite(tmp_path)))
        conductor.wait_for("listening on topic")
    finally:
        proxy.cut()  # the broker "goes down" and stays down
    conductor.wait_for("Connection refused")  # it noticed, and retries
    took = conductor.signal_and_time_exit()
    assert conductor.popen.returncode == 0, conductor.output()
    assert took < STOP_WITHIN, conductor.output()


def test_sigterm_does_not_wait_for_a_running_policy_action(tmp_path, run_conductor,
                                                           global_conf):
    from nfvmon.conductor_rpc.client import ConductorAPI
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine

    started = tmp_path / "respawn-started"
    manager = tmp_path / "vnf-manager"
    manager.write_text(f"#!/bin/sh\necho $$ > {started}.tmp && mv {started}.tmp {started}\n"
                       "exec sleep 120\n")
    manager.chmod(0o755)
    url = _sqlite(tmp_path)
    store = Store(make_engine(url))
    store.create_vnf("vnf-1", vdus={"VDU1": ["127.0.0.2"]}, action_id="a1")
    store.close()
    conf = _write_conf(tmp_path, rabbit_url(), url,
                       extra=f"[vnf_manager]\ndriver = command\ncommand = {manager}\n")
    topic = next(line.split(" = ")[1] for line in conf.read_text().splitlines()
                 if line.startswith("topic = "))
    conductor = run_conductor(conf)
    conductor.wait_for("listening on topic")
    import oslo_messaging as messaging

    transport = messaging.get_rpc_transport(global_conf, url=rabbit_url())
    try:
        answer = ConductorAPI(transport, topic=topic, timeout=30).execute_policy_action(
            {}, {"id": "vnf-1"}, {"vdu": "VDU1", "target": "127.0.0.2", "event": "failure",
                                  "details": "test"}, {"failure": "respawn"}, "a1")
        assert not answer.startswith("error"), answer
        deadline = time.monotonic() + 30
        while not started.exists():  # the respawn command runs (and will for 120 s)
            assert time.monotonic() < deadline, conductor.output()
            time.sleep(0.1)
        took = conductor.signal_and_time_exit()
    finally:
        transport.cleanup()
        if started.exists():
            try:
                os.kill(int(started.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    assert conductor.popen.returncode == 0, conductor.output()
    assert took < STOP_WITHIN, conductor.output()


# --- the database, checked before anything else ---------------------------------------------

def _one_line(conductor: ConductorProcess) -> str:
    """The one line a conductor that cannot start prints (after its INFO "starting" line, if
    it got that far); it exits 2."""
    status = conductor.exit_status()
    lines = [line for line in conductor.output().strip().splitlines()
             if " INFO nfvmon.conductor_rpc.server " not in line]
    assert status == 2 and len(lines) == 1, (status, conductor.output())
    return lines[0]


def test_a_missing_sqlite_file_is_one_line_naming_db_upgrade_and_is_not_created(
        tmp_path, run_conductor):
    conf = _write_conf(tmp_path, "fake://")
    line = _one_line(run_conductor(conf))
    database = tmp_path / "state" / "nfvmon.sqlite"
    assert line == f"no database file {database}: run nfvmon db upgrade --config-file {conf}"
    assert not database.exists() and not database.parent.exists()


def test_a_file_that_is_not_a_database_is_one_line(tmp_path, run_conductor):
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("x" * 200)
    line = _one_line(run_conductor(_write_conf(tmp_path, "fake://",
                                               f"sqlite:///{not_a_database}")))
    assert line.startswith(f"{not_a_database} is not a SQLite database"), line


def test_an_old_schema_is_one_line_naming_db_upgrade(tmp_path, run_conductor):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    upgrade(url, "0001")
    conf = _write_conf(tmp_path, "fake://", url)
    line = _one_line(run_conductor(conf))
    assert "is at revision 0001, not the latest" in line, line
    assert line.endswith(f": run nfvmon db upgrade --config-file {conf}"), line


def test_an_empty_postgresql_database_is_one_line_naming_db_upgrade(tmp_path, run_conductor,
                                                                    postgres_url):
    conf = _write_conf(tmp_path, "fake://", postgres_url)
    line = _one_line(run_conductor(conf))
    assert line == (f"the database at {postgres_url} has no nfvmon schema: run nfvmon db "
                    f"upgrade --config-file {conf}")


def test_postgresql_down_is_one_line_without_the_password(tmp_path, run_conductor):
    port = _closed_port()
    url = f"postgresql+psycopg2://postgres:sekret-pw@127.0.0.1:{port}/nfvmon"
    conductor = run_conductor(_write_conf(tmp_path, "fake://", url))
    line = _one_line(conductor)
    assert line.startswith(f"cannot reach the database at postgresql+psycopg2://postgres:***@"
                           f"127.0.0.1:{port}/nfvmon: "), line
    assert "sekret-pw" not in conductor.output()


def _world_readable_dir() -> Path:
    directory = Path(tempfile.mkdtemp(prefix="nfvmon-ro-"))
    directory.chmod(0o755)
    return directory


def test_a_read_only_sqlite_file_is_one_line_for_the_conductor(run_conductor):
    """Read-only for the conductor's user (root writes anything: then the conductor runs as
    nobody)."""
    directory = _world_readable_dir()
    try:
        url = _sqlite(directory)
        (directory / "nfvmon.sqlite").chmod(0o444)
        directory.chmod(0o555)
        conf = _write_conf_readable(directory, url)
        user = (65534, 65534) if os.geteuid() == 0 else None
        line = _one_line(run_conductor(conf, preexec_user=user))
        assert line.startswith(f"the database {directory / 'nfvmon.sqlite'} is read-only for "
                               "this user"), line
    finally:
        directory.chmod(0o755)
        import shutil

        shutil.rmtree(directory)


def _write_conf_readable(directory: Path, url: str) -> Path:
    """A configuration (and a log file) the conductor can use in a directory it may not
    write."""
    directory.chmod(0o755)
    conf = _write_conf(directory, "fake://", url)
    log = conf.with_suffix(".log")
    log.touch()
    log.chmod(0o666)
    for path in (conf, log):
        path.chmod(path.stat().st_mode | stat.S_IROTH)
    directory.chmod(0o555)
    return conf


# --- the broker -----------------------------------------------------------------------------

def test_a_transport_url_no_driver_takes_is_one_line(tmp_path, run_conductor):
    line = _one_line(run_conductor(_write_conf(tmp_path, "nonsense://x/", _sqlite(tmp_path))))
    assert line.startswith("[DEFAULT] transport_url: no transport driver 'nonsense'"), line


def test_a_refused_broker_login_is_one_line_without_the_password(tmp_path, run_conductor):
    url = rabbit_url().replace("guest:guest@", "guest:wrong-pw@")
    conductor = run_conductor(_write_conf(tmp_path, url, _sqlite(tmp_path)))
    line = _one_line(conductor)
    assert line.startswith("[DEFAULT] transport_url: the broker refused the login"), line
    assert "wrong-pw" not in conductor.output()


# --- logging --------------------------------------------------------------------------------

def test_debug_shows_nfvmon_debug_lines_and_every_line_is_printed_once(tmp_path,
                                                                       run_conductor):
    conductor = run_conductor(_write_conf(tmp_path, "fake://nfvmon:sekret-pw@127.0.0.1/",
                                          _sqlite(tmp_path), extra="debug = true\n"))
    conductor.wait_for("listening on topic")
    conductor.signal_and_time_exit()
    lines = conductor.output().splitlines()
    assert any(" DEBUG nfvmon." in line for line in lines), conductor.output()
    assert "sekret-pw" not in conductor.output()  # the option values are logged, masked
    assert len([line for line in lines if "listening on topic" in line]) == 1, lines
