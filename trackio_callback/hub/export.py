"""Parquet files of a run's data: the layout of a trackio-callback Hub dataset (pure: no network).

One long schema per kind, the same in every file of that kind, so that a whole folder loads as
one table (``datasets.load_dataset(repo_id, "metrics")``, pandas, polars, duckdb). Where each file
goes is `layout`'s; its columns::

    metrics   project, run_id, run_name, seq, step, timestamp, key, value
    system    project, run_id, run_name, seq, timestamp, step, node, key, value
    tables    project, run_id, run_name, seq, step, timestamp, key, data (JSON)
    alerts    project, run_id, run_name, seq, step, timestamp, level, title, text, value
    texts     project, run_id, run_name, seq, step, timestamp, key, value (the logged string), kind
              (text, markdown or html; files written before it have no kind: text)
    media     project, run_id, run_name, seq, step, timestamp, key, item, kind, caption, digest, format,
              size, width, height, duration, file (the dataset path of its bytes), image (a thumbnail)
    histograms project, run_id, run_name, seq, step, timestamp, key, edges, counts (lists of float64)
    traces    project, run_id, run_name, seq, step, timestamp, key, value (the trace's JSON)
    runs      one row: name, group, status, times, last step, config, summary, settings (JSON), end_reason
              (JSON: why the run ended, null while it runs), checkpoints (JSON list of the saves), tags (JSON
              list of str) and notes (text; files written before them have neither: no tags, "")

A media file's ``image`` column is the ``datasets`` Image feature (``struct<bytes, path>``: a thumbnail
at most 256 px a side for images, NULL for audio, video and 3D), and its schema carries the
``huggingface`` metadata that declares every column's feature, so that ``datasets`` and the Hub's
dataset viewer show the thumbnails as images. The files themselves are `layout.media_file_path`'s.

``run_id`` is the run's uid (unique across machines); ``seq`` numbers a run's ``log()`` calls (for
system, tables and alerts: their rows) and is what makes syncing exactly-once: a file's path is
derived from the seq range it holds, so re-sending a range rewrites the same file. Files are zstd
compressed, strings dictionary-encoded, numbers in encodings that compress well (delta for
integers, byte-stream-split for floats); rows are sorted by seq, then key.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ..artifacts.blobs import BlobStore
from ..store import RunRow, Store, files
from ..store.codec import to_micros
from ..store.rows import MediaRow
from ..utils.jsontext import dumps
from . import layout
from .layout import KINDS

logger = logging.getLogger(__name__)

_TIMESTAMP = pa.timestamp("us", tz="UTC")
IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])  # the `datasets` Image feature's storage
# `datasets`' Value dtype names of the Arrow types the media schema uses (Value("float64") is Arrow's "double").
_VALUE_DTYPES = {
    pa.int64(): "int64",
    pa.float64(): "float64",
    pa.string(): "string",
    _TIMESTAMP: "timestamp[us, tz=UTC]",
}


def _with_features(schema: pa.Schema) -> pa.Schema:
    """``schema`` with the ``huggingface`` metadata ``datasets`` reads its features from: every column a
    ``Value`` of its type, the ``image`` column an ``Image`` (``datasets`` itself is not needed to write it)."""
    features = {
        f.name: {"_type": "Image"} if f.type == IMAGE_TYPE else {"dtype": _VALUE_DTYPES[f.type], "_type": "Value"}
        for f in schema
    }
    return schema.with_metadata({"huggingface": json.dumps({"info": {"features": features}})})


_RUN_IDS = [("project", pa.string()), ("run_id", pa.string()), ("run_name", pa.string())]  # one value per file
_ID_COLUMNS = [*_RUN_IDS, ("seq", pa.int64())]

SCHEMAS: dict[str, pa.Schema] = {
    "metrics": pa.schema(
        [*_ID_COLUMNS, ("step", pa.int64()), ("timestamp", _TIMESTAMP), ("key", pa.string()), ("value", pa.float64())]
    ),
    "system": pa.schema(
        [
            *_ID_COLUMNS,
            ("timestamp", _TIMESTAMP),
            ("step", pa.int64()),
            ("node", pa.string()),
            ("key", pa.string()),
            ("value", pa.float64()),
        ]
    ),
    "tables": pa.schema(
        [*_ID_COLUMNS, ("step", pa.int64()), ("timestamp", _TIMESTAMP), ("key", pa.string()), ("data", pa.string())]
    ),
    "alerts": pa.schema(
        [
            *_ID_COLUMNS,
            ("step", pa.int64()),
            ("timestamp", _TIMESTAMP),
            ("level", pa.string()),
            ("title", pa.string()),
            ("text", pa.string()),
            ("value", pa.float64()),
        ]
    ),
    "texts": pa.schema(
        [
            *_ID_COLUMNS,
            ("step", pa.int64()),
            ("timestamp", _TIMESTAMP),
            ("key", pa.string()),
            ("value", pa.string()),
            ("kind", pa.string()),
        ]
    ),
    "media": _with_features(
        pa.schema(
            [
                *_ID_COLUMNS,
                ("step", pa.int64()),
                ("timestamp", _TIMESTAMP),
                ("key", pa.string()),
                ("item", pa.int64()),
                ("kind", pa.string()),
                ("caption", pa.string()),
                ("digest", pa.string()),
                ("format", pa.string()),
                ("size", pa.int64()),
                ("width", pa.int64()),
                ("height", pa.int64()),
                ("duration", pa.float64()),
                ("file", pa.string()),
                ("image", IMAGE_TYPE),
            ]
        )
    ),
    "histograms": pa.schema(
        [
            *_ID_COLUMNS,
            ("step", pa.int64()),
            ("timestamp", _TIMESTAMP),
            ("key", pa.string()),
            ("edges", pa.list_(pa.float64())),
            ("counts", pa.list_(pa.float64())),
        ]
    ),
    "traces": pa.schema(
        [*_ID_COLUMNS, ("step", pa.int64()), ("timestamp", _TIMESTAMP), ("key", pa.string()), ("value", pa.string())]
    ),
    "runs": pa.schema(
        [
            ("project", pa.string()),
            ("run_id", pa.string()),
            ("run_name", pa.string()),
            ("group", pa.string()),
            ("status", pa.string()),
            ("created_at", _TIMESTAMP),
            ("finished_at", _TIMESTAMP),
            ("last_step", pa.int64()),
            ("num_logs", pa.int64()),
            ("config", pa.string()),
            ("summary", pa.string()),
            ("settings", pa.string()),
            ("end_reason", pa.string()),  # JSON object or null (running); files written before it lack it
            ("checkpoints", pa.string()),  # JSON list of the checkpoints saved
            ("tags", pa.string()),  # JSON list of the run's tags; files written before them lack it (no tags)
            ("notes", pa.string()),  # the run's notes ("" when none); files written before them lack it
        ]
    ),
}
_DICTIONARY = ["project", "run_id", "run_name", "key", "node", "level", "title", "group", "status", "kind", "format"]
_ENCODINGS = {
    "seq": "DELTA_BINARY_PACKED",
    "step": "DELTA_BINARY_PACKED",
    "timestamp": "DELTA_BINARY_PACKED",
    "value": "BYTE_STREAM_SPLIT",
}


def kind_table(
    store: Store,
    project: str,
    run: RunRow,
    kind: str,
    after_seq: int,
    until_seq: int,
    node: str | None = None,
    untagged: bool = True,
) -> pa.Table:
    """The run's ``kind`` rows with ``after_seq < seq <= until_seq`` as an Arrow table of `SCHEMAS` [kind].

    ``node`` (and ``untagged``) narrow system samples to one node's, as `Store.system_rows` does.
    """
    ids = {"project": project, "run_id": run.uid, "run_name": run.name}
    if kind == "metrics":
        columns: dict[str, list] = {"seq": [], "step": [], "timestamp": [], "key": [], "value": []}
        for key, data in sorted(store.points(run.id, after_seq, until_seq).items()):
            columns["seq"].extend(data.seqs)
            columns["step"].extend(data.steps)
            columns["timestamp"].extend(data.micros)
            columns["key"].extend([key] * len(data.seqs))
            columns["value"].extend(data.values)
    elif kind == "system":
        rows = sorted(store.system_rows(run.id, after_seq, until_seq, node, untagged), key=lambda r: (r.key, r.seq))
        columns = _columns(kind, rows)
    elif kind == "tables":
        columns = _columns(kind, store.table_rows(run.id, after_seq, until_seq))
    elif kind == "alerts":
        columns = _columns(kind, store.alert_rows(run.id, after_seq, until_seq))
    elif kind == "texts":
        columns = _columns(kind, store.text_rows(run.id, after_seq, until_seq))
    elif kind == "media":
        columns = _media_columns(store, project, store.media_rows(run.id, after_seq, until_seq))
    elif kind == "histograms":
        columns = _columns(kind, store.histogram_rows(run.id, after_seq, until_seq))
    elif kind == "traces":
        columns = _columns(kind, store.trace_rows(run.id, after_seq, until_seq))
    else:
        raise ValueError(f"unknown kind {kind!r}; expected one of {KINDS}")
    count = len(columns["seq"])
    arrays = {name: [value] * count for name, value in ids.items()} | columns
    table = _table(kind, arrays)
    # Rows of one call side by side: their timestamps (and steps) repeat, which delta encoding and
    # zstd reduce to almost nothing; sorting by key instead would store each call's time once per key.
    return table.sort_by([("seq", "ascending"), ("key" if kind != "alerts" else "title", "ascending")])


def run_table(project: str, run: RunRow) -> pa.Table:
    """The run's one-row metadata table (the token is never in it: settings hold no secrets)."""
    return _table(
        "runs",
        {
            "project": [project],
            "run_id": [run.uid],
            "run_name": [run.name],
            "group": [run.group],
            "status": [run.status],
            "created_at": [to_micros(run.created_at)],
            "finished_at": [None if run.finished_at is None else to_micros(run.finished_at)],
            "last_step": [run.last_step],
            "num_logs": [run.next_seq],
            "config": [dumps(run.config)],
            "summary": [dumps(run.summary)],
            "settings": [dumps(run.settings)],
            "end_reason": [None if run.end_reason is None else dumps(run.end_reason)],
            "checkpoints": [dumps(run.checkpoints)],
            "tags": [dumps(list(run.tags))],
            "notes": [run.notes],
        },
    )


def run_digest(project: str, run: RunRow) -> str:
    """What the runs file of ``run`` would hold, as text: equal digests, nothing to re-send."""
    fields = [project, run.uid, run.name, run.group, run.status, run.finished_at, run.last_step, run.next_seq]
    # A fingerprint, not output: kept as it was, so that stores synced before do not re-send every run; an end
    # reason and checkpoints (schema 9) extend it only when the run has them.
    later = [run.end_reason, run.checkpoints] if run.end_reason is not None or run.checkpoints else []
    # Tags and notes (schema 10) likewise: a run with neither keeps its old digest.
    labels = [list(run.tags), run.notes] if run.tags or run.notes else []
    return json.dumps([*fields, run.config, run.summary, run.settings, *later, *labels], default=str, sort_keys=True)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    names = set(table.column_names)
    pq.write_table(
        table,
        buffer,
        compression="zstd",
        use_dictionary=[c for c in _DICTIONARY if c in names],
        # Numbers only: a texts file's "value" is a string, which byte-stream-split cannot encode.
        column_encoding={
            c: e for c, e in _ENCODINGS.items() if c in names and not pa.types.is_string(table.schema.field(c).type)
        },
    )
    return buffer.getvalue()


def _media_columns(store: Store, project: str, rows: list[MediaRow]) -> dict[str, list]:
    """The media columns of ``rows``: their fields, the dataset path of each file, and an image's thumbnail."""
    blobs = BlobStore(files.project_files_dir(store.path.parent, project))
    columns = _columns("media", rows, extra=("file", "image"))
    thumbnails: dict[str, dict | None] = {}  # one image logged at many steps: one thumbnail made
    for row in rows:
        if row.kind == "image" and row.digest not in thumbnails:
            thumbnails[row.digest] = _thumbnail(blobs, row)
    columns["file"] = [layout.media_file_path(project, row.digest, row.format) for row in rows]
    columns["image"] = [thumbnails.get(row.digest) if row.kind == "image" else None for row in rows]
    return columns


def _thumbnail(blobs: BlobStore, row: MediaRow) -> dict | None:
    """The Image feature's value of an image row: its thumbnail's bytes (None when its file cannot be read here)."""
    from ..media.encoding import thumbnail  # PIL: loaded only when there are images to export

    try:
        data = thumbnail(blobs.path(row.digest).read_bytes())
    except (OSError, ValueError) as error:  # a pulled file not downloaded, or bytes PIL cannot read: no thumbnail
        logger.info("no thumbnail for media file %s (%s)", row.digest, error)
        return None
    return {"bytes": data, "path": f"{row.digest}.{row.format}"}


def _columns(kind: str, rows: list, extra: tuple[str, ...] = ()) -> dict[str, list]:
    """The `SCHEMAS` [kind] columns of stored rows (`store.rows` types), taken by field name; times in µs.

    ``extra``: columns the rows have no field for (the caller fills them)."""
    names = [name for name in SCHEMAS[kind].names[len(_RUN_IDS) :] if name not in extra]
    columns = {name: [getattr(row, name) for row in rows] for name in names}
    columns["timestamp"] = [to_micros(t) for t in columns["timestamp"]]
    return columns


def _table(kind: str, arrays: dict[str, Any]) -> pa.Table:
    schema = SCHEMAS[kind]
    return pa.Table.from_arrays([pa.array(arrays[f.name], type=f.type) for f in schema], schema=schema)
