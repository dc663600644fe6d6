"""System samples, tables, alerts and texts: the rows a run records besides its metrics, written and read.

Each kind's rows are numbered within their run (``run_seq``, read back as the rows' ``seq``): the
number is a row's identity in every store and dataset that holds the run, as a metric's seq is. New
rows continue the run's numbering; pulled rows keep the number they came with. `insert_records`
writes inside the caller's transaction, and `insert_logged` writes a run's whole logging (metrics
too) for `Store.append` and for pulled data; `Records` is the part of `Store` that reads them back
as `rows` types. SQLite has no NaN: a NaN system value is stored as NULL and read back as NaN.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .batch import Batch
from .connection import Connection
from .media import MEDIA_TABLES, insert_media, media_keys_of
from .metrics import batch_keys, insert_batches
from .rows import AlertRow, HistogramRow, MediaFile, MediaRow, SystemSample, SystemValue, TableRow, TextRow, TraceRow

_NAN = float("nan")
_SYSTEM = """SELECT s.timestamp, s.step, s.node, k.name, s.value, s.run_seq FROM system_metrics s
             JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id = ?"""
_TABLES = """SELECT t.timestamp, t.step, k.name, t.data, t.run_seq FROM tables t JOIN metric_keys k ON k.id = t.key_id
             WHERE t.run_id = ?"""
_ALERTS = "SELECT timestamp, step, level, title, text, value, run_seq FROM alerts WHERE run_id = ?"
_TEXTS = """SELECT x.timestamp, x.step, k.name, x.value, x.run_seq, x.kind FROM texts x
            JOIN metric_keys k ON k.id = x.key_id WHERE x.run_id = ?"""
RECORD_TABLES = {"system": "system_metrics", "tables": "tables", "alerts": "alerts", "texts": "texts", **MEDIA_TABLES}


def record_keys(system: list[SystemSample], tables: list[TableRow], texts: list[TextRow] = ()) -> set[str]:
    """The key names ``system``, ``tables`` and ``texts`` hold (`Connection._transact_with_keys` gives their ids)."""
    return (
        {key for sample in system for key in sample.values} | {table.key for table in tables} | {t.key for t in texts}
    )


def insert_records(
    conn: sqlite3.Connection,
    run_id: int,
    ids: dict[str, int],
    system: list[SystemSample],
    tables: list[TableRow],
    alerts: list[AlertRow],
    texts: list[TextRow] = (),
    media: list[MediaRow] = (),
    histograms: list[HistogramRow] = (),
    traces: list[TraceRow] = (),
    media_files: list[MediaFile] = (),
) -> None:
    """Insert system samples (one row per key), tables, alerts, texts and the rich rows (``ids``: key name -> id).

    A row without a ``seq`` gets the next number of its run and kind; a row with one (pulled) keeps it.
    """
    if system:
        numbers = _RunSeqs(conn, "system_metrics", run_id)
        rows = []
        for s in system:
            first = numbers.take(len(s.values), s.seq)
            rows += [
                (run_id, ids[k], s.timestamp, s.step, s.node, v, first + i) for i, (k, v) in enumerate(s.values.items())
            ]
        conn.executemany(
            """INSERT INTO system_metrics (run_id, key_id, timestamp, step, node, value, run_seq)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            rows,
        )
    if tables:
        numbers = _RunSeqs(conn, "tables", run_id)
        conn.executemany(
            "INSERT INTO tables (run_id, key_id, step, timestamp, data, run_seq) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, ids[t.key], t.step, t.timestamp, t.data, numbers.take(1, t.seq)) for t in tables],
        )
    if alerts:
        numbers = _RunSeqs(conn, "alerts", run_id)
        conn.executemany(
            """INSERT INTO alerts (run_id, step, timestamp, level, title, text, value, run_seq)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
            [(run_id, a.step, a.timestamp, a.level, a.title, a.text, a.value, numbers.take(1, a.seq)) for a in alerts],
        )
    if texts:
        numbers = _RunSeqs(conn, "texts", run_id)
        conn.executemany(
            "INSERT INTO texts (run_id, key_id, step, timestamp, value, run_seq, kind) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, ids[t.key], t.step, t.timestamp, t.value, numbers.take(1, t.seq), t.kind) for t in texts],
        )
    insert_media(conn, run_id, ids, _RunSeqs, media, histograms, traces, media_files)


class _RunSeqs:
    """Hands out a run's next ``run_seq`` numbers in one table (inside the writing transaction)."""

    def __init__(self, conn: sqlite3.Connection, table: str, run_id: int):
        self.next = _last_seq(conn, table, run_id) + 1

    def take(self, count: int, given: int | None) -> int:
        first = self.next if given is None else given
        self.next = max(self.next, first + count)
        return first


def last_record_seqs(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """The highest ``run_seq`` of the run's rows of each `RECORD_TABLES` kind (-1 when there is none)."""
    return {kind: _last_seq(conn, table, run_id) for kind, table in RECORD_TABLES.items()}


_KIND_OF_TABLE = {table: kind for kind, table in RECORD_TABLES.items()}


def _last_seq(conn: sqlite3.Connection, table: str, run_id: int) -> int:
    """The run's highest ``run_seq`` in ``table``; a run resumed from the Hub without its earlier rows counts the
    dataset's (its ``seq_floors``: the next seq of each kind), so that its new rows continue after them."""
    row = conn.execute(
        f"SELECT coalesce(max(run_seq), -1), (SELECT seq_floors FROM runs WHERE id = ?) FROM {table} WHERE run_id = ?",
        (run_id, run_id),
    ).fetchone()
    floors = json.loads(row[1]) if row[1] and row[1] != "{}" else {}
    return max(row[0], floors.get(_KIND_OF_TABLE[table], 0) - 1)


def logged_keys(
    batches: list[Batch],
    system: list[SystemSample],
    tables: list[TableRow],
    texts: list[TextRow] = (),
    media: list[MediaRow] = (),
    histograms: list[HistogramRow] = (),
    traces: list[TraceRow] = (),
    media_files: list[MediaFile] = (),  # noqa: ARG001 - `insert_records`' arguments, passed as they are: no keys
) -> set[str]:
    """The key names a write of a run's logging holds (metrics, system metrics, tables, texts, rich rows)."""
    return batch_keys(batches) | record_keys(system, tables, texts) | media_keys_of(media, histograms, traces)


def insert_logged(
    conn: sqlite3.Connection,
    run_id: int,
    ids: dict[str, int],
    batches: list[Batch],
    system: list[SystemSample],
    tables: list[TableRow],
    alerts: list[AlertRow],
    texts: list[TextRow] = (),
    **rich: list,
) -> None:
    """Insert a run's logging, its own (`Store.append`) or pulled (`Ledger.append_imported`).

    ``rich``: `insert_records`' ``media``, ``histograms``, ``traces``, ``media_files``.
    """
    insert_batches(conn, run_id, ids, batches)
    insert_records(conn, run_id, ids, system, tables, alerts, texts, **rich)


class Records(Connection):
    """Reads of a project's system samples, tables, alerts and texts, oldest (lowest seq) first."""

    # -- system samples -------------------------------------------------------------------------

    def system_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT DISTINCT k.name FROM system_metrics s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def system_series(self, run_id: int, key_id: int) -> list[SystemValue]:
        """One system metric's values in the order they were sampled."""
        return self._system(_SYSTEM + " AND s.key_id = ? ORDER BY s.run_seq", [run_id, key_id])

    def system_rows(
        self, run_id: int, after_seq: int, until_seq: int, node: str | None = None, untagged: bool = True
    ) -> list[SystemValue]:
        """Every system value in a seq window ``after_seq < seq <= until_seq``.

        With ``node``: only that node's samples (and, with ``untagged``, those without a node).
        """
        sql = _SYSTEM + " AND s.run_seq > ? AND s.run_seq <= ?"
        params: list[Any] = [run_id, after_seq, until_seq]
        if node is not None:
            sql += " AND (s.node = ? OR (? AND s.node IS NULL))"
            params += [node, untagged]
        return self._system(sql + " ORDER BY s.run_seq", params)

    def _system(self, sql: str, params: list[Any]) -> list[SystemValue]:
        return [
            SystemValue(t, step, node, key, _NAN if value is None else value, seq)
            for t, step, node, key, value, seq in self._read(sql, params)
        ]

    # -- tables ---------------------------------------------------------------------------------

    def table_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT DISTINCT k.name FROM tables t JOIN metric_keys k ON k.id = t.key_id
               WHERE t.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def tables(self, run_id: int, key_id: int | None = None) -> list[TableRow]:
        """The run's tables (of one key)."""
        sql, params = _TABLES, [run_id]
        if key_id is not None:
            sql += " AND t.key_id = ?"
            params.append(key_id)
        return [TableRow._make(row) for row in self._read(sql + " ORDER BY t.run_seq", params)]

    def table_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[TableRow]:
        """The run's tables in a seq window ``after_seq < seq <= until_seq``."""
        rows = self._read(
            _TABLES + " AND t.run_seq > ? AND t.run_seq <= ? ORDER BY t.run_seq", (run_id, after_seq, until_seq)
        )
        return [TableRow._make(row) for row in rows]

    # -- alerts ---------------------------------------------------------------------------------

    def alerts(self, run_id: int) -> list[AlertRow]:
        return [AlertRow._make(row) for row in self._read(_ALERTS + " ORDER BY run_seq", (run_id,))]

    def alert_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[AlertRow]:
        """The run's alerts in a seq window ``after_seq < seq <= until_seq``."""
        rows = self._read(
            _ALERTS + " AND run_seq > ? AND run_seq <= ? ORDER BY run_seq", (run_id, after_seq, until_seq)
        )
        return [AlertRow._make(row) for row in rows]

    # -- texts ----------------------------------------------------------------------------------

    def text_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT DISTINCT k.name FROM texts x JOIN metric_keys k ON k.id = x.key_id
               WHERE x.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def texts(self, run_id: int, key_id: int | None = None) -> list[TextRow]:
        """The run's texts (of one key), in the order they were logged."""
        sql, params = _TEXTS, [run_id]
        if key_id is not None:
            sql += " AND x.key_id = ?"
            params.append(key_id)
        return [TextRow._make(row) for row in self._read(sql + " ORDER BY x.run_seq", params)]

    def text_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[TextRow]:
        """The run's texts in a seq window ``after_seq < seq <= until_seq``."""
        rows = self._read(
            _TEXTS + " AND x.run_seq > ? AND x.run_seq <= ? ORDER BY x.run_seq", (run_id, after_seq, until_seq)
        )
        return [TextRow._make(row) for row in rows]
