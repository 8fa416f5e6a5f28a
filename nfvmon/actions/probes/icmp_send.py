"""The send path: numbering echo requests, writing their packets, sending them.

A chunk of requests is numbered and written in bulk (one range of sequence numbers, the
packets copied from a template, then their sequence numbers and checksums written as two
strided arrays), and goes out with one sendmmsg call, or one sendto a request where the C
library lacks sendmmsg: Python work a request is a few C-level steps, not a pack call.
"""

from __future__ import annotations

import asyncio
import operator
import socket
import struct
import sys
from array import array
from collections.abc import Sequence
from itertools import repeat

from nfvmon.actions.probes import mmsg
from nfvmon.actions.probes.icmp_socket import (
    ECHO_REQUEST,
    ECHO_STRUCT,
    UNREACHABLE,
    host_address,
)
from nfvmon.actions.probes.progression import progression

#: Requests sent back to back before the event loop runs again (the reader drains their
#: replies, other tasks get their turn) and the pace is checked.
CHUNK = 256
SIZE = ECHO_STRUCT.size
_HALVES = SIZE // 2  # 16-bit words a packet; checksum: word 1, sequence number: word 3
_SWAP = sys.byteorder == "little"  # the arrays are written in host order, packets are big
#: The start of a sockaddr_in (its address: word 1) padded to mmsg.NAME_SIZE; sockaddr_in6's
_IPV4_NAME = struct.pack(f"=H{mmsg.NAME_SIZE - 2}x", socket.AF_INET)
_IPV6_NAME = struct.pack("=H6x", socket.AF_INET6)
_NAME_WORDS = mmsg.NAME_SIZE // 4


class _Addresses:
    """The Python socket addresses of host keys, made when asked for (sendto, one at a
    time, is the exception; sendmmsg takes C sockaddrs)."""

    def __init__(self, hosts: Sequence[int]):
        self._hosts = hosts

    def __getitem__(self, position: int) -> tuple[str, int]:
        family, packed = host_address(self._hosts[position])
        return socket.inet_ntop(family, packed), 0


def checksums(partial: int, seqs: Sequence[int]) -> bytes:
    """The checksums (big-endian words) of IPv4 echo requests numbered `seqs`, whose other
    words add up to `partial` (folded to 16 bits). A run of consecutive numbers is two
    arithmetic progressions (the ones' complement sum carries once at most)."""
    if isinstance(seqs, range) and seqs.step == 1:
        first, stop = seqs.start, seqs.stop
        split = min(max(0x10000 - partial, first), stop)  # from here on, the sum carries
        return (progression(0xFFFF - partial - first, -1, split - first)
                + progression(0x1FFFE - partial - split, -1, stop - split))
    return b"".join((0xFFFF - (total & 0xFFFF) - (total >> 16)).to_bytes(2, "big")
                    for total in (partial + seq for seq in seqs))


def sequence_numbers(seqs: Sequence[int]) -> bytes:
    """`seqs` as big-endian words."""
    if isinstance(seqs, range) and seqs.step == 1:
        return progression(seqs.start, 1, len(seqs))
    return b"".join(seq.to_bytes(2, "big") for seq in seqs)


class Sender:
    """The sequence numbers and packets of one prober's requests (`ident`, `token`)."""

    def __init__(self, ident: int, token: bytes, first_seq: int):
        self._seq = (first_seq - 1) & 0xFFFF  # the last number used
        self._templates = {family: ECHO_STRUCT.pack(kind, 0, 0, ident, 0, token)
                           for family, kind in ECHO_REQUEST.items()}
        # The ones' complement sum of an IPv4 request without its sequence number, folded.
        template = self._templates[socket.AF_INET]
        total = sum(int.from_bytes(template[i:i + 2], "big") for i in range(0, SIZE, 2))
        while total > 0xFFFF:
            total = (total >> 16) + (total & 0xFFFF)
        self._partial = total
        self._buffers = mmsg.SendBuffers(CHUNK, SIZE) if mmsg.AVAILABLE else None
        self._packets = bytearray(CHUNK * SIZE)  # one datagram a call: written here

    def number(self, hosts: Sequence[int], taken: dict[int, object]
               ) -> tuple[Sequence[int], list[int]]:
        """Sequence numbers for requests to `hosts` (host keys; up to CHUNK of them), and
        their keys (host | number): none of them in `taken` (the outstanding requests)."""
        count, first = len(hosts), (self._seq + 1) & 0xFFFF
        if first + count <= 0x10000:  # the usual case: the next numbers, in one go
            seqs = range(first, first + count)
            keys = list(map(operator.or_, hosts, seqs))
            if not taken or taken.keys().isdisjoint(keys):
                self._seq = (first + count - 1) & 0xFFFF
                return seqs, keys
        # Numbers wrapping around, or 65536 outstanding to a host: one at a time.
        seq, numbers, keys, chosen = self._seq, [], [], set()
        for host in hosts:
            seq = (seq + 1) & 0xFFFF
            while host | seq in taken or host | seq in chosen:
                seq = (seq + 1) & 0xFFFF
            numbers.append(seq)
            keys.append(host | seq)
            chosen.add(host | seq)
        self._seq = seq
        return numbers, keys

    def write(self, packets: bytearray, family: int, seqs: Sequence[int]) -> None:
        """The requests numbered `seqs`, back to back at the start of `packets`."""
        count = len(seqs)
        packets[:count * SIZE] = self._templates[family] * count
        halves = memoryview(packets).cast("H")  # raw 16-bit units: no byte order
        halves[3:count * _HALVES:_HALVES] = memoryview(sequence_numbers(seqs)).cast("H")
        if family == socket.AF_INET:  # ICMPv6 checksums are the kernel's job
            halves[1:count * _HALVES:_HALVES] = memoryview(
                checksums(self._partial, seqs)).cast("H")

    @staticmethod
    def write_names(names: bytearray, family: int, hosts: Sequence[int]) -> None:
        """The C sockaddrs of `hosts` (host keys), back to back at the start of `names`."""
        count = len(hosts)
        if family == socket.AF_INET:  # the addresses as a strided array of 32-bit words
            names[:count * mmsg.NAME_SIZE] = _IPV4_NAME * count
            addresses = array("I", map(operator.rshift, hosts, repeat(16)))
            if _SWAP:
                addresses.byteswap()
            words = memoryview(names).cast("I")
            words[1:count * _NAME_WORDS:_NAME_WORDS] = addresses
        else:
            names[:count * mmsg.NAME_SIZE] = b"".join(
                _IPV6_NAME + host_address(host)[1] + bytes(4) for host in hosts)

    async def send(self, sock, seqs: Sequence[int], hosts: Sequence[int]) -> list[int]:
        """Send the requests numbered `seqs` on `sock` (a FamilySocket) to `hosts` (host
        keys); the positions of those that could not go out (UNREACHABLE)."""
        count = len(seqs)
        buffers = self._buffers if isinstance(sock.sock, socket.socket) else None
        packets = self._packets if buffers is None else buffers.packets
        self.write(packets, sock.family, seqs)
        unsent: list[int] = []
        late: Sequence[int] = []  # positions left by a full send buffer
        addresses = _Addresses(hosts)
        if buffers is not None:
            self.write_names(buffers.names, sock.family, hosts)
            fd, first = sock.sock.fileno(), 0
            while first < count:
                try:
                    first += buffers.send(fd, first, count - first)
                except InterruptedError:
                    continue
                except BlockingIOError:
                    late = range(first, count)
                    break
                except OSError as exc:
                    if exc.errno not in UNREACHABLE:
                        raise
                    unsent.append(first)
                    first += 1
        else:
            late = []
            sendto = sock.sock.sendto
            for position in range(count):
                try:
                    sendto(packets[position * SIZE:(position + 1) * SIZE], addresses[position])
                except (BlockingIOError, InterruptedError):
                    late.append(position)
                except OSError as exc:
                    if exc.errno not in UNREACHABLE:
                        raise
                    unsent.append(position)
        if late:  # copied first: the buffers may be another batch's once we wait
            copies = [(p, bytes(packets[p * SIZE:(p + 1) * SIZE])) for p in late]
            loop = asyncio.get_running_loop()
            for position, packet in copies:
                try:
                    await loop.sock_sendto(sock.sock, packet, addresses[position])
                except OSError as exc:
                    if exc.errno not in UNREACHABLE:
                        raise
                    unsent.append(position)
        return unsent
