"""Services a fault test may kill: a RabbitMQ node of its own, Mistral as three processes,
nfvmon conductors as processes, and PostgreSQL connections to terminate.

Everything here is started on its own ports and data directories and stopped by the pid it
was started with: the machine's RabbitMQ and PostgreSQL are never stopped or restarted (only
the connections to this test's own databases are terminated).
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import MistralServer, _pg_admin_connection, unavailable

RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def kill_group(process: subprocess.Popen | None, grace: float = 5) -> None:
    """SIGTERM the process group we started, SIGKILL after `grace` seconds."""
    if process is None:
        return
    for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


class PrivateRabbit:
    """A RabbitMQ node of this test (own node name, ports, cookie, Mnesia and log dirs), so
    that restarting it touches nothing else on the machine. Its queues and exchanges live in
    its Mnesia directory and survive `restart()`."""

    def __init__(self, work: Path):
        if not os.path.exists(RABBITMQ_SERVER):
            unavailable(f"RabbitMQ is not installed ({RABBITMQ_SERVER} missing): "
                        "apt-get install rabbitmq-server")
        self.work = work
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"nfvmonfault{self.port}@localhost"
        home = work / "home"
        home.mkdir(parents=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text(secrets.token_hex(16))
        cookie.chmod(0o400)
        (work / "enabled_plugins").write_text("")
        (work / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n")
        self.env = {**os.environ, "HOME": str(home), "RABBITMQ_NODENAME": self.node,
                    "RABBITMQ_NODE_PORT": str(self.port),
                    "RABBITMQ_DIST_PORT": str(self.dist_port),
                    "RABBITMQ_MNESIA_BASE": str(work / "mnesia"),
                    "RABBITMQ_LOG_BASE": str(work / "log"),
                    "RABBITMQ_ENABLED_PLUGINS_FILE": str(work / "enabled_plugins"),
                    "RABBITMQ_CONFIG_FILE": str(work / "rabbitmq")}
        self.url = f"rabbit://guest:guest@127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90) -> None:
        with open(self.work / "server.out", "a") as out:
            self.process = subprocess.Popen([RABBITMQ_SERVER], env=self.env, stdout=out,
                                            stderr=out, stdin=subprocess.DEVNULL,
                                            start_new_session=True, cwd=self.work)
        deadline = time.monotonic() + timeout
        while not _listening(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = (self.work / "server.out").read_text()[-1500:]
                unavailable(f"a private RabbitMQ node did not start: {tail}")
            time.sleep(0.3)

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as a broker restart does."""
        kill_group(self.process, grace=20)
        self.process = None

    def restart(self, down_seconds: float = 2) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


class SplitMistral(MistralServer):
    """Mistral's API, engine and executor, each a process of its own, each restartable."""

    ROLES = ("api", "engine", "executor")

    def __init__(self, work: Path, rabbit: str, database: str, checkin_interval: float):
        super().__init__(work, rabbit, checkin_interval=checkin_interval, database=database)
        self.processes: dict[str, subprocess.Popen | None] = dict.fromkeys(self.ROLES)

    def start(self) -> None:
        for role in self.ROLES:
            self.start_role(role)
        self.wait_api()

    def start_role(self, role: str) -> None:
        self.processes[role] = self._launch(role)

    def kill_role(self, role: str, hard: bool) -> None:
        process = self.processes[role]
        if hard and process is not None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(10)
        else:
            self._kill(process)
        self.processes[role] = None

    def wait_api(self, timeout: float = 120) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/workflows", timeout=5).read()
                return
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Mistral's API did not answer: {exc}") from None
                time.sleep(0.5)

    def stop(self) -> None:
        for role in self.ROLES:
            self._kill(self.processes[role])
            self.processes[role] = None


class ConductorProcess:
    """`nfvmon conductor` as a process: kill -9 and start it again."""

    def __init__(self, work: Path, name: str, settings: dict[str, dict[str, object]],
                 env: dict[str, str]):
        self.name = name
        self.conf = work / f"{name}.conf"
        self.log = work / f"{name}.log"
        sections = {"DEFAULT": {"host": name, "log_file": str(self.log)}}
        for section, values in settings.items():
            sections.setdefault(section, {}).update(values)
        self.conf.write_text("".join(
            f"[{section}]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
            for section, values in sections.items()))
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        nfvmon = Path(sys.executable).parent / "nfvmon"
        with open(self.log.with_suffix(".out"), "a") as out:
            self.process = subprocess.Popen(
                [str(nfvmon), "conductor", "--config-file", str(self.conf)], stdout=out,
                stderr=out, stdin=subprocess.DEVNULL, env=self.env, start_new_session=True)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def kill9(self) -> None:
        """SIGKILL the conductor alone (its children, a running VNF-manager command, live on,
        as they would after a real `kill -9`)."""
        if self.process is not None:
            try:
                os.kill(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        kill_group(self.process)
        self.process = None


def terminate_connections(databases: list[str]) -> int:
    """pg_terminate_backend for every connection to these (the test's own) databases."""
    admin = _pg_admin_connection()
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                           (databases,))
            return cursor.fetchone()[0]
    finally:
        admin.close()
