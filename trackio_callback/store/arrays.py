"""numpy twins of the chunk decoder and of `downsample.minmax_indices`, for reads of long series.

Reading a 200k-point series with the pure-Python decoder and downsampler takes about 35 ms; the
dashboard draws tens of them at once. numpy (installed with the ``dashboard`` extra, and with
transformers) does the same in a few ms. Results are identical to the pure-Python versions, which
stay the reference (the tests compare the two); this module is imported only when numpy is.
"""

from __future__ import annotations

import sys
import zlib
from typing import NamedTuple

import numpy as np

from .chunks import ChunkRow
from .codec import _DELTAS, _PROGRESSION, _PROGRESSION_HEADER
from .downsample import MIN_POINTS

_INT64 = np.dtype("<i8")
_FLOAT64 = np.dtype("<f8")


class SeriesArrays(NamedTuple):
    """One key's points in log order, as int64 / float64 arrays."""

    seqs: np.ndarray
    steps: np.ndarray
    micros: np.ndarray
    values: np.ndarray

    def take(self, indices: np.ndarray) -> SeriesArrays:
        return SeriesArrays(*(column[indices] for column in self))


def decode_ints(data: bytes, n: int) -> np.ndarray:
    """`codec.decode_ints`, as an int64 array."""
    if data[0] == _PROGRESSION:
        _, first, stride = _PROGRESSION_HEADER.unpack(data)
        return first + stride * np.arange(n, dtype=np.int64)
    column = np.frombuffer(zlib.decompress(data[1:]), dtype=_INT64)
    if len(column) != n:
        raise ValueError(f"corrupt integer column: expected {n} values, found {len(column)}")
    return np.cumsum(column) if data[0] == _DELTAS else column.astype(np.int64)


def decode_chunks(rows: list[ChunkRow]) -> SeriesArrays:
    """`chunks.decode_chunks` of one key's rows (ordered by first_seq), as arrays."""
    parts: list[tuple[np.ndarray, ...]] = []
    for row in rows:
        values = np.frombuffer(row.vals, dtype=_FLOAT64)
        steps, micros = decode_ints(row.steps, row.size), decode_ints(row.times, row.size)
        if row.positions is None:
            where = np.arange(row.size, dtype=np.int64)
            parts.append((row.first_seq + where, steps, micros, values))
        else:
            where = decode_ints(row.positions, row.count)
            parts.append((row.first_seq + where, steps[where], micros[where], values))
    if not parts:
        empty = np.empty(0, dtype=np.int64)
        return SeriesArrays(empty, empty, empty, np.empty(0, dtype=np.float64))
    columns = [np.concatenate(column) for column in zip(*parts)]
    if sys.byteorder != "little":
        columns = [c.astype(c.dtype.newbyteorder("=")) for c in columns]
    return SeriesArrays(*columns)


def minmax_indices_array(values: np.ndarray, max_points: int) -> np.ndarray:
    """`downsample.minmax_indices` over an array: the same indices, as a sorted int64 array."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < MIN_POINTS:
        raise ValueError(f"max_points must be an integer >= {MIN_POINTS}, got {max_points!r}")
    n = len(values)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    buckets = max_points // 4
    bounds = np.arange(buckets + 1, dtype=np.int64) * n // buckets
    low, high = bounds[:-1], bounds[1:]
    # Buckets differ in size by at most one: pad each to the widest by repeating its last index,
    # which changes neither its minimum nor which index reaches it first.
    width = int((high - low).max())
    grid = np.minimum(low[:, None] + np.arange(width), (high - 1)[:, None])
    window = values[grid]
    nan = np.isnan(window)
    has_nan = nan.any(axis=1)
    keep = [high - 1]
    clean = ~has_nan
    if clean.any():
        rows = grid[clean]
        keep += [low[clean], rows[np.arange(len(rows)), window[clean].argmin(axis=1)]]
        keep.append(rows[np.arange(len(rows)), window[clean].argmax(axis=1)])
    for b in np.flatnonzero(has_nan):  # rare: bucket by bucket
        lo, hi = int(low[b]), int(high[b])
        keep.append(lo + _nan_bucket(values[lo:hi]))
    return np.unique(np.concatenate(keep))


def _nan_bucket(window: np.ndarray) -> np.ndarray:
    """A bucket holding a NaN: its first NaN and its lowest and highest other values (first reached)."""
    nan = np.isnan(window)
    picks = [int(nan.argmax())]
    finite = np.flatnonzero(~nan)
    if len(finite):
        picks += [int(finite[window[finite].argmin()]), int(finite[window[finite].argmax()])]
    return np.asarray(picks, dtype=np.int64)
