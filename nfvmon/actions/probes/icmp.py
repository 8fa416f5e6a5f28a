"""ICMP echo for many targets on one socket per address family (asyncio).

Requests go out in batches (`echo_many`), paced at `max_rate`; a batch has one future and
one timer, and each outstanding request is one entry in a plain dict, because a future and
a timer per probe cost more CPU than the kernel's whole round trip. A reply counts only if
its identifier, sequence number, payload token *and* source address all match an
outstanding request: a reply from the wrong host never marks a dead host alive.
The send path is icmp_send.py, the read path icmp_replies.py; this module matches the two.
"""

from __future__ import annotations

import asyncio
import functools
import operator
import os
import socket
import time
from collections.abc import Callable, Sequence
from itertools import repeat

from nfvmon.actions.probes import mmsg
from nfvmon.actions.probes.icmp_replies import NAME_SIZE, READ_SIZE, read_each, read_many
from nfvmon.actions.probes.icmp_send import CHUNK, Sender
from nfvmon.actions.probes.icmp_socket import (
    ECHO_REPLY,
    IPV6_KEYS,
    FamilySocket,
    ProbeSetupError,
    check_icmp_allowed,
    checksum,
    host_key,
)

__all__ = ["ECHO_REPLY", "IcmpProber", "ProbeSetupError", "check_icmp_allowed", "checksum"]

_IPV4_TEXT = functools.partial(socket.inet_pton, socket.AF_INET)
#: Addresses whose host keys are kept (a monitor's targets are probed again and again).
_KNOWN = 100_000


class _Batch:
    """The requests of one `echo_many` call; an answer is written here by index."""

    __slots__ = ("rtts", "sent", "keys", "waiting", "timeout", "future", "on_answer")

    def __init__(self, size: int, timeout: float, future: asyncio.Future,
                 on_answer: Callable[[int, float], None] | None):
        self.rtts: list[float | None] = [None] * size
        self.sent: list[float] = [0.0] * size  # when each request went out
        self.keys: list[int] = []  # of its requests sent
        self.waiting = size
        self.timeout = timeout
        self.future = future
        self.on_answer = on_answer

    def settle(self) -> None:
        """One request fewer to wait for (answered, or unsendable)."""
        self.waiting -= 1
        if not self.waiting:
            self.expire()

    def expire(self) -> None:
        if not self.future.done():
            self.future.set_result(None)


class IcmpProber:
    """Send echo requests and await their replies; one per process (per event loop)."""

    def __init__(self, max_rate: float = 20000.0):
        self._ident = os.getpid() & 0xFFFF
        self._token = os.urandom(16)
        self._sender = Sender(self._ident, self._token, int.from_bytes(os.urandom(2), "big"))
        #: host key | sequence number -> ticket (the batch's serial << 32 | index in it) of
        #: each outstanding request: ints, which the garbage collector does not track
        self._pending: dict[int, int] = {}
        self._batches: dict[int, _Batch] = {}  # serial -> batch, while it runs
        self._serial = 0
        self._sockets: dict[int, FamilySocket] = {}
        self._interval = 1.0 / max_rate
        self._next_send = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hosts: dict[str, int] = {}  # address -> its host key
        self._receive_buffers: dict[int, mmsg.ReceiveBuffers] = {}

    def _socket(self, family: int) -> FamilySocket:
        sock = self._sockets.get(family)
        if sock is None:
            sock = self._sockets[family] = FamilySocket(family, self._ident)
            if mmsg.AVAILABLE:
                self._receive_buffers[family] = mmsg.ReceiveBuffers(
                    CHUNK, READ_SIZE, NAME_SIZE[family])
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(sock.sock.fileno(), self._read, sock)
        return sock

    def close(self) -> None:
        for sock in self._sockets.values():
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(sock.sock.fileno())
            sock.sock.close()
        self._sockets.clear()
        for batch in self._batches.values():
            if not batch.future.done():
                batch.future.cancel()
        self._pending.clear()

    async def echo(self, address: str, timeout: float) -> float | None:
        """Round-trip time of one echo request to `address`, or None when unanswered."""
        return (await self.echo_many((address,), timeout))[0]

    async def echo_many(self, addresses: Sequence[str], timeout: float,
                        on_answer: Callable[[int, float], None] | None = None,
                        ) -> list[float | None]:
        """One echo request to each address: their round-trip times in the same order, None
        for each one unanswered within `timeout` of its sending.

        Returns as soon as every request is answered, else `timeout` after the last one went
        out. `on_answer(index, rtt)`, when given, is called as each answer arrives (from the
        reader: it must not raise)."""
        if not addresses:
            return []
        hosts = list(map(self._hosts.get, addresses))
        if None in hosts:
            hosts = self._resolve(addresses)
        loop = asyncio.get_running_loop()
        batch = _Batch(len(hosts), timeout, loop.create_future(), on_answer)
        self._serial += 1
        serial, timer = self._serial, None
        self._batches[serial] = batch
        try:
            for family, indexes, family_hosts in _by_family(hosts):
                await self._send(batch, serial << 32, family, indexes, family_hosts)
            if not batch.future.done():
                timer = loop.call_later(timeout, batch.expire)
                await batch.future
        finally:
            if timer is not None:
                timer.cancel()
            del self._batches[serial]
            if batch.waiting > 0:
                pending = self._pending
                for key in batch.keys:
                    ticket = pending.get(key)
                    if ticket is not None and ticket >> 32 == serial:
                        del pending[key]
        return batch.rtts

    async def _send(self, batch: _Batch, tickets: int, family: int, indexes: Sequence[int],
                    hosts: Sequence[int]) -> None:
        """Send the batch's requests to one family's `hosts` (at `indexes` in the batch;
        `tickets`: the batch's serial << 32), `CHUNK` at a time, at no more than max_rate."""
        sock, sender, pending = self._socket(family), self._sender, self._pending
        monotonic, keys, sent = time.monotonic, batch.keys, batch.sent
        for start in range(0, len(hosts), CHUNK):
            chunk, places = hosts[start:start + CHUNK], indexes[start:start + CHUNK]
            now = monotonic()
            slot = max(self._next_send, now)
            self._next_send = slot + self._interval * len(chunk)
            if slot - now > 0.001:
                await asyncio.sleep(slot - now)
            elif start:
                await asyncio.sleep(0)
            seqs, chunk_keys = sender.number(chunk, pending)
            pending.update(zip(chunk_keys, map(operator.or_, repeat(tickets), places),
                               strict=True))
            keys += chunk_keys
            now = monotonic()
            if isinstance(places, range):
                sent[places.start:places.stop] = [now] * len(chunk)
            else:
                for index in places:
                    sent[index] = now
            for position in await sender.send(sock, seqs, chunk):
                del pending[chunk_keys[position]]
                batch.settle()

    def _resolve(self, addresses: Sequence[str]) -> list[int]:
        """The host keys of `addresses`, with the C library's parser (and kept)."""
        try:  # the usual case: IPv4 addresses, parsed without a Python step each
            hosts = list(map(operator.lshift, map(int.from_bytes, map(_IPV4_TEXT, addresses),
                                                  repeat("big")), repeat(16)))
        except OSError:  # IPv6 among them, or not an IP address
            hosts = list(map(_host_key, addresses))
        if len(self._hosts) < _KNOWN:
            self._hosts.update(zip(addresses, hosts, strict=True))
        return hosts

    def _read(self, sock: FamilySocket, buffers: mmsg.ReceiveBuffers | None = None) -> None:
        """Every datagram waiting on `sock`; the matching ones answer their request."""
        ident, token = self._ident, self._token
        if buffers is None and isinstance(sock.sock, socket.socket):
            buffers = self._receive_buffers.get(sock.family)
        if buffers is None:  # no recvmmsg (or a stand-in socket)
            self._answer(read_each(sock, ident, token), time.monotonic())
            return
        more = True
        while more:
            try:
                keys, more = read_many(sock, buffers, ident, token)
            except OSError:
                return
            self._answer(keys, time.monotonic())

    def _answer(self, keys: list[int], now: float) -> None:
        """The outstanding requests with these keys are answered (received at `now`)."""
        pop, batches = self._pending.pop, self._batches
        serial, batch = None, None  # replies come in runs of one batch's
        for ticket in map(pop, keys, repeat(None)):
            if ticket is None:
                continue  # a duplicate, or a request given up on
            if ticket >> 32 != serial:
                serial = ticket >> 32
                batch = batches.get(serial)
                if batch is not None:
                    sent, rtts, timeout, on_answer = (batch.sent, batch.rtts, batch.timeout,
                                                      batch.on_answer)
            if batch is None:
                continue
            index = ticket & 0xFFFFFFFF
            rtt = now - sent[index]
            if rtt > timeout:
                continue  # too late: unanswered (as the batch's timer may already have said)
            rtts[index] = rtt
            if on_answer is not None:
                on_answer(index, rtt)
            batch.waiting -= 1
            if not batch.waiting:
                batch.expire()


def _host_key(address: str) -> int:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        return host_key(family, socket.inet_pton(family, address))
    except OSError:
        raise ValueError(f"{address!r} is not an IP address") from None


def _by_family(hosts: list[int]) -> list[tuple[int, Sequence[int], Sequence[int]]]:
    """(family, indexes in the batch, host keys) of each family's targets."""
    if max(hosts) < IPV6_KEYS:
        return [(socket.AF_INET, range(len(hosts)), hosts)]
    if min(hosts) >= IPV6_KEYS:
        return [(socket.AF_INET6, range(len(hosts)), hosts)]
    ipv4 = [index for index, host in enumerate(hosts) if host < IPV6_KEYS]
    ipv6 = [index for index, host in enumerate(hosts) if host >= IPV6_KEYS]
    return [(socket.AF_INET, ipv4, [hosts[i] for i in ipv4]),
            (socket.AF_INET6, ipv6, [hosts[i] for i in ipv6])]
