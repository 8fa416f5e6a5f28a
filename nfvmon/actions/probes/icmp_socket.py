"""One ICMP socket of one address family, and the echo packet's layout.

A raw socket when the process may open one (root or CAP_NET_RAW), else an unprivileged ICMP
datagram socket when `net.ipv4.ping_group_range` admits our group, else a ProbeSetupError
saying why. The receive buffer is large: the ~208 KiB default drops most replies to a burst
of thousands.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import struct

from nfvmon.errors import NfvmonError

ECHO_REQUEST = {socket.AF_INET: 8, socket.AF_INET6: 128}
ECHO_REPLY = {socket.AF_INET: 0, socket.AF_INET6: 129}
PROTO = {socket.AF_INET: socket.IPPROTO_ICMP, socket.AF_INET6: socket.IPPROTO_ICMPV6}
RECEIVE_BUFFER = 32 * 1024 * 1024
#: The header (type, code, checksum, identifier, sequence) and our 16-byte payload token:
#: every request we send, every reply we accept.
ECHO_STRUCT = struct.Struct("!BBHHH16s")
#: What a reply is checked on: type, identifier, sequence number, token.
ECHO_FIELDS = struct.Struct("!B3xHH16s")
#: sendto errors that mean "this request cannot go out now", not "probing is broken": the
#: probe counts as unanswered. ENOBUFS: the interface's queue is full (a burst, a slow link).
UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EHOSTDOWN,
               errno.ENETDOWN, errno.EPERM, errno.ENOBUFS)
_IPV6_BIT = 1 << 128
#: Host keys from here up are IPv6 addresses.
IPV6_KEYS = _IPV6_BIT << 16
SOL_RAW, ICMP_FILTER, ICMP6_FILTER, SO_ATTACH_FILTER = 255, 1, 1, 26


class ProbeSetupError(NfvmonError):
    """The process cannot send ICMP (no raw sockets, no unprivileged ping sockets)."""


def host_key(family: int, packed: bytes) -> int:
    """A host as the high bits of an outstanding request's key (the low 16: its sequence
    number); IPv6 keys have bit 128 set, so no IPv4 address can stand for an IPv6 one."""
    number = int.from_bytes(packed, "big")
    return (number if family == socket.AF_INET else number | _IPV6_BIT) << 16


def host_address(key: int) -> tuple[int, bytes]:
    """The family and packed address of a host key (with or without a sequence number)."""
    number = key >> 16
    if number >> 128:
        return socket.AF_INET6, (number & (_IPV6_BIT - 1)).to_bytes(16, "big")
    return socket.AF_INET, number.to_bytes(4, "big")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


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


def _only_our_identifier(sock: socket.socket, family: int, ident: int) -> None:
    """Attach a classic BPF program that drops echo replies carrying another identifier:
    a raw socket otherwise also receives the replies to every other pinger on the host, and
    wakes up for each (as iputils' ping does)."""
    ld_h_abs, ld_h_ind, ldx_msh, jeq_k, ret_k = 0x28, 0x48, 0xB1, 0x15, 0x06
    if family == socket.AF_INET:  # the IPv4 header comes first: X = its length
        program = [(ldx_msh, 0, 0, 0), (ld_h_ind, 0, 0, 4)]
    else:  # raw ICMPv6 sockets filter the ICMPv6 message itself
        program = [(ld_h_abs, 0, 0, 4)]
    program += [(jeq_k, 0, 1, ident), (ret_k, 0, 0, 0xFFFF), (ret_k, 0, 0, 0)]
    code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
    try:  # struct sock_fprog {unsigned short len; struct sock_filter *filter;}; copied
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                        struct.pack("HP", len(program), ctypes.addressof(code)))
    except OSError:
        pass  # only an optimisation: replies are matched in user space anyway


class FamilySocket:
    """One non-blocking ICMP socket of one family. `raw`: raw socket (IPv4 replies then
    start with the IP header, and carry our identifier) rather than a datagram one (the
    kernel sets and filters the identifier). `ident`: the identifier of our requests, for
    the kernel to drop other pingers' replies before they reach a raw socket."""

    def __init__(self, family: int, ident: int | None = None):
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
            if ident is not None:
                _only_our_identifier(self.sock, family, ident)
        for option in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
            if option is None:
                continue
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, option, RECEIVE_BUFFER)
                break
            except OSError:
                continue


def check_icmp_allowed() -> None:
    """Raise ProbeSetupError, saying why, when this process cannot send ICMP echo."""
    FamilySocket(socket.AF_INET).sock.close()
