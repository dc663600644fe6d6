"""``get metric --json``'s output: a series as ``[{"step", "timestamp", "value"}, ...]``, written fast."""

from __future__ import annotations

from typing import BinaryIO

from ..utils.jsontext import number

_POINT = b'{"step": %d, "timestamp": %d.%06d, "value": %r},\n'
_CHUNK = 8192  # points per %-format: keeps memory flat and the buffers in cache


def write_points_json(out: BinaryIO, steps: list[int], micros: list[int], values: list[float]) -> None:
    """Write ``[{"step", "timestamp", "value"}, ...]`` to ``out``: the CLI's hot loop for 1e5+ points.

    One %-format per chunk of points runs in C from start to end (about twice as fast as
    `json.dumps` of a list of dicts); timestamps come from the stored integer microseconds and
    values keep their shortest round-trip repr.
    """
    n = len(values)
    if not n:
        out.write(b"[]\n")
        return
    total = sum(values)
    finite = total - total == 0  # False if any value is NaN or infinite
    template = _POINT if finite else _POINT.replace(b"%r", b"%s")
    out.write(b"[\n")
    for start in range(0, n, _CHUNK):
        stop = min(start + _CHUNK, n)
        size = stop - start
        arguments: list = [None] * (4 * size)
        arguments[0::4] = steps[start:stop]
        chunk_micros = micros[start:stop]
        arguments[1::4] = [m // 1_000_000 for m in chunk_micros]
        arguments[2::4] = [m % 1_000_000 for m in chunk_micros]
        arguments[3::4] = values[start:stop] if finite else [number(v).encode() for v in values[start:stop]]
        text = (template * size) % tuple(arguments)
        out.write(memoryview(text)[:-2] if stop == n else text)  # no comma after the last point
    out.write(b"\n]\n")
