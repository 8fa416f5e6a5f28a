"""ICMP echo for many targets on one socket per address family (asyncio).

Raw sockets when the process may open them (root or CAP_NET_RAW); otherwise unprivileged
ICMP datagram sockets when `net.ipv4.ping_group_range` admits our group; otherwise a clear
ProbeSetupError. Sends are paced, the receive buffer is large (the ~208 KiB default drops
most replies to a burst of thousands), and a reply counts only if its identifier, sequence
number, payload token *and* source address all match an outstanding request: a reply from
the wrong host never marks a dead host alive.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import os
import socket
import struct
import time

from nfvmon.errors import NfvmonError

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
RECEIVE_BUFFER = 32 * 1024 * 1024
_HEADER = struct.Struct("!BBHHH")


_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EHOSTDOWN,
                errno.ENETDOWN, errno.EPERM)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(False)


class ProbeSetupError(NfvmonError):
    """The process cannot send ICMP (no raw sockets, no unprivileged ping sockets)."""


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


SOL_RAW, ICMP_FILTER, ICMP6_FILTER = 255, 1, 1


def _only_echo_replies(sock: socket.socket, family: int) -> None:
    """Have the kernel drop every ICMP type but echo reply before it reaches a raw socket
    (which otherwise also sees our own requests on loopback, and everyone's errors)."""
    try:
        if family == socket.AF_INET:  # a bit set = that type is blocked
            sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("I", ~(1 << 0) & 0xFFFFFFFF))
        else:  # ICMP6_FILTER: 256 bits, a bit set = blocked
            blocked = [0xFFFFFFFF] * 8
            blocked[129 >> 5] &= ~(1 << (129 & 31))
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *blocked))
    except OSError:
        pass  # only an optimisation: replies are matched in user space anyway


class _FamilySocket:
    """One ICMP socket of one family, and how to read it."""

    def __init__(self, family: int):
        self.family = family
        try:
            self.sock = socket.socket(family, socket.SOCK_RAW, PROTO[family])
            self.raw = True
        except PermissionError:
            try:
                self.sock = socket.socket(family, socket.SOCK_DGRAM, PROTO[family])
            except PermissionError:
                raise ProbeSetupError(
                    "ICMP probes need root (or CAP_NET_RAW), or net.ipv4.ping_group_range "
                    f"covering group {os.getgid()} for unprivileged ping sockets") from None
            self.raw = False
        self.sock.setblocking(False)
        if self.raw:
            _only_echo_replies(self.sock, family)
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError:
                continue

    def parse(self, data: bytes) -> tuple[int, int, int, bytes] | None:
        """(type, ident, seq, payload) of an ICMP message, skipping the IPv4 header of raw
        IPv4 sockets."""
        if self.raw and self.family == socket.AF_INET:
            if len(data) < 20:
                return None
            data = data[(data[0] & 0x0F) * 4:]
        if len(data) < _HEADER.size:
            return None
        kind, _code, _sum, ident, seq = _HEADER.unpack_from(data)
        return kind, ident, seq, data[_HEADER.size:]


def check_icmp_allowed() -> None:
    """Raise ProbeSetupError, saying why, when this process cannot send ICMP echo."""
    _FamilySocket(socket.AF_INET).sock.close()


class IcmpProber:
    """Send echo requests and await their replies; one per process (per event loop)."""

    def __init__(self, max_rate: float = 20000.0):
        self._ident = os.getpid() & 0xFFFF
        self._token = os.urandom(16)
        self._seq = itertools.count(int.from_bytes(os.urandom(2), "big"))
        self._pending: dict[tuple[int, str, int], asyncio.Future] = {}
        self._sockets: dict[int, _FamilySocket] = {}
        self._interval = 1.0 / max_rate
        self._next_send = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._targets: dict[str, tuple[int, str]] = {}
        self._burst = 0
        # The ones' complement sum of an IPv4 echo request without its sequence number: the
        # checksum of each packet is then one addition away.
        self._partial_sum = sum(struct.unpack(
            f"!{(_HEADER.size + len(self._token)) // 2}H",
            _HEADER.pack(8, 0, 0, self._ident, 0) + self._token))

    def _socket(self, family: int) -> _FamilySocket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = self._sockets[family] = _FamilySocket(family)
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(sock.sock.fileno(), self._read, sock)
        return sock

    def close(self) -> None:
        for sock in self._sockets.values():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.sock.fileno())
            sock.sock.close()
        self._sockets.clear()
        for future in self._pending.values():
            if not future.done():
                future.cancel()
        self._pending.clear()

    async def echo(self, address: str, timeout: float) -> float | None:
        """Round-trip time of one echo request to `address`, or None when unanswered."""
        family, host = self._targets.get(address) or self._target(address)
        sock = self._socket(family)
        loop = asyncio.get_running_loop()
        seq = next(self._seq) & 0xFFFF
        key = (family, host, seq)
        while key in self._pending:  # 65536 outstanding to one host: take another number
            seq = next(self._seq) & 0xFFFF
            key = (family, host, seq)
        future = loop.create_future()
        self._pending[key] = future
        # One timer handle, not wait_for's task: this is the per-probe hot path.
        timer = loop.call_later(timeout, _expire, future)
        try:
            if self._next_send > time.monotonic() + 0.001:
                await self._pace()
            else:
                self._next_send = max(self._next_send, time.monotonic()) + self._interval
                self._burst += 1
                if self._burst >= 64:  # let the reader drain replies during a long burst
                    self._burst = 0
                    await asyncio.sleep(0)
            sent = time.monotonic()
            packet = self._packet(family, seq)
            try:
                sock.sock.sendto(packet, (host, 0))
            except (BlockingIOError, InterruptedError):
                await loop.sock_sendto(sock.sock, packet, (host, 0))
            except OSError as exc:
                if exc.errno in _UNREACHABLE:
                    return None
                raise
            if not await future:
                return None
            return time.monotonic() - sent
        finally:
            timer.cancel()
            self._pending.pop(key, None)

    def _target(self, address: str) -> tuple[int, str]:
        """(family, canonical text) of an address, with the C library's parser."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        try:
            text = socket.inet_ntop(family, socket.inet_pton(family, address))
        except OSError:
            raise ValueError(f"{address!r} is not an IP address") from None
        target = (family, text)
        if len(self._targets) < 100_000:
            self._targets[address] = target
        return target

    async def _pace(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next_send)
        self._next_send = slot + self._interval
        if slot - now > 0.001:
            await asyncio.sleep(slot - now)

    def _packet(self, family: int, seq: int) -> bytes:
        if family == socket.AF_INET:  # ICMPv6 checksums are the kernel's job
            total = self._partial_sum + seq
            total = (total >> 16) + (total & 0xFFFF)
            total += total >> 16
            return _HEADER.pack(8, 0, ~total & 0xFFFF, self._ident, seq) + self._token
        return _HEADER.pack(128, 0, 0, self._ident, seq) + self._token

    def _read(self, sock: _FamilySocket) -> None:
        reply_type = ECHO_REPLY[sock.family]
        while True:
            try:
                data, source = sock.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            parsed = sock.parse(data)
            if parsed is None:
                continue
            kind, ident, seq, payload = parsed
            if kind != reply_type or payload != self._token:
                continue
            if sock.raw and ident != self._ident:
                continue  # datagram ping sockets: the kernel set (and filtered) the ident
            # The kernel's text form of the source is the canonical one ipaddress gives.
            future = self._pending.get((sock.family, source[0].split("%", 1)[0], seq))
            if future is not None and not future.done():
                future.set_result(True)
