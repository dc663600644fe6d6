"""Continue a run that lives on the Hub: a job restarted on a fresh machine picks up its run, same uid.

`init(name=..., resume="allow"|"must", dataset_id=...)` on a disk that has no run of that name asks
the dataset for it (`find_remote_run`: its listing, then only the project's runs files, which are a
few kilobytes each). A run found there is created in the local store with the same uid, name, config,
summary, end reason and checkpoints, and *seq floors*: its new ``log()`` calls and rows are numbered
after the dataset's last seq of each kind (read from the shard names, no shard is downloaded), and
the sync ledger records that the dataset holds everything before them. So the restarted job's first
sync adds shards after the old ones and rewrites the runs file: one run, every seq once. A step that
goes back after a checkpoint restore gets a later seq, so readers' ``latest_per_step`` prefer the new
value, as they do locally. ``history=True`` (`init`'s ``pull_history``) pulls the run's earlier rows too
(`pull`), for reading here; a later `pull` brings them as well (the rows below the floors).

Offline (the Hub cannot be reached), `init` warns and starts a new local run marked *unreconciled*
(`UNRECONCILED`). Before the uploader sends such a run, it asks the dataset for a run of that name; if
there is one, `rebase_onto` joins the local run to it (in the run's writer thread while the run is being
written: `Writer.renumber`), else the mark is cleared and the run is sent as it is.

Example::

    found = find_remote_run(HfApi(token=token), "alice/trackio-dataset", "sft", name="job-1")
    if found is not None:
        adopt(store, "alice/trackio-dataset", "sft", found)
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.errors import RepositoryNotFoundError

from ..errors import HubUnreachableError, PermanentSyncError, TransientSyncError
from ..store import RunRow, Store
from ..store.codec import to_seconds
from ..store.runs import UNRECONCILED
from . import layout
from .calls import hub_call
from .pull import create_from_runs_file, json_column, pull, read_rows

logger = logging.getLogger(__name__)
T = TypeVar("T")

LOOKUP_BUDGET_S = 10.0  # how long init() keeps asking an unreachable Hub before starting the run offline


class RemoteRun(NamedTuple):
    """A run found in a dataset: its runs file row, the next seq of each kind, and what finding it cost."""

    uid: str
    meta: dict[str, Any]  # the runs file's row (timestamps as microseconds; JSON columns as text)
    next_seqs: dict[str, int]  # {kind: the first seq the dataset does not hold}
    revision: str
    bytes_fetched: int


def find_remote_run(
    api: HfApi, dataset_id: str, project: str, *, name: str | None = None, uid: str | None = None
) -> RemoteRun | None:
    """The run of ``project`` named ``name`` (or of uid ``uid``) in ``dataset_id``; None when it holds none.

    Of several runs of one name (datasets written before resume existed), the one created last.
    Raises `HubUnreachableError` when the Hub cannot be asked (refused, timed out, 5xx after retries), and
    `PermanentSyncError` when it refuses (a rejected token, no access).
    """
    deadline = time.monotonic() + LOOKUP_BUDGET_S
    try:
        revision = _asking(lambda: api.dataset_info(dataset_id).sha, deadline)
    except PermanentSyncError as error:
        if isinstance(error.__cause__, RepositoryNotFoundError):  # no dataset yet: no run in it
            return None
        raise
    listing = _asking(lambda: api.list_repo_files(dataset_id, repo_type="dataset", revision=revision), deadline)
    files = [f for f in map(layout.parse, listing) if f is not None and f.project == project and f.node is None]
    run_files = [layout.run_path(project, f.run_uid) for f in files if f.kind == "runs"]
    if uid is not None:
        run_files = [p for p in run_files if p == layout.run_path(project, uid)]
    if not run_files:
        return None
    with tempfile.TemporaryDirectory(prefix="trackio-resume-") as tmp:
        _asking(
            lambda: snapshot_download(
                dataset_id, repo_type="dataset", revision=revision, local_dir=tmp, allow_patterns=run_files,
                token=api.token, endpoint=api.endpoint,
            ),
            deadline,
        )  # fmt: skip
        fetched = sum((Path(tmp) / p).stat().st_size for p in run_files)
        rows = [read_rows(Path(tmp), p)[0] for p in run_files]
    matches = [row for row in rows if name is None or row["run_name"] == name]
    if not matches:
        return None
    meta = max(matches, key=lambda row: row["created_at"])
    next_seqs = {kind: 0 for kind in layout.KINDS}
    for file in files:
        if file.run_uid == meta["run_id"] and file.kind in next_seqs:
            next_seqs[file.kind] = max(next_seqs[file.kind], file.last_seq + 1)
    # The runs file counts every call synced with it; a call with only rich values has no metrics row.
    next_seqs["metrics"] = max(next_seqs["metrics"], meta["num_logs"] or 0)
    return RemoteRun(meta["run_id"], meta, next_seqs, revision, fetched)


def adopt(store: Store, dataset_id: str, project: str, remote: RemoteRun) -> RunRow:
    """Create the run ``remote`` in ``store`` (same uid), numbered to continue after the dataset's rows.

    The ledger records the dataset as holding every seq below the floors, so nothing of it is sent back
    (the runs file is, once the run changed). A run with that uid already here is returned as it is.
    """
    status = remote.meta["status"]
    row, created = create_from_runs_file(
        store,
        remote.meta,
        # A runs file saying "running" was sent by a process that is gone (its job was restarted): not a live lease.
        status="crashed" if status == "running" else status,
        seq_floors=remote.next_seqs,
        last_step=remote.meta["last_step"],
    )
    if created:
        synced = {(remote.uid, kind): seq - 1 for kind, seq in remote.next_seqs.items() if seq > 0}
        store.confirm_sync(dataset_id, synced, {}, [])
        logger.info(
            "run %r continues the run %s of %s (next log() call: seq %d)",
            row.name, remote.uid, dataset_id, remote.next_seqs["metrics"],
        )  # fmt: skip
    return row


def _asking(call: Callable[[], T], deadline: float) -> T:
    """``call()``, retried as every Hub request is (`calls.hub_call`); a Hub that never answered is unreachable."""
    try:
        return hub_call(call, deadline)
    except TransientSyncError as error:
        raise HubUnreachableError(str(error)) from error


# -- a run started offline ----------------------------------------------------------------------------


def rebase_onto(store: Store, run: RunRow, remote: RemoteRun, dataset_id: str) -> RunRow:
    """Join ``run`` (started offline: `UNRECONCILED`) to ``remote``, the dataset's run of its name: its calls and
    rows are renumbered after the dataset's, and it takes that run's uid, creation time and config (its own
    values win). Done in the run's writer thread while it is written (`Writer.renumber`), else by the uploader.
    """
    meta = remote.meta
    return store.rebase_run(
        run.id,
        uid=remote.uid,
        offsets=remote.next_seqs,
        created_at=to_seconds(meta["created_at"]),
        config={**json.loads(meta["config"]), **run.config},
        checkpoints=[*json_column(meta, "checkpoints", []), *run.checkpoints],
        drop_setting=UNRECONCILED,
        dataset_id=dataset_id,
    )


# -- init(resume=...) on a disk without the run --------------------------------------------------------


class Continued(NamedTuple):
    """What `continue_from_hub` did: ``how`` is ``"local"`` (the disk has the run), ``"adopted"`` (continued
    from the dataset without its earlier rows), ``"pulled"`` (with them), ``"new"`` (the dataset has no such
    run) or ``"offline"`` (the Hub could not be asked: ``error`` says why)."""

    how: str
    remote: RemoteRun | None = None
    error: str | None = None


def continue_from_hub(
    path: Path,
    dataset_id: str,
    project: str,
    *,
    name: str | None,
    uid: str | None,
    token: str,
    endpoint: str | None = None,
    history: bool = False,
) -> Continued:
    """Make the run ``name`` (or of uid ``uid``) of ``dataset_id`` a local run of ``project`` at ``path``,
    unless the store there has it already, so that `Store.open_run` continues it (see the module doc)."""
    store = Store(path)
    try:
        if (uid is not None and store.run_by_uid(uid) is not None) or (name is not None and store.run(name)):
            return Continued("local")
        api = HfApi(endpoint=endpoint, token=token)
        try:
            # By uid when known (a checkpoint's run): another run of the same name there is another run.
            remote = find_remote_run(api, dataset_id, project, name=None if uid is not None else name, uid=uid)
        except HubUnreachableError as error:
            return Continued("offline", error=str(error))
        if remote is None:
            return Continued("new")
        if not history:
            adopt(store, dataset_id, project, remote)
            return Continued("adopted", remote)
    finally:
        store.close()
    pull(dataset_id, directory=path.parent, project=project, endpoint=endpoint, token=token, run_uids={remote.uid})
    return Continued("pulled", remote)
