"""Min/max-preserving downsampling (M4-style), so a one-step spike survives any zoom level.

The points are cut into equal-count buckets; each bucket keeps its first point, its last point,
its lowest and its highest value; in a bucket holding a NaN, the first NaN replaces the first
point. The last point of the series is always kept (it closes the last bucket). At most
``max_points`` indices come back, in their original order.
"""

from __future__ import annotations

MIN_POINTS = 4


def minmax_indices(values: list[float], max_points: int) -> list[int]:
    """Indices of the points to keep out of ``values``."""
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < MIN_POINTS:
        raise ValueError(f"max_points must be an integer >= {MIN_POINTS}, got {max_points!r}")
    n = len(values)
    if n <= max_points:
        return list(range(n))
    buckets = max_points // 4
    return bucket_indices(values, [b * n // buckets for b in range(buckets + 1)])


def bucket_indices(values: list[float], bounds: list[int]) -> list[int]:
    """The points `minmax_indices` keeps, for the buckets ``bounds[b] .. bounds[b + 1] - 1`` (increasing, from 0
    to ``len(values)``): the reference of `arrays.block_minmax`, whose buckets are whole blocks."""
    keep: set[int] = set()
    get = values.__getitem__
    for lo, hi in zip(bounds, bounds[1:]):
        window = range(lo, hi)
        total = sum(values[lo:hi])
        keep.add(hi - 1)
        # A NaN makes the sum NaN (so does +inf with -inf: then no NaN is found below).
        first_nan = None if total == total else next((i for i in window if get(i) != get(i)), None)
        if first_nan is None:
            keep.update((lo, min(window, key=get), max(window, key=get)))
            continue
        # A NaN is the most important point of its bucket: it takes the place of the first point.
        keep.add(first_nan)
        finite = [i for i in window if get(i) == get(i)]
        if finite:
            keep.update((min(finite, key=get), max(finite, key=get)))
    return sorted(keep)


def even_indices(n: int, max_points: int) -> list[int]:
    """At most ``max_points`` indices out of ``range(n)``, evenly spread, the first and the last always kept.

    For series with no value to rank (a histogram per step): each kept index stands for its neighbours.
    """
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    if n <= max_points:
        return list(range(n))
    return sorted({round(i * (n - 1) / (max_points - 1)) for i in range(max_points)})
