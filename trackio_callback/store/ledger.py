"""The Hub sync ledger: per dataset, how far each run's data reached, the files it holds, and pulled data.

``sync_state`` holds, per dataset, run uid and kind, the highest seq the Hub confirmed
(``synced_seq``), the reach of a commit whose answer never came (``pending_seq``) and, for kind
``runs``, the digest of the synced runs file; ``synced_files`` lists the Parquet files a dataset holds.

Runs copied from a Hub dataset (`hub.pull`) are written by `Ledger.append_imported`, in their own
transactions. A pulled run keeps its uid; its metrics keep their seqs (a run's log() call numbers),
but system, tables and alerts rows get local seqs: the highest *origin* seq pulled per kind is kept
in ``sync_state`` under kind ``pulled:<kind>``, and the uploader's own watermarks (kind ``<kind>``)
advance over the pulled rows' local seqs, so a later sync of this store to the same dataset sends
nothing back.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .batch import Batch
from .connection import Connection
from .records import insert_logged, logged_keys
from .rows import AlertRow, SyncedFile, SyncMark, SystemSample, TableRow
from .runs import RunUpdate, update_run

PULLED = "pulled:"  # prefix of the kinds that hold the highest origin seq pulled


def last_seqs(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """The highest seq of each kind of the run's data (-1 when there is none)."""
    result = {"metrics": conn.execute("SELECT next_seq - 1 FROM runs WHERE id = ?", (run_id,)).fetchone()[0]}
    for kind, table in (("system", "system_metrics"), ("tables", "tables"), ("alerts", "alerts")):
        sql = f"SELECT coalesce(max(seq), -1) FROM {table} WHERE run_id = ?"
        result[kind] = conn.execute(sql, (run_id,)).fetchone()[0]
    return result


class Ledger(Connection):
    """What a project's store knows of the Hub datasets it syncs to and pulls from."""

    def last_seqs(self, run_id: int) -> dict[str, int]:
        """The highest seq of each kind of the run's data (-1 when there is none)."""
        return self._retry(lambda: last_seqs(self._conn, run_id))

    def sync_state(self, dataset_id: str) -> dict[tuple[str, str], SyncMark]:
        """``{(run_uid, kind): SyncMark}`` for one dataset."""
        rows = self._read(
            "SELECT run_uid, kind, synced_seq, pending_seq, digest FROM sync_state WHERE dataset_id = ?", (dataset_id,)
        )
        return {(uid, kind): SyncMark(synced, pending, digest) for uid, kind, synced, pending, digest in rows}

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
        files: list[SyncedFile],
        deleted: list[str] = (),
    ) -> None:
        """The Hub confirmed a commit: advance the watermarks, remember its files (forget ``deleted`` paths)."""

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
                [(dataset_id, f.path, f.run_uid, f.kind, f.first_seq, f.last_seq) for f in files],
            )

        self._transact(body)

    def synced_files(self, dataset_id: str, run_uid: str | None = None) -> list[SyncedFile]:
        """The files a dataset holds (as far as this store knows), by kind, then first seq."""
        sql = "SELECT path, run_uid, kind, first_seq, last_seq FROM synced_files WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if run_uid is not None:
            sql += " AND run_uid = ?"
            params.append(run_uid)
        return [SyncedFile._make(row) for row in self._read(sql + " ORDER BY kind, first_seq", params)]

    # -- import (pull) ----------------------------------------------------------------------------

    def pulled_seqs(self, dataset_id: str, run_uid: str) -> dict[str, int]:
        """``{kind: highest origin seq pulled}`` of one run from ``dataset_id`` (kinds never pulled are absent)."""
        rows = self._read(
            "SELECT kind, synced_seq FROM sync_state WHERE dataset_id = ? AND run_uid = ? AND kind LIKE 'pulled:%'",
            (dataset_id, run_uid),
        )
        return {kind[len(PULLED) :]: seq for kind, seq in rows}

    def append_imported(
        self,
        run_id: int,
        dataset_id: str,
        batches: list[Batch],
        system: list[SystemSample],
        tables: list[TableRow],
        alerts: list[AlertRow],
        *,
        expected_next_seq: int,
        pulled_before: dict[str, int],
        pulled: dict[str, int],
        last_step: int | None,
        heartbeat_at: float,
    ) -> bool:
        """Write data pulled from ``dataset_id`` and advance its watermarks, all in one transaction.

        ``batches`` continue the run's calls (the first starts at ``expected_next_seq``); the other
        lists are written like `Store.append`'s. ``pulled`` is the new highest origin seq per kind.
        Nothing is written, and False returned, when the run's ``next_seq`` or pulled seqs are no
        longer ``expected_next_seq`` / ``pulled_before`` (another writer or pull got there first).
        """

        def body(conn: sqlite3.Connection, ids: dict[str, int]) -> bool:
            uid, next_seq = conn.execute("SELECT uid, next_seq FROM runs WHERE id = ?", (run_id,)).fetchone()
            state = dict(
                conn.execute(
                    "SELECT kind, synced_seq FROM sync_state WHERE dataset_id = ? AND run_uid = ?", (dataset_id, uid)
                ).fetchall()
            )
            now_pulled = {k[len(PULLED) :]: s for k, s in state.items() if k.startswith(PULLED)}
            if next_seq != expected_next_seq or now_pulled != pulled_before:
                return False
            before = last_seqs(conn, run_id)
            insert_logged(conn, run_id, ids, batches, system, tables, alerts)
            if batches:
                next_seq = batches[-1].first_seq + batches[-1].size
                update_run(conn, run_id, RunUpdate(next_seq=next_seq, last_step=last_step, heartbeat_at=heartbeat_at))
            after = last_seqs(conn, run_id)
            synced = {f"{PULLED}{kind}": seq for kind, seq in pulled.items()}
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

        return self._transact_with_keys(logged_keys(batches, system, tables), body)
