"""``pull``: copy the runs of a trackio-callback Hub dataset into local project files, idempotently.

The dataset's Parquet files (see `layout` and `export`) are downloaded at one commit and imported
into the project files of ``directory`` (`store.files`). Runs are matched by uid: a run not here is
created with the same uid (a name taken by another run gets a ``-2``, ``-3``, ... suffix), a run
already here gets only what it lacks. Metrics continue the run's ``log()`` calls (``seq``): calls
after the local last one are imported up to the first gap. System metrics, tables, alerts, texts, media,
histograms and traces rows are numbered within their run too (their ``seq``): those after the local last
one are imported with their numbers, so every store that holds a run numbers its rows alike, and a run
resumed here continues the numbering. The media files that the imported media rows and table cells name
are downloaded into the project's blob store (their sha256 checked) before the rows are written, so a row
never names a file that is not here; one the dataset lacks is warned about, and its rows come without it.
The projects' artifacts come too (their documents: `artifacts.remote`; the bytes when downloaded).
Pulling twice changes nothing, and a later ``sync`` of the store to the same dataset sends nothing back.

Example::

    from trackio_callback.hub.pull import pull

    pull("alice/trackio-dataset")  # every project, into the default storage dir
    pull("alice/trackio-dataset", directory="runs", project="demo")
    # {"runs": 2, "metrics": 12000, "system": 340, "tables": 3, "alerts": 1, "texts": 20, "media": 40,
    #  "histograms": 10, "traces": 5}
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from huggingface_hub import HfApi, snapshot_download

from .. import settings
from ..errors import InvalidNameError, RunInUseError
from ..store import AlertRow, RunRow, Store, SystemSample, TableRow, TextRow, files
from ..store.batch import Call, build_batches
from ..store.codec import to_micros, to_seconds
from ..store.files import validate_project
from ..store.rows import NO_SYNC, HistogramRow, MediaRow, TraceRow
from ..store.runs import UNRECONCILED
from ..store.tags import parse_notes, parse_tags
from ..utils.crashpoints import reached
from . import export, layout, media_sync
from .media_sync import MediaFetcher, table_media
from .repo import find_token, resolve

logger = logging.getLogger(__name__)

OTHER_KINDS = tuple(kind for kind in layout.KINDS if kind != "metrics")  # rows (not calls) numbered within their run


@dataclass
class RemoteRun:
    """One run's files in the dataset: its runs file and its shards ``(path, first_seq, last_seq)`` per kind."""

    run_file: str | None = None
    shards: dict[str, list[tuple[str, int, int]]] = field(default_factory=dict)


@dataclass
class Plan:
    """What one run lacks: calls after ``metrics_after``, rows of seq after ``after[kind]``; and, for a run
    continued here without its history (`resume`), the rows below its seq floors (``history``)."""

    uid: str
    remote: RemoteRun
    local: RunRow | None
    metrics_after: int
    after: dict[str, int]
    history: dict[str, int] = field(default_factory=dict)  # {kind: floor}: rows below it are not here yet

    def files(self) -> list[str]:
        """The runs file and the shards that hold anything new, or history this store lacks."""
        low = {"metrics": self.metrics_after, **self.after}
        shards = [
            path
            for kind, items in self.remote.shards.items()
            for path, first, last in items
            if last > low[kind] or first < self.history.get(kind, 0)
        ]
        return [self.remote.run_file, *shards]


def pull(
    dataset_id: str,
    directory: str | os.PathLike | None = None,
    project: str | None = None,
    endpoint: str | None = None,
    token: str | None = None,
    prune: bool = False,
    run_uids: Collection[str] | None = None,
) -> dict[str, int]:
    """Import the runs of the Hub dataset ``dataset_id`` (of ``project``, else all) into ``directory``.

    ``run_uids``: only those runs (a run resumed with its history, `resume.continue_from_hub`).

    A run deleted from (or moved out of) a local project is never imported into it again. ``prune`` (a
    mirror): a run that came from the dataset and that it no longer holds is deleted here too.

    Returns how much was new: ``{"runs": runs created, "metrics": points, "system", "tables", "alerts",
    "texts", "media", "histograms", "traces": rows}``.
    """
    token = token if token is not None else find_token()
    if "/" not in dataset_id:
        dataset_id = resolve(None, dataset_id, endpoint).dataset_id  # "name" -> "<token owner>/name"
    if project is not None:
        validate_project(project)
    api = HfApi(endpoint=endpoint, token=token)
    revision = api.dataset_info(dataset_id).sha
    listing = api.list_repo_files(dataset_id, repo_type="dataset", revision=revision)
    remote_runs = _remote_runs(listing, project)
    if run_uids is not None:
        remote_runs = {name: {u: r for u, r in runs.items() if u in run_uids} for name, runs in remote_runs.items()}
    counts = {"runs": 0, "metrics": 0} | {kind: 0 for kind in OTHER_KINDS}
    folder = settings.storage_dir(directory)
    held = set(listing)
    with tempfile.TemporaryDirectory(prefix="trackio-pull-") as tmp:
        for name, runs in remote_runs.items():
            store = Store(files.project_path(folder, name))
            fetcher = MediaFetcher(api, dataset_id, revision, name, files.project_files_dir(folder, name), held)
            try:
                removed = {r.uid for r in store.removed_runs()}  # deleted or moved away here: never brought back
                plans = [_plan(store, dataset_id, uid, remote) for uid, remote in runs.items() if uid not in removed]
                paths = [path for plan in plans for path in plan.files()]
                snapshot_download(
                    dataset_id,
                    repo_type="dataset",
                    revision=revision,
                    local_dir=tmp,
                    allow_patterns=paths,
                    token=token,
                    endpoint=endpoint,
                )
                reached("pull:downloaded")
                for plan in plans:
                    _import_run(store, dataset_id, name, plan, Path(tmp), counts, fetcher)
            finally:
                store.close()
    _import_artifacts(folder, dataset_id, listing, project, revision, token, endpoint)
    if prune:
        _prune(folder, dataset_id, listing, project)
    return counts


def _import_artifacts(
    folder: Path, dataset_id: str, listing: list[str], project: str | None, revision: str, token, endpoint
) -> None:
    """The artifacts' documents and lineage of each project (`artifacts.remote`); blobs come when downloaded."""
    from ..artifacts.remote import import_artifacts

    found = {file.project for file in map(layout.parse_artifact_file, listing) if file is not None}
    for name in sorted(found if project is None else found & {project}):
        if not _valid_project(name):
            continue
        store = Store(files.project_path(folder, name))
        try:
            import_artifacts(dataset_id, name, store, paths=listing, revision=revision, token=token, endpoint=endpoint)
        finally:
            store.close()


def _prune(folder: Path, dataset_id: str, listing: list[str], project: str | None) -> None:
    """Delete the local runs that came from ``dataset_id`` (the ledger has them there) and that it no longer holds."""
    held = {(file.project, file.run_uid) for file in map(layout.parse, listing) if file is not None}
    for name in [project] if project is not None else files.projects(folder):
        path = files.project_path(folder, name)
        if not path.exists():
            continue
        store = Store(path, create=False)
        try:
            came = {uid for uid, _ in store.sync_state(dataset_id)}
            for run in store.runs():
                if run.uid in came and (name, run.uid) not in held:
                    try:
                        store.forget_run(run.id)
                        logger.info("run %s of project %s left %s: deleted here", run.name, name, dataset_id)
                    except RunInUseError:  # written here: this store's own now
                        continue
        finally:
            store.close()


# -- what the dataset holds -------------------------------------------------------------------------


def _remote_runs(paths: list[str], project: str | None) -> dict[str, dict[str, RemoteRun]]:
    """``{project: {run uid: RemoteRun}}`` of the dataset's files; runs without a runs file are left out."""
    found: dict[str, dict[str, RemoteRun]] = {}
    for path in paths:
        file = layout.parse(path)
        # Another node's system samples (a node folder) are that node's: not imported here.
        if file is None or file.node is not None or (project is not None and file.project != project):
            continue
        if not _valid_project(file.project):
            continue
        remote = found.setdefault(file.project, {}).setdefault(file.run_uid, RemoteRun())
        if file.kind == "runs":
            remote.run_file = path
        else:
            remote.shards.setdefault(file.kind, []).append((path, file.first_seq, file.last_seq))
    for name, runs in found.items():
        for uid in [uid for uid, remote in runs.items() if remote.run_file is None]:
            logger.info("run %s of project %s has data but no runs file yet: skipped", uid, name)
            del runs[uid]
    return {name: runs for name, runs in found.items() if runs}


def _valid_project(name: str) -> bool:
    try:
        validate_project(name)
        return True
    except ValueError:
        logger.warning("skipping project %r of the dataset: not a valid project name", name)
        return False


def _plan(store: Store, dataset_id: str, uid: str, remote: RemoteRun) -> Plan:
    local = store.run_by_uid(uid)
    last = store.last_seqs(local.id) if local is not None else {}
    after = {kind: last.get(kind, -1) for kind in OTHER_KINDS}
    metrics_after = local.next_seq - 1 if local is not None else -1
    history = store.missing_history(local.id) if local is not None else {}
    return Plan(uid, remote, local, metrics_after, after, history)


def read_rows(folder: Path, path: str, after: int | None = None) -> list[dict[str, Any]]:
    """A Parquet file's rows (timestamps as microseconds), only those with ``seq > after`` when given.

    A media file's ``image`` column (thumbnails for viewers: the files themselves are imported) is not read.
    """
    names = pq.read_schema(folder / path).names
    table = pq.read_table(folder / path, columns=[name for name in names if name != "image"])
    if after is not None:
        table = table.filter(pc.greater(table["seq"], after))
    for name in ("timestamp", "created_at", "finished_at"):
        if name in table.column_names:
            table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(pa.int64()))
    return table.to_pylist()


def _rows(folder: Path, plan: Plan, kind: str, after: int, below: int | None = None) -> list[dict[str, Any]]:
    """The run's ``kind`` rows with ``after < seq`` (``< below``), in seq order, each once (shards may overlap)."""
    unique: dict[tuple, dict[str, Any]] = {}
    for path, first, last in plan.remote.shards.get(kind, []):
        if last > after and (below is None or first < below):
            for row in read_rows(folder, path, after):
                if below is None or row["seq"] < below:
                    unique[(row["seq"], row["key"]) if kind == "metrics" else row["seq"]] = row
    return [unique[k] for k in sorted(unique)]


# -- importing one run ------------------------------------------------------------------------------


def _import_run(
    store: Store,
    dataset_id: str,
    project: str,
    plan: Plan,
    folder: Path,
    counts: dict[str, int],
    fetcher: MediaFetcher,
) -> None:
    (meta,) = read_rows(folder, plan.remote.run_file)
    local, clean = plan.local, True
    if local is None:
        namesake = store.run(meta["run_name"])
        if namesake is not None and namesake.settings.get(UNRECONCILED):
            # A run started offline under this name: its sync joins it to this run (`resume`), then a pull brings
            # the history. Imported now, the run would be here twice, under two names.
            logger.info("run %s waits for the local run %r started offline to be joined to it", plan.uid, namesake.name)
            return
        local, created = create_from_runs_file(store, meta)
        counts["runs"] += created
    else:
        # Metadata comes from the dataset only while this store has not changed the run since it last met it.
        recorded = store.sync_state(dataset_id).get((plan.uid, "runs"), NO_SYNC).digest
        clean = recorded in (None, export.run_digest(project, local))
        # Never recorded, yet this store sent the run there (a commit whose answer was lost, or a sync killed before
        # it heard back): the runs file there is this store's own, as the run was then, not newer metadata.
        sent = store.synced_files(dataset_id, plan.uid) or any(
            f.run_uid == plan.uid for f in store.pending_files(dataset_id)
        )
        if recorded is None and sent and meta["num_logs"] <= local.next_seq:
            clean = False
    if plan.history:
        _import_history(store, dataset_id, plan, local, folder, counts, fetcher)
    _import_data(store, dataset_id, plan, local, folder, counts, fetcher)
    reached("pull:imported")
    _import_metadata(store, dataset_id, project, plan.uid, meta, clean)


def _import_data(
    store: Store,
    dataset_id: str,
    plan: Plan,
    local: RunRow,
    folder: Path,
    counts: dict[str, int],
    fetcher: MediaFetcher,
) -> None:
    calls = _calls(_rows(folder, plan, "metrics", plan.metrics_after), plan.metrics_after)
    rows = {kind: _rows(folder, plan, kind, plan.after[kind]) for kind in OTHER_KINDS}
    if not calls and not any(rows.values()):
        return
    batches = build_batches(plan.metrics_after + 1, calls)
    system, tables, alerts, texts, media, histograms, traces = _records(rows)
    # The files first (each complete and checked in the blob store), then the rows that name them.
    media_files = fetcher.fetch(_media_wanted(media, tables))
    times = [c[1] for c in calls[-1:]] + [
        row.timestamp
        for row in (*system[-1:], *tables[-1:], *alerts[-1:], *texts[-1:], *media[-1:], *histograms[-1:], *traces[-1:])
    ]
    done = store.append_imported(
        local.id,
        dataset_id,
        batches,
        system,
        tables,
        alerts,
        expected_last={"metrics": plan.metrics_after, **plan.after},
        last_step=calls[-1][0] if calls else None,
        heartbeat_at=max([local.heartbeat_at, *times]),
        texts=texts,
        media=media,
        histograms=histograms,
        traces=traces,
        media_files=media_files,
    )
    if not done:
        logger.warning("run %s changed while it was pulled: skipped, pull again to import it", plan.uid)
        return
    _imported(store, dataset_id, fetcher, media_files, calls, rows, counts)


def _records(rows: dict[str, list[dict[str, Any]]]) -> tuple[list, ...]:
    """A dataset's rows of each of `OTHER_KINDS`, as the store's row types, in that order."""
    return (
        [
            SystemSample(to_seconds(r["timestamp"]), r["step"], r["node"], {r["key"]: r["value"]}, r["seq"])
            for r in rows["system"]
        ],
        [TableRow(to_seconds(r["timestamp"]), r["step"], r["key"], r["data"], r["seq"]) for r in rows["tables"]],
        [_alert(r) for r in rows["alerts"]],
        [  # files synced before texts had a kind: text
            TextRow(to_seconds(r["timestamp"]), r["step"], r["key"], r["value"], r["seq"], r.get("kind") or "text")
            for r in rows["texts"]
        ],
        [_media(r) for r in rows["media"]],
        [
            HistogramRow(
                to_seconds(r["timestamp"]), r["step"], r["key"], tuple(r["edges"]), tuple(r["counts"]), r["seq"]
            )
            for r in rows["histograms"]
        ],
        [TraceRow(to_seconds(r["timestamp"]), r["step"], r["key"], r["value"], r["seq"]) for r in rows["traces"]],
    )


def _media_wanted(media: list[MediaRow], tables: list[TableRow]) -> dict[str, str]:
    """``{sha256: format}`` of the files the media rows and the tables' image cells name."""
    return {m.digest: m.format for m in media} | {d: f for t in tables for d, f in table_media(t.data)}


def _import_history(
    store: Store,
    dataset_id: str,
    plan: Plan,
    local: RunRow,
    folder: Path,
    counts: dict[str, int],
    fetcher: MediaFetcher,
) -> None:
    """The rows below a resumed run's seq floors (`resume.adopt`): the history it continued without."""
    floors = plan.history
    calls = _calls(_rows(folder, plan, "metrics", -1, floors.get("metrics", 0)), -1)
    rows = {kind: _rows(folder, plan, kind, -1, floors[kind]) if kind in floors else [] for kind in OTHER_KINDS}
    system, tables, alerts, texts, media, histograms, traces = _records(rows)
    media_files = fetcher.fetch(_media_wanted(media, tables))
    done = store.append_history(
        local.id,
        floors,
        build_batches(0, calls),
        system,
        tables,
        alerts,
        texts=texts,
        media=media,
        histograms=histograms,
        traces=traces,
        media_files=media_files,
    )
    if not done:
        logger.warning("run %s changed while its history was pulled: pull again to import it", plan.uid)
        return
    _imported(store, dataset_id, fetcher, media_files, calls, rows, counts)


def _imported(
    store: Store,
    dataset_id: str,
    fetcher: MediaFetcher,
    media_files: list,
    calls: list[Call],
    rows: dict[str, list],
    counts: dict[str, int],
) -> None:
    """After a run's rows were written: the media files they brought marked as the dataset's, and counted."""
    # The dataset holds them (they came from it): a later sync of this store does not send them back.
    if media_files:
        store.confirm_sync(dataset_id, {}, {}, media_sync.ledger_rows(fetcher.project, media_files))
    counts["metrics"] += sum(len(c[2]) for c in calls)
    for kind in OTHER_KINDS:
        counts[kind] += len(rows[kind])


def _media(row: dict[str, Any]) -> MediaRow:
    return MediaRow(
        to_seconds(row["timestamp"]),
        row["step"],
        row["key"],
        row["item"],
        row["kind"],
        row["caption"],
        row["digest"],
        row["format"],
        row["size"],
        row["width"],
        row["height"],
        row["duration"],
        row["seq"],
    )


def _alert(row: dict[str, Any]) -> AlertRow:
    """An alerts file's row; files synced before schema 7 hold ``kind`` and ``message`` (a health alert's)."""
    if "title" in row:
        level, title, text = row["level"], row["title"], row["text"]
    else:
        level, title, text = "error" if row["kind"] == "storage_failure" else "warn", row["kind"], row["message"]
    return AlertRow(to_seconds(row["timestamp"]), row["step"], level, title, text, row["value"], row["seq"])


def _calls(rows: list[dict[str, Any]], after: int) -> list[Call]:
    """Rows ``(seq, step, timestamp, key, value)`` as ``log()`` calls ``after + 1, after + 2, ...``, up to a gap."""
    by_seq: dict[int, Call] = {}
    for row in rows:
        call = by_seq.get(row["seq"])
        if call is None:
            call = by_seq[row["seq"]] = (row["step"], to_seconds(row["timestamp"]), {})
        call[2][row["key"]] = row["value"]
    calls = []
    seq = after + 1
    while seq in by_seq:  # a gap: the rest is not in the dataset yet
        calls.append(by_seq[seq])
        seq += 1
    return calls


def _import_metadata(store: Store, dataset_id: str, project: str, uid: str, meta: dict[str, Any], clean: bool) -> None:
    """Status, finish time, config and summary from the runs file; remember it when the run now matches it."""
    local = store.run_by_uid(uid)
    remote = _remote_row(local, meta)
    fields = ("status", "finished_at", "config", "summary", "end_reason", "checkpoints", "tags", "notes")
    if clean and remote.next_seq >= local.next_seq and any(getattr(local, f) != getattr(remote, f) for f in fields):
        store.update_imported_run(
            local.id,
            status=remote.status,
            finished_at=remote.finished_at,
            config=remote.config,
            summary=remote.summary,
            heartbeat_at=remote.finished_at or local.heartbeat_at,
            end_reason=remote.end_reason,
            checkpoints=remote.checkpoints,
            tags=remote.tags,
            notes=remote.notes,
        )
        local = store.run_by_uid(uid)
    if clean and remote.next_seq >= local.next_seq and remote.name != local.name and store.run(remote.name) is None:
        with contextlib.suppress(InvalidNameError, RunInUseError):  # taken meanwhile, or written here: kept
            local = store.rename_run(local.id, remote.name)  # renamed where it was synced from
    digest = export.run_digest(project, local)
    if digest == export.run_digest(project, remote):  # the runs file already says what this store would send
        store.confirm_sync(dataset_id, {}, {uid: digest}, [])


def _remote_row(local: RunRow, meta: dict[str, Any]) -> RunRow:
    """The dataset's runs file as a row of this store (times equal to the microsecond are kept as they are here)."""
    return local._replace(
        name=meta["run_name"],
        group=meta["group"],
        status=meta["status"],
        created_at=_same_time(local.created_at, meta["created_at"]),
        finished_at=_same_time(local.finished_at, meta["finished_at"]),
        last_step=meta["last_step"],
        next_seq=meta["num_logs"],
        config=json.loads(meta["config"]),
        summary=json.loads(meta["summary"]),
        settings=json.loads(meta["settings"]),
        end_reason=json_column(meta, "end_reason", None),
        checkpoints=json_column(meta, "checkpoints", []),
        tags=parse_tags(meta.get("tags")),
        notes=parse_notes(meta.get("notes")),
    )


def create_from_runs_file(store: Store, meta: dict[str, Any], **extra: Any) -> tuple[RunRow, bool]:
    """Create in ``store`` the run a runs file's row ``meta`` describes, same uid (`Store.create_imported_run`,
    given ``extra`` too); ``(row, created)``."""
    fields = {
        "group": meta["group"],
        "status": meta["status"],
        "config": json.loads(meta["config"]),
        "settings": json.loads(meta["settings"]),
        "summary": json.loads(meta["summary"]),
        "created_at": to_seconds(meta["created_at"]),
        "finished_at": None if meta["finished_at"] is None else to_seconds(meta["finished_at"]),
        "heartbeat_at": to_seconds(meta["finished_at"] or meta["created_at"]),
        "end_reason": json_column(meta, "end_reason", None),
        "checkpoints": json_column(meta, "checkpoints", []),
        "tags": parse_tags(meta.get("tags")),  # files written before tags and notes (schema 10): none
        "notes": parse_notes(meta.get("notes")),
    }
    return store.create_imported_run(meta["run_id"], meta["run_name"], **{**fields, **extra})


def json_column(meta: dict[str, Any], column: str, default: Any) -> Any:
    """A JSON column of a runs file; files written before it (schema 9) lack it: ``default``."""
    text = meta.get(column)
    return default if text is None else json.loads(text)


def _same_time(local: float | None, micros: int | None) -> float | None:
    if micros is None:
        return None
    return local if local is not None and to_micros(local) == micros else to_seconds(micros)
