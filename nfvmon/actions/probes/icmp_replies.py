"""The read path: the datagrams waiting on an ICMP socket, as the keys of the requests they
answer.

A datagram counts only if it is an echo reply (of the socket's family) carrying our token,
and, on a raw socket, our identifier (a datagram ping socket's kernel sets and checks it);
its key is its source address and sequence number, so a reply from the wrong host cannot
answer a request. With recvmmsg, a call's worth of datagrams is unpacked with one
struct.iter_unpack over the receive buffers, not a call a datagram.
"""

from __future__ import annotations

import socket
import struct

from nfvmon.actions.probes import mmsg
from nfvmon.actions.probes.icmp_socket import ECHO_FIELDS, ECHO_REPLY, host_key

#: Bytes kept of each datagram read: the longest IPv4 header (60) and our echo message (24).
READ_SIZE = 96
#: Source address (a sockaddr) bytes a receive slot keeps, by family.
NAME_SIZE = {socket.AF_INET: 16, socket.AF_INET6: 28}
_MESSAGE = ECHO_FIELDS.size
#: A receive slot holding a raw IPv4 datagram: version and header length, source address,
#: then (with a 20-byte header) type, identifier, sequence number and token.
_RAW_IPV4_SLOT = struct.Struct(f"!B11xI4xB3xHH16s{READ_SIZE - 20 - _MESSAGE}x")
#: A receive slot holding the echo message alone (IPv6, datagram sockets).
_MESSAGE_SLOT = struct.Struct(f"!B3xHH16s{READ_SIZE - _MESSAGE}x")
#: The source address in a name slot: sockaddr_in, sockaddr_in6.
_SOURCE_SLOT = {socket.AF_INET: struct.Struct(f"!4x4s{mmsg.NAME_SIZE - 8}x"),
                socket.AF_INET6: struct.Struct(f"!8x16s{mmsg.NAME_SIZE - 24}x")}


def reply_key(family: int, raw: bool, data: bytes | memoryview, source: bytes | None,
              ident: int, token: bytes) -> int | None:
    """The key of the request a datagram answers (None: not a reply to us). `source`: the
    packed sender address (None for raw IPv4: read from the IP header)."""
    offset = 0
    if raw and family == socket.AF_INET:
        if len(data) < 20:
            return None
        offset, source = (data[0] & 0x0F) * 4, bytes(data[12:16])
    if len(data) < offset + _MESSAGE:
        return None
    kind, their_ident, seq, their_token = ECHO_FIELDS.unpack_from(data, offset)
    if kind != ECHO_REPLY[family] or their_token != token or (raw and their_ident != ident):
        return None
    return host_key(family, source) | seq


def read_many(sock, buffers: mmsg.ReceiveBuffers, ident: int, token: bytes
              ) -> tuple[list[int], bool]:
    """One recvmmsg call on `sock` (a FamilySocket): the keys answered, and whether the
    buffers were filled (more may be waiting)."""
    count = buffers.receive(sock.sock.fileno())
    if not count:
        return [], False
    family, raw, size = sock.family, sock.raw, buffers.size
    lengths = buffers.lengths(count)
    data = memoryview(buffers.data)
    keys: list[int] = []
    append = keys.append
    slow: list[int] = []  # slots to parse one at a time
    if raw and family == socket.AF_INET:
        fields = _RAW_IPV4_SLOT.iter_unpack(data[:count * size])
        if lengths.count(20 + _MESSAGE) != count:  # not all echo messages of our size
            fields = (slot_fields if received == 20 + _MESSAGE else (0,) * 6
                      for slot_fields, received in zip(fields, lengths, strict=True))
        for slot, (version_length, source, kind, their_ident, seq, their_token) in enumerate(
                fields):
            if version_length != 0x45:  # IP options (or not our size): parsed one by one
                slow.append(slot)
            elif their_token == token and their_ident == ident and not kind:
                append(source << 16 | seq)
    else:
        expected = ECHO_REPLY[family]
        sources = _SOURCE_SLOT[family].iter_unpack(
            memoryview(buffers.names)[:count * mmsg.NAME_SIZE])
        for slot, ((kind, their_ident, seq, their_token), (source,)) in enumerate(
                zip(_MESSAGE_SLOT.iter_unpack(data[:count * size]), sources, strict=True)):
            if (their_token == token and kind == expected and lengths[slot] >= _MESSAGE
                    and (not raw or their_ident == ident)):
                append(host_key(family, source) | seq)
    for slot in slow:
        at = slot * size
        key = reply_key(family, raw, data[at:at + min(lengths[slot], size)], None, ident,
                        token)
        if key is not None:
            append(key)
    return keys, count == buffers.capacity


def read_each(sock, ident: int, token: bytes) -> list[int]:
    """recvfrom until `sock` (a FamilySocket) has nothing left: the keys answered."""
    family, raw, recvfrom = sock.family, sock.raw, sock.sock.recvfrom
    keys = []
    while True:
        try:
            data, address = recvfrom(256)
        except OSError:  # BlockingIOError: all read
            return keys
        source = None
        if not raw or family != socket.AF_INET:  # IPv6 text may end in %scope
            try:
                source = socket.inet_pton(family, address[0].split("%", 1)[0])
            except OSError:
                continue
        key = reply_key(family, raw, data, source, ident, token)
        if key is not None:
            keys.append(key)
