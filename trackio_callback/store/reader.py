"""`Reader`: the one read path over stored runs. The CLI, the dashboard and the MCP server use it.

Example::

    reader = Reader()                                  # $TRACKIO_DIR or the default storage dir
    reader.projects()                                  # ["qwen-capybara-sft"]
    reader.runs("qwen-capybara-sft", group="baseline")
    loss = reader.series("qwen-capybara-sft", "baseline-run", "train/loss", max_points=1000)
    loss.steps, loss.values                            # columns, in the order they were logged

Rewinds: when a run logs a step lower than an earlier one (training resumed from a checkpoint),
both the old and the new points are kept. `Reader.series` returns points in the order they were
logged, so steps go back where the rewind happened; ``latest_per_step=True`` keeps only the value
logged last for each step, sorted by step, which is the curve as the resumed training sees it.
"""

from __future__ import annotations

import json
import math
import os
import re
import sqlite3
import sys
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import (
    MetricNotFoundError,
    ProjectNotFoundError,
    RunNotFoundError,
    TrackioError,
    UnreadableProjectError,
)
from . import codec, files
from .downsample import minmax_indices
from .files import validate_project
from .project import Store
from .runs import RunRow, derived_status, effective_end_reason


class Series:
    """One metric of one run, as columns in the order the points were logged.

    The columns are lists. The numpy read path hands numpy arrays in, turned into lists when first
    read; `float64_columns` packs them without that detour (the dashboard's packed answer).
    """

    __slots__ = ("project", "run", "key", "total", "_steps", "_timestamps_us", "_values", "_seqs", "_timestamps")

    def __init__(
        self,
        project: str,
        run: str,
        key: str,
        steps: list[int],
        timestamps_us: list[int],
        values: list[float],
        seqs: list[int],
        total: int | None = None,
    ):
        self.project, self.run, self.key = project, run, key
        self._steps = steps
        self._timestamps_us = timestamps_us  # microseconds since the epoch: the stored resolution
        self._values = values
        self._seqs = seqs  # the run's log() call number of each point (the uploader's watermark)
        self.total = len(values) if total is None else total  # points in the step range before downsampling
        self._timestamps: list[float] | None = None

    @property
    def steps(self) -> list[int]:
        if not isinstance(self._steps, list):
            self._steps = self._steps.tolist()
        return self._steps

    @property
    def timestamps_us(self) -> list[int]:
        if not isinstance(self._timestamps_us, list):
            self._timestamps_us = self._timestamps_us.tolist()
        return self._timestamps_us

    @property
    def values(self) -> list[float]:
        if not isinstance(self._values, list):
            self._values = self._values.tolist()
        return self._values

    @property
    def seqs(self) -> list[int]:
        if not isinstance(self._seqs, list):
            self._seqs = self._seqs.tolist()
        return self._seqs

    def step_bounds(self) -> tuple[int, int] | None:
        """The lowest and the highest step (None without points)."""
        steps = self._steps
        if not len(steps):
            return None
        return (min(steps), max(steps)) if isinstance(steps, list) else (int(steps.min()), int(steps.max()))

    def float64_columns(self) -> tuple[bytes, bytes, bytes]:
        """Steps, timestamps (microseconds) and values as little-endian float64 bytes (steps beyond 2**53 rounded)."""
        return tuple(_float64(column) for column in (self._steps, self._timestamps_us, self._values))  # type: ignore[return-value]

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Series(project={self.project!r}, run={self.run!r}, key={self.key!r}, points={len(self)})"

    @property
    def timestamps(self) -> list[float]:
        """Unix seconds of each point."""
        if self._timestamps is None:
            self._timestamps = codec.micros_to_times(self.timestamps_us)
        return self._timestamps

    @property
    def downsampled(self) -> bool:
        return len(self._values) < self.total

    def points(self) -> list[dict[str, Any]]:
        """``[{"step", "timestamp", "value"}, ...]``."""
        return [{"step": s, "timestamp": t, "value": v} for s, t, v in zip(self.steps, self.timestamps, self.values)]


class Reader:
    """Reads projects under one storage directory. Safe to use while runs are being written."""

    def __init__(self, directory: str | os.PathLike | None = None):
        self.dir = settings.storage_dir(directory)
        self._stores: dict[str, Store] = {}

    def close(self) -> None:
        for store in self._stores.values():
            store.close()
        self._stores.clear()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- projects and runs ----------------------------------------------------------------------

    def projects(self) -> list[str]:
        """Every project file's name, whether or not it opens (`readable_projects` tells them apart)."""
        return files.projects(self.dir)

    def readable_projects(self) -> tuple[list[str], dict[str, TrackioError]]:
        """The projects whose file opens, sorted, and for each file that does not, the error saying why.

        A listing goes through this, so that one bad file (not a database, a newer schema) never
        hides the good ones. Each file is opened (about half a millisecond) and closed again unless it
        was open already: every server thread lists the projects, but reads only a few of them, and
        keeping them all open would cost file handles per thread and project.
        """
        readable: list[str] = []
        unreadable: dict[str, TrackioError] = {}
        for project in self.projects():
            was_open = project in self._stores
            try:
                self.store(project)
            except ProjectNotFoundError:
                continue  # deleted since it was listed
            except TrackioError as error:
                unreadable[project] = error
                continue
            readable.append(project)
            if not was_open:
                self._stores.pop(project).close()
        return readable, unreadable

    def store(self, project: str) -> Store:
        """The open store of ``project``; `UnreadableProjectError` (or `SchemaVersionError`) names a bad file."""
        store = self._stores.get(project)
        if store is None:
            path = files.project_path(self.dir, validate_project(project))
            if not path.exists():
                raise ProjectNotFoundError("project", project, self.projects(), f" in {self.dir}")
            try:
                store = Store(path, create=False)
            except sqlite3.DatabaseError as error:  # opening reads the header: garbage fails here
                raise UnreadableProjectError(f"{path} cannot be read as a project: {error}") from error
            self._stores[project] = store
        return store

    def runs(
        self, project: str, group: str | None = None, name: str | None = None, tag: str | None = None
    ) -> list[dict[str, Any]]:
        """Runs of ``project``, oldest first; ``group`` filters exactly, ``name`` is a regex searched in names,
        ``tag`` keeps the runs that carry that tag (exactly, after stripping spaces)."""
        pattern = _compile(name) if name is not None else None
        wanted = tag.strip() if tag is not None else None
        now, host = time.time(), settings.hostname()
        return [
            _run_info(row, now, host)
            for row in self.store(project).runs()
            if (group is None or row.group == group)
            and (pattern is None or pattern.search(row.name))
            and (wanted is None or wanted in row.tags)
        ]

    def run(self, project: str, run: str) -> dict[str, Any]:
        return _run_info(self._run_row(project, run), time.time(), settings.hostname())

    def _run_row(self, project: str, run: str) -> RunRow:
        store = self.store(project)
        row = store.run(run)
        if row is None:
            names = [r.name for r in store.runs()]
            raise RunNotFoundError("run", run, names, f" in project {project!r}")
        return row

    # -- metrics --------------------------------------------------------------------------------

    def metric_keys(self, project: str, run: str) -> list[str]:
        return self.store(project).metric_keys(self._run_row(project, run).id)

    def series(
        self,
        project: str,
        run: str,
        key: str,
        min_step: int | None = None,
        max_step: int | None = None,
        max_points: int | None = None,
        latest_per_step: bool = False,
        until_seq: int | None = None,
    ) -> Series:
        """The values of ``key`` in ``run``, optionally within a step range and downsampled.

        ``max_points`` (>= 4) keeps each bucket's first, last, lowest and highest points (and NaNs),
        so spikes stay visible; the last point is always kept. ``until_seq`` leaves out the points of
        ``log()`` calls after it: with a `cursor` read first, a snapshot that `new_points` continues.
        """
        _check_window(min_step, max_step, until_seq)
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = store.key_id(key)
        if key_id is None or key not in store.metric_keys(row.id):
            raise MetricNotFoundError("metric", key, store.metric_keys(row.id), f" in run {run!r}")
        if max_points is not None and not latest_per_step and (arrays := _arrays()) is not None:
            return _downsampled(arrays, store, project, row, key, key_id, (min_step, max_step, until_seq), max_points)
        data = store.series(row.id, key_id, min_step, max_step)
        result = Series(project, row.name, key, data.steps, data.micros, data.values, data.seqs)
        if until_seq is not None and result.seqs and result.seqs[-1] > until_seq:
            kept = [i for i, seq in enumerate(result.seqs) if seq <= until_seq]
            result = _take(result, kept, total=len(kept))
        if latest_per_step:
            last_index = {step: i for i, step in enumerate(result.steps)}
            result = _take(result, sorted(last_index.values(), key=result.steps.__getitem__), total=len(last_index))
        if max_points is not None:
            result = _take(result, minmax_indices(result.values, max_points))
        return result

    def series_of_keys(
        self,
        project: str,
        run: str,
        keys: list[str],
        min_step: int | None = None,
        max_step: int | None = None,
        max_points: int | None = None,
        until_seq: int | None = None,
        by_blocks: bool = False,
    ) -> dict[str, Series]:
        """`series` of each of ``keys`` that ``run`` logged (the others are left out), in the order asked.

        The same points as `series` key by key. With ``max_points`` (and numpy), the keys' chunks are
        read in one go and each batch's steps and times decoded once for all of them: a chart page
        reading a run's 20 metrics does a fifth of the work.

        ``by_blocks`` (a chart's overview: no step range): a series of at least two blocks of 64 points
        per bucket is downsampled with buckets of whole blocks, from the blocks' stored extremes
        (`store.extremes`), without reading its values: each bucket still keeps its first, last, lowest
        and highest point and its first NaN (`arrays.block_minmax`), and the buckets are a little less
        even. A 100,000-point series reads ~15 times fewer bytes.
        """
        _check_window(min_step, max_step, until_seq)
        store = self.store(project)
        row = self._run_row(project, run)
        logged = set(store.metric_keys(row.id))
        wanted = [key for key in dict.fromkeys(keys) if key in logged]
        arrays = _arrays() if max_points is not None else None
        if arrays is None:
            return {
                key: self.series(project, run, key, min_step, max_step, max_points, until_seq=until_seq)
                for key in wanted
            }
        ids = {key: store.key_id(key) for key in wanted}
        result: dict[str, Series] = {}
        if by_blocks and min_step is None and max_step is None:
            result = _by_blocks(arrays, store, project, row, ids, max_points, until_seq)
        rest = [key for key in wanted if key not in result]
        if rest:
            decoded = arrays.decode_keys(store.keys_chunks(row.id, [ids[key] for key in rest], min_step, max_step))
            window = (min_step, max_step, until_seq)
            for key in rest:
                result[key] = _window_downsampled(arrays, decoded.get(ids[key]), project, row, key, window, max_points)
        return {key: result[key] for key in wanted}

    def cursor(self, project: str, run: str) -> int:
        """The seq of the run's last stored ``log()`` call (-1 before the first): pass it to `new_points`."""
        return self._run_row(project, run).next_seq - 1

    def new_points(
        self,
        project: str,
        run: str,
        after_seq: int,
        keys: list[str] | None = None,
        max_points: int | None = None,
        until_seq: int | None = None,
    ) -> dict[str, Series]:
        """Points of the ``log()`` calls after ``after_seq`` (a `cursor`), per key: what a live view lacks.

        ``keys`` narrows to those keys (unknown ones are skipped: they may not be logged yet);
        ``max_points`` downsamples each key's new points as `series` does; ``until_seq`` (a newer
        cursor) leaves out calls after it.
        """
        for label, value, optional in (("after_seq", after_seq, False), ("until_seq", until_seq, True)):
            if (value is not None or not optional) and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{label} must be an integer, got {value!r}")
        row = self._run_row(project, run)
        wanted = None if keys is None else set(keys)
        result = {}
        for key, data in self.store(project).points(row.id, after_seq, until_seq).items():
            if wanted is not None and key not in wanted:
                continue
            series = Series(project, row.name, key, data.steps, data.micros, data.values, data.seqs)
            if max_points is not None:
                series = _take(series, minmax_indices(series.values, max_points))
            result[key] = series
        return result

    def summary(self, project: str, run: str) -> dict[str, Any]:
        """The run's details plus, per metric, ``count``, ``last``, ``min``, ``max``, ``last_step``, ..."""
        row = self._run_row(project, run)
        info = _run_info(row, time.time(), settings.hostname())
        info["metrics"] = self.store(project).summaries(row.id)
        return info

    def latest(self, project: str, run: str) -> dict[str, float]:
        """The last logged value of every metric of the run."""
        return {key: s["last"] for key, s in self.summary(project, run)["metrics"].items()}

    def config_diff(self, project: str, runs: list[str]) -> dict[str, dict[str, Any]]:
        """Config keys whose values differ between ``runs``: ``{key: {run: value}}``.

        A run that lacks the key is left out of that key's mapping.
        """
        configs = {name: self._run_row(project, name).config for name in runs}
        keys = sorted({k for config in configs.values() for k in config})
        diff = {}
        for key in keys:
            values = {name: config[key] for name, config in configs.items() if key in config}
            distinct = {_canonical(v) for v in values.values()}
            if len(values) < len(configs) or len(distinct) > 1:
                diff[key] = values
        return diff

    # -- tables and alerts ------------------------------------------------------------------------

    def table_keys(self, project: str, run: str) -> list[str]:
        return self.store(project).table_keys(self._run_row(project, run).id)

    def tables(self, project: str, run: str, key: str | None = None) -> list[dict[str, Any]]:
        """Tables the run logged (e.g. TRL's ``completions``): ``[{"key", "step", "timestamp", "columns", "rows"}]``."""
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = _key_of(store, key, lambda: store.table_keys(row.id), "table", run)
        return [
            {"key": table.key, "step": table.step, "timestamp": table.timestamp, **json.loads(table.data)}
            for table in store.tables(row.id, key_id)
        ]

    def alerts(self, project: str, run: str) -> list[dict[str, Any]]:
        """Alerts of the run (``alert()``'s and health alerts), oldest first:
        ``[{"step", "timestamp", "level", "title", "text", "value"}]``."""
        fields = ("step", "timestamp", "level", "title", "text", "value")
        rows = self.store(project).alerts(self._run_row(project, run).id)
        return [{name: getattr(a, name) for name in fields} for a in rows]

    # -- texts ----------------------------------------------------------------------------------

    def text_keys(self, project: str, run: str) -> list[str]:
        """The keys the run logged strings under (``log({"samples/generation": "..."})``), sorted."""
        return self.store(project).text_keys(self._run_row(project, run).id)

    def texts(self, project: str, run: str, key: str | None = None) -> list[dict[str, Any]]:
        """The run's logged strings (of one key): ``[{"step", "timestamp", "key", "value"}]``, oldest first."""
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = _key_of(store, key, lambda: store.text_keys(row.id), "text", run)
        return [
            {"step": t.step, "timestamp": t.timestamp, "key": t.key, "value": t.value, "kind": t.kind}
            for t in store.texts(row.id, key_id)
        ]

    # -- media, histograms, traces --------------------------------------------------------------

    def media_keys(self, project: str, run: str) -> list[str]:
        """The keys the run logged images, audio, video or 3D objects under, sorted."""
        return self.store(project).media_keys(self._run_row(project, run).id)

    def media(self, project: str, run: str, key: str | None = None) -> list[dict[str, Any]]:
        """The run's media (of one key), oldest first: ``[{"step", "timestamp", "key", "item", "kind", "caption",
        "digest", "format", "size", "width", "height", "duration", "seq", "path"}]``.

        ``path`` is the stored file (its bytes: ``Path(path).read_bytes()``, or `media_bytes`); ``item`` is the
        value's place in a list logged under the key. A file pulled without its bytes has a path that does not exist.
        """
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = _key_of(store, key, lambda: store.media_keys(row.id), "media", run)
        return [m._asdict() | {"path": self.media_path(project, m.digest)} for m in store.media(row.id, key_id)]

    def media_path(self, project: str, digest: str) -> Path:
        """Where the media file of sha256 ``digest`` is stored (whether or not it is there)."""
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(f"invalid media digest {digest!r}: expected 64 lowercase hex digits (a sha256)")
        return files.blob_path(files.project_files_dir(self.dir, validate_project(project)), digest)

    def media_bytes(self, project: str, digest: str) -> bytes:
        """The bytes of a stored media file (`media`'s ``digest``, or a table cell's)."""
        path = self.media_path(project, digest)
        if not path.is_file():
            raise FileNotFoundError(f"media file {digest} of project {project!r} is not stored here ({path})")
        return path.read_bytes()

    def histogram_keys(self, project: str, run: str) -> list[str]:
        """The keys the run logged `Histogram` values under, sorted."""
        return self.store(project).histogram_keys(self._run_row(project, run).id)

    def histograms(self, project: str, run: str, key: str) -> list[dict[str, Any]]:
        """One key's histograms, oldest first: ``[{"step", "timestamp", "edges", "counts", "seq"}]``.

        ``edges`` (one more than ``counts``) and ``counts`` are numpy float64 arrays.
        """
        import numpy as np

        store = self.store(project)
        row = self._run_row(project, run)
        key_id = _key_of(store, key, lambda: store.histogram_keys(row.id), "histogram", run)
        return [
            {"step": h.step, "timestamp": h.timestamp, "edges": np.array(h.edges), "counts": np.array(h.counts),
             "seq": h.seq}
            for h in store.histograms(row.id, key_id)
        ]  # fmt: skip

    def trace_keys(self, project: str, run: str) -> list[str]:
        """The keys the run logged `Trace` values (or lists of them) under, sorted."""
        return self.store(project).trace_keys(self._run_row(project, run).id)

    def traces(self, project: str, run: str, key: str | None = None) -> list[dict[str, Any]]:
        """The run's traces (of one key), oldest first: ``[{"step", "timestamp", "key", "value", "seq"}]``.

        ``value`` is the trace as logged: ``{"messages", "metadata", "spans"}``, or a list of those.
        """
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = _key_of(store, key, lambda: store.trace_keys(row.id), "trace", run)
        return [
            {"step": t.step, "timestamp": t.timestamp, "key": t.key, "value": json.loads(t.value), "seq": t.seq}
            for t in store.traces(row.id, key_id)
        ]

    # -- system metrics -------------------------------------------------------------------------

    def system_keys(self, project: str, run: str) -> list[str]:
        return self.store(project).system_keys(self._run_row(project, run).id)

    def system_samples(self, project: str, run: str, after_seq: int = -1) -> list[dict[str, Any]]:
        """Every system sample of the run after ``after_seq``, oldest first.

        ``[{"seq", "key", "timestamp", "step", "node", "value"}]``; ``seq`` increases with every
        sample, so the last one seen is the cursor of the next call.
        """
        row = self._run_row(project, run)
        return [
            {"seq": v.seq, "key": v.key, "timestamp": v.timestamp, "step": v.step, "node": v.node, "value": v.value}
            for v in self.store(project).system_rows(row.id, after_seq, 2**63 - 1)  # in seq order
        ]

    def system_series(self, project: str, run: str, key: str) -> list[dict[str, Any]]:
        """``[{"timestamp", "step", "node", "value"}, ...]`` of one system metric, oldest first."""
        store = self.store(project)
        row = self._run_row(project, run)
        key_id = store.key_id(key)
        available = store.system_keys(row.id)
        if key_id is None or key not in available:
            raise MetricNotFoundError("system metric", key, available, f" in run {run!r}")
        return [
            {"timestamp": v.timestamp, "step": v.step, "node": v.node, "value": v.value}
            for v in store.system_series(row.id, key_id)
        ]


def _key_of(store: Store, key: str | None, available: Callable[[], list[str]], kind: str, run: str) -> int | None:
    """The id of ``key`` among the run's ``available()`` keys of ``kind`` (None: all), else an error naming those."""
    if key is None:
        return None
    key_id, keys = store.key_id(key), available()
    if key_id is None or key not in keys:
        raise MetricNotFoundError(kind, key, keys, f" in run {run!r}")
    return key_id


def _arrays() -> Any:
    """The numpy read path (`store.arrays`), or None without numpy."""
    try:
        from . import arrays
    except ImportError:
        return None
    return arrays


def _downsampled(
    arrays: Any,
    store: Store,
    project: str,
    row: RunRow,
    key: str,
    key_id: int,
    window: tuple[int | None, int | None, int | None],
    max_points: int,
) -> Series:
    """`Reader.series` with ``max_points``, decoded and downsampled with numpy: same result, ~10x faster."""
    chunked = arrays.ChunkedSeries(store.series_chunks(row.id, key_id, window[0], window[1]), {})
    return _window_downsampled(arrays, chunked, project, row, key, window, max_points)


def _by_blocks(
    arrays: Any, store: Store, project: str, row: RunRow, ids: dict[str, int], max_points: int, until_seq: int | None
) -> dict[str, Series]:
    """`Reader.series_of_keys` ``by_blocks`` of the keys whose blocks are fine enough (the others are left out).

    Keys logged together (the same calls: the same chunk positions and counts) are downsampled in one
    pass (`arrays.block_minmax_keys`) and their points looked up once.
    """
    by_key: dict[int, list[tuple[Any, bytes | None]]] = {}
    for chunk, blocks in store.keys_blocks(row.id, list(ids.values())):
        if until_seq is None or chunk.first_seq <= until_seq:  # later batches: after the snapshot
            by_key.setdefault(chunk.key_id, []).append((chunk, blocks))
    together: dict[tuple, list[str]] = {}
    for key, key_id in ids.items():
        rows = by_key.get(key_id, [])
        together.setdefault(tuple((c.first_seq, c.count, c.positions) for c, _ in rows), []).append(key)
    batches: dict[int, Any] = {}
    result = {}
    for keys in together.values():
        rows = by_key.get(ids[keys[0]], [])
        chunked = arrays.ChunkedSeries([chunk for chunk, _ in rows], batches)
        last_seq = chunked.last_seq
        if until_seq is not None and last_seq is not None and last_seq > until_seq:
            continue  # a batch across the snapshot's end: read its values
        # A chunk written before schema v11 has no stored extremes: computed from its values.
        blocks = b"".join(
            b if b is not None else arrays.encode_extremes(chunk.vals)
            for key in keys
            for chunk, b in by_key.get(ids[key], [])
        )
        picked = arrays.block_minmax_keys(chunked.counts, blocks, len(keys), max_points)
        if picked is None:
            continue  # too few blocks per bucket: read the values
        for key, kept in zip(keys, chunked.take_each(picked)):  # arrays: lists only when read as lists
            result[key] = Series(project, row.name, key, kept.steps, kept.micros, kept.values, kept.seqs, len(chunked))
    return result


def _window_downsampled(
    arrays: Any,
    chunked: Any,
    project: str,
    row: RunRow,
    key: str,
    window: tuple[int | None, int | None, int | None],
    max_points: int,
) -> Series:
    """The decoded chunks (`arrays.ChunkedSeries`; None: none) cut to the window, then downsampled."""
    min_step, max_step, until_seq = window
    if chunked is None:
        chunked = arrays.ChunkedSeries([], {})
    last_seq = chunked.last_seq
    if min_step is None and max_step is None and (until_seq is None or last_seq is None or last_seq <= until_seq):
        data = chunked  # every point: only the kept ones' steps and times are looked up
    else:
        data = chunked.joined()
        if min_step is not None or max_step is not None:
            low = min_step if min_step is not None else -(2**63)
            high = max_step if max_step is not None else 2**63 - 1
            data = data.take(((data.steps >= low) & (data.steps <= high)).nonzero()[0])
        if until_seq is not None and len(data.seqs) and data.seqs[-1] > until_seq:
            data = data.take((data.seqs <= until_seq).nonzero()[0])
    kept = data.take(arrays.minmax_indices_array(data.values, max_points))
    return Series(
        project,
        row.name,
        key,
        kept.steps.tolist(),
        kept.micros.tolist(),
        kept.values.tolist(),
        kept.seqs.tolist(),
        total=len(data.values),
    )


def _float64(column: Any) -> bytes:
    if isinstance(column, list):
        packed = array("d", column)
        if sys.byteorder != "little":
            packed.byteswap()
        return packed.tobytes()
    return column.astype("<f8").tobytes()  # a numpy array


def _check_window(min_step: int | None, max_step: int | None, until_seq: int | None) -> None:
    for label, value in (("min_step", min_step), ("max_step", max_step), ("until_seq", until_seq)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise TypeError(f"{label} must be an integer or None, got {value!r}")
        if value is not None and not -(2**63) <= value < 2**63:
            raise ValueError(f"{label} must be a 64-bit integer (steps are at most 2**62), got {value}")


def _take(series: Series, indices: list[int], total: int | None = None) -> Series:
    return Series(
        series.project,
        series.run,
        series.key,
        [series.steps[i] for i in indices],
        [series.timestamps_us[i] for i in indices],
        [series.values[i] for i in indices],
        [series.seqs[i] for i in indices],
        total=series.total if total is None else total,
    )


def _compile(pattern: str) -> re.Pattern:
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(f"invalid run name regex {pattern!r}: {error}") from None


def _canonical(value: Any) -> str:
    return repr(value) if not isinstance(value, float) or not math.isnan(value) else "nan"


def _run_info(row: RunRow, now: float, host: str) -> dict[str, Any]:
    status = derived_status(row, now, host)
    return {
        "name": row.name,
        "uid": row.uid,
        "group": row.group,
        "status": status,
        "end_reason": effective_end_reason(row, status),  # why it ended (`end_reasons`); None while running
        "created_at": row.created_at,
        "finished_at": row.finished_at,
        "heartbeat_at": row.heartbeat_at,
        "last_step": row.last_step,
        "num_logs": row.next_seq,
        "config": row.config,
        "summary": row.summary,
        "checkpoints": row.checkpoints,  # the checkpoints it saved, oldest first (`core.checkpoint_records`)
        "tags": list(row.tags),  # a person's labels, in the order given (`store.tags`)
        "notes": row.notes,  # a person's free text ("" when none)
        "settings": row.settings,
        "hostname": row.hostname,
        "pid": row.pid,
    }
