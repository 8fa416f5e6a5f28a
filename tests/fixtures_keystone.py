"""A real Keystone on 127.0.0.1 for the end-to-end tests, and an auth-enabled Mistral behind it.

Keystone from PyPI on SQLite: `keystone-manage db_sync`, `fernet_setup`, `credential_setup`,
`bootstrap`, then its public WSGI app served by wsgiref on a free port (keystone 30 ships no
`keystone-wsgi-public`). `register_mistral` makes what devstack makes: a `service` project, a
`mistral` service user with the admin role there, the `workflowv2` service with its endpoints,
and an `nfvmon` user (member of its own project) for nfvmon's clients.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import MistralServer, unavailable

ADMIN_PASSWORD = "keystone-admin-secret"
MISTRAL_PASSWORD = "mistral-service-secret"
NFVMON_PASSWORD = "nfvmon-secret"
REGION = "RegionOne"

_SERVE = """
import os, sys
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

port = int(sys.argv[1])
sys.argv = sys.argv[:1]  # Keystone's oslo.config reads sys.argv
from keystone.server import wsgi

app = wsgi.initialize_public_application()


class Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class Handler(WSGIRequestHandler):
    def log_message(self, format, *args):
        sys.stderr.write("access %s\\n" % (format % args))
        sys.stderr.flush()


make_server("127.0.0.1", port, app, server_class=Server, handler_class=Handler).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class KeystoneServer:
    """Keystone of its own in `work`; `token_expiration`: Keystone's `[token] expiration`."""

    def __init__(self, work: Path, token_expiration: int = 3600):
        self.work = work
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v3"
        self.token_expiration = token_expiration
        self.conf = work / "keystone.conf"
        self.log_path = work / "keystone.log"
        self.conf.write_text(
            f"[DEFAULT]\nlog_file = {work / 'keystone-app.log'}\n"
            f"[database]\nconnection = sqlite:///{work / 'keystone.sqlite'}\n"
            f"[token]\nprovider = fernet\nexpiration = {token_expiration}\n"
            f"[fernet_tokens]\nkey_repository = {work / 'fernet-keys'}\n"
            f"[fernet_receipts]\nkey_repository = {work / 'fernet-keys'}\n"
            "[identity]\npassword_hash_rounds = 4\n"
            f"[credential]\nkey_repository = {work / 'credential-keys'}\n")
        self.env = {**os.environ, "OS_KEYSTONE_CONFIG_FILES": str(self.conf),
                    "PYTHONWARNINGS": "ignore"}
        self.process = None

    def setup(self) -> None:
        """The database, the keys and the admin (Keystone's `bootstrap`)."""
        manage = Path(sys.executable).parent / "keystone-manage"
        if not manage.exists():
            unavailable("keystone is not installed; install the test extras: "
                        "pip install '.[test]'")
        user = str(os.getuid())
        group = str(os.getgid())
        for args in (["db_sync"],
                     ["fernet_setup", "--keystone-user", user, "--keystone-group", group],
                     ["credential_setup", "--keystone-user", user, "--keystone-group", group],
                     ["bootstrap", "--bootstrap-password", ADMIN_PASSWORD,
                      "--bootstrap-region-id", REGION,
                      "--bootstrap-public-url", self.url.removesuffix("/v3"),
                      "--bootstrap-internal-url", self.url.removesuffix("/v3"),
                      "--bootstrap-admin-url", self.url.removesuffix("/v3")]):
            done = subprocess.run([str(manage), "--config-file", str(self.conf), *args],
                                  capture_output=True, text=True, env=self.env, timeout=180)
            if done.returncode != 0:
                pytest.fail(f"keystone-manage {args[0]} failed: {done.stderr[-2000:]}")

    def start(self) -> None:
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-c", _SERVE, str(self.port)], stdout=log, stderr=log,
                env=self.env, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.url, timeout=2).read()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"keystone did not start: {self.log_path.read_text()[-2000:]}")
                time.sleep(0.3)

    def restart(self, token_expiration: int) -> None:
        """Serve again with another `[token] expiration` (same database and keys: the
        tokens it issued stay valid until they expire)."""
        self.stop()
        text = self.conf.read_text().replace(f"expiration = {self.token_expiration}\n",
                                             f"expiration = {token_expiration}\n")
        assert f"expiration = {token_expiration}\n" in text
        self.conf.write_text(text)
        self.token_expiration = token_expiration
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, 9)
            except ProcessLookupError:
                pass
            self.process.wait(10)
            self.process = None

    def admin_session(self):
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        auth = v3.Password(auth_url=self.url, username="admin", password=ADMIN_PASSWORD,
                           project_name="admin", user_domain_id="default",
                           project_domain_id="default")
        return session.Session(auth=auth)

    def register_mistral(self, mistral_url: str) -> None:
        """The service project and users, the workflowv2 service and its endpoints."""
        from keystoneclient.v3 import client

        keystone = client.Client(session=self.admin_session(), interface="public")
        admin = keystone.roles.find(name="admin")
        member = keystone.roles.find(name="member")
        service_project = keystone.projects.create("service", "default")
        mistral = keystone.users.create("mistral", domain="default",
                                        password=MISTRAL_PASSWORD,
                                        default_project=service_project)
        keystone.roles.grant(admin, user=mistral, project=service_project)
        service = keystone.services.create("mistral", type="workflowv2")
        for interface in ("public", "internal", "admin"):
            keystone.endpoints.create(service, mistral_url, interface=interface,
                                      region=REGION)
        nfvmon_project = keystone.projects.create("nfvmon", "default")
        nfvmon = keystone.users.create("nfvmon", domain="default", password=NFVMON_PASSWORD,
                                       default_project=nfvmon_project)
        keystone.roles.grant(member, user=nfvmon, project=nfvmon_project)

    def nfvmon_options(self, password: str = NFVMON_PASSWORD) -> dict[str, str]:
        """The `[mistral]` options that authenticate nfvmon's clients (no url: the catalog)."""
        return {"auth_type": "password", "auth_url": self.url, "username": "nfvmon",
                "password": password, "project_name": "nfvmon",
                "user_domain_name": "Default", "project_domain_name": "Default",
                "region_name": REGION, "valid_interfaces": "public"}

    def tokens_issued(self) -> int:
        """POST /v3/auth/tokens answered 201, counted from the access log."""
        return sum(1 for line in self.log_path.read_text().splitlines()
                   if line.startswith("access ") and '"POST /v3/auth/tokens' in line
                   and '" 201 ' in line)


class KeystoneMistralServer(MistralServer):
    """The real Mistral with `[pecan] auth_enable = True` and keystonemiddleware pointed at
    `keystone`; nfvmon's config for the actions on its executor authenticates through
    Keystone and finds Mistral in the catalog."""

    def __init__(self, work: Path, rabbit: str, keystone: KeystoneServer, **kwargs):
        super().__init__(work, rabbit, **kwargs)
        self.keystone = keystone
        text = self.conf.read_text().replace("[pecan]\nauth_enable = False\n",
                                             "[pecan]\nauth_enable = True\n")
        assert "auth_enable = True" in text
        self.conf.write_text(
            text + "[keystone_authtoken]\n"
            f"www_authenticate_uri = {keystone.url}\nauth_url = {keystone.url}\n"
            "auth_type = password\nusername = mistral\n"
            f"password = {MISTRAL_PASSWORD}\nproject_name = service\n"
            "user_domain_name = Default\nproject_domain_name = Default\n"
            f"region_name = {REGION}\n")
        nfvmon_conf = work / "nfvmon.conf"
        lines = [line for line in nfvmon_conf.read_text().splitlines()
                 if not line.startswith("url = ")]
        nfvmon_conf.write_text("\n".join(lines) + "\n" + "".join(
            f"{key} = {value}\n" for key, value in keystone.nfvmon_options().items()))

    def start(self) -> None:
        """Up once its API answers at all: without a token that is 401."""
        self.process = self._launch("all")
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/workflows", timeout=2).read()
                pytest.fail("Mistral answered without a token: auth_enable is off")
            except urllib.error.HTTPError as exc:
                if exc.code == 401:
                    return
                raise
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("mistral-server did not start: "
                                f"{self.log_path.read_text()[-2000:]}")
                time.sleep(0.5)
