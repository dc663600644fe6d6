"""What ``log()`` accepts: numbers only, converted to float64.

Accepted: ``float``, ``int`` and ``bool`` (and their subclasses, e.g. ``numpy.float64``), numpy
scalars and 0-d arrays of a real or boolean dtype, 0-d torch tensors (any device), and other
``numbers.Real`` (``fractions.Fraction``). Integers are stored as float64 and so are exact up to
2**53. numpy and torch are recognised by duck typing, never imported here.
"""

from __future__ import annotations

import numbers

from ..errors import RejectedValue
from .names import MAX_KEY_LENGTH

_ARRAY_MODULES = frozenset({"numpy", "torch", "jax", "jaxlib"})


def coerce(value: object) -> float:
    """``value`` as a float, or `RejectedValue` naming its type."""
    if isinstance(value, (float, int)):  # also bool, numpy.float64, IntEnum
        try:
            return float(value)
        except OverflowError:
            raise RejectedValue("an integer too large for float64") from None
    kind = type(value)
    if kind.__module__.partition(".")[0] in _ARRAY_MODULES and getattr(value, "ndim", None) == 0:
        # .item() also moves a CUDA scalar to the host (one sync, as the Trainer's own logging does).
        item = value.item()
        if isinstance(item, (float, int)):
            return float(item)
        raise RejectedValue(f"a 0-d {kind.__module__}.{kind.__name__} holding {type(item).__name__}")
    if isinstance(value, numbers.Real):
        return float(value)
    shape = getattr(value, "shape", None)
    described = f"{kind.__module__}.{kind.__name__}" if kind.__module__ != "builtins" else kind.__name__
    if shape is not None:
        described += f" of shape {tuple(shape)}"
    raise RejectedValue(described)


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot name a metric, or None when it can."""
    if not isinstance(key, str):
        return f"keys must be strings, not {type(key).__name__}"
    if not 0 < len(key) <= MAX_KEY_LENGTH:
        return f"keys must be 1-{MAX_KEY_LENGTH} characters long, this one has {len(key)}"
    return None
