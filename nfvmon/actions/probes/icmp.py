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
import ipaddress
import itertools
import os
import socket
import struct
import time

from nfvmon.errors import NfvmonError

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
RECEIVE_BUFFER = 8 * 1024 * 1024
_HEADER = struct.Struct("!BBHHH")


class ProbeSetupError(NfvmonError):
    """The process cannot send ICMP (no raw sockets, no unprivileged ping sockets)."""


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


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


class IcmpProber:
    """Send echo requests and await their replies; one per process (per event loop)."""

    def __init__(self, max_rate: float = 20000.0):
        self._ident = os.getpid() & 0xFFFF
        self._token = os.urandom(8)
        self._seq = itertools.count(int.from_bytes(os.urandom(2), "big"))
        self._pending: dict[tuple[int, str, int], asyncio.Future] = {}
        self._sockets: dict[int, _FamilySocket] = {}
        self._interval = 1.0 / max_rate
        self._next_send = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None

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
        ip = ipaddress.ip_address(address)
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = self._socket(family)
        seq = next(self._seq) & 0xFFFF
        key = (family, ip.compressed, seq)
        while key in self._pending:  # 65536 outstanding to one host: wait for a free slot
            seq = next(self._seq) & 0xFFFF
            key = (family, ip.compressed, seq)
        future = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self._pace()
            sent = time.monotonic()
            try:
                await asyncio.get_running_loop().sock_sendto(
                    sock.sock, self._packet(family, seq), (ip.compressed, 0))
            except OSError as exc:
                if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                                 errno.EHOSTDOWN, errno.ENETDOWN, errno.EPERM):
                    return None
                raise
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:
                return None
            return time.monotonic() - sent
        finally:
            self._pending.pop(key, None)

    async def _pace(self) -> None:
        now = time.monotonic()
        slot = max(now, self._next_send)
        self._next_send = slot + self._interval
        if slot - now > 0.001:
            await asyncio.sleep(slot - now)

    def _packet(self, family: int, seq: int) -> bytes:
        payload = self._token + struct.pack("!d", time.time())
        header = _HEADER.pack(ECHO_REQUEST[family], 0, 0, self._ident, seq)
        if family == socket.AF_INET:  # ICMPv6 checksums are the kernel's job
            header = _HEADER.pack(ECHO_REQUEST[family], 0, checksum(header + payload),
                                  self._ident, seq)
        return header + payload

    def _read(self, sock: _FamilySocket) -> None:
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
            if kind != ECHO_REPLY[sock.family] or not payload.startswith(self._token):
                continue
            if sock.raw and ident != self._ident:
                continue  # datagram ping sockets: the kernel set (and filtered) the ident
            host = ipaddress.ip_address(source[0].split("%", 1)[0])
            mapped = getattr(host, "ipv4_mapped", None)
            future = self._pending.get((sock.family, (mapped or host).compressed, seq))
            if future is not None and not future.done():
                future.set_result(True)
