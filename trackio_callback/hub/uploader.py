"""`Uploader`: keeps a Hub dataset in step with a project's runs — incremental, exactly-once, in the background.

Each sync sends only what the Hub has not confirmed yet: per run and kind, the seq range above the
watermark stored in SQLite. All files of one sync go into ONE commit, with the dataset card. Before
the commit is sent, each of its files is recorded as *pending*, with its exact bounds; the watermark
advances only when the Hub answers. If the answer never comes (timeout, dropped connection, crash),
the next sync — in this process or a later one — re-sends every pending file first, identical (same
path, same rows), however many unanswered commits came in a row: a commit that had landed is
overwritten, never duplicated. One sync of a store runs at a time, across processes too (a lock
file beside the store), so the run's own uploader and ``trackio-callback sync`` never plan from the
same watermark. A runs file never moves backwards: one on the Hub that this store did not write and
that counts more calls than this store has (another store continued the run) is left as it is.

5xx, 429 (honouring ``Retry-After``), timeouts and dropped connections are retried with
exponential backoff and jitter within the sync's time budget; 401/403/404 give up with one warning
(data stays local, ``trackio-callback sync`` sends it later). The training thread never waits on
any of this: the uploader reads the SQLite file the run's writer commits to.

Example::

    path = files.project_path(Path("runs"), "demo")
    uploader = Uploader(path, "demo", "alice/trackio-dataset", token=token, interval=300)
    uploader.start()          # syncs every 5 minutes
    ...
    uploader.stop(timeout=60) # one last sync, bounded
"""

from __future__ import annotations

import functools
import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

import pyarrow.parquet as pq
from filelock import FileLock
from filelock import Timeout as LockTimeout
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
from huggingface_hub.utils.sha import git_hash

from ..errors import PermanentSyncError, TransientSyncError
from ..store import RunRow, Store, SyncedFile
from ..store.files import sync_lock_path
from ..store.rows import NO_SYNC
from ..store.runs import UNRECONCILED, derived_status, effective_end_reason
from ..utils.crashpoints import reached
from ..utils.warn import WarnOnce
from . import artifact_sync, export, layout, media_sync
from .calls import first_line, hub_call
from .card import dataset_card

logger = logging.getLogger(__name__)
T = TypeVar("T")


class _Planned(NamedTuple):
    """One file a sync sends: a shard of ``kind`` rows ``low..high``, or (kind "runs") the run's metadata.

    ``path``: a pending file's path, re-sent as it was (None: derived from the bounds now).
    """

    run: RunRow
    kind: str
    low: int = 0
    high: int = 0
    digest: str | None = None
    path: str | None = None


@dataclass
class SyncResult:
    committed: bool
    files: list[str] = field(default_factory=list)
    bytes_sent: int = 0
    rows: int = 0
    removed: list[str] = field(default_factory=list)  # files of deleted or moved runs deleted from the dataset


class Uploader:
    """Syncs the runs of one project's store to one Hub dataset repo; optionally in a daemon thread."""

    def __init__(
        self,
        store_path: Path,
        project: str,
        dataset_id: str,
        *,
        token: str | None,
        private: bool = True,
        interval: float = 300.0,
        endpoint: str | None = None,
        run_uids: list[str] | None = None,
        retry_budget: float = 120.0,
        node: str | None = None,
        own_node: str | None = None,
        space: tuple[str, str] | None = None,
    ):
        self.store_path = Path(store_path)
        self.project = project
        self.dataset_id = dataset_id
        self.private = private
        self.interval = interval
        self.run_uids = run_uids  # None: every run of the project
        # Set by the run that owns this uploader: renumbers it, while it is written, after the Hub's copy of it.
        self.renumber_own_run: Callable[[Callable[[Store], RunRow]], RunRow | None] | None = None
        self.retry_budget = retry_budget
        # Multi-node jobs: an observer (``node``) sends only its node's system samples, in the node's own
        # folder; the main process (``own_node``) sends its own and untagged ones, so no sample goes twice
        # even when both write one store on a shared filesystem.
        self.node = node
        self.own_node = own_node
        self.api = HfApi(endpoint=endpoint, token=token)
        self.space = space  # (space_id, sdk) of the dashboard Space, deployed once by the thread
        self.space_deployed = False
        self._repo_ready = False
        self._warn_once = WarnOnce()  # the uploader warns once, whatever went wrong first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # `sync_now`: requests are numbered; the thread serves every request made before the sync it begins.
        self._wake = threading.Event()
        self._served = threading.Condition()
        self._requested = self._answered = self._succeeded = 0

    # -- background -----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trackio-uploader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 60.0, final_sync: bool = True) -> bool:
        """Stop the thread; with ``final_sync``, sync once more within ``timeout``. True if all was sent."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + (timeout if timeout is not None else self.retry_budget)
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        with self._served:  # a `sync_now` still waiting gets its answer: not synced by the thread
            self._served.notify_all()
        if not final_sync:
            return False
        try:
            self.sync(budget=max(0.0, deadline - time.monotonic()), compact_finished=True)
            return True
        except Exception as error:  # finish() must never fail because of the Hub
            self._warn(f"the final sync to {self.dataset_id} did not complete ({error}); the data stays in "
                       f"{self.store_path}: run `trackio-callback sync --project {self.project}` later")  # fmt: skip
            return False

    def deploy_space(self) -> bool:
        """Create the dashboard Space if missing and update its files; warn once and go on if that fails."""
        if self.space is None or self.space_deployed or self.node:
            return self.space_deployed
        from .space import SpaceDeployer

        space_id, sdk = self.space
        deployer = SpaceDeployer(
            self.api, space_id, self.dataset_id, sdk=sdk, private=self.private, dataset_private=self.private
        )
        try:
            sent = deployer.deploy()
        except Exception as error:  # the dashboard is a convenience: the data still syncs
            self._warn(f"setting up the dashboard Space {space_id} failed ({first_line(error)}); metrics still sync")
            return False
        self.space_deployed = True
        logger.info("dashboard Space %s: %s", space_id, f"updated {len(sent)} files" if sent else "up to date")
        if sdk != "static" and self.private:
            self._warn(
                f"the {sdk} Space {space_id} reads the private dataset {self.dataset_id} with its own token: "
                f"add a read token as the Space secret HF_TOKEN (trackio-callback never stores one there)"
            )
        return True

    def sync_now(self, timeout: float | None) -> bool:
        """Have the thread sync now rather than at its next interval; wait up to ``timeout`` s (0: do not wait).

        True once a sync begun after this call succeeded; False when it failed, when the time ran out (it goes
        on), or when the thread is not running (stopped, or gave up on a permanent error).
        """
        if self._thread is None or not self._thread.is_alive() or self._stop.is_set():
            return False
        with self._served:
            self._requested += 1
            request = self._requested
            self._wake.set()
            if timeout is not None and timeout <= 0:
                return False
            self._served.wait_for(
                lambda: self._answered >= request or self._stop.is_set() or not self._thread.is_alive(), timeout
            )
            return self._succeeded >= request

    def _loop(self) -> None:
        self.deploy_space()
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            with self._served:
                serving = self._requested
            synced = False
            try:
                self.sync(budget=min(self.retry_budget, self.interval))
                synced = True
            except TransientSyncError as error:
                logger.info("sync to %s postponed: %s", self.dataset_id, error)
            except PermanentSyncError as error:
                self._warn(f"syncing to {self.dataset_id} stopped: {error}; the data stays local")
                return
            except Exception:  # never let the thread die silently; the next interval tries again
                logger.warning("sync to %s failed", self.dataset_id, exc_info=True)
            finally:
                with self._served:
                    self._answered = serving
                    self._succeeded = serving if synced else self._succeeded
                    self._served.notify_all()

    # -- one sync -------------------------------------------------------------------------------

    def sync(self, budget: float | None = None, compact_finished: bool = False) -> SyncResult:
        """Send what the dataset lacks: one commit per `MAX_FILES_PER_COMMIT` files, none when nothing is new."""
        deadline = time.monotonic() + (self.retry_budget if budget is None else budget)
        # One sync of a store at a time, in this process and across processes (the run's thread, its final
        # sync, `trackio-callback sync`): each plans from the watermarks, so two at once would send twice.
        # A lock file, not a row: the OS releases it when its holder dies, however it dies.
        lock = FileLock(sync_lock_path(self.store_path), thread_local=False)
        try:
            lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
        except LockTimeout:
            raise TransientSyncError(f"another sync of {self.store_path.name} is still running") from None
        try:
            reached("sync:locked")
            store = Store(self.store_path, create=False)
            try:
                result = self._sync(store, deadline)
                if compact_finished:
                    self._compact_finished(store, deadline)
                return result
            finally:
                store.close()
        finally:
            lock.release()

    def _runs(self, store: Store) -> list[RunRow]:
        """The runs this uploader syncs, with the status readers see (a killed "running" run is "crashed")."""
        runs = store.runs()
        if self.run_uids is not None:
            runs = [r for r in runs if r.uid in self.run_uids]
        now = time.time()
        return [_as_readers_see(r, now) for r in runs]

    def _sync(self, store: Store, deadline: float) -> SyncResult:
        """Plan what the dataset lacks, then send it in commits of at most `MAX_FILES_PER_COMMIT` files."""
        removed = [] if self.node else self._remove_runs(store, deadline)  # first: a run moved back is sent anew
        runs = self._reconciled(store, self._runs(store))  # before the watermarks are read: it moves them
        state = store.sync_state(self.dataset_id)
        pending: dict[tuple[str, str], list[SyncedFile]] = {}
        for file in store.pending_files(self.dataset_id):
            pending.setdefault((file.run_uid, file.kind), []).append(file)
        planned: list[_Planned] = []
        rows_per_call: dict[int, float] = {}
        for run in runs:
            last = store.last_seqs(run.id)
            rows_per_call[run.id] = _values_per_call(store, run)
            for kind in ("system",) if self.node else layout.KINDS:
                key = (run.uid, self._state_kind(kind))
                mark = state.get(key, NO_SYNC)
                resend = [f for f in pending.get(key, []) if f.last_seq > mark.synced_seq]
                planned += [_Planned(run, kind, f.first_seq, f.last_seq, path=f.path) for f in resend]
                start = max([mark.synced_seq, *(f.last_seq for f in resend)]) + 1
                if mark.pending_seq is not None and not resend:  # a store from before schema 6
                    planned += [_Planned(run, kind, low, high) for low, high in _split(start, mark.pending_seq, kind)]
                    start = max(start, mark.pending_seq + 1)
                planned += [_Planned(run, kind, low, high) for low, high in _split(start, last[kind], kind)]
            digest = export.run_digest(self.project, run)
            if not self.node and state.get((run.uid, "runs"), NO_SYNC).digest != digest:
                planned.append(_Planned(run, "runs", digest=digest))
        reached("sync:planned")
        result = SyncResult(committed=bool(removed), removed=removed)
        # The main process's files, before the runs' shards: artifacts and saved files, then the media files
        # that the planned media and tables rows name (a failure there sends no shard).
        for files_of in () if self.node else (artifact_sync.send, media_sync.send):
            sent = files_of(
                store, self.project, self.dataset_id, self.api,
                commit=lambda operations, message: self._commit(operations, message, deadline),
                hub_call=lambda call: self._retrying(call, deadline),
                ensure_repo=lambda: self._ensure_repo(deadline),
                warn=lambda key, message: self._warn_once(key, message, stacklevel=4),
            )  # fmt: skip
            result.committed |= bool(sent.files)
            result.files += sent.files
            result.bytes_sent += sent.bytes
        for commit in _commits(planned, rows_per_call):
            self._send(store, commit, deadline, result)
        return result

    def _reconciled(self, store: Store, runs: list[RunRow]) -> list[RunRow]:
        """``runs``, each started offline under a name the dataset may hold (`hub.resume`) joined to it first.

        A run the dataset does not hold is sent as it is. This uploader's own run, still being written, is
        renumbered by its writer thread (`renumber_own_run`); another process's waits for its end (left out).
        ``runs`` as `_runs` reads them; what is returned is read again after a join.
        """
        from . import resume

        waiting, changed = set(), False
        for run in runs:
            if not run.settings.get(UNRECONCILED) or self.node:
                continue
            remote = resume.find_remote_run(self.api, self.dataset_id, self.project, name=run.name)
            changed = True
            if remote is None or remote.uid == run.uid:
                store.clear_run_setting(run.id, UNRECONCILED)
                continue
            if run.status != "running":
                resume.rebase_onto(store, run, remote, self.dataset_id)
            elif self.renumber_own_run is not None and self.run_uids == [run.uid]:
                join = functools.partial(resume.rebase_onto, run=run, remote=remote, dataset_id=self.dataset_id)
                if self.renumber_own_run(join) is None:  # its writer applies it to its own store
                    waiting.add(run.uid)  # not now (the writer was busy or stopped): the next sync tries again
                    continue
            else:
                logger.info("run %r waits for its end to be joined to the dataset's run of its name", run.name)
                waiting.add(run.uid)
                continue
            if self.run_uids is not None:
                self.run_uids = [uid for uid in self.run_uids if uid != run.uid] + [remote.uid]
        if changed:  # settings, uids, rows changed (a pulled copy of the dataset's run may be gone): read them again
            runs = self._runs(store)
        return [run for run in runs if run.uid not in waiting]

    def _send(self, store: Store, planned: list[_Planned], deadline: float, result: SyncResult) -> None:
        """One commit: the planned files (exported now, so memory holds one commit), the card, bookkeeping."""
        operations, files, reach, digests = [], [], {}, {}
        behind = self._behind_the_hub(store, [item.run for item in planned if item.kind == "runs"], deadline)
        for item in planned:
            run = item.run
            if item.kind == "runs":
                if run.uid in behind:
                    continue
                path = layout.run_path(self.project, run.uid)
                data = export.parquet_bytes(export.run_table(self.project, run))
                operations.append(CommitOperationAdd(path, data))
                files.append(SyncedFile(path, run.uid, "runs", 0, 0, _file_id(data)))
                digests[run.uid] = item.digest
                continue
            kind = self._state_kind(item.kind)
            reach[(run.uid, kind)] = max(item.high, reach.get((run.uid, kind), -1))
            table = self._table(store, run, item.kind, item.low, item.high)
            if table.num_rows == 0:  # another node's samples only: nothing of ours in this range
                continue
            path = item.path or layout.shard_path(item.kind, self.project, run.uid, item.low, item.high, node=self.node)
            data = export.parquet_bytes(table)
            operations.append(CommitOperationAdd(path, data))
            files.append(SyncedFile(path, run.uid, kind, item.low, item.high))
            result.rows += table.num_rows
        if not operations:
            store.confirm_sync(self.dataset_id, reach, digests, files)
            return
        if not self.node:  # the card is the main process's
            operations.append(self._card(store, files))
        store.mark_pending(self.dataset_id, [f for f in files if f.kind != "runs"])
        reached("commit:pending")
        self._commit(operations, f"trackio-callback sync: {len(files)} files", deadline)
        reached("commit:applied")
        store.confirm_sync(self.dataset_id, reach, digests, files)
        reached("commit:confirmed")
        result.committed = True
        result.files += [f.path for f in files]
        result.bytes_sent += sum(len(op.path_or_fileobj) for op in operations)

    def _state_kind(self, kind: str) -> str:
        return f"{kind}@{self.node}" if self.node else kind

    def _behind_the_hub(self, store: Store, runs: list[RunRow], deadline: float) -> set[str]:
        """The uids of ``runs`` whose runs file on the Hub counts more calls than this store has.

        Such a file was written by another store that continued the run (pulled it, resumed it):
        overwriting it would move the run back. Only a file this store did not write is read.
        """
        if not runs:
            return set()
        paths = {layout.run_path(self.project, run.uid): run for run in runs}
        ours = {f.path: f.oid for f in store.synced_files(self.dataset_id) if f.kind == "runs"}
        self._ensure_repo(deadline)
        infos = self._retrying(
            lambda: self.api.get_paths_info(self.dataset_id, list(paths), repo_type="dataset"), deadline
        )
        behind = set()
        for info in infos:
            run = paths.get(info.path)
            if run is None or _is_file(info, ours.get(info.path)):
                continue
            calls = self._calls_in_runs_file(info.path, deadline)
            if calls > run.next_seq:
                behind.add(run.uid)
                self._warn_once(
                    ("behind", run.uid),
                    f"run {run.name!r}: the dataset {self.dataset_id} holds a newer version of it "
                    f"({calls} calls, this store has {run.next_seq}), written by another store; "
                    f"its runs file was left as it is (pull the dataset into this store to catch up)",
                    stacklevel=4,
                )
        return behind

    def _calls_in_runs_file(self, path: str, deadline: float) -> int:
        """The ``num_logs`` of the runs file at ``path`` in the dataset (downloaded into a temporary folder)."""
        with tempfile.TemporaryDirectory(prefix="trackio-runs-") as folder:
            local = self._retrying(
                lambda: self.api.hf_hub_download(self.dataset_id, path, repo_type="dataset", local_dir=folder),
                deadline,
            )
            (row,) = pq.read_table(local, columns=["num_logs"]).to_pylist()
        return row["num_logs"]

    def _table(self, store: Store, run: RunRow, kind: str, low: int, high: int):
        if self.node:
            return export.kind_table(store, self.project, run, kind, low - 1, high, node=self.node, untagged=False)
        return export.kind_table(store, self.project, run, kind, low - 1, high, node=self.own_node)

    def _card(self, store: Store, new_files: list[SyncedFile], gone: Collection[str] = ()) -> CommitOperationAdd:
        """The dataset card; ``gone``: uids of runs whose files the commit deletes."""
        synced = [f for f in store.synced_files(self.dataset_id) if f.run_uid not in gone]
        kinds = {f.kind.split("@")[0] for f in [*synced, *new_files]}
        runs = [
            {"project": self.project, "name": r.name, "group": r.group, "status": r.status, "last_step": r.last_step}
            for r in self._runs(store)
        ]
        return CommitOperationAdd("README.md", dataset_card(self.dataset_id, kinds, runs).encode())

    def _remove_runs(self, store: Store, deadline: float) -> list[str]:
        """Delete from the dataset the files of runs removed from this project (deleted, moved away), in one commit,
        then forget them in the ledger.

        The files are found in the dataset's listing (`layout.run_files`: exactly the run's), so a commit whose
        answer was lost, or a file another store sent, is seen as it is; a fault leaves the removal for the next sync.
        """
        uids = store.pending_removals(self.dataset_id)
        if not uids:
            return []
        self._ensure_repo(deadline)
        listing = self._retrying(lambda: self.api.list_repo_files(self.dataset_id, repo_type="dataset"), deadline)
        paths = [path for uid in uids for path in layout.run_files(listing, self.project, uid)]
        if paths:
            operations: list = [CommitOperationDelete(path) for path in paths]
            if self.run_uids is None:  # the card lists the uploader's runs: only one syncing them all rewrites it
                operations.append(self._card(store, [], gone=uids))
            self._commit(operations, f"trackio-callback: remove {len(uids)} runs of {self.project}", deadline)
            reached("remove:applied")
        for uid in uids:
            store.finish_removal(self.dataset_id, uid)
        reached("remove:confirmed")
        return paths

    def _compact_finished(self, store: Store, deadline: float) -> None:
        """Merge a finished run's shards into as few files as `_split` allows (idempotent: fixed paths)."""
        if self.node:
            return  # an observer's few files stay as they are
        for run in self._runs(store):
            if run.status == "running":
                continue
            # Exact kinds: an observer node's shards (kind system@<node>) are the node's, never merged here.
            shards = [f for f in store.synced_files(self.dataset_id, run.uid) if f.kind in layout.KINDS]
            operations, files, deleted, spans = [], [], [], []
            for kind in layout.KINDS:
                for mine in _contiguous([f for f in shards if f.kind == kind]):
                    merged = _split(mine[0].first_seq, mine[-1].last_seq, kind)
                    if len(mine) > len(merged):
                        self._merge(store, run, kind, mine, merged, operations, files, deleted)
                        spans.append((kind, mine[0].first_seq, mine[-1].last_seq))
            if not operations:
                continue
            listing = self._retrying(lambda: self.api.list_repo_files(self.dataset_id, repo_type="dataset"), deadline)
            existing = set(listing)
            # A compaction whose answer was lost already deleted some shards: delete only what is there.
            operations = [
                op for op in operations if not isinstance(op, CommitOperationDelete) or op.path_in_repo in existing
            ]
            # A compaction killed after the Hub applied it left merged files this store never recorded; a
            # merge over a longer span now holds their rows too, so they go (only files inside a span).
            leftovers = _inside(existing - {op.path_in_repo for op in operations}, run.uid, spans)
            operations += [CommitOperationDelete(path) for path in leftovers]
            deleted += leftovers
            self._commit(operations, f"trackio-callback: compact run {run.name}", deadline)
            reached("compact:applied")
            store.confirm_sync(self.dataset_id, {}, {}, files, deleted)
            reached("compact:confirmed")

    def _merge(
        self,
        store: Store,
        run: RunRow,
        kind: str,
        mine: list[SyncedFile],
        merged: list[tuple[int, int]],
        operations: list,
        files: list[SyncedFile],
        deleted: list[str],
    ) -> None:
        """Add to a compaction commit: the files ``merged`` that replace the contiguous shards ``mine``."""
        paths = set()
        for low, high in merged:
            table = self._table(store, run, kind, low, high)
            if table.num_rows == 0:
                continue
            path = layout.shard_path(kind, self.project, run.uid, low, high)
            data = export.parquet_bytes(table)
            operations.append(CommitOperationAdd(path, data))
            files.append(SyncedFile(path, run.uid, kind, low, high))
            paths.add(path)
        operations += [CommitOperationDelete(f.path) for f in mine if f.path not in paths]
        deleted += [f.path for f in mine if f.path not in paths]

    # -- the Hub --------------------------------------------------------------------------------

    def _commit(self, operations: list, message: str, deadline: float) -> None:
        self._ensure_repo(deadline)
        retry = False

        def attempt() -> None:
            nonlocal retry
            todo = operations
            if retry and any(isinstance(op, CommitOperationDelete) for op in todo):
                # The try whose answer was lost may have applied: deleting a file no longer there is a 404.
                there = set(self.api.list_repo_files(self.dataset_id, repo_type="dataset"))
                todo = [op for op in todo if not isinstance(op, CommitOperationDelete) or op.path_in_repo in there]
            retry = True
            if todo:
                self.api.create_commit(self.dataset_id, todo, commit_message=message, repo_type="dataset")

        self._retrying(attempt, deadline)

    def _ensure_repo(self, deadline: float) -> None:
        if not self._repo_ready:
            self._retrying(
                lambda: self.api.create_repo(self.dataset_id, repo_type="dataset", private=self.private, exist_ok=True),
                deadline,
            )
            self._repo_ready = True

    def _retrying(self, call: Callable[[], T], deadline: float) -> T:
        return hub_call(call, deadline)

    def _warn(self, message: str) -> None:
        self._warn_once("gave up", message, stacklevel=2)


MAX_SEQS_PER_FILE = 25_000  # a file covers at most this many seqs: bounds the uploader's memory
# Texts are up to settings.MAX_TEXT_CHARS each, not 8 bytes: fewer per file, and each weighs as many
# numeric rows in a commit's budget (typical generations are a few kB).
MAX_TEXTS_PER_FILE = 1_000
TEXT_ROW_WEIGHT = 100.0
# A media row carries an image's thumbnail (up to ~200 kB for a noisy 256 px PNG, typically tens of kB).
MAX_MEDIA_PER_FILE = 250
MEDIA_ROW_WEIGHT = 1_000.0
# Rows whose span per file is `MAX_TEXTS_PER_FILE` and weight `TEXT_ROW_WEIGHT`: texts, histograms, traces.
_TEXT_LIKE = ("texts", "histograms", "traces")
MAX_FILES_PER_COMMIT = 50  # a long offline run is sent in several commits, each a consistent prefix
# A commit's files are held in memory until it is sent (~5 MB per million rows, plus what exporting
# them leaves in Python's and Arrow's pools): commits stop at about this many rows, whatever the number
# of files. File boundaries do not depend on it, so a re-sent pending range still gives the same files.
MAX_ROWS_PER_COMMIT = 1_000_000


def _values_per_call(store: Store, run: RunRow) -> float:
    """How many metric rows a ``log()`` call of ``run`` makes, on average (its keys per call)."""
    counts = sum(summary["count"] for summary in store.summaries(run.id).values())
    return max(1.0, counts / max(1, run.next_seq))


def _commits(planned: list[_Planned], rows_per_call: dict[int, float]) -> list[list[_Planned]]:
    """``planned`` cut into commits of at most `MAX_FILES_PER_COMMIT` files and about `MAX_ROWS_PER_COMMIT` rows."""
    commits: list[list[_Planned]] = []
    current: list[_Planned] = []
    rows = 0.0
    for item in planned:
        weight = rows_per_call[item.run.id] if item.kind == "metrics" else _row_weight(item.kind)
        size = 1.0 if item.kind == "runs" else (item.high - item.low + 1) * weight
        if current and (len(current) >= MAX_FILES_PER_COMMIT or rows + size > MAX_ROWS_PER_COMMIT):
            commits.append(current)
            current, rows = [], 0.0
        current.append(item)
        rows += size
    if current:
        commits.append(current)
    return commits


def _row_weight(kind: str) -> float:
    """What one row of ``kind`` (not metrics) weighs in a commit's `MAX_ROWS_PER_COMMIT` budget."""
    if kind == "media":
        return MEDIA_ROW_WEIGHT
    return TEXT_ROW_WEIGHT if kind in _TEXT_LIKE else 1.0


def _contiguous(shards: list[SyncedFile]) -> list[list[SyncedFile]]:
    """``shards`` (sorted by first seq) in runs without gaps: a gap holds rows another store sent (a run that
    was pulled and continued elsewhere), which a merged file of this store's would send a second time."""
    groups: list[list[SyncedFile]] = []
    for shard in shards:
        if groups and groups[-1][-1].last_seq + 1 == shard.first_seq:
            groups[-1].append(shard)
        else:
            groups.append([shard])
    return groups


def _inside(paths: set[str], run_uid: str, spans: list[tuple[str, int, int]]) -> list[str]:
    """The shards of ``run_uid`` among ``paths`` (main folder) whose rows lie inside a ``(kind, first, last)`` span."""
    found = []
    for path in sorted(paths):
        file = layout.parse(path)
        if file is None or file.run_uid != run_uid or file.node is not None or file.kind not in layout.KINDS:
            continue
        if any(kind == file.kind and low <= file.first_seq and file.last_seq <= high for kind, low, high in spans):
            found.append(path)
    return found


def _split(low: int, high: int, kind: str = "metrics") -> list[tuple[int, int]]:
    """``low..high`` cut at fixed offsets from ``low`` into files of at most the kind's span of seqs.

    `MAX_SEQS_PER_FILE`, `MAX_TEXTS_PER_FILE` for texts, histograms and traces, `MAX_MEDIA_PER_FILE` for
    media: the span depends on the kind only, so a range re-sent gives the same files.
    """
    size = MAX_SEQS_PER_FILE
    if kind in _TEXT_LIKE:
        size = min(MAX_TEXTS_PER_FILE, MAX_SEQS_PER_FILE)
    elif kind == "media":
        size = min(MAX_MEDIA_PER_FILE, MAX_SEQS_PER_FILE)
    return [(s, min(s + size - 1, high)) for s in range(low, high + 1, size)]


def _file_id(data: bytes) -> str:
    """A runs file's ids as the Hub reports them: ``<git blob id> <sha256>`` (the second for LFS files).

    Only runs files are compared with the Hub's (`_is_file`), so only theirs are computed.
    """
    return f"{git_hash(data)} {hashlib.sha256(data).hexdigest()}"


def _is_file(info, file_id: str | None) -> bool:
    """Whether the Hub's ``info`` (`HfApi.get_paths_info`) is the file whose `_file_id` is ``file_id``."""
    if file_id is None:
        return False
    blob, sha256 = file_id.split(" ")
    return info.blob_id == blob or (info.lfs is not None and info.lfs.sha256 == sha256)


def _as_readers_see(run: RunRow, now: float) -> RunRow:
    """``run`` with the status and end reason readers show: a killed "running" run is "crashed", heartbeat lost."""
    status = derived_status(run, now)
    return run._replace(status=status, end_reason=effective_end_reason(run, status))
