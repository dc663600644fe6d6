"""The typed rows that travel in and out of a `Store`, other than metrics (see `batch` and `chunks`).

One field order for each, written and read alike: time first, then step. A row read back carries its
``seq`` (its number within its run and kind: its identity in every store, the uploader's watermark); a
row being written has none yet, except a pulled one, which keeps the number it came with.
Producers and consumers use the field names, never positions.

Example::

    store.append(run.id, [], [SystemSample(time.time(), 10, "node0", {"system/cpu": 12.5})], RunUpdate())
    [v.value for v in store.system_rows(run.id, -1, 2**62)]            # [12.5]
"""

from __future__ import annotations

from typing import NamedTuple


class SystemSample(NamedTuple):
    """One system sample as logged: several keys sampled at one moment (written)."""

    timestamp: float
    step: int | None
    node: str | None
    values: dict[str, float]
    seq: int | None = None  # pulled: the number of the first key's row (the others follow); None: the next


class SystemValue(NamedTuple):
    """One key of a stored system sample (read): ``value`` is NaN where NaN was logged."""

    timestamp: float
    step: int | None
    node: str | None
    key: str
    value: float
    seq: int


class TableRow(NamedTuple):
    """A logged table (e.g. TRL's completions) as JSON text: ``{"columns": [...], "rows": [[...], ...]}``."""

    timestamp: float
    step: int
    key: str
    data: str
    seq: int | None = None  # set once stored


class TextRow(NamedTuple):
    """A string logged as a value (``log({"samples/generation": "..."})``): one point of a text series."""

    timestamp: float
    step: int
    key: str
    value: str
    seq: int | None = None  # set once stored; a pulled row keeps the number it came with
    kind: str = "text"  # "text" | "markdown" | "html": how the page shows it


class MediaRow(NamedTuple):
    """An image, audio clip, video or 3D object logged as a value: its file is the blob ``digest`` (``format``)."""

    timestamp: float
    step: int
    key: str
    item: int  # its place in a list logged under the key (0: a single value)
    kind: str  # "image" | "audio" | "video" | "object3d"
    caption: str | None
    digest: str  # sha256 of the file's bytes
    format: str  # the file's extension: png, jpeg, wav, mp4, ply, ...
    size: int
    width: int | None
    height: int | None
    duration: float | None  # seconds (audio, video)
    seq: int | None = None  # set once stored; a pulled row keeps the number it came with


class MediaFile(NamedTuple):
    """A file the media store holds for this project's media and table images (sent to a dataset once)."""

    digest: str
    format: str
    size: int


class HistogramRow(NamedTuple):
    """A `Histogram` at one step: ``edges`` (one more than ``counts``) as floats (`Reader`: numpy arrays)."""

    timestamp: float
    step: int
    key: str
    edges: tuple[float, ...]
    counts: tuple[float, ...]
    seq: int | None = None


class TraceRow(NamedTuple):
    """A `Trace` (or a list of traces) logged under a key: ``value`` is its JSON text."""

    timestamp: float
    step: int
    key: str
    value: str
    seq: int | None = None


class AlertRow(NamedTuple):
    """An alert of a run: ``trackio.alert()``'s, or a health alert (title ``nan_loss``, ``storage_failure``, ...)."""

    timestamp: float
    step: int | None
    level: str  # "info" | "warn" | "error" (`alerts.levels.AlertLevel` values)
    title: str
    text: str | None
    value: float | None  # a health alert's number (the loss, the count dropped); None for trackio's alerts
    seq: int | None = None  # set once stored


class SyncedFile(NamedTuple):
    """A Parquet file a Hub dataset holds: ``kind`` rows ``first_seq..last_seq`` of one run (0, 0 for "runs").

    ``kind`` is the sync state's: ``system@<node>`` for the files an observer node sends.
    """

    path: str
    run_uid: str
    kind: str
    first_seq: int
    last_seq: int
    oid: str | None = None  # kind "runs": its git blob id and sha256 as sent (`hub.uploader`), else None


class SyncMark(NamedTuple):
    """How far one run's ``kind`` reached in one dataset (the files of unanswered commits: `Ledger.pending_files`)."""

    synced_seq: int  # everything up to here is in the dataset (the Hub confirmed it)
    pending_seq: int | None  # stores before schema 6: sent up to here in a commit whose answer never came
    digest: str | None  # kind "runs": what the synced runs file held, to skip unchanged runs


NO_SYNC = SyncMark(-1, None, None)
"""The mark of a run and kind never synced to a dataset."""
