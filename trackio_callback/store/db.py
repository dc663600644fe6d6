"""`Store`: one project's SQLite file. Every SQL statement of the package lives in this module.

Several processes may write one project at once (one run each, e.g. a sweep): writes are short
``BEGIN IMMEDIATE`` transactions, SQLite's busy timeout waits for the lock and a retry loop with
backoff covers what the timeout does not, so "database is locked" never reaches the caller unless
the lock is held for over a minute (`StoreBusyError`). The file uses WAL with memory-mapped I/O off,
or the rollback journal on network filesystems (see `fs`).

Example::

    store = Store(Path("runs/my-project.db"))
    run = store.open_run("baseline", group=None, config={}, settings={}, resume="never")
    store.append(run.id, [build_batch(0, [(0, time.time(), {"loss": 1.0})])], [], RunUpdate(next_seq=1))
    store.series(run.id, store.key_id("loss"))
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from ..core.names import generate_run_name
from ..errors import RunNotFoundError, SchemaVersionError, StoreBusyError
from . import codec, fs
from .batch import Batch
from .schema import MIGRATIONS, SCHEMA_VERSION, UPSERT_SUMMARY, new_run_uid

logger = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_BUDGET_S = 60.0
RUN_COLUMNS = (
    "id, name, group_name, status, config, settings, created_at, heartbeat_at, finished_at, "
    "hostname, pid, next_seq, last_step, summary, uid"
)
RESUME_MODES = ("never", "allow", "must")


class RunRow(NamedTuple):
    id: int
    name: str
    group: str | None
    status: str
    config: dict
    settings: dict
    created_at: float
    heartbeat_at: float
    finished_at: float | None
    hostname: str | None
    pid: int | None
    next_seq: int
    last_step: int | None
    summary: dict
    uid: str  # unique across machines (a random UUID): identifies the run in a Hub dataset

    @classmethod
    def from_row(cls, row: tuple) -> RunRow:
        values = list(row)
        for json_column in (4, 5, 13):
            values[json_column] = json.loads(values[json_column])
        return cls(*values)


class OpenedRun(NamedTuple):
    row: RunRow
    resumed: bool
    requested_name: str | None  # set when a name clash made us pick another name


class RunUpdate(NamedTuple):
    """Changes to a run's row that travel with a write (all optional)."""

    next_seq: int | None = None
    last_step: int | None = None
    config_json: str | None = None
    summary_json: str | None = None
    status: str | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None  # None: now


class SeriesData(NamedTuple):
    """One key's points in log order, decoded from the chunks."""

    seqs: list[int]
    steps: list[int]
    micros: list[int]  # timestamps, microseconds since the epoch
    values: list[float]


def _is_busy(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


class Store:
    """A project database: schema setup and migration, run rows, batched writes, and reads."""

    def __init__(self, path: Path, *, create: bool = True, busy_timeout: float = 10.0):
        self.path = Path(path).absolute()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        self.journal_mode = fs.journal_mode(self.path.parent)
        self._lock = threading.RLock()  # the connection is shared by the run's threads
        self._key_ids: dict[str, int] = {}
        uri = self.path.as_uri() + ("" if create else "?mode=rw")
        self._conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            self._retry(self._configure)
            self._retry(self._migrate)
        except BaseException:
            self._conn.close()
            raise

    # -- connection -----------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _configure(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA mmap_size=0")  # no memory maps: SIGBUS on network filesystems
        current = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
        if current != self.journal_mode:
            conn.execute(f"PRAGMA journal_mode={self.journal_mode}")
        # WAL + NORMAL survives any process crash; only an OS crash can lose the last commits.
        conn.execute("PRAGMA synchronous=" + ("NORMAL" if self.journal_mode == "wal" else "FULL"))

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has schema version {version}, newer than this trackio-callback "
                f"understands ({SCHEMA_VERSION}); upgrade trackio-callback to read it"
            )

        def migrate(conn: sqlite3.Connection) -> None:
            found = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for step in range(found, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
                conn.execute(f"PRAGMA user_version={step + 1}")

        self._transact(migrate)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def _retry(self, fn: Callable[[], T]) -> T:
        deadline = time.monotonic() + RETRY_BUDGET_S
        attempt = 0
        while True:
            try:
                with self._lock:
                    return fn()
            except sqlite3.OperationalError as error:
                if not _is_busy(error):
                    raise
                if time.monotonic() > deadline:
                    raise StoreBusyError(
                        f"{self.path} stayed locked by other writers for over {RETRY_BUDGET_S:.0f} s"
                    ) from error
                import random

                attempt += 1
                time.sleep(min(0.02 * 2**attempt, 1.0) * (0.5 + random.random()))

    def _transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction, retried whole while the database is busy."""

        def attempt() -> T:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return self._retry(attempt)

    def _read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        return self._retry(lambda: self._conn.execute(sql, tuple(params)).fetchall())

    # -- runs -----------------------------------------------------------------------------------

    def open_run(
        self,
        name: str | None,
        *,
        group: str | None,
        config: dict,
        settings: dict,
        resume: str,
        hostname: str | None = None,
        pid: int | None = None,
        observer: bool = False,
        uid: str | None = None,
    ) -> OpenedRun:
        """Create a run, or reopen one (``resume``: never | allow | must).

        With ``resume="never"`` a name that is taken gets the first free ``-2``, ``-3``, ... suffix.
        An ``observer`` (another node's system sampler) opens the run as it is, changing nothing.
        ``uid`` fixes a new run's uid (nodes of one job agree on it without talking); default: random.
        """
        if resume not in RESUME_MODES:
            raise ValueError(f"resume={resume!r} is not one of {', '.join(map(repr, RESUME_MODES))}")
        now = time.time()

        def body(conn: sqlite3.Connection) -> OpenedRun:
            existing = None
            if name is not None:
                existing = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE name = ?", (name,)).fetchone()
            if existing is not None and observer:
                return OpenedRun(RunRow.from_row(existing), resumed=True, requested_name=None)
            if existing is not None and resume != "never":
                row = RunRow.from_row(existing)
                merged = {**row.config, **config}
                conn.execute(
                    """UPDATE runs SET status = 'running', finished_at = NULL, heartbeat_at = ?, hostname = ?,
                       pid = ?, config = ?, settings = ?, group_name = coalesce(?, group_name) WHERE id = ?""",
                    (now, hostname, pid, _dumps(merged), _dumps({**row.settings, **settings}), group, row.id),
                )
                return OpenedRun(self._run_row(conn, row.id), resumed=True, requested_name=None)
            if existing is None and resume == "must":
                names = [r[0] for r in conn.execute("SELECT name FROM runs ORDER BY id")]
                raise RunNotFoundError("run", str(name), names, " (resume='must')")
            chosen = self._free_name(conn, name)
            cursor = conn.execute(
                """INSERT INTO runs (name, group_name, config, settings, created_at, heartbeat_at, hostname, pid, uid)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (chosen, group, _dumps(config), _dumps(settings), now, now, hostname, pid, uid or new_run_uid()),
            )
            renamed = name if name is not None and chosen != name else None
            return OpenedRun(self._run_row(conn, cursor.lastrowid), resumed=False, requested_name=renamed)

        return self._transact(body)

    @staticmethod
    def _free_name(conn: sqlite3.Connection, name: str | None) -> str:
        def taken(candidate: str) -> bool:
            return conn.execute("SELECT 1 FROM runs WHERE name = ?", (candidate,)).fetchone() is not None

        if name is None:
            ordinal = conn.execute("SELECT count(*) FROM runs").fetchone()[0] + 1
            while True:
                candidate = generate_run_name(ordinal)
                if not taken(candidate):
                    return candidate
                ordinal += 1
        suffix = 2
        candidate = name
        while taken(candidate):
            candidate = f"{name}-{suffix}"
            suffix += 1
        return candidate

    @staticmethod
    def _run_row(conn: sqlite3.Connection, run_id: int) -> RunRow:
        return RunRow.from_row(conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone())

    def run(self, name: str) -> RunRow | None:
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE name = ?", (name,))
        return RunRow.from_row(rows[0]) if rows else None

    def runs(self) -> list[RunRow]:
        return [RunRow.from_row(r) for r in self._read(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id")]

    # -- writes ---------------------------------------------------------------------------------

    def append(
        self,
        run_id: int,
        batches: list[Batch],
        system: list[tuple[float, int | None, str | None, dict]],
        update: RunUpdate,
        tables: list[tuple[float, int, str, str]] = (),
        alerts: list[tuple[float, int | None, str, str, float | None]] = (),
    ) -> None:
        """Write everything a run logged since the last write, in one transaction.

        ``system``: ``(time, step, node, {key: value})``; ``tables``: ``(time, step, key, json)``;
        ``alerts``: ``(time, step, kind, message, value)``.
        """
        names = (
            {key for b in batches for key in b.columns} | {key for s in system for key in s[3]} | {t[2] for t in tables}
        )
        new_ids: dict[str, int] = {}

        def body(conn: sqlite3.Connection) -> None:
            new_ids.clear()
            ids = self._ensure_keys(conn, names, new_ids)
            self._insert_rows(conn, run_id, ids, batches, system, tables, alerts)
            self._update_run(conn, run_id, update)

        self._transact(body)
        self._key_ids.update(new_ids)  # only ids of committed rows are cached

    @staticmethod
    def _insert_rows(
        conn: sqlite3.Connection,
        run_id: int,
        ids: dict[str, int],
        batches: list[Batch],
        system: list[tuple[float, int | None, str | None, dict]],
        tables: list[tuple[float, int, str, str]],
        alerts: list[tuple[float, int | None, str, str, float | None]],
    ) -> None:
        """Insert batches (chunks, summaries), system samples, tables and alerts: `append` and imports."""
        for batch in batches:
            batch_id = conn.execute(
                """INSERT INTO batches (run_id, first_seq, size, min_step, max_step, steps, times)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (run_id, batch.first_seq, batch.size, batch.min_step, batch.max_step, batch.steps, batch.times),
            ).lastrowid
            columns = batch.columns.items()
            conn.executemany(
                "INSERT INTO chunks (run_id, key_id, batch_id, positions, count, vals) VALUES (?, ?, ?, ?, ?, ?)",
                [(run_id, ids[k], batch_id, c.positions, c.count, c.values) for k, c in columns],
            )
            conn.executemany(
                UPSERT_SUMMARY,
                [
                    (
                        run_id,
                        ids[k],
                        c.count,
                        c.nan_count,
                        c.first_step,
                        c.last_step,
                        c.last_seq,
                        c.last_value,
                        c.last_time,
                        c.min_value,
                        c.max_value,
                    )
                    for k, c in columns
                ],
            )
        conn.executemany(
            "INSERT INTO system_metrics (run_id, key_id, timestamp, step, node, value) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, ids[k], t, step, node, v) for t, step, node, values in system for k, v in values.items()],
        )
        conn.executemany(
            "INSERT INTO tables (run_id, key_id, step, timestamp, data) VALUES (?, ?, ?, ?, ?)",
            [(run_id, ids[key], step, t, data) for t, step, key, data in tables],
        )
        conn.executemany(
            "INSERT INTO alerts (run_id, step, timestamp, kind, message, value) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, step, t, kind, message, value) for t, step, kind, message, value in alerts],
        )

    def update_run(self, run_id: int, update: RunUpdate) -> None:
        self._transact(lambda conn: self._update_run(conn, run_id, update))

    @staticmethod
    def _update_run(conn: sqlite3.Connection, run_id: int, update: RunUpdate) -> None:
        sets, params = ["heartbeat_at = ?"], [update.heartbeat_at or time.time()]
        for column in ("next_seq", "last_step", "status", "finished_at"):
            value = getattr(update, column)
            if value is not None:
                sets.append(f"{column} = ?")
                params.append(value)
        if update.config_json is not None:
            sets.append("config = ?")
            params.append(update.config_json)
        if update.summary_json is not None:
            sets.append("summary = ?")
            params.append(update.summary_json)
        conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*params, run_id))

    def _ensure_keys(self, conn: sqlite3.Connection, names: set[str], new_ids: dict[str, int]) -> dict[str, int]:
        missing = [n for n in names if n not in self._key_ids]
        if missing:
            conn.executemany("INSERT OR IGNORE INTO metric_keys (name) VALUES (?)", [(n,) for n in missing])
            for n in missing:
                new_ids[n] = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (n,)).fetchone()[0]
        return {**self._key_ids, **new_ids}

    def compact(self, run_id: int, *, small: int = 1024, target: int = 8192) -> int:
        """Merge runs of consecutive small batches of ``run_id`` into batches of up to ``target`` calls.

        Seq numbers, steps, times and values are unchanged; only the number of rows shrinks (a run
        logging once per second otherwise leaves one small batch per flush). Returns batches removed.
        """

        def body(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, first_seq, size, steps, times FROM batches WHERE run_id = ? ORDER BY first_seq",
                (run_id,),
            ).fetchall()
            groups, current, total = [], [], 0
            for row in rows:
                size = row[2]
                if size >= small or total + size > target:
                    if len(current) > 1:
                        groups.append(current)
                    current, total = [], 0
                if size < small:
                    current.append(row)
                    total += size
            if len(current) > 1:
                groups.append(current)
            removed = 0
            for group in groups:
                self._merge_batches(conn, run_id, group)
                removed += len(group) - 1
            return removed

        return self._transact(body)

    @staticmethod
    def _merge_batches(conn: sqlite3.Connection, run_id: int, group: list[tuple]) -> None:
        first_seq = group[0][1]
        size = sum(r[2] for r in group)
        steps: list[int] = []
        micros: list[int] = []
        for _, _, n, step_blob, time_blob in group:
            steps.extend(codec.decode_ints(step_blob, n))
            micros.extend(codec.decode_ints(time_blob, n))
        offsets = {r[0]: (r[1] - first_seq, r[2]) for r in group}
        marks = ",".join("?" * len(group))
        chunks = conn.execute(
            f"SELECT key_id, batch_id, positions, count, vals FROM chunks WHERE batch_id IN ({marks})",
            tuple(offsets),
        ).fetchall()
        merged: dict[int, tuple[list[int], list[bytes]]] = {}
        for key_id, batch_id, positions, count, vals in sorted(chunks, key=lambda c: offsets[c[1]][0]):
            offset, n = offsets[batch_id]
            where = range(offset, offset + n) if positions is None else codec.decode_ints(positions, count)
            entry = merged.setdefault(key_id, ([], []))
            entry[0].extend(where if positions is None else (offset + p for p in where))
            entry[1].append(vals)
        conn.execute(f"DELETE FROM chunks WHERE batch_id IN ({marks})", tuple(offsets))
        conn.execute(f"DELETE FROM batches WHERE id IN ({marks})", tuple(offsets))
        batch_id = conn.execute(
            """INSERT INTO batches (run_id, first_seq, size, min_step, max_step, steps, times)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (run_id, first_seq, size, min(steps), max(steps), codec.encode_ints(steps), codec.encode_ints(micros)),
        ).lastrowid
        conn.executemany(
            "INSERT INTO chunks (run_id, key_id, batch_id, positions, count, vals) VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    run_id,
                    key_id,
                    batch_id,
                    None if len(where) == size else codec.encode_ints(where),
                    len(where),
                    b"".join(parts),
                )
                for key_id, (where, parts) in merged.items()
            ],
        )

    # -- reads ----------------------------------------------------------------------------------

    def key_id(self, name: str) -> int | None:
        if name in self._key_ids:
            return self._key_ids[name]
        rows = self._read("SELECT id FROM metric_keys WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def metric_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT k.name FROM metric_summaries s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def summaries(self, run_id: int) -> dict[str, dict[str, Any]]:
        rows = self._read(
            """SELECT k.name, s.count, s.nan_count, s.first_step, s.last_step, s.last_value, s.last_time,
                      s.min_value, s.max_value
               FROM metric_summaries s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        nan = float("nan")
        return {
            name: {
                "count": count,
                "nan_count": nans,
                "first_step": first_step,
                "last_step": last_step,
                "last": nan if last is None else last,
                "last_timestamp": last_time,
                "min": nan if low is None else low,
                "max": nan if high is None else high,
            }
            for name, count, nans, first_step, last_step, last, last_time, low, high in rows
        }

    def series_chunks(
        self, run_id: int, key_id: int, min_step: int | None = None, max_step: int | None = None
    ) -> list[tuple]:
        """The encoded chunks of one key, in log order, of the batches that reach into a step range.

        Rows are ``(key_id, first_seq, size, steps, times, positions, count, vals)``: what `series`
        decodes (and `arrays.decode_chunks`, with numpy). Points outside the range are still in them.
        """
        sql = """SELECT c.key_id, b.first_seq, b.size, b.steps, b.times, c.positions, c.count, c.vals
                 FROM chunks c JOIN batches b ON b.id = c.batch_id
                 WHERE c.run_id = ? AND c.key_id = ?"""
        params: list[Any] = [run_id, key_id]
        if min_step is not None:
            sql += " AND b.max_step >= ?"
            params.append(min_step)
        if max_step is not None:
            sql += " AND b.min_step <= ?"
            params.append(max_step)
        return self._read(sql + " ORDER BY b.first_seq", params)

    def series(self, run_id: int, key_id: int, min_step: int | None = None, max_step: int | None = None) -> SeriesData:
        """One key's points, in log order, optionally within a step range."""
        rows = self.series_chunks(run_id, key_id, min_step, max_step)
        data = _decode_chunks(rows).get(key_id, SeriesData([], [], [], []))
        if min_step is None and max_step is None:
            return data
        low = min_step if min_step is not None else -(2**63)
        high = max_step if max_step is not None else 2**63
        return _keep(data, lambda i: low <= data.steps[i] <= high)

    def points(self, run_id: int, after_seq: int = -1, until_seq: int | None = None) -> dict[str, SeriesData]:
        """Every key's points of the ``log()`` calls ``after_seq < seq <= until_seq``: what a sync sends."""
        sql = """SELECT c.key_id, b.first_seq, b.size, b.steps, b.times, c.positions, c.count, c.vals
                 FROM chunks c JOIN batches b ON b.id = c.batch_id
                 WHERE c.run_id = ? AND b.first_seq + b.size - 1 > ?"""
        params: list[Any] = [run_id, after_seq]
        if until_seq is not None:
            sql += " AND b.first_seq <= ?"
            params.append(until_seq)
        decoded = _decode_chunks(self._read(sql + " ORDER BY b.first_seq", params))
        names = dict(self._read("SELECT id, name FROM metric_keys"))
        high = until_seq if until_seq is not None else 2**63
        result = {}
        for key_id, data in decoded.items():
            data = _keep(data, lambda i, d=data: after_seq < d.seqs[i] <= high)
            if data.seqs:
                result[names[key_id]] = data
        return result

    def system_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT DISTINCT k.name FROM system_metrics s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def system_series(self, run_id: int, key_id: int) -> list[tuple[int, float, int | None, str | None, float]]:
        """``(seq, timestamp, step, node, value)`` rows in the order they were sampled."""
        rows = self._read(
            "SELECT seq, timestamp, step, node, value FROM system_metrics WHERE run_id = ? AND key_id = ? ORDER BY seq",
            (run_id, key_id),
        )
        nan = float("nan")
        return [(seq, t, step, node, nan if v is None else v) for seq, t, step, node, v in rows]

    def tables(self, run_id: int, key_id: int | None = None) -> list[tuple[int, str, int, float, str]]:
        """``(seq, key, step, timestamp, json)`` of the run's tables (of one key), oldest first."""
        sql = """SELECT t.seq, k.name, t.step, t.timestamp, t.data FROM tables t JOIN metric_keys k ON k.id = t.key_id
                 WHERE t.run_id = ?"""
        params: list[Any] = [run_id]
        if key_id is not None:
            sql += " AND t.key_id = ?"
            params.append(key_id)
        return self._read(sql + " ORDER BY t.seq", params)

    def table_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT DISTINCT k.name FROM tables t JOIN metric_keys k ON k.id = t.key_id
               WHERE t.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def alerts(self, run_id: int) -> list[tuple[int, int | None, float, str, str, float | None]]:
        """``(seq, step, timestamp, kind, message, value)``, oldest first."""
        return self._read(
            "SELECT seq, step, timestamp, kind, message, value FROM alerts WHERE run_id = ? ORDER BY seq", (run_id,)
        )

    # -- Hub sync bookkeeping ---------------------------------------------------------------------

    def run_by_uid(self, uid: str) -> RunRow | None:
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE uid = ?", (uid,))
        return RunRow.from_row(rows[0]) if rows else None

    def system_rows(
        self, run_id: int, after_seq: int, until_seq: int, node: str | None = None, untagged: bool = True
    ) -> list[tuple]:
        """``(seq, key, timestamp, step, node, value)`` of system samples in a seq window.

        With ``node``: only that node's samples (and, with ``untagged``, those without a node).
        """
        sql = """SELECT s.seq, k.name, s.timestamp, s.step, s.node, s.value FROM system_metrics s
                 JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id = ? AND s.seq > ? AND s.seq <= ?"""
        params: list[Any] = [run_id, after_seq, until_seq]
        if node is not None:
            sql += " AND (s.node = ? OR (? AND s.node IS NULL))"
            params += [node, untagged]
        return self._read(sql + " ORDER BY s.seq", params)

    def table_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[tuple]:
        """``(seq, key, step, timestamp, json)`` of tables in a seq window."""
        return self._read(
            """SELECT t.seq, k.name, t.step, t.timestamp, t.data FROM tables t JOIN metric_keys k ON k.id = t.key_id
               WHERE t.run_id = ? AND t.seq > ? AND t.seq <= ? ORDER BY t.seq""",
            (run_id, after_seq, until_seq),
        )

    def alert_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[tuple]:
        """``(seq, step, timestamp, kind, message, value)`` of alerts in a seq window."""
        return self._read(
            """SELECT seq, step, timestamp, kind, message, value FROM alerts
               WHERE run_id = ? AND seq > ? AND seq <= ? ORDER BY seq""",
            (run_id, after_seq, until_seq),
        )

    def last_seqs(self, run_id: int) -> dict[str, int]:
        """The highest seq of each kind of the run's data (-1 when there is none)."""
        metrics = self._read("SELECT next_seq - 1 FROM runs WHERE id = ?", (run_id,))[0][0]
        result = {"metrics": metrics}
        for kind, table in (("system", "system_metrics"), ("tables", "tables"), ("alerts", "alerts")):
            result[kind] = self._read(f"SELECT coalesce(max(seq), -1) FROM {table} WHERE run_id = ?", (run_id,))[0][0]
        return result

    def sync_state(self, dataset_id: str) -> dict[tuple[str, str], tuple[int, int | None, str | None]]:
        """``{(run_uid, kind): (synced_seq, pending_seq, digest)}`` for one dataset."""
        rows = self._read(
            "SELECT run_uid, kind, synced_seq, pending_seq, digest FROM sync_state WHERE dataset_id = ?", (dataset_id,)
        )
        return {(uid, kind): (synced, pending, digest) for uid, kind, synced, pending, digest in rows}

    def mark_pending(self, dataset_id: str, pending: dict[tuple[str, str], int]) -> None:
        """Record, before a commit is sent, how far it reaches: if its answer is lost, the next sync re-sends it."""

        def body(conn: sqlite3.Connection) -> None:
            for (uid, kind), seq in pending.items():
                conn.execute(
                    """INSERT INTO sync_state (dataset_id, run_uid, kind, pending_seq) VALUES (?, ?, ?, ?)
                       ON CONFLICT (dataset_id, run_uid, kind) DO UPDATE SET pending_seq = excluded.pending_seq""",
                    (dataset_id, uid, kind, seq),
                )

        self._transact(body)

    def confirm_sync(
        self,
        dataset_id: str,
        synced: dict[tuple[str, str], int],
        digests: dict[str, str],
        files: list[tuple[str, str, str, int, int]],
        deleted: list[str] = (),
    ) -> None:
        """The Hub confirmed a commit: advance the watermarks, remember its files ``(path, uid, kind, first, last)``."""

        def body(conn: sqlite3.Connection) -> None:
            for (uid, kind), seq in synced.items():
                conn.execute(
                    """INSERT INTO sync_state (dataset_id, run_uid, kind, synced_seq) VALUES (?, ?, ?, ?)
                       ON CONFLICT (dataset_id, run_uid, kind)
                       DO UPDATE SET synced_seq = max(synced_seq, excluded.synced_seq), pending_seq = NULL""",
                    (dataset_id, uid, kind, seq),
                )
            for uid, digest in digests.items():
                conn.execute(
                    """INSERT INTO sync_state (dataset_id, run_uid, kind, digest) VALUES (?, ?, 'runs', ?)
                       ON CONFLICT (dataset_id, run_uid, kind) DO UPDATE SET digest = excluded.digest""",
                    (dataset_id, uid, digest),
                )
            conn.executemany(
                "DELETE FROM synced_files WHERE dataset_id = ? AND path = ?", [(dataset_id, p) for p in deleted]
            )
            conn.executemany(
                """INSERT OR REPLACE INTO synced_files (dataset_id, path, run_uid, kind, first_seq, last_seq)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [(dataset_id, *file) for file in files],
            )

        self._transact(body)

    def synced_files(self, dataset_id: str, run_uid: str | None = None) -> list[tuple[str, str, str, int, int]]:
        """``(path, uid, kind, first_seq, last_seq)`` of the files a dataset holds (as far as this store knows)."""
        sql = "SELECT path, run_uid, kind, first_seq, last_seq FROM synced_files WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if run_uid is not None:
            sql += " AND run_uid = ?"
            params.append(run_uid)
        return self._read(sql + " ORDER BY kind, first_seq", params)

    # -- import (pull) ----------------------------------------------------------------------------
    # Runs copied from a Hub dataset (`hub.pull`), in their own transactions. A pulled run keeps its
    # uid; its metrics keep their seqs (a run's log() call numbers), but system, tables and alerts
    # rows get local seqs: the highest *origin* seq pulled per kind is kept in ``sync_state`` under
    # kind ``pulled:<kind>``, and the uploader's own watermarks (kind ``<kind>``) advance over the
    # pulled rows' local seqs, so a later sync of this store to the same dataset sends nothing back.

    def create_imported_run(
        self,
        uid: str,
        name: str,
        *,
        group: str | None,
        status: str,
        config: dict,
        settings: dict,
        summary: dict,
        created_at: float,
        finished_at: float | None,
        heartbeat_at: float,
    ) -> tuple[RunRow, bool]:
        """Create the run ``uid`` that another store logged; a name taken by another run gets ``-2``, ``-3``, ...

        Returns ``(row, created)``: a run with that uid already here is returned as it is.
        """

        def body(conn: sqlite3.Connection) -> tuple[RunRow, bool]:
            existing = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE uid = ?", (uid,)).fetchone()
            if existing is not None:
                return RunRow.from_row(existing), False
            cursor = conn.execute(
                """INSERT INTO runs (name, group_name, status, config, settings, summary, created_at, heartbeat_at,
                                     finished_at, uid)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    self._free_name(conn, name),
                    group,
                    status,
                    _dumps(config),
                    _dumps(settings),
                    _dumps(summary),
                    created_at,
                    heartbeat_at,
                    finished_at,
                    uid,
                ),
            )
            return self._run_row(conn, cursor.lastrowid), True

        return self._transact(body)

    def update_imported_run(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: float | None,
        config: dict,
        summary: dict,
        heartbeat_at: float,
    ) -> None:
        """Set a pulled run's metadata as the dataset has it (``finished_at`` may go back to NULL)."""
        self._transact(
            lambda conn: conn.execute(
                """UPDATE runs SET status = ?, finished_at = ?, config = ?, summary = ?,
                   heartbeat_at = max(heartbeat_at, ?) WHERE id = ?""",
                (status, finished_at, _dumps(config), _dumps(summary), heartbeat_at, run_id),
            )
        )

    def pulled_seqs(self, dataset_id: str, run_uid: str) -> dict[str, int]:
        """``{kind: highest origin seq pulled}`` of one run from ``dataset_id`` (kinds never pulled are absent)."""
        rows = self._read(
            "SELECT kind, synced_seq FROM sync_state WHERE dataset_id = ? AND run_uid = ? AND kind LIKE 'pulled:%'",
            (dataset_id, run_uid),
        )
        return {kind[len("pulled:") :]: seq for kind, seq in rows}

    def append_imported(
        self,
        run_id: int,
        dataset_id: str,
        batches: list[Batch],
        system: list[tuple[float, int | None, str | None, dict]],
        tables: list[tuple[float, int, str, str]],
        alerts: list[tuple[float, int | None, str, str, float | None]],
        *,
        expected_next_seq: int,
        pulled_before: dict[str, int],
        pulled: dict[str, int],
        last_step: int | None,
        heartbeat_at: float,
    ) -> bool:
        """Write data pulled from ``dataset_id`` and advance its watermarks, all in one transaction.

        ``batches`` continue the run's calls (the first starts at ``expected_next_seq``); the other
        lists are written like `append`'s. ``pulled`` is the new highest origin seq per kind. Nothing is
        written, and False returned, when the run's ``next_seq`` or pulled seqs are no longer
        ``expected_next_seq`` / ``pulled_before`` (another writer or pull got there first).
        """
        names = {k for b in batches for k in b.columns} | {k for s in system for k in s[3]} | {t[2] for t in tables}
        new_ids: dict[str, int] = {}

        def body(conn: sqlite3.Connection) -> bool:
            new_ids.clear()
            uid, next_seq = conn.execute("SELECT uid, next_seq FROM runs WHERE id = ?", (run_id,)).fetchone()
            state = dict(
                conn.execute(
                    "SELECT kind, synced_seq FROM sync_state WHERE dataset_id = ? AND run_uid = ?", (dataset_id, uid)
                ).fetchall()
            )
            now_pulled = {k[len("pulled:") :]: s for k, s in state.items() if k.startswith("pulled:")}
            if next_seq != expected_next_seq or now_pulled != pulled_before:
                return False
            before = self._import_last_seqs(conn, run_id)
            ids = self._ensure_keys(conn, names, new_ids)
            self._insert_rows(conn, run_id, ids, batches, system, tables, alerts)
            if batches:
                update = RunUpdate(next_seq=batches[-1].first_seq + batches[-1].size, last_step=last_step)
                self._update_run(conn, run_id, update._replace(heartbeat_at=heartbeat_at))
            after = self._import_last_seqs(conn, run_id)
            synced = {f"pulled:{kind}": seq for kind, seq in pulled.items()}
            for kind, last in after.items():
                # The uploader's watermark covers the pulled rows, unless rows of this store's own are unsent.
                if last > before[kind] and state.get(kind, -1) >= before[kind]:
                    synced[kind] = last
            conn.executemany(
                """INSERT INTO sync_state (dataset_id, run_uid, kind, synced_seq) VALUES (?, ?, ?, ?)
                   ON CONFLICT (dataset_id, run_uid, kind)
                   DO UPDATE SET synced_seq = max(synced_seq, excluded.synced_seq)""",
                [(dataset_id, uid, kind, seq) for kind, seq in synced.items()],
            )
            return True

        done = self._transact(body)
        self._key_ids.update(new_ids)  # only ids of committed rows are cached
        return done

    @staticmethod
    def _import_last_seqs(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
        result = {"metrics": conn.execute("SELECT next_seq - 1 FROM runs WHERE id = ?", (run_id,)).fetchone()[0]}
        for kind, table in (("system", "system_metrics"), ("tables", "tables"), ("alerts", "alerts")):
            sql = f"SELECT coalesce(max(seq), -1) FROM {table} WHERE run_id = ?"
            result[kind] = conn.execute(sql, (run_id,)).fetchone()[0]
        return result

    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check")[0][0]


def _decode_chunks(rows: list[tuple]) -> dict[int, SeriesData]:
    """``(key_id, first_seq, size, steps, times, positions, count, vals)`` rows, ordered by first_seq."""
    result: dict[int, SeriesData] = {}
    for key_id, first_seq, size, steps, times, positions, count, vals in rows:
        data = result.get(key_id)
        if data is None:
            data = result[key_id] = SeriesData([], [], [], [])
        data.values.extend(codec.decode_floats(vals))
        if positions is None:
            data.seqs.extend(range(first_seq, first_seq + size))
            data.steps.extend(codec.decode_ints(steps, size))
            data.micros.extend(codec.decode_ints(times, size))
            continue
        where = codec.decode_ints(positions, count)
        pick = itemgetter(*where) if count > 1 else (lambda xs, i=where[0]: (xs[i],))
        data.seqs.extend(first_seq + p for p in where)
        data.steps.extend(pick(codec.decode_ints(steps, size)))
        data.micros.extend(pick(codec.decode_ints(times, size)))
    return result


def _keep(data: SeriesData, wanted) -> SeriesData:
    """The points ``i`` of ``data`` for which ``wanted(i)``."""
    keep = [i for i in range(len(data.seqs)) if wanted(i)]
    if len(keep) == len(data.seqs):
        return data
    return SeriesData(*([column[i] for i in keep] for column in (data.seqs, data.steps, data.micros, data.values)))


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)
