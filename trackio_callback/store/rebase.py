"""Runs continued from a Hub dataset: renumbered after the dataset's copy, and their history filled in later.

A job restarted where the Hub could not be reached logs into a new local run (`hub.resume`). Once the
Hub answers, and the run is no longer being written, `Rebase.rebase_run` makes it the continuation of
the dataset's run: in one transaction its ``log()`` calls (``batches.first_seq``, ``next_seq``) and each
kind's rows (``run_seq``) move after the dataset's last seq of that kind, it takes the dataset run's
uid, and the ledger records that the dataset holds every seq before them. The next sync then sends
only its own rows, after the dataset's: one run, each value once.

A run continued without its history (`hub.resume.adopt`: its *seq floors*) lacks the dataset's rows
below them; `Rebase.missing_history` says which, and `Rebase.append_history` writes them when `pull`
brings them, the run's metric summaries recomputed (its earlier calls arrive after its later ones).
"""

from __future__ import annotations

import sqlite3

from ..errors import TrackioError
from ..utils.jsontext import dumps
from .batch import Batch
from .connection import Connection
from .ledger import last_seqs
from .records import RECORD_TABLES, insert_logged, logged_keys
from .removal import delete_rows, run_tables, uid_columns
from .rows import AlertRow, SystemSample, TableRow, TextRow
from .runs import RunRow, _run_row
from .schema import rebuild_summaries


class Rebase(Connection):
    """Runs renumbered to continue a run of a Hub dataset; run settings set or cleared."""

    def rebase_run(
        self,
        run_id: int,
        *,
        uid: str,
        offsets: dict[str, int],
        created_at: float,
        config: dict,
        checkpoints: list,
        drop_setting: str,
        dataset_id: str,
    ) -> RunRow:
        """Move the run's seqs of each kind up by ``offsets[kind]`` and give it ``uid``; see the module doc."""

        def body(conn: sqlite3.Connection) -> RunRow:
            old = _run_row(conn, run_id)
            _drop_pulled_copy(conn, run_id, uid, offsets)
            metrics = offsets.get("metrics", 0)
            # Two steps through negative numbers: the unique (run, seq) indexes hold after every row's update.
            _shift(conn, "batches", "first_seq", run_id, metrics)
            conn.execute("UPDATE metric_summaries SET last_seq = last_seq + ? WHERE run_id = ?", (metrics, run_id))
            for kind, table in RECORD_TABLES.items():
                _shift(conn, table, "run_seq", run_id, offsets.get(kind, 0))
            floors = {kind: offsets.get(kind, 0) + old.seq_floors.get(kind, 0) for kind in {*offsets, *old.seq_floors}}
            settings = {key: value for key, value in old.settings.items() if key != drop_setting}
            conn.execute(
                """UPDATE runs SET uid = ?, next_seq = next_seq + ?, created_at = min(created_at, ?), config = ?,
                   checkpoints = ?, settings = ?, seq_floors = ? WHERE id = ?""",
                (uid, metrics, created_at, dumps(config), dumps(checkpoints), dumps(settings), dumps(floors), run_id),
            )
            for table, column, _ in uid_columns(conn):  # its artifact lineage and saved files follow it
                conn.execute(f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?', (uid, old.uid))
            for table in ("sync_state", "pending_files", "synced_files"):  # nothing of the old uid was sent
                conn.execute(f"DELETE FROM {table} WHERE dataset_id = ? AND run_uid = ?", (dataset_id, old.uid))
            conn.executemany(
                """INSERT INTO sync_state (dataset_id, run_uid, kind, synced_seq) VALUES (?, ?, ?, ?)
                   ON CONFLICT (dataset_id, run_uid, kind)
                   DO UPDATE SET synced_seq = max(synced_seq, excluded.synced_seq)""",
                [(dataset_id, uid, kind, seq - 1) for kind, seq in offsets.items() if seq > 0],
            )
            return _run_row(conn, run_id)

        return self._transact(body)

    def missing_history(self, run_id: int) -> dict[str, int]:
        """``{kind: floor}`` of each kind whose rows below the run's seq floor are not here (none: ``{}``)."""
        return self._retry(lambda: _missing_history(self._conn, run_id))

    def append_history(
        self,
        run_id: int,
        floors: dict[str, int],
        batches: list[Batch],
        system: list[SystemSample],
        tables: list[TableRow],
        alerts: list[AlertRow],
        texts: list[TextRow] = (),
        **rich: list,
    ) -> bool:
        """Write the rows below the run's seq ``floors`` (`missing_history` as the caller planned it), pulled from
        its dataset, and recompute its metric summaries, in one transaction. False, writing nothing, when that
        history is no longer missing (another pull wrote it)."""

        def body(conn: sqlite3.Connection, ids: dict[str, int]) -> bool:
            if _missing_history(conn, run_id) != floors:
                return False
            insert_logged(conn, run_id, ids, batches, system, tables, alerts, texts, **rich)
            if batches:
                rebuild_summaries(conn, run_id)
            return True

        return self._transact_with_keys(logged_keys(batches, system, tables, texts, **rich), body)

    def clear_run_setting(self, run_id: int, key: str) -> RunRow:
        """The run without the setting ``key`` (a mark that has served its purpose)."""

        def body(conn: sqlite3.Connection) -> RunRow:
            row = _run_row(conn, run_id)
            if key in row.settings:
                settings = {name: value for name, value in row.settings.items() if name != key}
                conn.execute("UPDATE runs SET settings = ? WHERE id = ?", (dumps(settings), run_id))
                row = _run_row(conn, run_id)
            return row

        return self._transact(body)


def _shift(conn: sqlite3.Connection, table: str, column: str, run_id: int, offset: int) -> None:
    if offset:
        conn.execute(f"UPDATE {table} SET {column} = -({column} + ?) - 1 WHERE run_id = ?", (offset, run_id))
        conn.execute(f"UPDATE {table} SET {column} = -{column} - 1 WHERE run_id = ? AND {column} < 0", (run_id,))


def _missing_history(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
    row = _run_row(conn, run_id)
    missing = {}
    for kind, floor in row.seq_floors.items():
        if floor <= 0:
            continue
        if kind == "metrics":
            sql = "SELECT 1 FROM batches WHERE run_id = ? AND first_seq < ? LIMIT 1"
        else:
            sql = f"SELECT 1 FROM {RECORD_TABLES[kind]} WHERE run_id = ? AND run_seq < ? LIMIT 1"
        if conn.execute(sql, (run_id, floor)).fetchone() is None:
            missing[kind] = floor
    return missing


def _drop_pulled_copy(conn: sqlite3.Connection, run_id: int, uid: str, offsets: dict[str, int]) -> None:
    """Delete another run of ``uid`` here when it only copies what the dataset holds (a pull brought it before the
    run started offline was joined); one that holds more is a forked history: `TrackioError`, nothing changed."""
    found = conn.execute("SELECT id FROM runs WHERE uid = ? AND id != ?", (uid, run_id)).fetchone()
    if found is None:
        return
    copy = _run_row(conn, found[0])
    beyond = {kind: last for kind, last in last_seqs(conn, copy.id).items() if last >= offsets.get(kind, 0)}
    if beyond:
        raise TrackioError(
            f"run {copy.name!r} here is the dataset's run {uid} with rows the dataset lacks ({beyond}); the run "
            f"started offline under its name cannot join it: delete one of the two, then sync again"
        )
    delete_rows(conn, run_tables(conn), copy)
