"""A logged `Histogram` (bin edges and counts) summed up: count, mean, spread, bounds and percentiles.

The stored form keeps only the bins, so every number here is an estimate within one bin width:
percentiles interpolate the cumulative counts linearly inside the bin where they cross (the values
are taken as spread evenly across each bin), the mean and standard deviation take each bin's count at
its center, and ``min`` / ``max`` are the outer edges of the first and last non-empty bins.

Example::

    summarize([0.0, 1.0, 2.0], [1, 3], percentiles=(50,))
    # HistogramSummary(count=4.0, mean=1.25, std=0.433..., min=0.0, max=2.0, percentiles={"50": 1.333...})
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

DEFAULT_PERCENTILES = (5.0, 25.0, 50.0, 75.0, 95.0)
MAX_PERCENTILES = 21  # enough for every 5% step, 0 to 100


class HistogramSummary(NamedTuple):
    """One histogram's numbers; all None (count 0) for a histogram with no counts."""

    count: float
    mean: float | None
    std: float | None
    min: float | None  # left edge of the first non-empty bin
    max: float | None  # right edge of the last non-empty bin
    percentiles: dict[str, float | None]  # "5" -> the 5th percentile, "12.5" -> the 12.5th


def check_percentiles(percentiles: Iterable[Any] | None) -> tuple[float, ...]:
    """``percentiles`` as floats (None: `DEFAULT_PERCENTILES`), each checked to lie in [0, 100]."""
    if percentiles is None:
        return DEFAULT_PERCENTILES
    if isinstance(percentiles, (str, bytes)) or not isinstance(percentiles, Iterable):
        raise ValueError(f"percentiles must be a list of numbers from 0 to 100, got {percentiles!r}")
    chosen = list(percentiles)
    if not 1 <= len(chosen) <= MAX_PERCENTILES:
        raise ValueError(f"percentiles must list 1 to {MAX_PERCENTILES} numbers, got {len(chosen)}: {chosen!r}")
    for value in chosen:
        bad = isinstance(value, bool) or not isinstance(value, (int, float))
        if bad or not 0 <= value <= 100:
            raise ValueError(f"percentiles must be numbers from 0 to 100, got {value!r}")
    return tuple(float(value) for value in chosen)


def percentile_name(percentile: float) -> str:
    """The answer's key for a percentile: ``5.0`` -> ``"5"``, ``12.5`` -> ``"12.5"``."""
    return f"{percentile:g}"


def summarize(
    edges: Sequence[float], counts: Sequence[float], percentiles: Sequence[float] = DEFAULT_PERCENTILES
) -> HistogramSummary:
    """The summary of the histogram of ``counts`` over bins ``edges`` (one more edge than counts).

    Negative or non-finite counts are taken as empty bins (a precomputed ``np_histogram`` can hold anything).
    """
    edges = [float(e) for e in edges]
    counts = [float(c) if math.isfinite(c) and c > 0 else 0.0 for c in counts]
    if len(edges) != len(counts) + 1 and (edges or counts):  # none at all: a histogram of no finite value
        raise ValueError(
            f"a histogram needs one more edge than counts, got {len(edges)} edges and {len(counts)} counts"
        )
    cumulative = [0.0]
    for count in counts:
        cumulative.append(cumulative[-1] + count)
    total = cumulative[-1]
    if total <= 0:
        return HistogramSummary(0.0, None, None, None, None, {percentile_name(p): None for p in percentiles})
    centers = [(edges[i] + edges[i + 1]) / 2 for i in range(len(counts))]
    mean = sum(c * x for c, x in zip(counts, centers)) / total
    variance = sum(c * (x - mean) ** 2 for c, x in zip(counts, centers)) / total
    filled = [i for i, count in enumerate(counts) if count > 0]
    low, high = edges[filled[0]], edges[filled[-1] + 1]
    values = {percentile_name(p): _percentile(edges, counts, cumulative, p, low, high) for p in percentiles}
    return HistogramSummary(total, mean, math.sqrt(variance), low, high, values)


def _percentile(
    edges: list[float], counts: list[float], cumulative: list[float], percentile: float, low: float, high: float
) -> float:
    target = percentile / 100 * cumulative[-1]
    if target <= 0:
        return low
    if target >= cumulative[-1]:
        return high
    # the first bin whose cumulative count reaches the target holds it (it is not empty: the count rose there)
    right = bisect.bisect_left(cumulative, target)
    inside = (target - cumulative[right - 1]) / counts[right - 1]
    return edges[right - 1] + inside * (edges[right] - edges[right - 1])


def describe(histogram: Mapping[str, Any], percentiles: Sequence[float] = DEFAULT_PERCENTILES) -> dict[str, Any]:
    """One logged histogram (`Reader.histograms`' ``{"step", "timestamp", "edges", "counts"}``) as an answer:
    ``{"step", "timestamp", "count", "mean", "std", "min", "max", "percentiles", "bins", "bin_width"}``.

    ``bin_width`` is the widest bin's: how far any estimate here can be from the logged values' own.
    """
    edges = [float(e) for e in histogram["edges"]]
    summary = summarize(edges, histogram["counts"], percentiles)
    widths = [right - left for left, right in zip(edges[:-1], edges[1:])]
    return {
        "step": histogram["step"],
        "timestamp": histogram["timestamp"],
        **summary._asdict(),
        "bins": len(widths),
        "bin_width": max(widths, default=None),
    }
