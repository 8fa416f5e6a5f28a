"""VNF-manager drivers and plugin loading through entry points."""

from __future__ import annotations

import json
import select
import socket
import struct
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from oslo_config import cfg
from stevedore import extension

from nfvmon import config
from nfvmon.conductor_rpc.policy_actions import load_policy_actions
from nfvmon.conductor_rpc.vnf_managers import ManagerError, load_manager
from nfvmon.conductor_rpc.vnf_managers.command import CommandManager
from nfvmon.conductor_rpc.vnf_managers.webhook import WebhookManager
from nfvmon.errors import NfvmonError
from tests.conftest import wait_for


@pytest.fixture
def conf():
    conf = cfg.ConfigOpts()
    config.register_opts(conf)
    conf([], project="nfvmon")
    return conf


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "manager.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_command_gets_operation_and_ids_and_returns_new_ips(conf, tmp_path):
    argv = _script(tmp_path, """
        import json, os, sys
        seen = {"argv": sys.argv[1:], "op": os.environ["NFVMON_OPERATION"],
                "vnf": os.environ["NFVMON_VNF_ID"], "vdu": os.environ["NFVMON_VDU"]}
        open(os.path.join(os.path.dirname(__file__), "seen.json"), "w").write(json.dumps(seen))
        print(json.dumps({"mgmt_ips": {"VDU1": ["127.0.0.9", "::ffff:127.0.0.10"]}}))
    """)
    conf.set_override("command", argv + ["--flag"], group="vnf_manager")
    assert CommandManager(conf).run("respawn", "vnf-1", "VDU1") == {
        "VDU1": ["127.0.0.9", "127.0.0.10"]}
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {"argv": ["--flag", "respawn"], "op": "respawn", "vnf": "vnf-1",
                    "vdu": "VDU1"}


def test_command_user_data_never_meets_a_shell(conf, tmp_path):
    argv = _script(tmp_path, """
        import json, os
        print(json.dumps({"mgmt_ips": {}, "vnf": os.environ["NFVMON_VNF_ID"]}))
    """)
    conf.set_override("command", argv, group="vnf_manager")
    marker = tmp_path / "pwned"
    assert CommandManager(conf).run("heal", "vnf-1", "VDU1") == {}
    with pytest.raises(ManagerError):
        CommandManager(conf).run("heal", f"x; touch {marker}", f"$(touch {marker})")
    assert not marker.exists()


BAD_IDS = [
    ("vnf-1", "VDU1\nNFVMON_OPERATION=kill"),
    ("vnf-1", "$(touch pwned)"),
    ("vnf-1", "VDU1;reboot"),
    ("vnf-1", "VDU\x00"),
    ("vnf-1", "V" * 65),
    ("vnf-1", "-VDU1"),
    ("vnf 1", "VDU1"),
    ("v" * 129, "VDU1"),
    ("", "VDU1"),
]


@pytest.mark.parametrize("vnf_id, vdu", BAD_IDS)
def test_command_refuses_ids_that_are_not_identifiers(conf, tmp_path, vnf_id, vdu):
    """NFVMON_VNF_ID and NFVMON_VDU only ever hold identifiers: the command never runs."""
    ran = tmp_path / "ran"
    argv = _script(tmp_path, f"""
        open({str(ran)!r}, "w").write("ran")
    """)
    conf.set_override("command", argv, group="vnf_manager")
    with pytest.raises(ManagerError, match="not a valid") as caught:
        CommandManager(conf).run("respawn", vnf_id, vdu)
    assert "\n" not in str(caught.value) and len(str(caught.value)) < 200
    assert not ran.exists()


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped yet counts as ended)."""
    try:
        stat = open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _kill_pid(pid: int) -> None:
    import os
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_command_answer_counts_not_a_background_child_holding_stdout(conf, tmp_path):
    """A manager that leaves a child behind (`sleep 60 &`) has answered once it exits."""
    argv = _script(tmp_path, f"""
        import json, subprocess
        child = subprocess.Popen(["sleep", "60"])  # inherits stdout and stderr
        open({str(tmp_path / "child.pid")!r}, "w").write(str(child.pid))
        print(json.dumps({{"mgmt_ips": {{"VDU1": ["127.0.0.9"]}}}}), flush=True)
    """)
    conf.set_override("command", argv, group="vnf_manager")
    conf.set_override("command_timeout", 20, group="vnf_manager")
    started = time.monotonic()
    try:
        assert CommandManager(conf).run("respawn", "vnf-1", "VDU1") == {"VDU1": ["127.0.0.9"]}
        assert time.monotonic() - started < 5
    finally:
        _kill_pid(int((tmp_path / "child.pid").read_text()))


def test_command_timeout_kills_its_whole_process_group(conf, tmp_path):
    argv = _script(tmp_path, f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "120"])
        open({str(tmp_path / "child.pid")!r}, "w").write(str(child.pid))
        time.sleep(120)
    """)
    conf.set_override("command", argv, group="vnf_manager")
    conf.set_override("command_timeout", 1, group="vnf_manager")
    started = time.monotonic()
    try:
        with pytest.raises(ManagerError, match="did not finish in 1 s"):
            CommandManager(conf).run("respawn", "vnf-1", "VDU1")
        assert time.monotonic() - started < 4
        child = int((tmp_path / "child.pid").read_text())
        assert wait_for(lambda: not _alive(child), timeout=5)
    finally:
        if (tmp_path / "child.pid").exists():
            _kill_pid(int((tmp_path / "child.pid").read_text()))


def test_command_output_is_bounded(conf, tmp_path):
    argv = _script(tmp_path, """
        import sys
        sys.stdout.write('{"mgmt_ips": {}, "pad": "' + "x" * (2 * 1024 * 1024) + '"}')
    """)
    conf.set_override("command", argv, group="vnf_manager")
    with pytest.raises(ManagerError, match="more than 1 MiB"):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


def test_command_answer_naming_a_vdu_that_is_not_an_identifier_is_refused(conf, tmp_path):
    argv = _script(tmp_path, r"""
        print('{"mgmt_ips": {"VDU1\\nx; rm": ["127.0.0.9"]}}')
    """)
    conf.set_override("command", argv, group="vnf_manager")
    with pytest.raises(ManagerError, match="not a valid VDU name"):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


@pytest.mark.parametrize("body, message", [
    ("import sys; sys.stderr.write('quota exceeded'); sys.exit(3)", "exited 3: quota exceeded"),
    ("print('not json')", "printed no JSON"),
    ("print('{\"mgmt_ips\": {\"VDU1\": [\"300.1.1.1\"]}}')", "not a valid IP address"),
    ("import time; time.sleep(5)", "did not finish in 1 s"),
])
def test_command_failures_are_manager_errors(conf, tmp_path, body, message):
    conf.set_override("command", _script(tmp_path, body), group="vnf_manager")
    conf.set_override("command_timeout", 1, group="vnf_manager")
    with pytest.raises(ManagerError, match=message):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


def test_missing_command_is_a_manager_error(conf):
    conf.set_override("command", ["/nonexistent/nfvmon-manager"], group="vnf_manager")
    with pytest.raises(ManagerError, match="not found"):
        CommandManager(conf).run("respawn", "vnf-1", "VDU1")


class _Hook(BaseHTTPRequestHandler):
    requests: list = []
    status = 200
    answer = b'{"mgmt_ips": {"VDU1": ["127.0.0.7"]}}'

    def do_POST(self):  # noqa: N802 - http.server API
        length = int(self.headers["Content-Length"])
        type(self).requests.append((self.headers.get("Authorization"),
                                    json.loads(self.rfile.read(length))))
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(type(self).answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    _Hook.requests = []
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/nfv", _Hook
    server.shutdown()
    server.server_close()


def test_webhook_posts_json_and_reads_new_ips(conf, hook):
    url, handler = hook
    conf.set_override("webhook_url", url, group="vnf_manager")
    conf.set_override("webhook_token", "t0ken", group="vnf_manager")
    assert WebhookManager(conf).run("heal", "vnf-1", "VDU1") == {"VDU1": ["127.0.0.7"]}
    assert handler.requests == [("Bearer t0ken",
                                 {"operation": "heal", "vnf_id": "vnf-1", "vdu": "VDU1"})]


def test_webhook_http_error_is_a_manager_error(conf, hook):
    url, handler = hook
    handler.status = 503
    conf.set_override("webhook_url", url, group="vnf_manager")
    try:
        with pytest.raises(ManagerError, match="HTTP 503"):
            WebhookManager(conf).run("respawn", "vnf-1", "VDU1")
    finally:
        handler.status = 200


class _RawServer:
    """A TCP server on 127.0.0.1 that reads each request's head, records it, then lets
    `respond(connection)` write whatever bytes the test needs (a real, misbehaving peer)."""

    def __init__(self, respond=None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.requests: list[str] = []
        self._respond = respond or (lambda conn: conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"))
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with conn:
            conn.settimeout(10)
            head = b""
            try:
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                self.requests.append(head.decode("latin-1"))
                self._respond(conn)
            except OSError:
                pass  # the client gave up: what the timeout tests expect

    def close(self):
        self.listener.close()


@pytest.fixture
def raw_servers():
    made = []

    def make(respond=None):
        made.append(_RawServer(respond))
        return made[-1]

    yield make
    for server in made:
        server.close()


def _redirect(location: str, code: int = 302):
    def respond(conn):
        conn.sendall(f"HTTP/1.1 {code} Moved\r\nLocation: {location}\r\n"
                     "Content-Length: 0\r\n\r\n".encode())
    return respond


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_webhook_redirect_is_a_failure_and_the_token_stays_home(conf, raw_servers, code):
    elsewhere = raw_servers()
    hook = raw_servers(_redirect(f"http://127.0.0.1:{elsewhere.port}/steal", code))
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    conf.set_override("webhook_token", "t0ken", group="vnf_manager")
    with pytest.raises(ManagerError, match=rf"redirected \(HTTP {code} to "
                                           rf"127\.0\.0\.1:{elsewhere.port}\).*webhook_url"):
        WebhookManager(conf).run("respawn", "vnf-1", "VDU1")
    assert len(hook.requests) == 1 and "Bearer t0ken" in hook.requests[0]
    assert elsewhere.requests == []  # run() returned: a followed redirect would be here


@pytest.mark.parametrize("scheme", ["ftp", "file"])
def test_webhook_redirect_to_another_scheme_is_never_followed(conf, raw_servers, scheme):
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    location = (f"ftp://127.0.0.1:{port}/x" if scheme == "ftp" else "file:///etc/passwd")
    hook = raw_servers(_redirect(location))
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    conf.set_override("webhook_timeout", 2, group="vnf_manager")
    try:
        with pytest.raises(ManagerError, match="redirected.*does not follow redirects"):
            WebhookManager(conf).run("respawn", "vnf-1", "VDU1")
        readable, _, _ = select.select([listener], [], [], 0)
        assert readable == []  # no connection is waiting to be accepted
    finally:
        listener.close()


def _drip_body(conn):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
    for _ in range(1000):
        conn.sendall(b" ")
        time.sleep(0.05)


def _drip_head(conn):
    for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 1000:
        conn.sendall(bytes([byte]))
        time.sleep(0.05)


@pytest.mark.parametrize("respond", [_drip_body, _drip_head], ids=["body", "head"])
def test_webhook_timeout_bounds_the_whole_request(conf, raw_servers, respond):
    hook = raw_servers(respond)
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    conf.set_override("webhook_timeout", 1, group="vnf_manager")
    started = time.monotonic()
    with pytest.raises(ManagerError, match="no complete answer within 1 s"):
        WebhookManager(conf).run("respawn", "vnf-1", "VDU1")
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n{}",
], ids=["short", "empty", "chunked"])
def test_webhook_truncated_answer_is_a_failure(conf, raw_servers, answer):
    hook = raw_servers(lambda conn: conn.sendall(answer))
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    with pytest.raises(ManagerError, match="truncated"):
        WebhookManager(conf).run("respawn", "vnf-1", "VDU1")


def test_webhook_answer_cut_by_a_reset_is_truncated(conf, raw_servers):
    """The peer resets the connection mid-answer (SO_LINGER 0: an RST, not a FIN)."""
    def reset(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"mgmt")
        time.sleep(0.2)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    hook = raw_servers(reset)
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    with pytest.raises(ManagerError, match="truncated answer"):
        WebhookManager(conf).run("respawn", "vnf-1", "VDU1")


def test_webhook_answer_larger_than_1_mib_is_a_failure(conf, raw_servers):
    size = 2 * 1024 * 1024
    hook = raw_servers(lambda conn: conn.sendall(
        f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + b" " * size))
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    with pytest.raises(ManagerError, match="larger than 1 MiB"):
        WebhookManager(conf).run("respawn", "vnf-1", "VDU1")


@pytest.mark.parametrize("vnf_id, vdu", BAD_IDS[:3])
def test_webhook_refuses_ids_that_are_not_identifiers(conf, raw_servers, vnf_id, vdu):
    hook = raw_servers()
    conf.set_override("webhook_url", f"http://127.0.0.1:{hook.port}/nfv", group="vnf_manager")
    with pytest.raises(ManagerError, match="not a valid"):
        WebhookManager(conf).run("respawn", vnf_id, vdu)
    assert hook.requests == []


def test_configured_driver_is_loaded_by_name(conf):
    conf.set_override("driver", "command", group="vnf_manager")
    assert isinstance(load_manager(conf), CommandManager)
    conf.set_override("driver", "teleport", group="vnf_manager")
    with pytest.raises(NfvmonError, match="'teleport' cannot be loaded"):
        load_manager(conf)


def test_builtin_policy_actions_are_installed_plugins(conf):
    assert {"log", "respawn", "log_and_kill", "vdu_autoheal", "autoscaling"} <= set(
        load_policy_actions(conf))


def test_a_third_party_policy_action_is_found_once_installed(conf, tmp_path, monkeypatch):
    """Installing a package with an entry point is all it takes: nothing in nfvmon changes."""
    site = tmp_path / "site"
    (site / "acme_nfv").mkdir(parents=True)
    (site / "acme_nfv" / "__init__.py").write_text(textwrap.dedent("""
        from nfvmon.conductor_rpc.policy_actions import PolicyAction, PolicyResult
        class PageOperator(PolicyAction):
            def execute(self, context):
                return PolicyResult("DEAD", "paged")
    """))
    dist = site / "acme_nfv-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-nfv\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[nfvmon.policy_actions]\npage_operator = acme_nfv:PageOperator\n")
    monkeypatch.syspath_prepend(str(site))
    # A conductor reads entry points when it starts; this process already did, so forget.
    monkeypatch.setattr(extension.ExtensionManager, "ENTRY_POINT_CACHE", {})
    plugins = load_policy_actions(conf)
    assert type(plugins["page_operator"]).__name__ == "PageOperator"
