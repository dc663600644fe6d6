"""``get metric --plot``: a metric's curve, one line per run, as a Unicode chart in the terminal.

The parts that decide what is drawn are plain functions over named records: `nice_ticks` and
`tick_labels` (axis labels that are always distinct and readable, from 1e-8 to 1e12: fixed, SI
``k``/``M``/``G``/``T``, or scientific notation), `legend_lines` (one line per run with its last value).
`render_chart` draws with plotext (the ``terminal`` extra, imported here only), whose 5.x and 6.x APIs
differ: `_draw_v5` and `_draw_v6` hold the only calls into it.

    trackio-callback get metric --project P --metric train/loss --plot        (every run that logs it)
    trackio-callback get metric --project P --run A --run B --metric train/lr --plot --width 100 --height 25
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, NamedTuple

from ..errors import MetricNotFoundError
from ..store.reader import Reader
from .terminal import library, number_text, terminal_size, use_colour

# 256-colour codes, told apart on dark and light backgrounds; the legend's swatch uses the same code.
PALETTE = (33, 208, 34, 160, 129, 37, 172, 99, 244, 205)
# Without colour, runs after the first are told apart by their marker (the legend shows it).
PLAIN_MARKERS = ("braille", "+", "x", "o", "*", "#", "%", "@", "=", "~")
BRAILLE_SWATCH = "⣿"
MIN_WIDTH, MIN_HEIGHT = 30, 8
MAX_TICK_DECIMALS = 15
SI_PREFIXES = {3: "k", 6: "M", 9: "G", 12: "T"}


class Curve(NamedTuple):
    """One run's line: its points (non-finite values are not drawn) and what it logged last."""

    run: str
    steps: list[int]
    values: list[float]
    last_value: float | None  # the value logged last (NaN and infinities included)
    last_step: int | None


class Axis(NamedTuple):
    """The drawn range and the tick positions in it, with the labels drawn at them."""

    low: float
    high: float
    positions: list[float]
    labels: list[str]


class Style(NamedTuple):
    """How one run is drawn: a plotext marker, its colour (None: no colour), and the legend's swatch."""

    marker: str
    colour: int | None
    swatch: str


# -- axes ---------------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round positions (1, 2, 2.5 or 5 times a power of ten apart) from at or below ``low`` to at or above
    ``high``, spaced so that the number inside the range is nearest ``count`` (more, on a tie); a flat range is
    widened around its value."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"axis limits must be finite numbers, got {low!r} and {high!r}")
    low, high = min(low, high), max(low, high)
    if high == low:
        pad = abs(low) * 0.1 or 1.0
        low, high = low - pad, high + pad
    exponent = math.floor(math.log10((high - low) / max(count - 1, 1)))

    def inside(candidate: tuple[float, int]) -> int:
        step = candidate[0] * 10.0 ** candidate[1]
        return math.floor(high / step + 1e-9) - math.ceil(low / step - 1e-9) + 1

    candidates = [(n, e) for e in (exponent - 1, exponent, exponent + 1) for n in (1, 2, 2.5, 5)]
    nice, exponent = min(candidates, key=lambda c: (abs(inside(c) - count), -inside(c)))
    step = nice * 10.0**exponent
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    # i * nice / 10**-e rounds better than i * step: 3 * 2e-7 would print as 6.000000000000001e-07
    scale = 10.0**-exponent if exponent < 0 else None
    return [(i * nice / scale if scale else i * nice * 10.0**exponent) for i in range(first, last + 1)]


def tick_labels(positions: list[float]) -> list[str]:
    """Labels for evenly spaced ``positions``, distinct and short: ``0.0015``, ``2.5M``, ``1.0T``, ``2.0e-7``.

    Fixed notation from 1e-3 to 1e4, SI prefixes up to 1e15, scientific notation outside; every label of an
    axis gets the same number of decimals, as many as the spacing needs.
    """
    nonzero = [abs(p) for p in positions if p != 0]
    if not nonzero:
        return ["0" for _ in positions]
    top = max(nonzero)
    gaps = [b - a for a, b in zip(positions, positions[1:]) if b != a]
    spacing = min(abs(g) for g in gaps) if gaps else top
    if 1e-3 <= top < 1e4:
        unit, suffix, scientific = 1.0, "", False
    elif 1e4 <= top < 1e15:
        power = 3 * math.floor(math.log10(top) / 3)
        unit, suffix, scientific = 10.0**power, SI_PREFIXES[power], False
    else:
        unit, suffix, scientific = 10.0 ** math.floor(math.log10(top)), "", True
    decimals = _decimals(spacing / unit)
    while True:
        labels = [_label(p, decimals, unit, suffix, scientific) for p in positions]
        if len(set(labels)) == len(labels) or decimals >= MAX_TICK_DECIMALS:
            return labels
        decimals += 1


def _decimals(spacing: float) -> int:
    """The fewest decimals that write multiples of ``spacing`` exactly (0.25 -> 2, 5 -> 0)."""
    for decimals in range(MAX_TICK_DECIMALS):
        scaled = spacing * 10**decimals
        if abs(scaled - round(scaled)) <= 1e-6 * max(scaled, 1.0):
            return decimals
    return MAX_TICK_DECIMALS


def _label(value: float, decimals: int, unit: float, suffix: str, scientific: bool) -> str:
    if value == 0:
        return "0"
    if scientific:  # 2.0e-07 -> 2.0e-7: the exponent's padding only widens the axis
        mantissa, _, exponent = f"{value:.{decimals}e}".partition("e")
        return f"{mantissa}e{int(exponent)}"
    return f"{value / unit:.{decimals}f}{suffix}"


def axis(low: float, high: float, count: int) -> Axis:
    """The axis of data from ``low`` to ``high``: drawn over that range, with the round ticks inside it (over the
    round ticks around it when fewer than two fall inside, as for a flat line)."""
    around = nice_ticks(low, high, count)
    slack = (around[-1] - around[0]) * 1e-9
    inside = [p for p in around if low - slack <= p <= high + slack]
    if len(inside) < 2:
        return Axis(around[0], around[-1], around, tick_labels(around))
    return Axis(low, high, inside, tick_labels(inside))


# -- the chart ----------------------------------------------------------------------------------------


def styles(count: int, colour: bool) -> list[Style]:
    """Each run's look: braille lines in palette colours, or without colour one marker per run."""
    result = []
    for index in range(count):
        if colour:
            result.append(Style("braille", PALETTE[index % len(PALETTE)], BRAILLE_SWATCH))
        else:
            marker = PLAIN_MARKERS[index % len(PLAIN_MARKERS)]
            result.append(Style(marker, None, BRAILLE_SWATCH if marker == "braille" else marker))
    return result


def legend_lines(curves: list[Curve], looks: list[Style]) -> list[str]:
    """``⣿ run-a   last 1.5e-07  (step 990)`` per run, names aligned; the swatch coloured as its line."""
    width = max(len(curve.run) for curve in curves)
    lines = []
    for curve, look in zip(curves, looks):
        swatch = look.swatch if look.colour is None else f"\x1b[38;5;{look.colour}m{look.swatch}\x1b[0m"
        where = f"  (step {curve.last_step})" if curve.last_step is not None else ""
        lines.append(f"{swatch} {curve.run.ljust(width)}  last {number_text(curve.last_value)}{where}")
    return lines


def render_chart(curves: list[Curve], title: str, width: int, height: int, colour: bool) -> str:
    """The chart of ``curves`` (x: step) in ``width`` x ``height`` cells, then one legend line per run."""
    points = [(s, v) for c in curves for s, v in zip(c.steps, c.values) if math.isfinite(v)]
    if not points:
        runs = ", ".join(repr(c.run) for c in curves)
        raise ValueError(f"metric {title!r} has no finite value to draw in run(s) {runs}")
    width, chart_height = max(width, MIN_WIDTH), max(height - len(curves), MIN_HEIGHT)
    steps, values = [p[0] for p in points], [p[1] for p in points]
    y = axis(min(values), max(values), max(3, min(7, chart_height // 4)))
    x = axis(min(steps), max(steps), max(2, min(8, width // 16)))
    looks = styles(len(curves), colour)
    plotext = library("plotext")
    draw = _draw_v6 if hasattr(getattr(plotext, "figure", None), "signal") else _draw_v5
    chart = draw(plotext, curves, looks, title, x, y, width, chart_height, colour)
    lines = [line.rstrip() for line in chart.splitlines()]
    return "\n".join(lines + legend_lines(curves, looks)) + "\n"


def _finite(curve: Curve) -> tuple[list[int], list[float]]:
    kept = [(s, v) for s, v in zip(curve.steps, curve.values) if math.isfinite(v)]
    return [s for s, _ in kept], [v for _, v in kept]


def _draw_v5(
    plotext: Any,
    curves: list[Curve],
    looks: list[Style],
    title: str,
    x: Axis,
    y: Axis,
    width: int,
    height: int,
    colour: bool,
) -> str:
    plotext.clf()
    plotext.limitsize(False, False)  # the size is chosen from the terminal already, or asked for
    plotext.plotsize(width, height)
    plotext.theme("clear")
    for curve, look in zip(curves, looks):
        steps, values = _finite(curve)
        if not values:
            continue  # only NaN or infinities: in the legend, nothing to draw
        if look.colour is None:
            plotext.plot(steps, values, marker=look.marker)
        else:
            plotext.plot(steps, values, marker=look.marker, color=look.colour)
    plotext.title(title)
    plotext.xlabel("step")
    plotext.xlim(x.low, x.high)
    plotext.ylim(y.low, y.high)
    plotext.xticks(x.positions, x.labels)
    plotext.yticks(y.positions, y.labels)
    text = plotext.build()
    plotext.clf()
    return text if colour else plotext.uncolorize(text)


def _draw_v6(
    plotext: Any,
    curves: list[Curve],
    looks: list[Style],
    title: str,
    x: Axis,
    y: Axis,
    width: int,
    height: int,
    colour: bool,
) -> str:
    figure = plotext.figure
    figure.clear.all()
    plotext.terminal.limit(False, False)  # the size is chosen from the terminal already, or asked for
    figure.plot_size(width, height)
    figure.theme("simple" if colour else "colorless")
    for curve, look in zip(curves, looks):
        steps, values = _finite(curve)
        if not values:
            continue  # only NaN or infinities: in the legend, nothing to draw
        marker = plotext.marker(look.marker, look.colour) if look.colour is not None else look.marker
        figure.draw(figure.signal(steps, values, marker=marker).lines())
    figure.title(title)
    figure.label("step", "x")
    figure.ruler("x").lim(x.low, x.high).ticks(x.positions, x.labels)
    figure.ruler("y").lim(y.low, y.high).ticks(y.positions, y.labels)
    text = figure.build().string(colorless=not colour)
    figure.clear.all()
    return text


# -- the command --------------------------------------------------------------------------------------


def read_curves(
    reader: Reader,
    project: str,
    runs: list[str],
    key: str,
    *,
    min_step: int | None = None,
    max_step: int | None = None,
    max_points: int | None = None,
    latest_per_step: bool = False,
) -> list[Curve]:
    """The curve of ``key`` in each of ``runs`` (none named: every run of ``project`` that logs it)."""
    if not runs:
        runs = [r["name"] for r in reader.runs(project) if key in reader.metric_keys(project, r["name"])]
        if not runs:
            logged = sorted({k for r in reader.runs(project) for k in reader.metric_keys(project, r["name"])})
            raise MetricNotFoundError("metric", key, logged, f" in any run of project {project!r}")
    curves = []
    for run in runs:
        series = reader.series(
            project, run, key, min_step, max_step, max_points=max_points, latest_per_step=latest_per_step
        )
        # downsampling keeps the last point: it is the value logged last in the step range
        last_value, last_step = (series.values[-1], series.steps[-1]) if series.values else (None, None)
        curves.append(Curve(run, series.steps, series.values, last_value, last_step))
    return curves


def plot_metric(args: argparse.Namespace, reader: Reader, project: str, runs: list[str], key: str) -> None:
    """``get metric --plot``: draw ``key`` of ``runs`` to stdout, sized to the terminal unless told."""
    for option in ("width", "height"):
        value = getattr(args, option)
        if value is not None and value < (MIN_WIDTH if option == "width" else MIN_HEIGHT):
            raise ValueError(
                f"--{option} must be at least {MIN_WIDTH if option == 'width' else MIN_HEIGHT}, got {value}"
            )
    columns, lines = terminal_size(args.width, args.height)
    height = args.height or lines - 1  # the shell's prompt keeps the last line
    max_points = args.max_points if args.max_points is not None else max(4, 2 * columns)  # braille: 2 dots a cell
    curves = read_curves(
        reader,
        project,
        runs,
        key,
        min_step=args.min_step,
        max_step=args.max_step,
        max_points=max_points,
        latest_per_step=args.latest_per_step,
    )
    sys.stdout.write(render_chart(curves, key, columns, height, use_colour(sys.stdout)))
