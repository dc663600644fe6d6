"""The dashboard's packed answer for series (``/api/series?...&format=packed``): a JSON header, then float64 columns.

A page opening 100 runs of 20 metrics receives 2,000 downsampled series of ~1,000 points. As JSON
text that is ~80 MB that the server spends seconds writing (``repr`` of 6 million floats) and the
browser spends seconds parsing; packed, the columns are copied as they are, and the page reads
them with a ``Float64Array`` over the received buffer (static/sources.js ``unpackSeries``).

Layout (every number little-endian)::

    b"TCS1"                       4 bytes: the format
    header length H               uint32
    header                        H bytes of UTF-8 JSON: {"project", "cursors": {run: seq},
                                  "series": [{"run", "key", "total", "points": n[, "steps": [...]]}]}
    zero bytes                    to the next multiple of 8 (a Float64Array must start there)
    per series, in header order:  steps (n float64, unless the header holds them), timestamps (n float64:
                                  microseconds since the epoch, whole numbers; the reader divides by 1e6 for
                                  the JSON answer's unix seconds), values (n float64, NaN and infinities as they are)

A series whose steps are not all exact as float64 (beyond 2**53) carries them in its header entry
instead, as JSON integers.
"""

from __future__ import annotations

import json
import struct
import sys
from array import array
from typing import Any

from ..store.reader import Series
from ..utils.jsontext import dumps

MAGIC = b"TCS1"
MEDIA_TYPE = "application/vnd.trackio-callback.series"
_EXACT = 2**53  # |step| up to this is exact as a float64
_LENGTH = struct.Struct("<I")


def pack_series(project: str, cursors: dict[str, int], series: list[Series]) -> bytes:
    """The packed answer of `Api.series` for ``series`` (each with its ``total``)."""
    entries: list[dict[str, Any]] = []
    columns: list[bytes] = []
    for s in series:
        entry: dict[str, Any] = {"run": s.run, "key": s.key, "total": s.total, "points": len(s)}
        steps, micros, values = s.float64_columns()
        bounds = s.step_bounds()
        if bounds is not None and not (bounds[0] >= -_EXACT and bounds[1] <= _EXACT):
            entry["steps"] = s.steps  # not exact as float64: JSON integers
        else:
            columns.append(steps)
        columns += (micros, values)
        entries.append(entry)
    header = dumps({"project": project, "cursors": cursors, "series": entries}).encode()
    start = len(MAGIC) + _LENGTH.size + len(header)
    padding = b"\0" * (-start % 8)
    return b"".join([MAGIC, _LENGTH.pack(len(header)), header, padding, *columns])


def unpack_series(data: bytes) -> dict[str, Any]:
    """`pack_series`'s bytes back as `Api.series`' JSON answer (lists of numbers): for tests and Python clients."""
    if data[:4] != MAGIC:
        raise ValueError(f"not a packed series answer (starts with {data[:4]!r}, expected {MAGIC!r})")
    (length,) = _LENGTH.unpack_from(data, 4)
    header = json.loads(data[8 : 8 + length])
    offset = 8 + length
    offset += -offset % 8

    def column(n: int) -> list[float]:
        nonlocal offset
        values = array("d")
        values.frombytes(data[offset : offset + 8 * n])
        if sys.byteorder != "little":
            values.byteswap()
        offset += 8 * n
        return values.tolist()

    series = []
    for entry in header["series"]:
        n = entry.pop("points")
        steps = entry.pop("steps", None)
        steps = [int(step) for step in column(n)] if steps is None else steps
        timestamps = [micros / 1_000_000 for micros in column(n)]  # as `codec.to_seconds`: the same float
        series.append({**entry, "steps": steps, "timestamps": timestamps, "values": column(n)})
    if offset != len(data):
        raise ValueError(f"packed series answer of {len(data)} bytes, but its header describes {offset}")
    return {"project": header["project"], "cursors": header["cursors"], "series": series}
