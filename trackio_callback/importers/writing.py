"""The runs an import writes: ordinary `Run`s, so the store, the Hub sync and every reader see them as logged.

An import first parses its whole source (a bad file fails before anything is written), then checks that
none of its run names is taken, then opens each run, logs the calls with their own steps and wall times
(`Run._log_at`), and finishes it, which syncs it a last time when a ``space_id`` / ``dataset_id`` was given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..core.names import validate_run_name
from ..core.run import Run
from ..errors import ImportSourceError, ProjectNotFoundError
from ..store.files import validate_project
from ..store.reader import Reader

SYNC_EVERY_S = 300  # init()'s default: the final sync at finish() sends what the import wrote
FLUSH_EVERY_CALLS = 100_000  # a large file is committed as it goes, not held in memory whole


class Call(NamedTuple):
    """One imported row: what one ``log()`` call would have recorded."""

    step: int
    timestamp: float  # Unix seconds
    values: dict[str, float]


class Destination(NamedTuple):
    """Where an import writes: the project, the storage directory, and the Hub sync, if any."""

    project: str
    directory: str | os.PathLike | None
    space_id: str | None
    dataset_id: str | None
    private: bool
    target: Any  # hub.repo.SyncTarget once resolved; None for a local import


def destination(
    project: str,
    space_id: str | None,
    dataset_id: str | None,
    private: bool | None,
    force: bool,
    directory: str | os.PathLike | None,
) -> Destination:
    """Check an import's arguments (before its source is read); the Hub is contacted later, by `resolve_sync`."""
    validate_project(project)
    for label, value in (("space_id", space_id), ("dataset_id", dataset_id)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{label} must be a string like 'username/trackio' or None, got {value!r}")
    if private is not None and not isinstance(private, bool):
        raise TypeError(f"private must be True, False or None, got {private!r}")
    if not isinstance(force, bool):
        raise TypeError(f"force must be True or False, got {force!r}")
    # force: trackio overwrites the Space's database with it; here the sync sends each row exactly once, so
    # there is nothing to overwrite and it has no effect.
    return Destination(project, directory, space_id, dataset_id, True if private is None else private, None)


def check_new_runs(where: Destination, names: Iterable[str]) -> None:
    """Raise `ImportSourceError` when a run the import would create already exists: an import never merges."""
    names = [validate_run_name(name) for name in names]
    try:
        with Reader(where.directory) as reader:
            existing = {run["name"] for run in reader.runs(where.project)}
    except ProjectNotFoundError:
        return
    taken = [name for name in names if name in existing]
    if taken:
        raise ImportSourceError(
            f"project {where.project!r} already has a run named {', '.join(map(repr, taken))}: an import "
            "creates new runs and never adds to existing ones; pass another name= or project="
        )


def resolve_sync(where: Destination) -> Destination:
    """The destination with its Hub target resolved (token checked), as ``init`` does; unchanged when local."""
    if where.space_id is None and where.dataset_id is None:
        return where
    from ..hub import repo

    target = repo.resolve(where.space_id, where.dataset_id)  # a missing or rejected HF_TOKEN stops here
    return where._replace(space_id=target.space_id, dataset_id=target.dataset_id, target=target)


def write_run(where: Destination, name: str, calls: Iterable[Call]) -> str:
    """Create the run ``name`` holding ``calls`` in their order, finish it (syncing it), return its name."""
    run = Run(
        where.project,
        name=name,
        directory=where.directory,
        run_settings={
            "space_id": where.space_id,
            "space_sdk": "static" if where.space_id is not None else None,
            "dataset_id": where.dataset_id,
            "private": where.private,
            "sync_every": SYNC_EVERY_S,
        },
    )
    try:
        target = where.target
        if target is not None:
            space = (target.space_id, "static") if target.space_id is not None else None
            run.start_sync(target.dataset_id, target.token, private=where.private, interval=SYNC_EVERY_S, space=space)
        for count, call in enumerate(calls, 1):
            run._log_at(call.values, call.step, call.timestamp)
            if count % FLUSH_EVERY_CALLS == 0:
                run.flush()
        run.flush()
    except BaseException:
        run.finish(status="crashed")
        raise
    run.finish()
    return run.name
