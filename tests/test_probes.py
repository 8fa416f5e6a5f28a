"""The probe engine against real local targets: ICMP on loopback and in a network namespace
of the test's own, HTTP and TCP against servers the tests start."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from nfvmon.actions.probes import mmsg
from nfvmon.actions.probes.http import HttpProber
from nfvmon.actions.probes.icmp import ECHO_REPLY, IcmpProber, checksum
from nfvmon.actions.probes.icmp_send import CHUNK, Sender
from nfvmon.actions.probes.icmp_socket import ECHO_REQUEST
from nfvmon.actions.vnf_monitor import probe_round
from nfvmon.probes import get_probe
from nfvmon.probes.http_ping import answered, url_for
from nfvmon.probes.tcp import tcp_connect


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


def test_one_batch_answers_for_ipv4_and_ipv6_loopback_addresses_in_order():
    addresses = ["127.0.0.1", "::1", "127.0.0.2", "0:0::1", "127.255.255.254"]

    async def work(prober):
        return await prober.echo_many(addresses, 1), await prober.echo_many([], 1)

    rtts, empty = run(_with_prober(work))
    assert len(rtts) == len(addresses) and all(r is not None and 0 <= r < 1 for r in rtts)
    assert empty == []


def test_a_batch_refuses_what_is_not_an_ip_address_before_sending_anything():
    async def work(prober):
        with pytest.raises(ValueError, match="not an IP address"):
            await prober.echo_many(["127.0.0.1", "localhost"], 1)
        return prober._sockets, prober._pending

    assert run(_with_prober(work)) == ({}, {})


def test_burst_of_5000_loopback_targets_has_zero_false_results():
    targets = [f"127.{1 + i // 65025}.{1 + i // 255 % 255}.{1 + i % 255}" for i in range(5000)]
    assert len(set(targets)) == 5000

    async def work(prober):
        return await prober.echo_many(targets, 3)

    results = run(_with_prober(work))
    assert len(results) == 5000
    assert sum(r is None for r in results) == 0


def test_single_echoes_at_once_are_all_answered():
    targets = [f"127.0.{i // 250}.{1 + i % 250}" for i in range(500)]

    async def work(prober):
        return await asyncio.gather(*(prober.echo(t, 3) for t in targets))

    assert sum(r is None for r in run(_with_prober(work))) == 0


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


def test_the_kernel_keeps_other_pingers_replies_from_the_raw_socket():
    """The BPF filter on our identifier: another pinger's replies never wake the prober."""
    async def work(prober):
        ours = prober._socket(socket.AF_INET).sock
        with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as other:
            other.settimeout(2)
            queued = []
            for ident in (prober._ident ^ 0x5A5A, prober._ident):  # another pinger's, ours
                header = struct.pack("!BBHHH", 8, 0, 0, ident, 7)
                other.sendto(struct.pack("!BBHHH", 8, 0, checksum(header + b"x" * 16),
                                         ident, 7) + b"x" * 16, ("127.0.0.1", 0))
                while struct.unpack_from("!BxxxH", other.recv(256), 20) != (0, ident):
                    pass  # the reply has reached every raw socket by now
                try:  # no await since the send: the prober's reader has not run
                    queued.append(len(ours.recv(256)))
                except BlockingIOError:
                    queued.append(None)
            return queued

    assert run(_with_prober(work)) == [None, 44]


class _ScriptedSocket:
    """Stands in for the ICMP socket: keeps what is sent (nothing leaves the host), and
    hands the reader the datagrams we craft."""

    def __init__(self):
        self.sent: list[tuple[bytes, tuple]] = []
        self.datagrams: list[tuple[bytes, tuple]] = []

    def sendto(self, packet, address):
        self.sent.append((packet, address))

    def recvfrom(self, _size):
        if not self.datagrams:
            raise BlockingIOError
        return self.datagrams.pop(0)

    def recv(self, size):
        return self.recvfrom(size)[0]

    def close(self):
        pass

    def fileno(self):
        return -1


def _read_replies(prober, stand_in, datagrams, many: bool) -> None:
    """Hand `datagrams` to the prober's reader: one at a time, or as recvmmsg fills its
    buffers (a call that returns them all, then nothing)."""
    stand_in.sock.datagrams = list(datagrams)
    if not many:
        prober._read(stand_in)
        return
    buffers = mmsg.ReceiveBuffers(len(datagrams), 96, 28)
    for slot, (data, source) in enumerate(datagrams):
        buffers.data[slot * 96:slot * 96 + len(data)] = data
        name = (struct.pack("=H2x4s", socket.AF_INET, socket.inet_aton(source[0]))
                if stand_in.family == socket.AF_INET else
                struct.pack("=H6x16s4x", socket.AF_INET6,
                            socket.inet_pton(socket.AF_INET6, source[0])))
        buffers.names[slot * 28:slot * 28 + len(name)] = name
        buffers._messages[slot].len = len(data)
    counts = [len(datagrams), 0]
    buffers.receive = lambda fd: counts.pop(0)
    prober._read(stand_in, buffers)


def _reply(prober, family, source, seq, *, kind=None, ident=None, token=None):
    """An echo reply as the raw socket of `family` returns it: (datagram, source)."""
    kind = ECHO_REPLY[family] if kind is None else kind
    ident = prober._ident if ident is None else ident
    token = prober._token if token is None else token
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    message = struct.pack("!BBHHH", kind, 0, checksum(header + token), ident, seq) + token
    if family == socket.AF_INET:  # raw IPv4 sockets return the IP header too
        ip_header = bytes([0x45]) + bytes(11) + socket.inet_aton(source) + bytes(4)
        return ip_header + message, (source, 0)
    return message, (source, 0, 0, 0)


@pytest.mark.parametrize("family, target, other, wrong_host", [
    (socket.AF_INET, "198.18.255.254", "198.18.255.253", "127.0.0.9"),
    (socket.AF_INET6, "2001:db8::254", "2001:db8::253", "::1"),
], ids=["ipv4", "ipv6"])
@pytest.mark.parametrize("many", [False, True], ids=["recv", "recvmmsg"])
def test_reply_from_the_wrong_host_never_marks_a_target_alive(family, target, other,
                                                              wrong_host, many):
    """Through the batched path: forged replies (wrong host, identifier, sequence number,
    token or type) leave the target unanswered; the genuine one answers it."""
    async def scenario():
        prober = IcmpProber()
        scripted = _ScriptedSocket()
        # A stand-in socket: nothing is sent anywhere, and no reader is registered.
        stand_in = SimpleNamespace(family=family, raw=True, sock=scripted)
        prober._sockets[family] = stand_in

        async def sent_seq() -> int:
            """The sequence number of the request just sent to `target`."""
            while not any(address[0] == target for _packet, address in scripted.sent):
                await asyncio.sleep(0)
            packet = next(p for p, address in scripted.sent if address[0] == target)
            scripted.sent.clear()
            return struct.unpack_from("!H", packet, 6)[0]

        try:
            batch = asyncio.create_task(prober.echo_many([other, target], 0.3))
            seq = await sent_seq()  # the request to `other` stays unanswered
            _read_replies(prober, stand_in, [
                _reply(prober, family, wrong_host, seq),
                _reply(prober, family, target, seq, ident=prober._ident ^ 1),
                _reply(prober, family, target, seq ^ 1),
                _reply(prober, family, target, seq, token=b"x" * 16),
                _reply(prober, family, target, seq, kind=ECHO_REQUEST[family]),
            ], many)
            assert await batch == [None, None]

            batch = asyncio.create_task(prober.echo_many([target], 5))
            seq = await sent_seq()
            _read_replies(prober, stand_in, [_reply(prober, family, wrong_host, seq),
                                             _reply(prober, family, target, seq)], many)
            rtts = await asyncio.wait_for(batch, 1)
            assert rtts[0] is not None and 0 <= rtts[0] < 1
            assert prober._pending == {}
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


class _HttpEngine:
    """What the engine lends an HTTP probe: the process's aiohttp session."""

    def __init__(self):
        self.http = HttpProber()

    def http_session(self):
        return self.http.session()


async def _probe(monitor: str, address: str, params: dict, timeout: float) -> bool:
    engine = _HttpEngine()
    try:
        return await get_probe(monitor).probe(engine, address, params, timeout)
    finally:
        await engine.http.close()


@pytest.mark.parametrize("path, alive", [("/ok", True), ("/missing", True),
                                         ("/broken", False), ("/slow", False)])
def test_http_answers_below_500_count_as_alive(http_server, path, alive):
    async def work():
        engine = _HttpEngine()
        try:
            return await answered(engine.http_session(),
                                  url_for("http", "127.0.0.1", http_server, path), 0.5)
        finally:
            await engine.http.close()

    assert run(work()) is alive


def test_the_http_ping_probe_gets_slash_on_its_port(http_server):
    assert run(_probe("http_ping", "127.0.0.1", {"port": http_server}, 0.5)) is True
    assert run(_probe("http-ping", "127.0.0.1", {"port": http_server}, 0.5)) is True


def test_http_and_tcp_to_a_closed_port_are_dead():
    port = _free_port()

    async def work():
        return (await _probe("http_ping", "127.0.0.1", {"port": port}, 0.5),
                await _probe("tcp", "127.0.0.1", {"port": port}, 0.5))

    assert run(work()) == (False, False)


def test_tcp_connect_to_a_listening_port_is_alive(http_server):
    assert run(tcp_connect("127.0.0.1", http_server, 0.5)) is True
    assert run(_probe("tcp", "127.0.0.1", {"port": http_server}, 0.5)) is True


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


def _enobufs(*_args):
    raise OSError(errno.ENOBUFS, "No buffer space available")


@pytest.mark.parametrize("many", [False, True], ids=["sendto", "sendmmsg"])
def test_no_buffer_space_for_a_request_counts_as_no_answer(many):
    """ENOBUFS (the interface's queue full) leaves that probe unanswered: the batch ends at
    once with None for it, and the prober goes on probing."""
    async def scenario():
        prober = IcmpProber()
        if many:  # a real socket object for sendmmsg's file descriptor; the call is stubbed
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            calls = []

            def send(fd, first, count):
                calls.append(first)
                if first == 0:
                    _enobufs()
                return count

            prober._sender._buffers.send = send
        else:
            sock = _ScriptedSocket()
            sock.sendto = _enobufs
        prober._sockets[socket.AF_INET] = SimpleNamespace(family=socket.AF_INET, raw=True,
                                                          sock=sock)
        try:
            if many:  # the first request fails, the two others go out (and stay unanswered)
                rtts = await prober.echo_many(["127.0.0.1", "127.0.0.2", "127.0.0.3"], 0.2)
                assert calls == [0, 1]
            else:
                rtts = await asyncio.wait_for(prober.echo_many(["127.0.0.1"], 30), 1)
            return rtts, prober._pending
        finally:
            prober.close()
            sock.close()

    rtts, pending = run(scenario())
    assert rtts == [None] * len(rtts) and pending == {}


def test_no_buffer_space_does_not_end_a_round_of_the_scheduler():
    """Through icmp_rounds, as the monitors use it: a round whose probe hit ENOBUFS is a
    failed round, and the next round is probed."""
    from nfvmon.actions.rounds import IcmpRounds

    async def scenario():
        prober = IcmpProber()
        sock = _ScriptedSocket()
        failing = [True]

        def sendto(packet, address):
            if failing[0]:
                failing[0] = False
                _enobufs()
            sock.sent.append((packet, address))

        sock.sendto = sendto
        prober._sockets[socket.AF_INET] = SimpleNamespace(family=socket.AF_INET, raw=True,
                                                          sock=sock)
        rounds, results = IcmpRounds(prober, tick=0.01), []
        follower = asyncio.create_task(rounds.follow("127.0.0.1", 1, 0.05, 0.05,
                                                     results.append))
        while len(results) < 2:
            await asyncio.sleep(0.01)
        follower.cancel()
        prober.close()
        return results, len(sock.sent)

    results, sent = run(scenario())
    assert results[:2] == [False, False] and sent >= 1


@pytest.mark.parametrize("first_seq", [0, 0xFF80, 0xFFFF])
def test_every_request_carries_its_sequence_number_and_a_valid_checksum(first_seq):
    """Packets are written in bulk from two arithmetic progressions: check every one, across
    the sequence number's wrap and the checksum's carry, against the plain checksum."""
    for partial_token in range(40):
        token = bytes([partial_token]) * 16
        sender = Sender(0x1234, token, first_seq)
        hosts = [(127 << 24 | i) << 16 for i in range(CHUNK)]
        seqs, keys = sender.number(hosts, {})
        packets = bytearray(CHUNK * 24)
        sender.write(packets, socket.AF_INET, seqs)
        assert len(set(seqs)) == CHUNK and seqs[0] == first_seq
        for position, seq in enumerate(seqs):
            packet = bytes(packets[position * 24:(position + 1) * 24])
            assert checksum(packet) == 0
            assert struct.unpack("!BBHHH16s", packet)[3:] == (0x1234, seq, token)
            assert keys[position] == hosts[position] | seq


def test_sequence_numbers_skip_a_host_s_outstanding_requests():
    sender = Sender(1, bytes(16), 100)
    host = 127 << 40
    seqs, keys = sender.number([host, host], {host | 100: 0, host | 102: 0})
    assert list(seqs) == [101, 103] and keys == [host | 101, host | 103]


def test_without_sendmmsg_requests_go_one_at_a_time_and_are_answered(monkeypatch):
    """Where the C library lacks sendmmsg/recvmmsg: sendto and recvfrom, same answers."""
    monkeypatch.setattr(mmsg, "AVAILABLE", False)
    addresses = ["127.0.0.1", "::1", *(f"127.0.3.{i}" for i in range(1, 201))]

    async def work(prober):
        return await prober.echo_many(addresses, 2), prober._receive_buffers

    rtts, buffers = run(_with_prober(work))
    assert buffers == {} and sum(r is None for r in rtts) == 0


def test_recvmmsg_reader_parses_replies_with_ip_options_and_skips_short_datagrams():
    """Slots that are not a plain 44-byte raw IPv4 reply are parsed one at a time: a reply
    behind IP options counts, a truncated one does not, and the others still do."""
    from nfvmon.actions.probes.icmp_replies import read_many
    from nfvmon.actions.probes.icmp_socket import host_key

    prober = IcmpProber()
    plain, _ = _reply(prober, socket.AF_INET, "127.0.0.5", 7)
    with_options = bytes([0x46]) + plain[1:20] + bytes(4) + plain[20:]  # a 24-byte header
    datagrams = [plain, with_options, plain[:40], _reply(prober, socket.AF_INET, "127.0.0.6",
                                                        8)[0]]
    buffers = mmsg.ReceiveBuffers(len(datagrams), 96, 16)
    for slot, data in enumerate(datagrams):
        buffers.data[slot * 96:slot * 96 + len(data)] = data
        buffers._messages[slot].len = len(data)
    buffers.receive = lambda fd: len(datagrams)
    stand_in = SimpleNamespace(family=socket.AF_INET, raw=True, sock=_ScriptedSocket())
    keys, full = read_many(stand_in, buffers, prober._ident, prober._token)
    key = host_key(socket.AF_INET, socket.inet_aton("127.0.0.5")) | 7
    assert keys == [key, host_key(socket.AF_INET, socket.inet_aton("127.0.0.6")) | 8, key]
    assert full is True


@pytest.mark.parametrize("first, step, count, width", [
    (0, 1, 256, 2), (0xFFFF, -1, 256, 2), (0x7F0000001000, 96, 256, 8), (28, 0, 5, 4),
    (5, 3, 0, 2), (0xFFFFFFFFFFFFFFFF, -7, 3, 8)])
def test_progressions_are_the_words_one_after_another(first, step, count, width):
    from nfvmon.actions.probes.progression import native, progression

    values = [first + i * step for i in range(count)]
    assert progression(first, step, count, width) == b"".join(
        v.to_bytes(width, "big") for v in values)
    assert native(first, step, count, width) == b"".join(
        v.to_bytes(width, sys.byteorder) for v in values)
