"""The SQLite schema of a project file, and the migrations that build it step by step.

``PRAGMA user_version`` records the version. Every database, new or old, is brought to
`SCHEMA_VERSION` by running the missing steps in order, inside one write transaction, so two
processes opening an old file at once migrate it once.

Version 1: runs, metric key names, batches of calls (step and time columns), per-key value chunks,
system metrics.
Version 2: ``metric_summaries`` (count, last, min, max per run and key), backfilled from the chunks.
Version 3: a run's ``summary`` (end-of-training values), ``tables`` (e.g. TRL's completions), ``alerts``.
Version 4: a run's ``uid``, unique across machines: runs from many jobs meet in one Hub dataset.
Version 5: ``sync_state`` (per dataset, run and kind: the highest seq the Hub confirmed, and the
highest of a commit whose answer never came) and ``synced_files`` (the Parquet files a dataset holds).
Version 6: rows of system metrics, tables and alerts get ``run_seq``, their number within the run, the
same in every store that holds the run (a pulled run's rows keep theirs, a resumed run's continue
them); rows that existed keep their old number (their ``seq``), so datasets synced before stay valid.
``pending_files``: each file of a commit whose answer never came, with its exact bounds, until the Hub
confirms it. ``synced_files.oid``: a runs file's ids as sent (one that differs on
the Hub was written by another store). An observer node's files get their own kind (``system@<node>``).
Version 7 (trackio's whole API), one part per feature:
- alerts: rows are trackio's record, ``level`` (info, warn, error), ``title``, ``text`` (old rows: warn, or
  error for ``storage_failure``; their kind the title, their message the text), ``value`` kept.
- texts: ``texts``, the strings ``log()`` got, one row per value with its step and ``run_seq``.
- artifacts: ``artifacts``, ``artifact_versions`` (by manifest digest), ``artifact_entries``,
  ``artifact_aliases``, ``artifact_uses`` (a run's inputs and outputs) and ``saved_files``.
- run management: ``removed_runs`` (runs deleted or moved away, never pulled back) and ``pending_removals``
  (per dataset, the removed runs whose files the next sync deletes there).
Version 8 (media): ``media`` (images, audio, video, 3D objects: one row per value, the file by its sha256),
``media_files`` (each file once), ``histograms`` (edges and counts), ``traces``, and ``texts.kind`` (text,
markdown, html).
Version 9: ``runs.end_reason``, ``runs.checkpoints``, ``runs.seq_floors``.
Version 10: ``runs.tags`` (JSON list of str) and ``runs.notes`` (text).
Version 11: ``chunk_extremes`` (per block of a chunk's values: first, last, lowest, highest, first NaN), for
downsampled reads of long series (`extremes`); deleted with their chunk by a trigger.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable

from . import codec
from .batch import Column, make_column
from .chunks import CHUNK_COLUMNS, ChunkRow, decode_chunk

_V1 = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    group_name TEXT,
    status TEXT NOT NULL DEFAULT 'running',      -- running | finished | crashed
    config TEXT NOT NULL DEFAULT '{}',           -- JSON object
    settings TEXT NOT NULL DEFAULT '{}',         -- JSON object: space_id, dataset_id, private, ...
    created_at REAL NOT NULL,
    heartbeat_at REAL NOT NULL,                  -- last time the writing process was seen alive
    finished_at REAL,
    hostname TEXT,
    pid INTEGER,
    next_seq INTEGER NOT NULL DEFAULT 0,         -- sequence number the next log() call gets
    last_step INTEGER                            -- step of the last log() call
);
CREATE INDEX runs_group ON runs(group_name);

CREATE TABLE metric_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

-- Consecutive log() calls of one run: seq first_seq .. first_seq + size - 1.
CREATE TABLE batches (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    first_seq INTEGER NOT NULL,
    size INTEGER NOT NULL,
    min_step INTEGER NOT NULL,
    max_step INTEGER NOT NULL,
    steps BLOB NOT NULL,                         -- codec.encode_ints
    times BLOB NOT NULL                          -- codec.encode_ints of microseconds since the epoch
);
CREATE UNIQUE INDEX batches_run_seq ON batches(run_id, first_seq);

-- The values of one key within one batch.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    positions BLOB,                              -- NULL: the key is in every call of the batch
    count INTEGER NOT NULL,
    vals BLOB NOT NULL                           -- little-endian float64
);
CREATE UNIQUE INDEX chunks_run_key_batch ON chunks(run_id, key_id, batch_id);

CREATE TABLE system_metrics (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    timestamp REAL NOT NULL,
    step INTEGER,
    node TEXT,
    value REAL                                   -- NULL stands for NaN (SQLite has no NaN)
);
CREATE INDEX system_metrics_run_key ON system_metrics(run_id, key_id, seq);
"""

_V2 = """
CREATE TABLE metric_summaries (
    run_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL,
    count INTEGER NOT NULL,
    nan_count INTEGER NOT NULL,
    first_step INTEGER NOT NULL,
    last_step INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    last_value REAL,                             -- NULL stands for NaN
    last_time REAL NOT NULL,
    min_value REAL,                              -- over non-NaN values; NULL when there are none
    max_value REAL,
    PRIMARY KEY (run_id, key_id)
) WITHOUT ROWID;
"""

_V3 = """
ALTER TABLE runs ADD COLUMN summary TEXT NOT NULL DEFAULT '{}';  -- JSON object

CREATE TABLE tables (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    data TEXT NOT NULL                           -- JSON: {"columns": [...], "rows": [[...], ...]}
);
CREATE INDEX tables_run_key ON tables(run_id, key_id, seq);

CREATE TABLE alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER,
    timestamp REAL NOT NULL,
    kind TEXT NOT NULL,                          -- e.g. nan_loss, loss_spike, grad_norm_explosion
    message TEXT NOT NULL,
    value REAL
);
CREATE INDEX alerts_run ON alerts(run_id, seq);
"""

UPSERT_SUMMARY = """
INSERT INTO metric_summaries
    (run_id, key_id, count, nan_count, first_step, last_step, last_seq, last_value, last_time,
     min_value, max_value)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, key_id) DO UPDATE SET
    count = count + excluded.count,
    nan_count = nan_count + excluded.nan_count,
    last_step = excluded.last_step,
    last_seq = excluded.last_seq,
    last_value = excluded.last_value,
    last_time = excluded.last_time,
    min_value = CASE WHEN min_value IS NULL THEN excluded.min_value
                     WHEN excluded.min_value IS NULL THEN min_value
                     ELSE min(min_value, excluded.min_value) END,
    max_value = CASE WHEN max_value IS NULL THEN excluded.max_value
                     WHEN excluded.max_value IS NULL THEN max_value
                     ELSE max(max_value, excluded.max_value) END
"""


def summary_params(run_id: int, key_id: int, column: Column) -> tuple:
    """`UPSERT_SUMMARY`'s parameters: what one batch's column of a key adds to the run's summary of it."""
    return (
        run_id,
        key_id,
        column.count,
        column.nan_count,
        column.first_step,
        column.last_step,
        column.last_seq,
        column.last_value,
        column.last_time,
        column.min_value,
        column.max_value,
    )


def _script(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it would COMMIT the migration's transaction half-way.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _script(conn, _V1)


def _v2(conn: sqlite3.Connection) -> None:
    conn.execute(_V2)
    rebuild_summaries(conn)


def rebuild_summaries(conn: sqlite3.Connection, run_id: int | None = None) -> None:
    """Recompute ``metric_summaries`` from the chunks, of every run (the v2 migration) or of ``run_id`` (a run whose
    earlier calls were imported after its later ones: `Rebase.append_history`)."""
    only = "" if run_id is None else " WHERE c.run_id = ?"
    conn.execute(
        "DELETE FROM metric_summaries" + ("" if run_id is None else " WHERE run_id = ?"),
        (() if run_id is None else (run_id,)),
    )
    rows = conn.execute(
        f"""SELECT c.run_id, {CHUNK_COLUMNS} FROM chunks c JOIN batches b ON b.id = c.batch_id{only}
            ORDER BY c.run_id, c.key_id, b.first_seq""",
        () if run_id is None else (run_id,),
    )
    for run_id, *fields in rows.fetchall():
        row = ChunkRow._make(fields)
        chunk = decode_chunk(row)
        times = codec.micros_to_times(chunk.micros)
        column = make_column(row.first_seq, list(chunk.where), chunk.values, chunk.steps, times, row.size)
        conn.execute(UPSERT_SUMMARY, summary_params(run_id, row.key_id, column))


def _v3(conn: sqlite3.Connection) -> None:
    _script(conn, _V3)


def new_run_uid() -> str:
    return uuid.uuid4().hex


def _v4(conn: sqlite3.Connection) -> None:
    conn.execute("ALTER TABLE runs ADD COLUMN uid TEXT")
    for (run_id,) in conn.execute("SELECT id FROM runs").fetchall():
        conn.execute("UPDATE runs SET uid = ? WHERE id = ?", (new_run_uid(), run_id))
    conn.execute("CREATE UNIQUE INDEX runs_uid ON runs(uid)")


_V5 = """
CREATE TABLE sync_state (
    dataset_id TEXT NOT NULL,
    run_uid TEXT NOT NULL,
    kind TEXT NOT NULL,                          -- metrics | system | tables | alerts | runs
    synced_seq INTEGER NOT NULL DEFAULT -1,      -- everything up to here is in the dataset (confirmed)
    pending_seq INTEGER,                         -- sent up to here in a commit whose outcome is unknown
    digest TEXT,                                 -- runs: the synced run row, to skip unchanged ones
    PRIMARY KEY (dataset_id, run_uid, kind)
) WITHOUT ROWID;

CREATE TABLE synced_files (
    dataset_id TEXT NOT NULL,
    path TEXT NOT NULL,
    run_uid TEXT NOT NULL,
    kind TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, path)
) WITHOUT ROWID;
"""


def _v5(conn: sqlite3.Connection) -> None:
    _script(conn, _V5)


_V6 = """
ALTER TABLE system_metrics ADD COLUMN run_seq INTEGER;
ALTER TABLE tables ADD COLUMN run_seq INTEGER;
ALTER TABLE alerts ADD COLUMN run_seq INTEGER;
UPDATE system_metrics SET run_seq = seq;
UPDATE tables SET run_seq = seq;
UPDATE alerts SET run_seq = seq;
CREATE UNIQUE INDEX system_metrics_run_seq ON system_metrics(run_id, run_seq);
CREATE UNIQUE INDEX tables_run_seq ON tables(run_id, run_seq);
CREATE UNIQUE INDEX alerts_run_seq ON alerts(run_id, run_seq);

ALTER TABLE synced_files ADD COLUMN oid TEXT;    -- runs files: git blob id and sha256 as sent (else NULL)

DELETE FROM sync_state WHERE kind LIKE 'pulled:%';  -- pulled rows now keep their run_seq: nothing to map

CREATE TABLE pending_files (
    dataset_id TEXT NOT NULL,
    path TEXT NOT NULL,
    run_uid TEXT NOT NULL,
    kind TEXT NOT NULL,                          -- as in sync_state (system@<node> for an observer's)
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    PRIMARY KEY (dataset_id, path)
) WITHOUT ROWID;
"""


def _v6(conn: sqlite3.Connection) -> None:
    _script(conn, _V6)
    # An observer node's shards live in the node's folder (system/<project>/<uid>/<node>/<range>): their kind
    # says so, so that the main process's compaction never takes them for its own.
    rows = conn.execute("SELECT dataset_id, path FROM synced_files WHERE kind = 'system'").fetchall()
    for dataset_id, path in rows:
        parts = path.split("/")
        if len(parts) == 5:
            conn.execute(
                "UPDATE synced_files SET kind = ? WHERE dataset_id = ? AND path = ?",
                (f"system@{parts[3]}", dataset_id, path),
            )


# Version 7 (trackio's whole API): each part is its own function, owned by the feature it serves.


_V7_ALERTS = """
CREATE TABLE alerts_v7 (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    step INTEGER,
    timestamp REAL NOT NULL,
    level TEXT NOT NULL,                         -- info | warn | error
    title TEXT NOT NULL,                         -- a health alert's kind: nan_loss, loss_spike, storage_failure
    text TEXT,
    value REAL,                                  -- a health alert's number (the loss, the count dropped)
    run_seq INTEGER
);
INSERT INTO alerts_v7 (seq, run_id, step, timestamp, level, title, text, value, run_seq)
    SELECT seq, run_id, step, timestamp, CASE kind WHEN 'storage_failure' THEN 'error' ELSE 'warn' END,
           kind, message, value, run_seq
    FROM alerts;
DROP TABLE alerts;
ALTER TABLE alerts_v7 RENAME TO alerts;
CREATE INDEX alerts_run ON alerts(run_id, seq);
CREATE UNIQUE INDEX alerts_run_seq ON alerts(run_id, run_seq)
"""


def _v7_alerts(conn: sqlite3.Connection) -> None:
    """``alerts`` rows become trackio's record: ``level``, ``title``, ``text`` (besides ``value``, ``run_seq``).

    SQLite cannot change a column's name and constraint in place, so the table is rebuilt, rows keeping
    their ``seq`` and ``run_seq``: health alerts were warnings (``storage_failure``: an error), their kind
    is the title and their message the text.
    """
    _script(conn, _V7_ALERTS)


_V7_TEXTS = """
CREATE TABLE texts (
    seq INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    value TEXT NOT NULL,
    run_seq INTEGER NOT NULL                     -- the row's number within its run (as other records)
);
CREATE UNIQUE INDEX texts_run_seq ON texts(run_id, run_seq);
CREATE INDEX texts_run_key ON texts(run_id, key_id, run_seq);
"""


def _v7_texts(conn: sqlite3.Connection) -> None:
    """``texts``: the strings ``log()`` got (``{"samples/generation": "..."}``), one row per value, numbered
    within the run (``run_seq``) like tables; their keys share ``metric_keys`` with the numbers."""
    _script(conn, _V7_TEXTS)


_V7_ARTIFACTS = """
CREATE TABLE artifacts (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,                          -- fixed by the first version: a re-log with another type fails
    description TEXT,
    created_at REAL NOT NULL,
    origin TEXT                                  -- the Hub dataset it was imported from (NULL: logged here)
);

-- One version of an artifact: its manifest (artifact_entries) and what identifies its content.
CREATE TABLE artifact_versions (
    id INTEGER PRIMARY KEY,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    version INTEGER NOT NULL,                    -- v0, v1, ... (never reused, even after an overwrite)
    digest TEXT NOT NULL,                        -- sha256 of the canonical manifest: identical content, one version
    metadata TEXT NOT NULL DEFAULT '{}',         -- JSON object
    size INTEGER NOT NULL,
    producer_run_uid TEXT,
    created_at REAL NOT NULL,
    UNIQUE (artifact_id, version),
    UNIQUE (artifact_id, digest)
);

CREATE TABLE artifact_entries (
    version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
    path TEXT NOT NULL,                          -- the file's path inside the artifact
    digest TEXT NOT NULL,                        -- a file: the sha256 of its blob, a reference: checksum, ETag or URI
    size INTEGER NOT NULL,
    ref TEXT,                                    -- a reference's URI (NULL: a file in the blob store)
    PRIMARY KEY (version_id, path)
) WITHOUT ROWID;
CREATE INDEX artifact_entries_digest ON artifact_entries(digest);

CREATE TABLE artifact_aliases (
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    alias TEXT NOT NULL,                         -- "latest" (moved by the store) or the user's
    version_id INTEGER NOT NULL REFERENCES artifact_versions(id),
    PRIMARY KEY (artifact_id, alias)
) WITHOUT ROWID;

-- Lineage: the versions a run logged (output) and used (input), by number (an import renumbers no row).
CREATE TABLE artifact_uses (
    run_uid TEXT NOT NULL,
    artifact_id INTEGER NOT NULL REFERENCES artifacts(id),
    version INTEGER NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('input', 'output')),
    created_at REAL NOT NULL,
    PRIMARY KEY (run_uid, artifact_id, version, direction)
) WITHOUT ROWID;

-- save(): each file under its path relative to the working directory (its bytes: a blob).
CREATE TABLE saved_files (
    path TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    run_uid TEXT,
    saved_at REAL NOT NULL
) WITHOUT ROWID;
"""


def _v7_artifacts(conn: sqlite3.Connection) -> None:
    """Artifacts (trackio's names, versions, aliases, manifests), the runs that logged or used them, saved files.

    The bytes live in the content-addressed blob store beside the database (`artifacts.blobs`), never here.
    """
    _script(conn, _V7_ARTIFACTS)


_V7_RUN_MANAGEMENT = """
-- Runs deleted from this project, or moved to another: a pull never brings one back.
CREATE TABLE removed_runs (
    uid TEXT PRIMARY KEY,
    name TEXT NOT NULL,                          -- its name in this project when it was removed
    removed_at REAL NOT NULL,
    reason TEXT NOT NULL CHECK (reason IN ('deleted', 'moved')),
    moved_to TEXT                                -- moved: the project that holds it now
) WITHOUT ROWID;

-- A removed run's files that a dataset still holds: the next sync there deletes them before anything else.
CREATE TABLE pending_removals (
    dataset_id TEXT NOT NULL,
    run_uid TEXT NOT NULL,
    PRIMARY KEY (dataset_id, run_uid)
) WITHOUT ROWID;
"""


def _v7_run_management(conn: sqlite3.Connection) -> None:
    """``removed_runs`` (deleted or moved away: never pulled back) and ``pending_removals`` (per dataset, the
    removed runs whose files the next sync deletes there; the ledger rows of the run go with them)."""
    _script(conn, _V7_RUN_MANAGEMENT)


def _v7(conn: sqlite3.Connection) -> None:
    _v7_alerts(conn)
    _v7_texts(conn)
    _v7_artifacts(conn)
    _v7_run_management(conn)


# Version 8 (media): files by content, histograms, traces, and what kind of text a text is.

_V8 = """
ALTER TABLE texts ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';   -- text | markdown | html

-- Images, audio, video and 3D objects logged as values: one row per value (a list logged under one key: one
-- per item), the file in the project's content-addressed blob store (`artifacts.blobs`) under ``digest``.
CREATE TABLE media (
    seq INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    item INTEGER NOT NULL,                       -- its place in a list logged under the key (0: a single value)
    kind TEXT NOT NULL,                          -- image | audio | video | object3d
    caption TEXT,
    digest TEXT NOT NULL,                        -- sha256 of the file (media_files)
    format TEXT NOT NULL,                        -- the file's extension: png, jpeg, wav, mp4, ply, ...
    size INTEGER NOT NULL,
    width INTEGER,
    height INTEGER,
    duration REAL,                               -- seconds (audio, video)
    run_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX media_run_seq ON media(run_id, run_seq);
CREATE INDEX media_run_key ON media(run_id, key_id, run_seq);

-- Every file the media of this project reference (media rows and images in table cells): what a Hub sync
-- sends, once each.
CREATE TABLE media_files (
    digest TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    size INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE histograms (
    seq INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    edges BLOB NOT NULL,                         -- float64 little-endian, one more than the counts
    counts BLOB NOT NULL,                        -- float64 little-endian
    run_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX histograms_run_seq ON histograms(run_id, run_seq);
CREATE INDEX histograms_run_key ON histograms(run_id, key_id, run_seq);

-- trackio.Trace values (a conversation or rollout, or a list of them under one key: one row), as JSON.
CREATE TABLE traces (
    seq INTEGER PRIMARY KEY,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    step INTEGER NOT NULL,
    timestamp REAL NOT NULL,
    value TEXT NOT NULL,
    run_seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX traces_run_seq ON traces(run_id, run_seq);
CREATE INDEX traces_run_key ON traces(run_id, key_id, run_seq);
"""


def _v8(conn: sqlite3.Connection) -> None:
    """``media``, ``media_files``, ``histograms``, ``traces``; ``texts.kind``. Traces stored as texts before
    stay texts (they were synced as such)."""
    _script(conn, _V8)


_V9 = """
ALTER TABLE runs ADD COLUMN end_reason TEXT;                        -- JSON: why the run last ended (NULL: running)
ALTER TABLE runs ADD COLUMN checkpoints TEXT NOT NULL DEFAULT '[]'; -- JSON list: the checkpoints it saved
ALTER TABLE runs ADD COLUMN seq_floors TEXT NOT NULL DEFAULT '{}';  -- JSON {kind: first new seq}: resumed from the Hub
"""


def _v9(conn: sqlite3.Connection) -> None:
    """``runs.end_reason``, ``runs.checkpoints``, ``runs.seq_floors`` (a run resumed from the Hub without its history
    numbers its new rows after the Hub's)."""
    _script(conn, _V9)


_V10 = """
ALTER TABLE runs ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';  -- JSON list of str (`store.tags` validates them)
ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT '';   -- free text about the run
"""


def _v10(conn: sqlite3.Connection) -> None:
    """``runs.tags`` (a JSON list of short labels) and ``runs.notes`` (free text): set by a person, shown and
    filtered on, synced with the runs file."""
    _script(conn, _V10)


_V11 = """
CREATE TABLE chunk_extremes (
    run_id INTEGER NOT NULL,
    key_id INTEGER NOT NULL REFERENCES metric_keys(id),
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    blocks BLOB NOT NULL,                        -- `extremes` of the chunk (run_id, key_id, batch_id)'s values
    PRIMARY KEY (run_id, key_id, batch_id)
) WITHOUT ROWID
"""
# A chunk's extremes go with it, however it is deleted (compaction, run removal): a later chunk may get its batch id.
_V11_TRIGGER = """
CREATE TRIGGER chunk_extremes_follow AFTER DELETE ON chunks BEGIN
    DELETE FROM chunk_extremes WHERE run_id = old.run_id AND key_id = old.key_id AND batch_id = old.batch_id;
END
"""


def _v11(conn: sqlite3.Connection) -> None:
    """``chunk_extremes``: per block of 64 values of a chunk, its first, last, lowest and highest values and its first
    NaN, so that a downsampled read of a long series reads those instead of the values. Chunks written before have
    none (nothing is backfilled: a reader computes their blocks from the values)."""
    conn.execute(_V11)
    conn.execute(_V11_TRIGGER)


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8, _v9, _v10, _v11]
SCHEMA_VERSION = len(MIGRATIONS)
