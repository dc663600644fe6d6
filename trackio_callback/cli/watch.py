"""``watch``: a live view of one run in the terminal, refreshed as the run logs.

    trackio-callback watch                                  (the latest running run of the latest project)
    trackio-callback watch --project P --run R --metric '^train/' --interval 2 --exit-when-done

A header (project, run, status, last step, step rate over the last minute, ETA) over one row per metric:
a sparkline of its recent values, its last value, its min and max. `RunWatch` keeps that state and
reads the store incrementally, as the dashboard's ``/api/poll`` does: `Reader.cursor`-style cursors and
`Reader.new_points` (only the ``log()`` calls after the cursor), with the per-metric summaries and a
tail of each series read once at the start. The text is built by plain functions (`sparkline`,
`header_lines`, `row_cells`); `render` lays it out with rich (the ``terminal`` extra, imported lazily).
"""

from __future__ import annotations

import math
import re
import sys
import time
from collections import deque
from typing import Any, NamedTuple

from ..errors import NothingToWatchError
from ..store.reader import Reader, Series
from ..telemetry.throughput import format_eta
from .terminal import console, library, number_text, terminal_size

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
HISTORY = 512  # values kept per metric: more than a sparkline as wide as any terminal
RATE_WINDOW_S = 60.0  # the step rate is measured over the last minute of logged points
ETA_KEY = "train/eta_seconds"  # logged by TrackioCallback (telemetry.throughput)
NO_VALUE = "–"
MIN_SPARK, SIDE_COLUMNS = 8, 3  # last, min, max
STATUS_STYLES = {"running": "bold green", "finished": "bold blue"}  # any other (failed, crashed): bold red


class MetricState(NamedTuple):
    """One metric's row: its recent values (oldest first), what it logged last, its lowest and highest value."""

    key: str
    recent: list[float]
    last: float | None
    last_step: int | None
    low: float | None
    high: float | None


class Header(NamedTuple):
    project: str
    run: str
    status: str
    last_step: int | None
    rate: float | None  # optimizer steps per second over the last minute of logged points
    eta_seconds: float | None


# -- text -----------------------------------------------------------------------------------------------


def sparkline(values: list[float], width: int) -> str:
    """The last ``width`` values as block characters scaled to their own range; a non-finite value is a space."""
    shown = values[-width:] if width > 0 else []
    finite = [v for v in shown if math.isfinite(v)]
    if not finite:
        return " " * len(shown)
    low, high = min(finite), max(finite)
    top = len(SPARK_BLOCKS) - 1
    if high == low:
        return "".join(SPARK_BLOCKS[top // 2] if math.isfinite(v) else " " for v in shown)
    return "".join(SPARK_BLOCKS[round((v - low) / (high - low) * top)] if math.isfinite(v) else " " for v in shown)


def rate_text(rate: float | None) -> str:
    return NO_VALUE if rate is None else f"{rate:.3g} steps/s"


def eta_text(seconds: float | None) -> str:
    return NO_VALUE if seconds is None or not math.isfinite(seconds) or seconds < 0 else format_eta(seconds)


def header_lines(header: Header) -> list[str]:
    """``project: P   run: R   status: running`` and ``step: 120   rate: 4.5 steps/s   ETA: 0:01:10``."""
    step = NO_VALUE if header.last_step is None else str(header.last_step)
    return [
        f"project: {header.project}   run: {header.run}   status: {header.status}",
        f"step: {step}   rate: {rate_text(header.rate)}   ETA: {eta_text(header.eta_seconds)}",
    ]


def row_cells(metric: MetricState, spark_width: int) -> tuple[str, str, str, str, str]:
    """``(key, sparkline, last, min, max)`` of one metric's row."""
    return (
        metric.key,
        sparkline(metric.recent, spark_width),
        number_text(metric.last),
        number_text(metric.low),
        number_text(metric.high),
    )


def render(header: Header, metrics: list[MetricState], width: int, height: int) -> Any:
    """The view as a rich renderable, ``width`` columns wide; rows past ``height`` lines are counted, not drawn."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    top = [Text(line, no_wrap=True, overflow="ellipsis") for line in header_lines(header)]
    top[0].highlight_regex(r"status: \S+", STATUS_STYLES.get(header.status, "bold red"))
    room = max(1, height - len(top) - 4)  # the table's head and rule, a line for "... more", the prompt
    shown, hidden = metrics[:room], len(metrics) - min(len(metrics), room)
    cells = [row_cells(m, 0) for m in shown]
    key_width = max([len("metric")] + [len(c[0]) for c in cells])
    number_width = max([len("last")] + [len(c[i]) for c in cells for i in (2, 3, 4)])
    spark_width = max(MIN_SPARK, width - key_width - SIDE_COLUMNS * number_width - 2 * (SIDE_COLUMNS + 1) - 1)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold", padding=(0, 2, 0, 0))
    table.add_column("metric", no_wrap=True, overflow="ellipsis", max_width=max(12, width // 3))
    table.add_column("recent", no_wrap=True, width=spark_width, style="cyan")
    for name in ("last", "min", "max"):
        table.add_column(name, no_wrap=True, justify="right")
    for metric in shown:
        table.add_row(*row_cells(metric, spark_width))
    parts: list[Any] = [*top, Text(""), table]
    if not metrics:
        parts.append(Text("no metric logged yet" if header.last_step is None else "no metric matches --metric"))
    if hidden:
        parts.append(Text(f"… {hidden} more metrics (narrow them with --metric)"))
    return Group(*parts)


# -- state ----------------------------------------------------------------------------------------------


class _Track:
    """What the view keeps of one metric."""

    __slots__ = ("recent", "last", "last_step", "low", "high")

    def __init__(self, summary: dict[str, Any] | None, tail: Series | None):
        self.recent: deque[float] = deque(tail.values if tail else (), maxlen=HISTORY)
        self.last = summary["last"] if summary and summary["count"] else None
        self.last_step = summary["last_step"] if summary else None
        low = summary["min"] if summary else math.nan
        high = summary["max"] if summary else math.nan
        self.low = low if math.isfinite(low) else None
        self.high = high if math.isfinite(high) else None

    def add(self, series: Series) -> None:
        self.recent.extend(series.values)
        self.last, self.last_step = series.values[-1], series.steps[-1]
        finite = [v for v in series.values if math.isfinite(v)]
        if finite:
            self.low = min(finite) if self.low is None else min(self.low, *finite)
            self.high = max(finite) if self.high is None else max(self.high, *finite)

    def state(self, key: str) -> MetricState:
        return MetricState(key, list(self.recent), self.last, self.last_step, self.low, self.high)


class RunWatch:
    """One run as the view shows it, brought up to date by `refresh` with only the points logged since.

    ``pattern`` (a regex, searched in each key) picks the metrics shown; the step rate and the ETA use every
    ``log()`` call.
    """

    def __init__(self, reader: Reader, project: str, run: str, pattern: str | None = None):
        self.reader, self.project, self.run = reader, project, run
        self.pattern = _compile(pattern)
        self.cursor = -1
        self.tracks: dict[str, _Track] = {}
        self.progress: deque[tuple[float, int]] = deque()  # (unix seconds, step) of recent log() calls
        self.eta: float | None = None
        self.info: dict[str, Any] = reader.run(project, run)
        self._start()

    def _start(self) -> None:
        """The summaries (last, min, max) and a tail of each shown series, up to a cursor read first."""
        self.cursor = self.reader.cursor(self.project, self.run)
        summaries = self.reader.summary(self.project, self.run)["metrics"]
        for key, summary in summaries.items():
            if self._shown(key):
                self.tracks[key] = _Track(summary, self._tail(key, summary))
        eta = summaries.get(ETA_KEY)
        self.eta = eta["last"] if eta and eta["count"] and math.isfinite(eta["last"]) else None
        recent = self.reader.new_points(self.project, self.run, max(-1, self.cursor - HISTORY), until_seq=self.cursor)
        self._advance(recent.values())

    def _tail(self, key: str, summary: dict[str, Any]) -> Series | None:
        """About the last `HISTORY` points of ``key``: a step range guessed from its first and last step."""
        if not summary["count"]:
            return None
        first, last, count = summary["first_step"], summary["last_step"], summary["count"]
        spacing = max((last - first) / max(count - 1, 1), 1.0) if last >= first else 1.0
        low = max(first, int(last - spacing * HISTORY))
        return self.reader.series(self.project, self.run, key, min_step=low, until_seq=self.cursor)

    def refresh(self) -> bool:
        """Read the run's status and the points logged since the cursor; True when something changed."""
        info = self.reader.run(self.project, self.run)
        cursor = info["num_logs"] - 1  # read first: later points wait for the next refresh
        changed = cursor > self.cursor or info["status"] != self.info["status"]
        self.info = info
        if cursor > self.cursor:
            new = self.reader.new_points(self.project, self.run, self.cursor, until_seq=cursor)
            self.cursor = cursor
            for key, series in new.items():
                if key == ETA_KEY and series.values and math.isfinite(series.values[-1]):
                    self.eta = series.values[-1]
                if not series.values or not self._shown(key):
                    continue
                track = self.tracks.get(key)
                if track is None:
                    track = self.tracks[key] = _Track(None, None)
                track.add(series)
            self._advance(new.values())
        return changed

    def _advance(self, series: Any) -> None:
        """Add each ``log()`` call's (time, step) to the progress, dropping what is older than the window."""
        calls: dict[int, tuple[float, int]] = {}
        for one in series:
            for seq, step, micros in zip(one.seqs, one.steps, one.timestamps_us):
                calls[seq] = (micros / 1e6, step)
        for _, (moment, step) in sorted(calls.items()):
            if self.progress and step < self.progress[-1][1]:
                self.progress.clear()  # a rewind (resumed from a checkpoint): the rate starts over
            self.progress.append((moment, step))
        newest = self.progress[-1][0] if self.progress else 0.0
        while len(self.progress) > 2 and self.progress[1][0] <= newest - RATE_WINDOW_S:
            self.progress.popleft()  # keeps one call at or before the window's start

    def rate(self) -> float | None:
        """Optimizer steps per second over the last minute of logged calls (None before two calls)."""
        if len(self.progress) < 2:
            return None
        (start, first), (end, last) = self.progress[0], self.progress[-1]
        if end - start > RATE_WINDOW_S and len(self.progress) > 2:
            start, first = self.progress[1]
        return (last - first) / (end - start) if end > start else None

    def eta_seconds(self) -> float | None:
        """``train/eta_seconds`` as logged last, else what ``max_steps`` in the config leaves at the step rate."""
        if self.info["status"] != "running":
            return None
        if self.eta is not None:
            return self.eta
        max_steps, step, rate = (self.info["config"] or {}).get("max_steps"), self.info["last_step"], self.rate()
        if isinstance(max_steps, int) and max_steps > 0 and step is not None and rate:
            return max(max_steps - step, 0) / rate
        return None

    def header(self) -> Header:
        info = self.info
        return Header(self.project, self.run, info["status"], info["last_step"], self.rate(), self.eta_seconds())

    def metrics(self) -> list[MetricState]:
        return [self.tracks[key].state(key) for key in sorted(self.tracks)]

    def _shown(self, key: str) -> bool:
        return self.pattern is None or self.pattern.search(key) is not None


def _compile(pattern: str | None) -> re.Pattern | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"--metric must be a regular expression, got {pattern!r}: {error}") from None


# -- which run ------------------------------------------------------------------------------------------


def _recency(run: dict[str, Any]) -> float:
    return run["heartbeat_at"] or run["created_at"] or 0.0


def choose_run(reader: Reader, project: str | None, run: str | None) -> tuple[str, str]:
    """``(project, run)`` to watch: the given ones, else the project with the most recent run, and its latest
    running run (else its latest run). `NothingToWatchError` names what exists when there is nothing."""
    if project is None:
        projects, _ = reader.readable_projects()
        latest: list[tuple[float, str]] = []
        for name in projects:
            runs = [r for r in reader.runs(name) if run is None or r["name"] == run]
            if runs:
                latest.append((max(_recency(r) for r in runs), name))
        if not latest:
            if not projects:
                raise NothingToWatchError(f"no project in {reader.dir} yet: start a run, or pass --dir")
            if run is not None:
                raise NothingToWatchError(
                    f"no project has a run named {run!r}; projects: {', '.join(projects)} (pass --project)"
                )
            raise NothingToWatchError(f"no run in any project yet; projects: {', '.join(projects)}")
        project = max(latest)[1]
    if run is None:
        runs = reader.runs(project)  # ProjectNotFoundError names the projects there are
        if not runs:
            raise NothingToWatchError(f"project {project!r} has no run yet")
        running = [r for r in runs if r["status"] == "running"]
        run = max(running or runs, key=_recency)["name"]
    reader.run(project, run)  # RunNotFoundError names the runs there are
    return project, run


# -- the command ----------------------------------------------------------------------------------------


def watch(
    reader: Reader,
    project: str | None,
    run: str | None,
    pattern: str | None = None,
    interval: float = 1.0,
    *,
    exit_when_done: bool = False,
) -> int:
    """Show ``run`` live until Ctrl-C (exit status 0), or until it has ended with ``exit_when_done``.

    Into a terminal the view is redrawn in place (rich's Live); into a pipe a frame is printed each time
    the run logs or changes status.
    """
    if not (isinstance(interval, (int, float)) and math.isfinite(interval) and 0.05 <= interval <= 3600):
        raise ValueError(f"--interval must be from 0.05 to 3600 seconds, got {interval!r}")
    library("rich")
    from rich.live import Live

    project, run = choose_run(reader, project, run)
    state = RunWatch(reader, project, run, pattern)
    screen = console(sys.stdout)

    def frame() -> Any:
        width, height = terminal_size()
        return render(state.header(), state.metrics(), min(screen.width, width), height)

    try:
        if screen.is_terminal:
            with Live(
                frame(), console=screen, auto_refresh=False, redirect_stdout=False, redirect_stderr=False
            ) as live:
                while not (exit_when_done and state.info["status"] != "running"):
                    time.sleep(interval)
                    state.refresh()
                    live.update(frame(), refresh=True)
        else:
            screen.print(frame())
            while not (exit_when_done and state.info["status"] != "running"):
                time.sleep(interval)
                if state.refresh():
                    screen.print(frame())
    except KeyboardInterrupt:  # Ctrl-C is how a person leaves the view
        return 0
    return 0
