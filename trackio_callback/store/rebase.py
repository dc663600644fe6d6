"""Renumbering a run after the Hub's copy of it: a run started offline joins the dataset's run of its name.

A job restarted where the Hub could not be reached logs into a new local run (`hub.resume`). Once the
Hub answers, and the run is no longer being written, `Rebase.rebase_run` makes it the continuation of
the dataset's run: in one transaction its ``log()`` calls (``batches.first_seq``, ``next_seq``) and each
kind's rows (``run_seq``) move after the dataset's last seq of that kind, it takes the dataset run's
uid, and the ledger records that the dataset holds every seq before them. The next sync then sends
only its own rows, after the dataset's: one run, each value once.
"""

from __future__ import annotations

import sqlite3

from ..utils.jsontext import dumps
from .connection import Connection
from .records import RECORD_TABLES
from .runs import RunRow, _run_row


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
