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
from .extremes import BLOCK, NONE

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
    return ChunkedSeries(rows, {}).joined()


def decode_keys(rows: list[ChunkRow]) -> dict[int, ChunkedSeries]:
    """Each key's points in the rows of several keys of one run (`Metrics.keys_chunks`, in log order).

    A batch's step and time columns are decoded once for all of its chunks (20 keys logged together
    share them): for a dense key that was most of the decoding work.
    """
    by_key: dict[int, list[ChunkRow]] = {}
    for row in rows:
        by_key.setdefault(row.key_id, []).append(row)
    batches: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    return {key_id: ChunkedSeries(key_rows, batches) for key_id, key_rows in by_key.items()}


class ChunkedSeries:
    """One key's points, decoded chunk by chunk: the values joined into one array, the other columns
    joined only when asked (`joined`) or gathered for a few points (`take`), which is what a
    downsampled read needs: 1,000 of 100,000 points.

    ``batches`` caches each batch's decoded (steps, micros) by its first seq, for the keys of one run.
    """

    def __init__(self, rows: list[ChunkRow], batches: dict[int, tuple[np.ndarray, np.ndarray]]):
        self._parts: list[tuple[int, np.ndarray | None, np.ndarray, np.ndarray]] = []
        for row in rows:
            batch = batches.get(row.first_seq)
            if batch is None:
                batch = batches[row.first_seq] = (decode_ints(row.steps, row.size), decode_ints(row.times, row.size))
            where = None if row.positions is None else decode_ints(row.positions, row.count)
            self._parts.append((row.first_seq, where, *batch))
        self.counts = [row.count for row in rows]
        self._starts = np.cumsum([0, *self.counts], dtype=np.int64)
        # Rows read without their values (`Metrics.keys_blocks`: vals None) give an empty array here.
        values = [np.frombuffer(row.vals, dtype=_FLOAT64) for row in rows if row.vals is not None]
        self.values = _native(np.concatenate(values)) if values else np.empty(0, dtype=np.float64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    @property
    def last_seq(self) -> int | None:
        if not self._parts:
            return None
        first_seq, where, steps, _ = self._parts[-1]
        return first_seq + (len(steps) - 1 if where is None else int(where[-1]))

    def joined(self) -> SeriesArrays:
        """Every point, as arrays."""
        if not self._parts:
            empty = np.empty(0, dtype=np.int64)
            return SeriesArrays(empty, empty, empty, self.values)
        seqs, steps, micros = [], [], []
        for first_seq, where, batch_steps, batch_micros in self._parts:
            if where is None:
                seqs.append(first_seq + np.arange(len(batch_steps), dtype=np.int64))
                steps.append(batch_steps)
                micros.append(batch_micros)
            else:
                seqs.append(first_seq + where)
                steps.append(batch_steps[where])
                micros.append(batch_micros[where])
        return SeriesArrays(*(_native(np.concatenate(c)) for c in (seqs, steps, micros)), self.values)

    def take(self, indices: np.ndarray, values: np.ndarray | None = None) -> SeriesArrays:
        """The points at ``indices`` (sorted), without joining the other columns; ``values``: theirs, when known."""
        part_of = np.searchsorted(self._starts, indices, side="right") - 1
        seqs = np.empty(len(indices), dtype=np.int64)
        steps, micros = np.empty_like(seqs), np.empty_like(seqs)
        for p in np.unique(part_of):
            first_seq, where, batch_steps, batch_micros = self._parts[p]
            chosen = part_of == p
            local = indices[chosen] - self._starts[p]
            in_batch = local if where is None else where[local]
            seqs[chosen] = first_seq + in_batch
            steps[chosen] = batch_steps[in_batch]
            micros[chosen] = batch_micros[in_batch]
        return SeriesArrays(seqs, steps, micros, self.values[indices] if values is None else values)

    def take_each(self, picked: list[tuple[np.ndarray, np.ndarray]]) -> list[SeriesArrays]:
        """`take` of each ``(indices, values)`` (keys with this key's chunk layout), in one lookup."""
        cuts = np.cumsum([0, *(len(indices) for indices, _ in picked)])
        if not picked:
            return []
        kept = self.take(np.concatenate([i for i, _ in picked]), np.concatenate([v for _, v in picked]))
        return [SeriesArrays(*parts) for parts in zip(*(_split(column, cuts) for column in kept))]


EXTREMES = np.dtype(
    [("first", "<f8"), ("last", "<f8"), ("low", "<f8"), ("high", "<f8"), ("low_at", "u1"), ("high_at", "u1"),
     ("nan_at", "u1")]
)  # fmt: skip
"""`extremes.RECORD` as a numpy record: ``np.frombuffer(blob, EXTREMES)`` reads a chunk's (or a key's joined) blocks."""


def encode_extremes(packed: bytes) -> bytes:
    """`extremes.encode_pure` of the little-endian float64 ``packed``: the same bytes."""
    values = _native(np.frombuffer(packed, dtype=_FLOAT64))
    n = len(values)
    blocks = -(-n // BLOCK)
    grid = np.zeros(blocks * BLOCK, dtype=np.float64)
    grid[:n] = values
    grid = grid.reshape(blocks, BLOCK)
    inside = (np.arange(blocks * BLOCK) < n).reshape(blocks, BLOCK)
    nan = np.isnan(grid) & inside
    finite = inside & ~nan
    has_nan, has_finite = nan.any(axis=1), finite.any(axis=1)
    rows = np.arange(blocks)
    lows = np.where(finite, grid, np.inf).min(axis=1)
    highs = np.where(finite, grid, -np.inf).max(axis=1)
    low_at = (finite & (grid == lows[:, None])).argmax(axis=1)  # the first one reached, among equal values
    high_at = (finite & (grid == highs[:, None])).argmax(axis=1)
    records = np.empty(blocks, dtype=EXTREMES)
    records["first"] = grid[:, 0]
    records["last"] = values[np.minimum((rows + 1) * BLOCK, n) - 1]
    records["low"] = np.where(has_finite, grid[rows, low_at], np.nan)
    records["high"] = np.where(has_finite, grid[rows, high_at], np.nan)
    records["low_at"] = np.where(has_finite, low_at, NONE)
    records["high_at"] = np.where(has_finite, high_at, NONE)
    records["nan_at"] = np.where(has_nan, nan.argmax(axis=1), NONE)
    return records.tobytes()


def block_bounds(counts: list[int], max_points: int) -> np.ndarray | None:
    """Bucket bounds (point indices, from 0 to the number of points) of at most ``max_points // 4`` buckets made of
    whole blocks of chunks of ``counts`` values, as even as the blocks allow; None when there are fewer than two
    blocks per bucket (too coarse: read the values)."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < MIN_POINTS:
        raise ValueError(f"max_points must be an integer >= {MIN_POINTS}, got {max_points!r}")
    n, buckets = sum(counts), max_points // 4
    starts = _block_starts(counts)
    if len(starts) < 2 * buckets:
        return None
    bucket = starts * buckets // n
    first = np.flatnonzero(np.diff(bucket, prepend=-1))
    return np.append(starts[first], n)


def block_minmax(counts: list[int], blocks: bytes, max_points: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The indices (sorted) and values of the points `downsample.bucket_indices` keeps out of the values of chunks of
    ``counts`` values, for the buckets `block_bounds` makes, from their extremes alone (``blocks``: the chunks' blobs
    joined in order). None: `block_bounds`' (too few blocks)."""
    picked = block_minmax_keys(counts, blocks, 1, max_points)
    return None if picked is None else picked[0]


def block_minmax_keys(
    counts: list[int], blocks: bytes, keys: int, max_points: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """`block_minmax` of ``keys`` keys whose chunks hold the same numbers of values (keys logged together), at once:
    ``blocks`` joins the first key's blobs, then the second's, ... One pass for the 20 metrics of a run."""
    bounds = block_bounds(counts, max_points)
    if bounds is None:
        return None
    starts = _block_starts(counts)
    n, per_key = int(bounds[-1]), len(starts)
    e = np.frombuffer(blocks, dtype=EXTREMES)
    if len(e) != keys * per_key:
        raise ValueError(f"corrupt extremes: {len(e)} blocks for {keys} keys of chunks of {counts} values")
    # The keys side by side: block b of key k is block k * per_key + b; point i of key k is point k * n + i.
    shift = np.arange(keys, dtype=np.int64)[:, None]
    first_points = (starts + shift * n).ravel()
    key_group = np.searchsorted(starts, bounds[:-1])  # each bucket's first block
    group = (key_group + shift * per_key).ravel()
    end = np.append(group[1:], keys * per_key)  # ... and the block after its last
    lows, highs, low_at, high_at, nan_at = (_native(e[name]) for name in ("low", "high", "low_at", "high_at", "nan_at"))
    nan_block = _first_in_group(nan_at != NONE, group, end)
    has_nan = nan_block >= 0
    first_block = np.where(has_nan, nan_block, group)
    # Each bucket's last point, and its first point (or its first NaN, which takes that place).
    indices = [
        (bounds[1:] - 1 + shift * n).ravel(),
        first_points[first_block] + np.where(has_nan, nan_at[first_block], 0),
    ]
    picks = [_native(e["last"][end - 1]), np.where(has_nan, np.nan, _native(e["first"][first_block]))]
    finite = low_at != NONE
    for column, at, fill, reduce in ((lows, low_at, np.inf, np.minimum), (highs, high_at, -np.inf, np.maximum)):
        ranked = np.where(finite, column, fill)
        best = reduce.reduceat(ranked, group)
        block = _first_in_group(finite & (ranked == np.repeat(best, end - group)), group, end)
        block = block[block >= 0]
        indices.append(first_points[block] + at[block])
        picks.append(column[block])
    kept, first = np.unique(np.concatenate(indices), return_index=True)
    values = np.concatenate(picks)[first]
    cuts = np.searchsorted(kept, np.arange(keys + 1, dtype=np.int64) * n)
    return [(kept[a:b] - k * n, values[a:b]) for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:]))]


def _block_starts(counts: list[int]) -> np.ndarray:
    """The index (among all points) of each block's first point."""
    offsets = np.cumsum([0, *counts[:-1]], dtype=np.int64)
    starts = [offset + np.arange(0, count, BLOCK, dtype=np.int64) for offset, count in zip(offsets, counts)]
    return np.concatenate(starts) if starts else np.empty(0, dtype=np.int64)


def _first_in_group(mask: np.ndarray, group: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Per group (blocks ``group[g] .. end[g] - 1``), the first block where ``mask`` holds, or -1."""
    where = np.flatnonzero(mask)
    if not len(where):
        return np.full(len(group), -1, dtype=np.int64)
    first = where[np.minimum(np.searchsorted(where, group), len(where) - 1)]
    return np.where((first >= group) & (first < end), first, -1)


def _split(column: np.ndarray, cuts: np.ndarray) -> list[np.ndarray]:
    return [column[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def _native(column: np.ndarray) -> np.ndarray:
    return column if sys.byteorder == "little" else column.astype(column.dtype.newbyteorder("="))


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
