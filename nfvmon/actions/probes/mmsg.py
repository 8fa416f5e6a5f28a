"""Many datagrams per system call: sendmmsg(2) and recvmmsg(2) through ctypes.

A probe burst is thousands of 24-byte datagrams, and one system call plus one Python call
per datagram cost more than the kernel's own work on them. The buffers are made once and
reused; callers write packets and destinations into `SendBuffers` slots and read datagrams
out of `ReceiveBuffers` slots with struct.iter_unpack. `AVAILABLE` is False where the C
library lacks the calls (the prober then sends and reads one datagram at a time).
"""

from __future__ import annotations

import ctypes
import errno
import os
from array import array as _array

from nfvmon.actions.probes.progression import native

#: sockaddr_in6, the largest destination we send to (sockaddr_in is padded to it: the
#: kernel takes a longer address than the family needs).
NAME_SIZE = 28
MSG_DONTWAIT = 0x40


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [("name", ctypes.c_void_p), ("namelen", ctypes.c_uint32),
                ("iov", ctypes.c_void_p), ("iovlen", ctypes.c_size_t),
                ("control", ctypes.c_void_p), ("controllen", ctypes.c_size_t),
                ("flags", ctypes.c_int)]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


_SIZE = ctypes.sizeof(_Mmsghdr)
#: The array type code of a pointer (and of size_t, which has its size on Linux).
_WORD = "Q" if ctypes.sizeof(ctypes.c_void_p) == 8 else "I"

try:
    _libc = ctypes.CDLL(None, use_errno=True)
    _sendmmsg, _recvmmsg = _libc.sendmmsg, _libc.recvmmsg
    AVAILABLE = True
except (OSError, AttributeError):
    AVAILABLE = False


def _address(buffer: bytearray) -> int:
    return ctypes.addressof((ctypes.c_char * len(buffer)).from_buffer(buffer))


def _messages(capacity: int, data: bytearray, size: int, names: bytearray | None,
              name_size: int) -> tuple[ctypes.Array, ctypes.Array]:
    iovs = (_Iovec * capacity)()
    messages = (_Mmsghdr * capacity)()
    data_at = _address(data)
    names_at = _address(names) if names is not None else 0
    iovs_at = ctypes.addressof(iovs)
    iov_size = ctypes.sizeof(_Iovec)
    columns = [(iovs, _Iovec.base.offset, iov_size, data_at, size),
               (iovs, _Iovec.len.offset, iov_size, size, 0),
               (messages, _Msghdr.iov.offset, _SIZE, iovs_at, iov_size),
               (messages, _Msghdr.iovlen.offset, _SIZE, 1, 0)]
    if names is not None:
        columns += [(messages, _Msghdr.name.offset, _SIZE, names_at, NAME_SIZE)]
    for array, offset, step, first, increment in columns:  # pointers and sizes
        _fill(array, offset, step, first, increment, _WORD)
    if names is not None:
        _fill(messages, _Msghdr.namelen.offset, _SIZE, name_size, 0, "I")
    return iovs, messages


def _fill(array: ctypes.Array, offset: int, step: int, first: int, increment: int,
          code: str) -> None:
    """Set the field at `offset` of each `step`-byte element of `array` (a field of the
    size of the array type code `code`) to first, first + increment, ...: one strided
    write."""
    width = _array(code).itemsize
    view = memoryview(array).cast("B").cast(code)
    view[offset // width::step // width] = memoryview(
        native(first, increment, len(array), width)).cast(code)


def _error() -> OSError:
    number = ctypes.get_errno()
    return OSError(number, os.strerror(number))


class SendBuffers:
    """`capacity` slots of one `size`-byte packet and one NAME_SIZE-byte destination."""

    def __init__(self, capacity: int, size: int):
        self.size = size
        self.packets = bytearray(capacity * size)
        self.names = bytearray(capacity * NAME_SIZE)
        self._iovs, self._messages = _messages(capacity, self.packets, size, self.names,
                                               NAME_SIZE)
        self._at = ctypes.addressof(self._messages)

    def send(self, fd: int, first: int, count: int) -> int:
        """Send slots first..first+count-1; how many went (at least one), or OSError for
        slot `first` (BlockingIOError: the send buffer is full)."""
        sent = _sendmmsg(fd, ctypes.c_void_p(self._at + first * _SIZE), count, 0)
        if sent < 0:
            raise _error()
        return sent


class ReceiveBuffers:
    """`capacity` slots of one datagram of up to `size` bytes and its source address."""

    def __init__(self, capacity: int, size: int, name_size: int):
        self.capacity, self.size = capacity, size
        self.data = bytearray(capacity * size)
        self.names = bytearray(capacity * NAME_SIZE)
        self._iovs, self._messages = _messages(capacity, self.data, size, self.names,
                                               name_size)
        self._at = ctypes.addressof(self._messages)
        #: mmsghdr.msg_len of each slot, as a strided view of the headers
        self._lengths = memoryview(self._messages).cast("B").cast("I")[
            _Mmsghdr.len.offset // 4::_SIZE // 4]

    def receive(self, fd: int) -> int:
        """Read what is waiting, up to `capacity` datagrams; how many (0: none)."""
        count = _recvmmsg(fd, ctypes.c_void_p(self._at), self.capacity, MSG_DONTWAIT, None)
        if count < 0:
            if ctypes.get_errno() in (errno.EAGAIN, errno.EINTR):
                return 0
            raise _error()
        return count

    def lengths(self, count: int) -> list[int]:
        """The lengths of the datagrams in the first `count` slots (more than `size`:
        truncated)."""
        return self._lengths[:count].tolist()
