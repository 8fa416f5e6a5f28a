"""Shared test helpers: sample locations and the CI rule for optional services."""

from __future__ import annotations

import contextlib
import importlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TACKER_SAMPLES = ROOT / "tests" / "data" / "tacker-samples"
SHARED_SAMPLES = ROOT.parent / "shared" / "tacker-samples"
SAMPLES = ROOT / "samples"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_module(name: str):
    """Import `name`; outside CI skip with the reason, in CI fail (never skip silently)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        message = f"{name} is not installed ({exc}); install the test extras: pip install '.[test]'"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def unavailable(reason: str):
    """A service the test needs is missing: fail in CI, skip (saying why) elsewhere."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


PG_ADMIN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "postgres"}


def _pg_admin_connection():
    psycopg2 = require_module("psycopg2")
    try:
        connection = psycopg2.connect(connect_timeout=5, **PG_ADMIN)
    except psycopg2.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}".strip())
    connection.autocommit = True
    return connection


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "nfvmon_test"):
    """A fresh, empty PostgreSQL database (its URL), dropped afterwards."""
    import uuid

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin_connection()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """The same test against SQLite (the default) and PostgreSQL (several conductors)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'nfvmon.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(database_url):
    from nfvmon.db.api import Store
    from nfvmon.db.engine import make_engine
    from nfvmon.db.migrate import upgrade

    upgrade(database_url)
    store = Store(make_engine(database_url))
    yield store
    store.close()


def rabbit_url() -> str:
    """The real broker; fail in CI / skip elsewhere when nothing listens on 5672."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError as exc:
        unavailable(f"RabbitMQ is not reachable on 127.0.0.1:5672: {exc}")
    return "rabbit://guest:guest@127.0.0.1:5672/"


class NetnsHost:
    """A test host in a network namespace of our own, reached over a veth pair.

    Only this host's address is ever probed; `down()` takes its interface down, so the
    address stops answering without any other host being involved.
    """

    def __init__(self, index: int):
        import uuid

        tag = uuid.uuid4().hex[:6]
        self.netns = f"nfvmon-{tag}"
        self.outer, self.inner = f"nfv{tag}a", f"nfv{tag}b"
        self.address = f"198.18.{index}.2"
        self._outer_address = f"198.18.{index}.1/30"
        self._inner_address = f"198.18.{index}.2/30"

    def _ip(self, *args, netns: bool = False) -> None:
        import subprocess

        prefix = ["ip", "netns", "exec", self.netns] if netns else []
        subprocess.run([*prefix, "ip", *args], check=True, capture_output=True, timeout=10)

    def create(self) -> None:
        self._ip("netns", "add", self.netns)
        self._ip("link", "add", self.outer, "type", "veth", "peer", "name", self.inner)
        self._ip("link", "set", self.inner, "netns", self.netns)
        self._ip("addr", "add", self._outer_address, "dev", self.outer)
        self._ip("link", "set", self.outer, "up")
        self._ip("addr", "add", self._inner_address, "dev", self.inner, netns=True)
        self._ip("link", "set", self.inner, "up", netns=True)
        self._ip("link", "set", "lo", "up", netns=True)

    def down(self) -> None:
        self._ip("link", "set", self.inner, "down", netns=True)

    def up(self) -> None:
        self._ip("link", "set", self.inner, "up", netns=True)

    def destroy(self) -> None:
        import subprocess

        subprocess.run(["ip", "link", "del", self.outer], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=10)


@pytest.fixture
def netns_host():
    import shutil
    import subprocess

    if os.geteuid() != 0 or shutil.which("ip") is None:
        unavailable("network-namespace tests need root and iproute2 (ip)")
    host = NetnsHost(index=int.from_bytes(os.urandom(1), "big") % 200 + 20)
    try:
        host.create()
    except subprocess.CalledProcessError as exc:
        host.destroy()
        unavailable(f"cannot create a network namespace: {exc.stderr.decode().strip()}")
    yield host
    host.destroy()


@pytest.fixture
def global_conf():
    """The global cfg.CONF (oslo.messaging registers options only there), restored afterwards.

    nfvmon's options are unregistered again: Mistral (imported by other tests) registers
    oslo.db's own `[database] connection` on cfg.CONF and fails if ours is already there.
    """
    from oslo_config import cfg

    from nfvmon import config

    conf = cfg.CONF

    def registered(opt, group) -> bool:
        try:
            return opt.dest in (conf[group] if group else conf)
        except cfg.NoSuchOptError:
            return False

    ours = [(group, opt) for group, opts in config.GROUPS.items() for opt in opts
            if not registered(opt, group)]
    config.register_opts(conf)
    conf([], project="nfvmon")
    yield conf
    conf.reset()
    conf.clear()
    for group, opt in ours:
        conf.unregister_opt(opt, group=group)


_MISTRAL_SETUP_DB = """
import sys
from mistral import config
config.parse_args(["--config-file", sys.argv[1]])
from mistral.db.v2 import api
api.setup_db()
"""


class MistralServer:
    """The real Mistral (`mistral-server --server all`) on 127.0.0.1, auth off, RabbitMQ,
    tables made from its models; nfvmon's actions read a config naming a topic of
    this session. `stop()` and `start()` again to simulate a dead executor.
    `executor_threads`: Mistral's executor_thread_pool_size (oslo.messaging's, 64 by default);
    `executor_apart`: run the executor as a process of its own (`executor`), to measure it;
    `database`: Mistral's database URL (default: SQLite, which fails writes with "database
    is locked" under concurrent load; the e2e tests use PostgreSQL)."""

    def __init__(self, work: Path, rabbit: str, executor_threads: int | None = None,
                 checkin_interval: float = 2, executor_apart: bool = False,
                 database: str | None = None):
        import socket
        import subprocess
        import sys
        import uuid

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v2"
        self.topic = f"nfvmon_e2e_{uuid.uuid4().hex[:8]}"
        self.log_path = work / "server.log"
        self.conf = work / "mistral.conf"
        self.conf.write_text(
            # Queues of its own (queue names ignore the exchange): two Mistrals on one broker,
            # two test runs at once, would otherwise consume each other's engine calls.
            f"[DEFAULT]\ntransport_url = {rabbit}\ncontrol_exchange = mistral_{self.topic}\n"
            + (f"executor_thread_pool_size = {executor_threads}\n" if executor_threads else "")
            + "".join(f"[{group}]\ntopic = mistral_{group}_{self.topic}\n"
                      for group in ("engine", "executor", "event_engine", "notifier"))
            # No cron-trigger thread in the master: mistral-server builds the API app there,
            # and a worker forked while that thread held Mistral's process-wide transaction
            # lock inherits it held, so every DB call of that API or engine hangs for good.
            + "[cron_trigger]\nenabled = False\n"
            + f"[api]\nhost = 127.0.0.1\nport = {port}\n"
            f"[database]\nconnection = {database or f'sqlite:///{work}/mistral.sqlite'}\n"
            "[pecan]\nauth_enable = False\n")
        (work / "nfvmon.conf").write_text(
            f"[DEFAULT]\ntransport_url = {rabbit}\n[conductor]\ntopic = {self.topic}\n"
            f"checkin_interval = {checkin_interval}\n[mistral]\nurl = {self.url}\n")
        self.env = {**os.environ, "NFVMON_CONFIG_FILE": str(work / "nfvmon.conf"),
                    "PYTHONWARNINGS": "ignore"}
        subprocess.run([sys.executable, "-c", _MISTRAL_SETUP_DB, str(self.conf)],
                       check=True, capture_output=True, env=self.env, timeout=120)
        self.executor_apart = executor_apart
        self.process = self.executor = None

    def start(self) -> None:
        import time
        import urllib.request

        services = "api,engine,event-engine,notifier" if self.executor_apart else "all"
        self.process = self._launch(services)
        if self.executor_apart:
            self.start_executor()
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/workflows", timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()  # no fixture teardown follows a failed start
                    pytest.fail("mistral-server did not start: "
                                f"{self.log_path.read_text()[-2000:]}")
                time.sleep(0.5)

    def start_executor(self) -> None:
        """The executor alone (with `executor_apart`)."""
        self.executor = self._launch("executor")

    def stop_executor(self) -> None:
        self._kill(self.executor)
        self.executor = None

    def _launch(self, services: str):
        import subprocess
        import sys

        server = Path(sys.executable).parent / "mistral-server"
        with open(self.log_path, "a") as log:
            return subprocess.Popen(
                [str(server), "--server", services, "--config-file", str(self.conf)],
                stdout=log, stderr=log, env=self.env, start_new_session=True)

    def stop(self) -> None:
        """Kill every process of the server."""
        for process in (self.process, self.executor):
            self._kill(process)
        self.process = self.executor = None

    @staticmethod
    def _kill(process) -> None:
        """The master ignores SIGTERM for a long time: a short grace, then SIGKILL."""
        import signal
        import subprocess

        if process is None:
            return
        for signum, grace in ((signal.SIGTERM, 3), (signal.SIGKILL, 10)):
            try:
                os.killpg(process.pid, signum)
            except ProcessLookupError:
                return
            try:
                process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="session")
def mistral_server(tmp_path_factory):
    """One Mistral for the session, on PostgreSQL as in production: on SQLite its engine
    fails writes ("database is locked") when a test's API calls race it."""
    require_module("mistral")
    with fresh_postgres_database("mistral_e2e") as database:
        server = MistralServer(tmp_path_factory.mktemp("mistral"), rabbit_url(),
                               database=database)
        server.start()
        yield server
        server.stop()


def queue_exists(name: str) -> bool:
    """Whether RabbitMQ (at rabbit_url()) has a queue of that name."""
    import kombu

    from nfvmon.actions.control import amqp_urls

    with kombu.Connection(amqp_urls(rabbit_url())[0]) as connection:
        try:
            connection.default_channel.queue_declare(name, passive=True)
            return True
        except Exception:  # noqa: BLE001 - 404 NOT_FOUND: no such queue
            return False


def wait_for(predicate, timeout: float = 30.0, step: float = 0.1) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def serve_ok(address: str, port: int):
    """An HTTP server answering 200 on a loopback address, on a daemon thread."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((address, port), Ok)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
