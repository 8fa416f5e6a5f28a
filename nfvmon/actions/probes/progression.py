"""Arithmetic progressions of fixed-width unsigned integers, as bytes.

Packet fields (sequence numbers, checksums) and C pointer arrays (the iovecs and message
headers of sendmmsg/recvmmsg) are runs of first, first + step, first + 2 * step, ...; written
as one big integer's bytes, a run of hundreds costs a few big-integer operations instead of a
Python int and a conversion each.
"""

from __future__ import annotations

import functools
import sys


def progression(first: int, step: int, count: int, width: int = 2,
                byteorder: str = "big") -> bytes:
    """The `width`-byte words first, first + step, ... (`count` of them, each within the
    word's range) back to back, each in `byteorder` ("little": as the CPU reads them on a
    little-endian machine)."""
    if count <= 0:
        return b""
    if byteorder == "little":  # the big-endian bytes of the reversed run, reversed
        return progression(first + (count - 1) * step, -step, count, width)[::-1]
    ones, ramp = _ones_and_ramp(count, width)
    return (first * ones + step * ramp).to_bytes(width * count, "big")


def native(first: int, step: int, count: int, width: int) -> bytes:
    """The same in the CPU's byte order (for memoryview.cast and C structures)."""
    return progression(first, step, count, width, sys.byteorder)


@functools.lru_cache(maxsize=64)
def _ones_and_ramp(count: int, width: int) -> tuple[int, int]:
    """The words 1, 1, ... 1 and 0, 1, ... count - 1 as integers: the sum of
    (first + i * step) * base ** (count - 1 - i) is first * ones + step * ramp."""
    base = 1 << (8 * width)
    ones = int.from_bytes((bytes(width - 1) + b"\1") * count, "big")
    return ones, (ones - count) // (base - 1)
