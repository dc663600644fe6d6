"""Sending a project's artifacts and saved files to its Hub dataset, each file once (part of `Uploader`'s sync).

What the dataset lacks is what the sync ledger (`store.ledger`: ``synced_files`` with the sha256
each file was sent with) does not list with the same content:

1. the blobs of every artifact version (``artifacts/<project>/blobs/<sha256>``: their path is their
   content, so a blob is sent at most once, whichever artifact or version has it) and the saved files
   (``files/<project>/<path>``, again when ``save()`` gave the path new bytes). Before sending, the
   Hub is asked which of them it holds already (`HfApi.get_paths_info`): a commit whose answer was
   lost, or another store of the project, sent those; they are recorded, not sent again. Each commit
   holds at most `MAX_FILES_PER_COMMIT` files and `MAX_BYTES_PER_COMMIT` bytes; a large file goes
   through huggingface_hub's LFS/Xet upload, with its progress bar;
2. then the JSON documents (`artifacts.documents`) of the artifacts and of the runs' lineage that
   changed since they were sent, so that a document never names a blob the dataset lacks. An
   artifact whose blobs are neither here nor on the Hub (pulled from elsewhere, never downloaded)
   keeps its document back, with a warning.

`send_files` (the first step, for files stored as blobs) is also how `media_sync` sends the media files.

A process killed anywhere in between leaves a state the next sync repairs: an unconfirmed blob is
found on the Hub, an unconfirmed document is sent again (identical bytes). The crash points are the
uploader's (``commit:applied``, ``commit:confirmed``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from huggingface_hub import CommitOperationAdd

from ..artifacts.blobs import BlobStore
from ..artifacts.documents import artifact_document, document_digest, uses_document
from ..artifacts.remote import ARTIFACT_KIND, BLOB_KIND, FILE_KIND, USES_KIND
from ..store import Store, SyncedFile, files
from ..utils.crashpoints import reached
from . import layout

MAX_FILES_PER_COMMIT = 50
MAX_BYTES_PER_COMMIT = 5 * 10**9  # a commit that failed is sent again whole: keep what a retry repeats bounded
PATHS_INFO_BATCH = 500  # paths per `get_paths_info` request
KINDS = (BLOB_KIND, FILE_KIND, ARTIFACT_KIND, USES_KIND)


class Outgoing(NamedTuple):
    """One file the dataset lacks: its path there, ledger kind, sha256, size, and the bytes (a blob's path, or data).

    ``by_content``: its path is derived from its sha256 (a blob, a media file), so a file of that size at that
    path on the Hub holds these bytes.
    """

    path: str
    kind: str
    oid: str
    size: int
    source: Path | bytes
    run_uid: str = ""
    by_content: bool = False


class Sent(NamedTuple):
    files: list[str]
    bytes: int


def send(
    store: Store,
    project: str,
    dataset_id: str,
    api: Any,
    *,
    commit: Callable[[list, str], None],
    hub_call: Callable[[Callable], Any],
    ensure_repo: Callable[[], None],
    warn: Callable[[Any, str], Any],
) -> Sent:
    """Send what ``dataset_id`` lacks of ``project``'s artifacts and saved files.

    The uploader's machinery: ``commit(operations, message)`` commits, ``hub_call(fn)`` runs a Hub read
    with its retries, ``ensure_repo()`` creates the dataset if missing, ``warn(key, message)`` warns once.
    """
    blobs = BlobStore(files.project_files_dir(store.path.parent, project))
    synced = {f.path: f.oid for f in store.synced_files(dataset_id) if f.kind in KINDS}
    records = [store.artifact_record(name) for name in store.artifact_names()]
    wanted: dict[str, Outgoing] = {}
    needs: dict[str, set[str]] = {}  # artifact name -> paths of its blobs
    for record in records:
        paths = needs.setdefault(record.name, set())
        for version in record.versions:
            for entry in version.entries:
                if entry.ref is None:
                    path = layout.artifact_blob_path(project, entry.digest)
                    paths.add(path)
                    wanted[path] = Outgoing(
                        path, BLOB_KIND, entry.digest, entry.size, blobs.path(entry.digest), by_content=True
                    )
    for saved in store.saved_files():
        path = layout.saved_file_path(project, saved.path)
        wanted[path] = Outgoing(path, FILE_KIND, saved.digest, saved.size, blobs.path(saved.digest))
    unsent = [item for path, item in sorted(wanted.items()) if synced.get(path) != item.oid]
    sent_files: list[str] = []
    sent_bytes = 0
    if unsent:
        ensure_repo()
        files_sent, missing = send_files(
            store, dataset_id, api, unsent, blobs, commit, hub_call, "artifact and saved files", project
        )
        sent_files += [item.path for item in files_sent]
        sent_bytes += sum(item.size for item in files_sent)
    else:
        missing = set()
    documents = []
    for record in records:
        lacking = needs[record.name] & missing
        if lacking:
            warn(
                ("artifact blobs missing", record.name),
                f"artifact {record.name!r}: {len(lacking)} of its files are neither on this machine nor in "
                f"{dataset_id} (download it here first); its versions are not synced",
            )
            continue
        data = artifact_document(record)
        documents.append(_document(layout.artifact_path(project, record.name), ARTIFACT_KIND, data))
    for run_uid in sorted({use.run_uid for use in store.artifact_uses()}):
        data = uses_document(run_uid, store.artifact_uses(run_uid))
        documents.append(_document(layout.artifact_uses_path(project, run_uid), USES_KIND, data, run_uid))
    documents = [item for item in documents if synced.get(item.path) != item.oid]
    documents_sent = commit_batches(store, dataset_id, documents, commit, "artifact documents", project)
    sent_files += [item.path for item in documents_sent]
    sent_bytes += sum(item.size for item in documents_sent)
    return Sent(sent_files, sent_bytes)


def send_files(
    store: Store,
    dataset_id: str,
    api: Any,
    unsent: list[Outgoing],
    blobs: BlobStore,
    commit: Callable[[list, str], None],
    hub_call: Callable[[Callable], Any],
    what: str,
    project: str,
) -> tuple[list[Outgoing], set[str]]:
    """Send the files of ``unsent`` (stored as blobs) that the Hub does not hold yet, each once.

    Those the Hub holds already (a commit whose answer was lost, another store) are recorded, not sent again.
    Returns what was sent, and the paths of those that are neither here nor on the Hub (not sent).
    """
    on_hub = on_the_hub(api, dataset_id, unsent, blobs, hub_call)
    if on_hub:
        store.confirm_sync(dataset_id, {}, {}, [ledger_row(item) for item in on_hub])
    known = {item.path for item in on_hub}
    missing = {item.path for item in unsent if item.path not in known and not Path(item.source).is_file()}
    outgoing = [i for i in unsent if i.path not in known and i.path not in missing]
    return commit_batches(store, dataset_id, outgoing, commit, what, project), missing


def commit_batches(
    store: Store, dataset_id: str, items: list[Outgoing], commit: Callable[[list, str], None], what: str, project: str
) -> list[Outgoing]:
    """Commit ``items`` in batches, each recorded in the ledger once the Hub confirmed it; what was sent."""
    sent: list[Outgoing] = []
    for batch in _batches(items):
        # A blob is added from its file (huggingface_hub streams it), a document from its bytes.
        operations = [CommitOperationAdd(item.path, _content(item.source)) for item in batch]
        commit(operations, f"trackio-callback: {len(batch)} {what} of {project}")
        reached("commit:applied")
        store.confirm_sync(dataset_id, {}, {}, [ledger_row(item) for item in batch])
        reached("commit:confirmed")
        sent += batch
    return sent


def _content(source: Any) -> Any:
    return str(source) if isinstance(source, Path) else source


def _document(path: str, kind: str, data: bytes, run_uid: str = "") -> Outgoing:
    return Outgoing(path, kind, document_digest(data), len(data), data, run_uid)


def ledger_row(item: Outgoing) -> SyncedFile:
    return SyncedFile(item.path, item.run_uid, item.kind, 0, 0, item.oid)


def _batches(items: list[Outgoing]) -> list[list[Outgoing]]:
    batches: list[list[Outgoing]] = []
    size = 0
    for item in items:
        if not batches or len(batches[-1]) >= MAX_FILES_PER_COMMIT or size + item.size > MAX_BYTES_PER_COMMIT:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += item.size
    return batches


def on_the_hub(api: Any, dataset_id: str, items: list[Outgoing], blobs: BlobStore, hub_call) -> list[Outgoing]:
    """The ``items`` the dataset holds already, with the same content."""
    found = []
    for start in range(0, len(items), PATHS_INFO_BATCH):
        batch = {item.path: item for item in items[start : start + PATHS_INFO_BATCH]}
        infos = hub_call(lambda batch=batch: api.get_paths_info(dataset_id, list(batch), repo_type="dataset"))
        for info in infos:
            item = batch.get(info.path)
            if item is not None and getattr(info, "size", None) == item.size and _same_content(info, item, blobs):
                found.append(item)
    return found


def _same_content(info: Any, item: Outgoing, blobs: BlobStore) -> bool:
    """Whether the Hub's file ``info`` holds ``item``'s bytes."""
    if item.by_content:
        return True  # its path is its sha256 (and its size matched)
    lfs = getattr(info, "lfs", None)
    if lfs is not None and getattr(lfs, "sha256", None):
        return lfs.sha256 == item.oid
    blob = blobs.path(item.oid)
    return blob.is_file() and getattr(info, "blob_id", None) == _git_blob_id(blob)


def _git_blob_id(path: Path) -> str:
    """git's id of a file's content (sha1 of ``blob <size>\\0`` and the bytes), read in chunks."""
    sha = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())  # noqa: S324 - git's id, not security
    with path.open("rb") as f:
        while chunk := f.read(2**20):
            sha.update(chunk)
    return sha.hexdigest()
