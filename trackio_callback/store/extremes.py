"""Per-block extremes of a chunk's values: what a downsampled read of a long series uses instead of the values.

A chunk (one key's values in one batch of up to 8,192 calls) is cut into blocks of `BLOCK` values
(the last one may be shorter). For each block the ``chunk_extremes`` table (schema v11) keeps its
first and last value, its lowest and highest value (over non-NaN values) with their offsets in the
block, and the offset of its first NaN. A min/max downsampling whose buckets are whole blocks
(`arrays.block_minmax`) then reads ~35 bytes per 64 values instead of 512, and finds exactly the
points the same downsampling over the values finds (`downsample.bucket_indices` is the reference).

Layout of one chunk's blob: one record per block, ``n = ceil(count / BLOCK)`` records of `RECORD`
(little-endian, 35 bytes), so that the blobs of a key's chunks joined are one array of records::

    first value, last value, lowest value, highest value     4 float64 (NaN when the block has no such value)
    offset of the lowest, of the highest, of the first NaN    3 uint8 (`NONE`: no such value)

`batch.block_extremes` computes it in pure Python (`encode_pure`), or with numpy (`arrays.encode_extremes`)
when the process has imported numpy already (a training process has: torch and transformers import
it); both give the same bytes (the tests check).
Chunks written before v11 have no row there: a reader computes their blocks from the values.
"""

from __future__ import annotations

import struct

BLOCK = 64
NONE = 255  # offset of a value the block does not have (no NaN; only NaNs, so no lowest or highest)
RECORD = struct.Struct("<ddddBBB")


def block_count(count: int) -> int:
    return -(-count // BLOCK)


def encode_pure(values: list[float]) -> bytes:
    """The extremes blob of a chunk's ``values``, in pure Python (`arrays.encode_extremes` is its numpy twin;
    `batch.block_extremes` picks one)."""
    records = []
    pack = RECORD.pack
    nan = float("nan")
    for start in range(0, len(values), BLOCK):
        block = values[start : start + BLOCK]
        first_nan = NONE
        finite = block
        total = sum(block)
        if total != total:  # a NaN (or +inf with -inf): look closer
            first_nan = next((i for i, v in enumerate(block) if v != v), NONE)
            if first_nan != NONE:
                finite = [v for v in block if v == v]
        if finite:
            low, high = min(finite), max(finite)  # the first one reached, among equal values
            # .index finds them by ==: neither is a NaN
            records.append(pack(block[0], block[-1], low, high, block.index(low), block.index(high), first_nan))
        else:
            records.append(pack(block[0], block[-1], nan, nan, NONE, NONE, first_nan))
    return b"".join(records)
