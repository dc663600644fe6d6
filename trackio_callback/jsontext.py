"""Strict JSON for the CLI, the dashboard's API and the MCP tools: NaN and infinities as strings.

``json.dumps`` writes ``NaN`` and ``Infinity`` bare, which is not JSON and which browsers'
``JSON.parse`` rejects; every JSON this package writes has them as the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"`` instead.
"""

from __future__ import annotations

import json
import math
from typing import Any

NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def number(value: float) -> str:
    """A float as JSON text; non-finite ones as JSON strings."""
    text = repr(value)
    return f'"{NON_FINITE[text]}"' if text in NON_FINITE else text


def jsonable(value: Any) -> Any:
    """Non-finite floats as strings, recursively, so `json.dumps` writes strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else NON_FINITE[repr(value)]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if all(type(v) is int for v in value) or _finite_floats(value):
            return value
        return [jsonable(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    separators = None if indent is not None else (",", ":")
    return json.dumps(jsonable(value), indent=indent, separators=separators, allow_nan=False, default=str)


def _finite_floats(values: list | tuple) -> bool:
    """True for a column of finite floats (the common case: passed through without a copy)."""
    try:
        total = math.fsum(values)
    except (TypeError, OverflowError, ValueError):
        return False
    return math.isfinite(total) and all(type(v) is float for v in values)
