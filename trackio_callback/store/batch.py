"""Turns the ``log()`` calls drained from the buffer into encoded batches (pure, no SQL).

A batch covers consecutive calls of one run, numbered by ``seq`` (the run's call counter, which
the uploader later uses as its watermark). It holds each call's step and timestamp once and, per
metric key, one column of values plus the running statistics the summary table is updated with.
"""

from __future__ import annotations

import sys
from typing import NamedTuple

from . import codec, extremes

BATCH_LIMIT = 8192  # calls per batch row: large enough to compress, small enough to skip by step range

Call = tuple[int, float, dict]
"""One ``log()`` call as the buffer holds it: ``(step, unix time, {key: float})``."""


class Column(NamedTuple):
    """The values of one metric key within a batch."""

    positions: bytes | None  # encoded call positions in the batch; None when the key is in every call
    count: int
    values: bytes
    nan_count: int
    min_value: float | None  # over non-NaN values; None when every value is NaN
    max_value: float | None
    first_step: int
    last_step: int
    last_seq: int
    last_value: float
    last_time: float
    extremes: bytes = b""  # per block of the values: `block_extremes`


class Batch(NamedTuple):
    first_seq: int
    size: int
    min_step: int
    max_step: int
    steps: bytes
    times: bytes
    columns: dict[str, Column]


def build_batches(first_seq: int, calls: list[Call]) -> list[Batch]:
    """``calls`` (numbered ``first_seq``, ``first_seq + 1``, ...) as batches of at most `BATCH_LIMIT` calls."""
    return [
        build_batch(first_seq + start, calls[start : start + BATCH_LIMIT])
        for start in range(0, len(calls), BATCH_LIMIT)
    ]


def build_batch(first_seq: int, calls: list[Call]) -> Batch:
    steps = [c[0] for c in calls]
    times = [c[1] for c in calls]
    return Batch(
        first_seq=first_seq,
        size=len(calls),
        min_step=min(steps),
        max_step=max(steps),
        steps=codec.encode_ints(steps),
        times=codec.encode_ints(codec.times_to_micros(times)),
        columns={
            key: make_column(first_seq, positions, values, steps, times, len(calls))
            for key, (positions, values) in _columns(calls).items()
        },
    )


def _columns(calls: list[Call]) -> dict[str, tuple[list[int], list[float]]]:
    """Transpose calls into ``{key: (positions, values)}``.

    Training loops log the same keys in the same order call after call, so calls are grouped by
    their key tuple and each group is transposed with one ``zip`` instead of key by key.
    """
    groups: dict[tuple, list[int]] = {}
    for i, call in enumerate(calls):
        keys = tuple(call[2])
        group = groups.get(keys)
        if group is None:
            groups[keys] = [i]
        else:
            group.append(i)
    columns: dict[str, tuple[list[int], list[float]]] = {}
    merged: set[str] = set()
    for keys, positions in groups.items():
        if not keys:
            continue
        transposed = zip(*[calls[i][2].values() for i in positions])
        for key, values in zip(keys, transposed):
            column = columns.get(key)
            if column is None:
                columns[key] = (list(positions), list(values))
            else:
                column[0].extend(positions)
                column[1].extend(values)
                merged.add(key)
    for key in merged:
        pairs = sorted(zip(*columns[key]))
        columns[key] = ([p for p, _ in pairs], [v for _, v in pairs])
    return columns


def make_column(
    first_seq: int, positions: list[int], values: list[float], steps: list[int], times: list[float], size: int
) -> Column:
    total = sum(values)  # NaN if any value is NaN (or +inf meets -inf): then filter
    finite = values if total == total else [v for v in values if v == v]
    last = positions[-1]
    packed = codec.encode_floats(values)
    return Column(
        positions=None if len(positions) == size else codec.encode_ints(positions),
        count=len(values),
        values=packed,
        nan_count=len(values) - len(finite),
        min_value=min(finite) if finite else None,
        max_value=max(finite) if finite else None,
        first_step=steps[positions[0]],
        last_step=steps[last],
        last_seq=first_seq + last,
        last_value=values[-1],
        last_time=times[last],
        extremes=block_extremes(values, packed),
    )


def block_extremes(values: list[float], packed: bytes) -> bytes:
    """The `extremes` blob of a chunk's ``values`` (``packed``: the same, as stored): with numpy when the process
    has loaded it already (it is never imported for this: ~0.1 s and ~20 MB where nothing else uses it)."""
    if "numpy" in sys.modules:
        from .arrays import encode_extremes

        return encode_extremes(packed)
    return extremes.encode_pure(values)
