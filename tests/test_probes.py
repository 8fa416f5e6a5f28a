"""The probe engine against real local targets: ICMP on loopback and in a network namespace
of the test's own, HTTP and TCP against servers the tests start."""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nfvmon.actions.monitor import probe_round
from nfvmon.actions.probes.http import HttpProber, tcp_connect
from nfvmon.actions.probes.icmp import ECHO_REPLY, IcmpProber, checksum


def run(coroutine):
    return asyncio.run(coroutine)


async def _with_prober(work):
    prober = IcmpProber()
    try:
        return await work(prober)
    finally:
        prober.close()


def test_loopback_ipv4_and_ipv6_answer():
    async def work(prober):
        return await prober.echo("127.0.0.1", 1), await prober.echo("::1", 1)

    rtt4, rtt6 = run(_with_prober(work))
    assert rtt4 is not None and 0 <= rtt4 < 1
    assert rtt6 is not None and 0 <= rtt6 < 1


def test_burst_of_5000_loopback_targets_has_zero_false_results():
    targets = [f"127.{1 + i // 65025}.{1 + i // 255 % 255}.{1 + i % 255}" for i in range(5000)]
    assert len(set(targets)) == 5000

    async def work(prober):
        return await asyncio.gather(*(prober.echo(t, 3) for t in targets))

    results = run(_with_prober(work))
    assert sum(r is None for r in results) == 0


def test_host_in_a_namespace_answers_until_its_link_goes_down(netns_host):
    async def work(prober):
        up = await prober.echo(netns_host.address, 1)
        netns_host.down()
        down = await probe_round(
            lambda t: _alive(prober.echo(netns_host.address, t)), count=2, timeout=0.5)
        return up, down

    up, down = run(_with_prober(work))
    assert up is not None
    assert down is False


async def _alive(echo) -> bool:
    return await echo is not None


class _ScriptedSocket:
    """Stands in for the ICMP socket: hands `_read` the datagrams we craft."""

    def __init__(self, datagrams):
        self._datagrams = list(datagrams)

    def recvfrom(self, _size):
        if not self._datagrams:
            raise BlockingIOError
        return self._datagrams.pop(0)


def test_reply_from_the_wrong_host_never_marks_a_target_alive():
    async def scenario():
        prober = IcmpProber()
        try:
            # A target nothing answers: claim its pending entry with a forged reply from
            # another address and check the future stays pending.
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            key = (socket.AF_INET, "198.18.255.254", 4242)
            prober._pending[key] = future
            prober._socket(socket.AF_INET)
            family_socket = prober._sockets[socket.AF_INET]
            payload = prober._token
            header = struct.pack("!BBHHH", ECHO_REPLY[socket.AF_INET], 0, 0, prober._ident,
                                 4242)
            header = struct.pack("!BBHHH", ECHO_REPLY[socket.AF_INET], 0,
                                 checksum(header + payload), prober._ident, 4242)
            ip_header = bytes([0x45]) + bytes(19)
            forged = [(ip_header + header + payload, ("127.0.0.9", 0)),          # wrong host
                      (ip_header + header[:4] + b"\x00\x01" + header[6:] + payload,
                       ("198.18.255.254", 0)),                                  # wrong ident
                      (ip_header + header + b"x" * 16, ("198.18.255.254", 0))]  # wrong token
            real = family_socket.sock
            family_socket.sock = _ScriptedSocket(forged)
            try:
                prober._read(family_socket)
            finally:
                family_socket.sock = real
            assert not future.done()
            family_socket.sock = _ScriptedSocket([(ip_header + header + payload,
                                                   ("198.18.255.254", 0))])
            try:
                prober._read(family_socket)  # the right host, ident, seq and token
            finally:
                family_socket.sock = real
            assert future.done()
        finally:
            prober.close()

    run(scenario())


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server API
        status = {"/ok": 200, "/missing": 404, "/broken": 500}.get(self.path, 200)
        if self.path == "/slow":
            threading.Event().wait(2)
        try:
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except BrokenPipeError:
            pass  # the probe gave up (the /slow case)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("path, alive", [("/ok", True), ("/missing", True),
                                         ("/broken", False), ("/slow", False)])
def test_http_answers_below_500_count_as_alive(http_server, path, alive):
    async def work():
        prober = HttpProber()
        try:
            return await prober.get("127.0.0.1", http_server, 0.5, path)
        finally:
            await prober.close()

    assert run(work()) is alive


def test_http_and_tcp_to_a_closed_port_are_dead():
    port = _free_port()

    async def work():
        prober = HttpProber()
        try:
            return await prober.get("127.0.0.1", port, 0.5), await tcp_connect(
                "127.0.0.1", port, 0.5)
        finally:
            await prober.close()

    assert run(work()) == (False, False)


def test_tcp_connect_to_a_listening_port_is_alive(http_server):
    assert run(tcp_connect("127.0.0.1", http_server, 0.5)) is True


_UNPRIVILEGED_PROBE = """
import asyncio, sys
from nfvmon.actions.probes.icmp import IcmpProber, ProbeSetupError
async def main():
    prober = IcmpProber()
    try:
        rtts = [await prober.echo(a, 1) for a in ("127.0.0.1", "127.0.0.9", "::1")]
        print("raw" if any(s.raw for s in prober._sockets.values()) else "datagram",
              all(r is not None for r in rtts))
    except ProbeSetupError as exc:
        print("refused", exc)
    finally:
        prober.close()
asyncio.run(main())
"""


@pytest.mark.parametrize("group_range, expected", [
    ("0 2147483647", "datagram True"),
    ("1 0", "refused ICMP probes need root (or CAP_NET_RAW), or net.ipv4.ping_group_range"),
])
def test_unprivileged_process_uses_ping_sockets_or_says_why_not(group_range, expected):
    """As `nobody`, in a namespace of the test's own (ping_group_range is per namespace)."""
    import os
    import shutil
    import subprocess
    import sys
    import uuid

    from tests.conftest import ROOT, unavailable

    if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("setpriv"):
        unavailable("needs root, iproute2 and setpriv to run a probe as an unprivileged user")
    netns = f"nfvmon-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        inside = ["ip", "netns", "exec", netns]
        subprocess.run([*inside, "ip", "link", "set", "lo", "up"], check=True)
        subprocess.run([*inside, "sysctl", "-q", "-w",
                        f"net.ipv4.ping_group_range={group_range}"], check=True)
        done = subprocess.run(
            [*inside, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             sys.executable, "-c", _UNPRIVILEGED_PROBE],
            capture_output=True, text=True, timeout=60, cwd="/",
            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)
    assert done.stdout.startswith(expected), done.stderr
