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
`pull` does the reverse with `MediaFetcher`: the files its rows name (`table_media` for a table's cells)
are downloaded into the blob store, their sha256 checked, before the rows are written.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from huggingface_hub import HfApi

from ..artifacts.blobs import SHA256, BlobStore
from ..store import MediaFile, Store, SyncedFile, files
from ..utils.warn import WarnOnce
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


# -- pulling them ----------------------------------------------------------------------------------

_FORMAT = re.compile(r"[a-z0-9]{1,10}")
DOWNLOAD_THREADS = 8


def table_media(data: str) -> Iterator[tuple[str, str]]:
    """``(digest, format)`` of each media file a table's JSON names (its image cells, lists of them included)."""

    def walk(value: Any) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            if str(value.get("_type", "")).startswith("trackio.") and "digest" in value and "format" in value:
                yield value["digest"], value["format"]
            else:
                for item in value.values():
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    try:
        parsed = json.loads(data)
    except ValueError:
        return
    yield from walk(parsed)


class MediaFetcher:
    """Downloads the media files of one project of a dataset (at one revision) into the project's blob store."""

    def __init__(self, api: HfApi, dataset_id: str, revision: str, project: str, files_dir: Path, held: set[str]):
        self.api = api
        self.dataset_id = dataset_id
        self.revision = revision
        self.project = project
        self.blobs = BlobStore(files_dir)
        self.held = held  # the dataset's paths at ``revision``
        self._warn = WarnOnce()

    def fetch(self, wanted: dict[str, str]) -> list[MediaFile]:
        """Make the files ``{digest: format}`` present here (those not here yet: downloaded, sha256 checked).

        Returns those that are here and in the dataset (a media file's ``MediaFile``); the others are warned about.
        """
        valid = {d: f for d, f in wanted.items() if isinstance(d, str) and SHA256.fullmatch(d) and _valid_format(f)}
        if len(valid) < len(wanted):
            self._warn(
                ("invalid", self.project),
                f"project {self.project!r} of {self.dataset_id}: {len(wanted) - len(valid)} media references are not "
                "a sha256 with a format (lowercase letters and digits): skipped",
            )
        paths = {digest: layout.media_file_path(self.project, digest, f) for digest, f in valid.items()}
        absent = sorted(d for d, path in paths.items() if path not in self.held)
        if absent:
            self._warn(
                ("absent", self.project),
                f"project {self.project!r} of {self.dataset_id}: {len(absent)} media files its rows name are not in "
                f"the dataset (e.g. {paths[absent[0]]}); those rows are imported without their files",
            )
        needed = [d for d, path in paths.items() if path in self.held and not self.blobs.has(d)]
        if needed:
            self._download(needed, paths)
        return [
            MediaFile(digest, valid[digest], self.blobs.path(digest).stat().st_size)
            for digest in sorted(valid)
            if paths[digest] in self.held and self.blobs.has(digest)
        ]

    def _download(self, digests: list[str], paths: dict[str, str]) -> None:
        # Into the blob store's tmp/ (same file system: each file is renamed into place once its hash is checked).
        folder = self.blobs.tmp / f"pull-{uuid.uuid4().hex}"
        folder.mkdir(parents=True, exist_ok=True)

        def download(digest: str) -> str | None:
            """Fetch one file into the blob store; what was wrong with its bytes, if anything."""
            local = self.api.hf_hub_download(
                self.dataset_id, paths[digest], repo_type="dataset", revision=self.revision, local_dir=folder
            )
            try:
                self.blobs.adopt_file(Path(local), digest)
            except ValueError as error:  # bytes that are not what their name says: never stored
                return str(error)
            return None

        try:
            with ThreadPoolExecutor(DOWNLOAD_THREADS, thread_name_prefix="trackio-pull") as pool:
                problems = [problem for problem in pool.map(download, digests) if problem is not None]
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if problems:  # warned here, on the caller's thread
            self._warn(
                ("corrupt", self.project),
                f"{self.dataset_id}: {len(problems)} media files of project {self.project!r} were not stored: "
                f"{problems[0]}",
            )


def _valid_format(value: object) -> bool:
    return isinstance(value, str) and _FORMAT.fullmatch(value) is not None
