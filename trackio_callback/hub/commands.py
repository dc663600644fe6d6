"""``trackio-callback sync``: send whatever a Hub dataset lacks, for runs trained offline or cut off."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import HubTokenError
from ..store.reader import Reader
from .repo import find_token, resolve
from .uploader import SyncResult, Uploader


def sync(
    directory: str | os.PathLike | None = None,
    project: str | None = None,
    dataset_id: str | None = None,
    endpoint: str | None = None,
) -> dict[str, SyncResult]:
    """Sync every run (of ``project``, else of every project) to its dataset, or to ``dataset_id``.

    A run's dataset is the one it was started with (``init(space_id=..., dataset_id=...)``); runs
    that had none are synced only when ``dataset_id`` is given. A dataset that holds runs deleted from
    (or moved out of) the project is synced too, which deletes their files there.
    Returns ``{"<project> -> <dataset>": result}``.
    Without ``project``, a project file that does not open (`Reader.readable_projects`) is skipped.
    """
    token = find_token()
    if not token:
        raise HubTokenError("syncing needs a Hugging Face token with write access: set HF_TOKEN (or `hf auth login`)")
    if dataset_id is not None:
        dataset_id = resolve(None, dataset_id, endpoint).dataset_id  # "name" -> "<token owner>/name"
    reader = Reader(directory)
    results = {}
    try:
        projects = [project] if project is not None else reader.readable_projects()[0]
        for name in projects:
            path = Path(reader.store(name).path)
            targets: dict[str, list[dict]] = {}
            for run in reader.runs(name):
                target = dataset_id or run["settings"].get("dataset_id")
                if target:
                    targets.setdefault(target, []).append(run)
            for target in reader.store(name).removal_datasets():  # deleted or moved runs' files leave these
                if dataset_id in (None, target):
                    targets.setdefault(target, [])
            for target, runs in targets.items():
                private = all(run["settings"].get("private", True) is not False for run in runs)
                uids = [run["uid"] for run in runs]
                uploader = Uploader(path, name, target, token=token, private=private, endpoint=endpoint, run_uids=uids)
                results[f"{name} -> {target}"] = uploader.sync(compact_finished=True)
    finally:
        reader.close()
    return results
