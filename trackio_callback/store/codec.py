"""Compact binary encodings for the columns of a batch of logged values.

A batch stores, once, the step and timestamp of each ``log()`` call it covers, and, per metric key,
the float64 values and (when the key is not in every call) the positions of the calls it is in.
Integer columns are usually regular (steps 0, 1, 2, ...; a key logged every N calls), so they are
stored as an arithmetic progression in 17 bytes; anything else is delta-encoded and zlib-compressed.
Values are raw little-endian float64, so NaN and ±inf come back bit for bit. Timestamps are kept
as integer microseconds: `to_micros` / `to_seconds` (and their column forms) are the one conversion.
"""

from __future__ import annotations

import struct
import sys
import zlib
from array import array
from itertools import accumulate

_PROGRESSION = 0
_DELTAS = 1
_RAW = 2  # values whose differences overflow int64 (far apart): stored as they are
_INT64 = range(-(2**63), 2**63)
_PROGRESSION_HEADER = struct.Struct("<Bqq")
_LITTLE = sys.byteorder == "little"


def encode_ints(xs: list[int]) -> bytes:
    """Encode a list of int64 values; `decode_ints` needs the length back."""
    n = len(xs)
    if n:
        first = xs[0]
        stride = xs[1] - first if n > 1 else 0
        regular = xs.count(first) == n if stride == 0 else xs == list(range(first, first + n * stride, stride))
        if regular and stride in _INT64:
            return _PROGRESSION_HEADER.pack(_PROGRESSION, first, stride)
    differences = [b - a for a, b in zip(xs, xs[1:])]
    if all(d in _INT64 for d in (max(differences, default=0), min(differences, default=0))):
        mode, column = _DELTAS, array("q", [xs[0]] if n else [])
        column.extend(differences)
    else:
        mode, column = _RAW, array("q", xs)
    if not _LITTLE:
        column.byteswap()
    return bytes([mode]) + zlib.compress(column.tobytes(), 1)


def decode_ints(data: bytes, n: int) -> list[int]:
    """Inverse of `encode_ints` for a column of ``n`` values."""
    if data[0] == _PROGRESSION:
        _, first, stride = _PROGRESSION_HEADER.unpack(data)
        if stride == 0:
            return [first] * n
        return list(range(first, first + n * stride, stride))
    column = array("q")
    column.frombytes(zlib.decompress(data[1:]))
    if not _LITTLE:
        column.byteswap()
    if len(column) != n:
        raise ValueError(f"corrupt integer column: expected {n} values, found {len(column)}")
    return column.tolist() if data[0] == _RAW else list(accumulate(column))


def encode_floats(values: list[float]) -> bytes:
    column = array("d", values)
    if not _LITTLE:
        column.byteswap()
    return column.tobytes()


def decode_floats(data: bytes) -> list[float]:
    column = array("d")
    column.frombytes(data)
    if not _LITTLE:
        column.byteswap()
    return column.tolist()


def to_micros(seconds: float) -> int:
    """Wall-clock seconds to integer microseconds, the resolution timestamps are kept at (and exported at)."""
    return round(seconds * 1_000_000)


def to_seconds(micros: int) -> float:
    """Inverse of `to_micros` (to the microsecond)."""
    return micros / 1_000_000


def times_to_micros(times: list[float]) -> list[int]:
    """`to_micros` of a column."""
    return [round(t * 1_000_000) for t in times]  # inlined: a batch holds up to 8192 of them


def micros_to_times(micros: list[int]) -> list[float]:
    """`to_seconds` of a column."""
    return [m / 1_000_000 for m in micros]
