"""`Store`: one project's SQLite file, the sum of its jobs, and `Store.append`, the write of a run's logging.

Each job lives in its own module, with every SQL statement it runs: `connection` (opening, PRAGMAs,
migration, busy retry, key ids), `runs` (run rows, crash status), `metrics` (batches, chunks,
summaries, compaction, series reads), `records` (system samples, tables, alerts, texts), `media` (media,
histograms, traces, media files) and `ledger` (Hub
sync bookkeeping, pulled data); `artifacts` (artifact versions, aliases, lineage, saved files); `removal`
(deleting, renaming, moving runs; what datasets are owed); `rebase` (a run started offline renumbered to
continue a Hub dataset's run). `Store`
composes them; `append` writes several jobs in one transaction.

Example::

    store = Store(files.project_path(Path("runs"), "my-project"))
    run = store.open_run("baseline", group=None, config={}, settings={}, resume="never").row
    store.append(run.id, build_batches(0, [(0, time.time(), {"loss": 1.0})]), [], RunUpdate(next_seq=1))
    store.series(run.id, store.key_id("loss"))
"""

from __future__ import annotations

import sqlite3

from .artifacts import Artifacts
from .batch import Batch
from .ledger import Ledger
from .media import MediaRecords
from .metrics import Metrics
from .rebase import Rebase
from .records import Records, insert_logged, logged_keys
from .removal import Removal
from .rows import AlertRow, SystemSample, TableRow, TextRow
from .runs import Runs, RunUpdate, check_lease, update_run


class Store(Runs, Metrics, Records, MediaRecords, Ledger, Artifacts, Removal, Rebase):
    """A project database: schema setup and migration, run rows, batched writes, reads, and the sync ledger."""

    def append(
        self,
        run_id: int,
        batches: list[Batch],
        system: list[SystemSample],
        update: RunUpdate,
        tables: list[TableRow] = (),
        alerts: list[AlertRow] = (),
        texts: list[TextRow] = (),
        **rich: list,
    ) -> None:
        """Write everything a run logged since the last write, and ``update`` its row, in one transaction.

        ``rich``: ``media``, ``histograms``, ``traces`` (`rows` types) and the ``media_files`` they add.
        For a run this store opened as its writer, the lease is checked first (`runs.check_lease`).
        """
        owner = self.leases.get(run_id)

        def body(conn: sqlite3.Connection, ids: dict[str, int]) -> None:
            if owner is not None:
                check_lease(conn, run_id, owner)
            insert_logged(conn, run_id, ids, batches, system, tables, alerts, texts, **rich)
            update_run(conn, run_id, update)

        self._transact_with_keys(logged_keys(batches, system, tables, texts, **rich), body)
