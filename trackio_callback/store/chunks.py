"""The pure-Python decoder of stored chunks (one key's values within one batch of calls): no SQL.

Every reader of chunks goes through it: the series and points reads (`metrics`), compaction
(`metrics.Metrics.compact`) and the v2 migration's summaries (`schema.rebuild_summaries`).
`arrays.decode_chunks` is its numpy twin for long reads; the tests hold the two equal.

Example::

    rows = store.series_chunks(run.id, store.key_id("loss"))   # [ChunkRow, ...] in log order
    decode_chunks(rows)[store.key_id("loss")].values          # [1.0, 0.5, ...]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import NamedTuple

from . import codec

CHUNK_COLUMNS = "c.key_id, b.first_seq, b.size, b.steps, b.times, c.positions, c.count, c.vals"
"""What to select (chunks ``c`` joined with their batches ``b``) for a `ChunkRow`, in its field order."""


class ChunkRow(NamedTuple):
    """One chunk with the batch it belongs to, encoded as stored."""

    key_id: int
    first_seq: int  # the batch's first call
    size: int  # calls in the batch
    steps: bytes  # the step of every call of the batch
    times: bytes  # the time of every call of the batch, in microseconds
    positions: bytes | None  # the calls (positions in the batch) holding the key; None: every call
    count: int  # values in the chunk
    vals: bytes


class DecodedChunk(NamedTuple):
    where: Sequence[int]  # positions in the batch of the chunk's values
    steps: list[int]  # of every call of the batch
    micros: list[int]  # of every call of the batch
    values: list[float]


class SeriesData(NamedTuple):
    """One key's points in log order, decoded from the chunks."""

    seqs: list[int]
    steps: list[int]
    micros: list[int]  # timestamps, microseconds since the epoch
    values: list[float]


def chunk_positions(positions: bytes | None, count: int, size: int) -> Sequence[int]:
    """The positions in its batch (of ``size`` calls) of a chunk's ``count`` values."""
    return range(size) if positions is None else codec.decode_ints(positions, count)


def decode_chunk(row: ChunkRow) -> DecodedChunk:
    return DecodedChunk(
        where=chunk_positions(row.positions, row.count, row.size),
        steps=codec.decode_ints(row.steps, row.size),
        micros=codec.decode_ints(row.times, row.size),
        values=codec.decode_floats(row.vals),
    )


def decode_chunks(rows: Iterable[ChunkRow]) -> dict[int, SeriesData]:
    """``{key_id: SeriesData}`` of chunk rows ordered by ``first_seq``."""
    result: dict[int, SeriesData] = {}
    for row in rows:
        data = result.get(row.key_id)
        if data is None:
            data = result[row.key_id] = SeriesData([], [], [], [])
        chunk = decode_chunk(row)
        data.values.extend(chunk.values)
        if row.positions is None:  # the common case: the key is in every call, nothing to pick
            data.seqs.extend(range(row.first_seq, row.first_seq + row.size))
            data.steps.extend(chunk.steps)
            data.micros.extend(chunk.micros)
            continue
        pick = _picker(chunk.where)
        data.seqs.extend(row.first_seq + p for p in chunk.where)
        data.steps.extend(pick(chunk.steps))
        data.micros.extend(pick(chunk.micros))
    return result


def _picker(where: Sequence[int]) -> Callable[[list], Sequence]:
    # itemgetter of one index returns the item, not a tuple of one.
    return itemgetter(*where) if len(where) > 1 else (lambda xs, i=where[0]: (xs[i],))
