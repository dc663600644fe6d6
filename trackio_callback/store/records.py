"""System samples, tables and alerts: the rows a run records besides its metrics, written and read.

Each kind is numbered by its own ``seq`` (an AUTOINCREMENT key, shared by every run of the project).
`insert_records` writes inside the caller's transaction, and `insert_logged` writes a run's whole
logging (metrics too) for `Store.append` and for pulled data; `Records` is the part of `Store` that
reads them back as `rows` types. SQLite has no NaN: a NaN system value is
stored as NULL and read back as NaN.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .batch import Batch
from .connection import Connection
from .metrics import batch_keys, insert_batches
from .rows import AlertRow, SystemSample, SystemValue, TableRow

_NAN = float("nan")
_SYSTEM = """SELECT s.timestamp, s.step, s.node, k.name, s.value, s.seq FROM system_metrics s
             JOIN metric_keys k ON k.id = s.key_id WHERE s.run_id = ?"""
_TABLES = """SELECT t.timestamp, t.step, k.name, t.data, t.seq FROM tables t JOIN metric_keys k ON k.id = t.key_id
             WHERE t.run_id = ?"""
_ALERTS = "SELECT timestamp, step, kind, message, value, seq FROM alerts WHERE run_id = ?"


def record_keys(system: list[SystemSample], tables: list[TableRow]) -> set[str]:
    """The key names ``system`` and ``tables`` hold (`Connection._transact_with_keys` gives their ids)."""
    return {key for sample in system for key in sample.values} | {table.key for table in tables}


def insert_records(
    conn: sqlite3.Connection,
    run_id: int,
    ids: dict[str, int],
    system: list[SystemSample],
    tables: list[TableRow],
    alerts: list[AlertRow],
) -> None:
    """Insert system samples (one row per key), tables and alerts (``ids``: key name -> id)."""
    conn.executemany(
        "INSERT INTO system_metrics (run_id, key_id, timestamp, step, node, value) VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, ids[k], s.timestamp, s.step, s.node, v) for s in system for k, v in s.values.items()],
    )
    conn.executemany(
        "INSERT INTO tables (run_id, key_id, step, timestamp, data) VALUES (?, ?, ?, ?, ?)",
        [(run_id, ids[t.key], t.step, t.timestamp, t.data) for t in tables],
    )
    conn.executemany(
        "INSERT INTO alerts (run_id, step, timestamp, kind, message, value) VALUES (?, ?, ?, ?, ?, ?)",
        [(run_id, a.step, a.timestamp, a.kind, a.message, a.value) for a in alerts],
    )


def logged_keys(batches: list[Batch], system: list[SystemSample], tables: list[TableRow]) -> set[str]:
    """The key names a write of a run's logging holds (metrics, system metrics, tables)."""
    return batch_keys(batches) | record_keys(system, tables)


def insert_logged(
    conn: sqlite3.Connection,
    run_id: int,
    ids: dict[str, int],
    batches: list[Batch],
    system: list[SystemSample],
    tables: list[TableRow],
    alerts: list[AlertRow],
) -> None:
    """Insert a run's logging, its own (`Store.append`) or pulled (`Ledger.append_imported`)."""
    insert_batches(conn, run_id, ids, batches)
    insert_records(conn, run_id, ids, system, tables, alerts)


class Records(Connection):
    """Reads of a project's system samples, tables and alerts, oldest (lowest seq) first."""

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
        return self._system(_SYSTEM + " AND s.key_id = ? ORDER BY s.seq", [run_id, key_id])

    def system_rows(
        self, run_id: int, after_seq: int, until_seq: int, node: str | None = None, untagged: bool = True
    ) -> list[SystemValue]:
        """Every system value in a seq window ``after_seq < seq <= until_seq``.

        With ``node``: only that node's samples (and, with ``untagged``, those without a node).
        """
        sql = _SYSTEM + " AND s.seq > ? AND s.seq <= ?"
        params: list[Any] = [run_id, after_seq, until_seq]
        if node is not None:
            sql += " AND (s.node = ? OR (? AND s.node IS NULL))"
            params += [node, untagged]
        return self._system(sql + " ORDER BY s.seq", params)

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
        return [TableRow._make(row) for row in self._read(sql + " ORDER BY t.seq", params)]

    def table_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[TableRow]:
        """The run's tables in a seq window ``after_seq < seq <= until_seq``."""
        rows = self._read(_TABLES + " AND t.seq > ? AND t.seq <= ? ORDER BY t.seq", (run_id, after_seq, until_seq))
        return [TableRow._make(row) for row in rows]

    # -- alerts ---------------------------------------------------------------------------------

    def alerts(self, run_id: int) -> list[AlertRow]:
        return [AlertRow._make(row) for row in self._read(_ALERTS + " ORDER BY seq", (run_id,))]

    def alert_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[AlertRow]:
        """The run's alerts in a seq window ``after_seq < seq <= until_seq``."""
        rows = self._read(_ALERTS + " AND seq > ? AND seq <= ? ORDER BY seq", (run_id, after_seq, until_seq))
        return [AlertRow._make(row) for row in rows]
