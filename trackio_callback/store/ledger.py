"""The Hub sync ledger: per dataset, how far each run's data reached, the files it holds, and pulled data.

``sync_state`` holds, per dataset, run uid and kind, the highest seq the Hub confirmed
(``synced_seq``) and, for kind ``runs``, the digest of the synced runs file. ``pending_files`` lists
each file of a commit whose answer never came, with its exact seq bounds: the next sync sends those
files again, identical, before anything new, so a commit that had landed is overwritten, never
doubled, however many unanswered commits came in a row. ``synced_files`` lists the files a dataset
holds (for a runs file, its ids as sent: one that differs on the Hub was written by another store).

Runs copied from a Hub dataset (`hub.pull`) are written by `Ledger.append_imported`, in their own
transactions. A pulled run keeps its uid and every row its seq (its number within the run and kind),
so the copy continues the run's numbering; the uploader's watermarks (kind ``<kind>``) advance over
the pulled rows, so a later sync of this store to the same dataset sends nothing back.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .batch import Batch
from .connection import Connection
from .records import insert_logged, last_record_seqs, logged_keys
from .rows import AlertRow, SyncedFile, SyncMark, SystemSample, TableRow, TextRow
from .runs import RunUpdate, update_run


def last_seqs(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """The highest seq of each kind of the run's data (-1 when there is none)."""
    metrics = conn.execute("SELECT next_seq - 1 FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    return {"metrics": metrics, **last_record_seqs(conn, run_id)}


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

    def mark_pending(self, dataset_id: str, files: list[SyncedFile]) -> None:
        """Record, before a commit is sent, its files: if its answer is lost, the next sync re-sends exactly these."""
        self._transact(
            lambda conn: conn.executemany(
                """INSERT OR REPLACE INTO pending_files (dataset_id, path, run_uid, kind, first_seq, last_seq)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                [(dataset_id, f.path, f.run_uid, f.kind, f.first_seq, f.last_seq) for f in files],
            )
        )

    def pending_files(self, dataset_id: str) -> list[SyncedFile]:
        """The files of commits to ``dataset_id`` whose answer never came, by run, kind and first seq."""
        rows = self._read(
            """SELECT path, run_uid, kind, first_seq, last_seq FROM pending_files WHERE dataset_id = ?
               ORDER BY run_uid, kind, first_seq""",
            (dataset_id,),
        )
        return [SyncedFile(*row) for row in rows]

    def confirm_sync(
        self,
        dataset_id: str,
        synced: dict[tuple[str, str], int],
        digests: dict[str, str],
        files: list[SyncedFile],
        deleted: list[str] = (),
    ) -> None:
        """The Hub confirmed a commit: advance the watermarks, remember its files (forget ``deleted`` paths).

        Its files are no longer pending; neither is a pre-schema-6 pending reach of the kinds it advanced.
        """

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
                """INSERT OR REPLACE INTO synced_files (dataset_id, path, run_uid, kind, first_seq, last_seq, oid)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                [(dataset_id, f.path, f.run_uid, f.kind, f.first_seq, f.last_seq, f.oid) for f in files],
            )
            conn.executemany(
                "DELETE FROM pending_files WHERE dataset_id = ? AND path = ?", [(dataset_id, f.path) for f in files]
            )

        self._transact(body)

    def synced_files(self, dataset_id: str, run_uid: str | None = None) -> list[SyncedFile]:
        """The files a dataset holds (as far as this store knows), by kind, then first seq."""
        sql = "SELECT path, run_uid, kind, first_seq, last_seq, oid FROM synced_files WHERE dataset_id = ?"
        params: list[Any] = [dataset_id]
        if run_uid is not None:
            sql += " AND run_uid = ?"
            params.append(run_uid)
        return [SyncedFile._make(row) for row in self._read(sql + " ORDER BY kind, first_seq", params)]

    # -- import (pull) ----------------------------------------------------------------------------

    def append_imported(
        self,
        run_id: int,
        dataset_id: str,
        batches: list[Batch],
        system: list[SystemSample],
        tables: list[TableRow],
        alerts: list[AlertRow],
        *,
        expected_last: dict[str, int],
        last_step: int | None,
        heartbeat_at: float,
        texts: list[TextRow] = (),
        **rich: list,
    ) -> bool:
        """Write data pulled from ``dataset_id`` and advance its watermarks, all in one transaction.

        ``batches`` continue the run's calls; the other rows carry their seqs. Nothing is written, and
        False returned, when the run's last seqs are no longer ``expected_last`` (`last_seqs`: another
        writer or pull got there first).
        """

        def body(conn: sqlite3.Connection, ids: dict[str, int]) -> bool:
            (uid,) = conn.execute("SELECT uid FROM runs WHERE id = ?", (run_id,)).fetchone()
            state = dict(
                conn.execute(
                    "SELECT kind, synced_seq FROM sync_state WHERE dataset_id = ? AND run_uid = ?", (dataset_id, uid)
                ).fetchall()
            )
            before = last_seqs(conn, run_id)
            if before != expected_last:
                return False
            insert_logged(conn, run_id, ids, batches, system, tables, alerts, texts, **rich)
            if batches:
                next_seq = batches[-1].first_seq + batches[-1].size
                update_run(conn, run_id, RunUpdate(next_seq=next_seq, last_step=last_step, heartbeat_at=heartbeat_at))
            after = last_seqs(conn, run_id)
            synced = {}
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

        return self._transact_with_keys(logged_keys(batches, system, tables, texts, **rich), body)
