"""Hypothesis strategies shared by the tests of the downsamplers (Python, numpy and the page's JS copy)."""

from __future__ import annotations

import math
import random

from hypothesis import strategies as st

NAN, INF = math.nan, math.inf
SPECIAL = st.sampled_from([NAN, INF, -INF, -0.0, 0.0, 1.0, -1.0, 1e308, -1e308, 5e-324])
VALUE = st.one_of(SPECIAL, st.floats(allow_nan=True, allow_infinity=True))


@st.composite
def long_series(draw) -> list[float]:
    """Up to 3000 values drawn from a small palette (repeats, NaN, ±inf, -0.0) or a random walk with specials."""
    n = draw(st.integers(0, 3000))
    palette = draw(st.lists(VALUE, min_size=1, max_size=12))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        return [rng.choice(palette) for _ in range(n)]
    special_rate = draw(st.sampled_from([0.0, 0.001, 0.02, 0.3]))
    values, level = [], 0.0
    for _ in range(n):
        level += rng.gauss(0, 1)
        values.append(rng.choice(palette) if rng.random() < special_rate else level)
    return values
