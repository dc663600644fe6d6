"""Artifacts from a Hub dataset: their documents imported into a local store, their blobs fetched on demand.

`import_artifacts` reads the artifact documents (`documents`) a dataset holds for a project and makes
each the local state of its artifact: when the store does not have the artifact, or has it as it
last synced or imported it (nothing changed here since). An artifact changed here and not synced
yet is left as it is (a warning says so): the next sync sends this store's version. Each imported
document is recorded in the sync ledger as the dataset's, so a sync sends it back only once it
changes here. `fetch_blob` downloads one blob into the blob store, checking its sha256.

huggingface_hub is imported here, inside the functions: only when the Hub is reached.
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
import warnings
from pathlib import Path

from .. import settings
from ..errors import TrackioWarning
from ..hub import layout
from ..store import Store, SyncedFile, files
from ..utils.retry import retry
from .blobs import BlobStore
from .documents import artifact_document, document_digest, read_artifact_document, read_uses_document, uses_document

logger = logging.getLogger(__name__)

ARTIFACT_KIND = "artifact"  # the sync ledger's kinds (`store.ledger`) of the artifacts' files
USES_KIND = "artifact_uses"
BLOB_KIND = "artifact_blob"
FILE_KIND = "file"
FETCH_BUDGET_S = 120.0  # how long a fetch retries a Hub that answers 5xx/429 or drops the connection


def import_artifacts(
    dataset_id: str,
    project: str,
    store: Store,
    *,
    names: list[str] | None = None,
    paths: list[str] | None = None,
    revision: str | None = None,
    token: str | None = None,
    endpoint: str | None = None,
) -> int:
    """Import the dataset's documents of ``project``'s artifacts (``names`` only, else all, with the runs'
    lineage) into ``store``; how many artifacts changed here. ``paths``: the dataset's file list, if known.
    """
    from huggingface_hub import HfApi
    from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError

    api = HfApi(endpoint=endpoint, token=token or settings.hf_token())
    if names is not None:  # use_artifact: the named artifacts only, no lineage (and no listing of the dataset)
        documents = [layout.artifact_path(project, name) for name in names]
    else:
        if paths is None:
            paths = _retrying(lambda: api.list_repo_files(dataset_id, repo_type="dataset", revision=revision))
        documents = [
            path
            for path in sorted(paths)
            if (found := layout.parse_artifact_file(path)) is not None
            and found.project == project
            and found.kind in ("artifact", "uses")
        ]
    if not documents:
        return 0
    synced = {f.path: f.oid for f in store.synced_files(dataset_id)}
    changed = 0
    folder = BlobStore(files.project_files_dir(store.path.parent, project)).tmp / f"import-{uuid.uuid4().hex}"
    try:
        for path in documents:
            try:
                data = _download(api, dataset_id, path, folder, revision).read_bytes()
            except (EntryNotFoundError, RepositoryNotFoundError):  # not synced there (yet)
                continue
            if layout.parse_artifact_file(path).kind == "artifact":
                changed += _import_artifact(store, dataset_id, path, data, synced.get(path))
            else:
                _import_uses(store, dataset_id, path, data)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return changed


def _import_artifact(store: Store, dataset_id: str, path: str, data: bytes, synced_oid: str | None) -> int:
    try:
        record = read_artifact_document(data)
    except ValueError as error:
        warnings.warn(f"{dataset_id}: {path} is not readable ({error}): skipped", TrackioWarning, stacklevel=4)
        return 0
    remote = document_digest(data)
    local = store.artifact_record(record.name)
    mine = None if local is None else document_digest(artifact_document(local))
    if mine == remote:
        changed = 0
    elif mine is None or mine == synced_oid:
        store.replace_artifact(record, origin=dataset_id)
        changed = 1
    else:
        warnings.warn(
            f"artifact {record.name!r} was changed in this store and in {dataset_id} since they last met: kept as it "
            "is here (the next sync sends this store's versions)",
            TrackioWarning,
            stacklevel=4,
        )
        return 0
    store.confirm_sync(dataset_id, {}, {}, [SyncedFile(path, "", ARTIFACT_KIND, 0, 0, remote)])
    return changed


def _import_uses(store: Store, dataset_id: str, path: str, data: bytes) -> None:
    try:
        uses = read_uses_document(data)
    except ValueError as error:
        warnings.warn(f"{dataset_id}: {path} is not readable ({error}): skipped", TrackioWarning, stacklevel=4)
        return
    store.import_artifact_uses(uses)
    run_uid = layout.parse_artifact_file(path).key
    if uses_document(run_uid, store.artifact_uses(run_uid)) == data:  # nothing of this store's to add to it
        store.confirm_sync(dataset_id, {}, {}, [SyncedFile(path, "", USES_KIND, 0, 0, document_digest(data))])


def fetch_blob(
    dataset_id: str,
    project: str,
    digest: str,
    blobs: BlobStore,
    *,
    token: str | None = None,
    endpoint: str | None = None,
) -> None:
    """Download the blob ``digest`` of ``project`` from ``dataset_id`` into ``blobs`` (its sha256 checked)."""
    from huggingface_hub import HfApi

    if blobs.has(digest):
        return
    api = HfApi(endpoint=endpoint, token=token or settings.hf_token())
    folder = blobs.tmp / f"fetch-{uuid.uuid4().hex}"
    try:
        local = _download(api, dataset_id, layout.artifact_blob_path(project, digest), folder, None)
        blobs.adopt_file(local, digest)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _download(api, dataset_id: str, path: str, folder: Path, revision: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(
        _retrying(
            lambda: api.hf_hub_download(dataset_id, path, repo_type="dataset", revision=revision, local_dir=folder)
        )
    )


def _retrying(call):
    """``call()`` (a Hub read), retried while the Hub answers 5xx/429 or drops the connection."""
    from huggingface_hub.errors import HfHubHTTPError

    transport = HfHubHTTPError.__bases__[0]  # the HTTP client's error: no answer at all

    def passing(error: BaseException) -> bool:
        status = getattr(getattr(error, "response", None), "status_code", None)
        return isinstance(error, transport) and (status is None or status >= 500 or status == 429)

    return retry(call, retryable=passing, deadline=time.monotonic() + FETCH_BUDGET_S, on_give_up=lambda error: error)
