"""Sending a project's media files to its Hub dataset, each once, before the rows that name them (part of a sync).

Every file the project's media store holds (`Store.media_files`: the media rows' files and the images in
table cells) goes to ``media/<project>/files/<sha256[:2]>/<sha256>.<format>`` (`layout.media_file_path`),
a path derived from its bytes alone, so identical images logged at many steps, or by several runs, are one
file. What the dataset lacks is what the sync ledger does not list (kind `MEDIA_FILE_KIND`); of those, the
ones the Hub holds already at their path with their size (a commit whose answer was lost, another store of
the project) are recorded, not sent again (`artifact_sync.send_files`). The others are committed from their
blob paths, so a large file takes huggingface_hub's LFS/Xet upload, in commits of at most
`artifact_sync.MAX_FILES_PER_COMMIT` files.

The uploader calls `send` after planning the sync and before committing any media or tables shard, so a
shard's rows never reach the dataset before the files they name: a sync that fails here sends no shard.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..artifacts.blobs import BlobStore
from ..store import MediaFile, Store, SyncedFile, files
from . import layout
from .artifact_sync import Outgoing, Sent, send_files

MEDIA_FILE_KIND = "media_file"  # the sync ledger's kind of a media file (run uid "": the project's)


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
    """Send the media files of ``project`` that ``dataset_id`` lacks (the uploader's machinery, as `artifact_sync`)."""
    synced = {f.path for f in store.synced_files(dataset_id) if f.kind == MEDIA_FILE_KIND}
    blobs = BlobStore(files.project_files_dir(store.path.parent, project))
    unsent = []
    for media_file in store.media_files():
        path = layout.media_file_path(project, media_file.digest, media_file.format)
        if path not in synced:
            source = blobs.path(media_file.digest)
            unsent.append(Outgoing(path, MEDIA_FILE_KIND, media_file.digest, media_file.size, source, by_content=True))
    if not unsent:
        return Sent([], 0)
    ensure_repo()
    sent, missing = send_files(store, dataset_id, api, unsent, blobs, commit, hub_call, "media files", project)
    if missing:
        warn(
            ("media files missing", project),
            f"{len(missing)} media files of project {project!r} are neither on this machine nor in {dataset_id} "
            f"(e.g. {sorted(missing)[0]}); the rows naming them are synced without them",
        )
    return Sent([item.path for item in sent], sum(item.size for item in sent))


def ledger_rows(project: str, media_files: list[MediaFile]) -> list[SyncedFile]:
    """Ledger rows saying that the dataset holds these files (pulled from it: a later sync does not send them)."""
    return [
        SyncedFile(layout.media_file_path(project, f.digest, f.format), "", MEDIA_FILE_KIND, 0, 0, f.digest)
        for f in media_files
    ]
