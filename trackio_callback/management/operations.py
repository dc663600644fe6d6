"""Deleting, renaming, moving, tagging and annotating runs, and deleting projects, in a storage directory.

Each call opens the project files it needs, changes them through the store (``store.removal``) and
closes them. A run is named by its name in the project, or exactly by its uid. A run with a live
writer is refused (`RunInUseError`). A deleted or moved run's files leave each Hub dataset it was
synced to at that dataset's next sync; deleting a project removes only local files.

Example::

    delete_run("demo", "baseline")
    rename_run("demo", "trial-2", "lr-3e-4")
    move_run("demo", "lr-3e-4", "sweeps")      # the same run (uid, every value) in sweeps.db
    edit_run_tags("sweeps", "lr-3e-4", add=["best"], remove=["draft"])
    set_run_notes("sweeps", "lr-3e-4", "warmup 500 steps")
    delete_project("scratch")                  # scratch.db, its -wal/-shm, scratch.files/
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import settings
from ..core.names import validate_run_name
from ..errors import InvalidNameError, ProjectNotFoundError, RunNotFoundError
from ..store import RunRow, Store, files
from ..store.removal import check_free
from ..store.tags import clean_notes, clean_tags

YES = ("y", "yes")
SIDECARS = ("-wal", "-shm", "-journal")  # SQLite's companions of a project file (WAL, or the rollback journal)


def confirmed(answer: str | None) -> bool:
    """Whether a typed answer to a y/N question says yes (``y`` or ``yes``, any case); anything else is no."""
    return answer is not None and answer.strip().lower() in YES


def project_exists(project: str, directory: str | os.PathLike | None = None) -> bool:
    return files.project_path(settings.storage_dir(directory), files.validate_project(project)).exists()


@contextmanager
def open_project(project: str, directory: str | os.PathLike | None = None, create: bool = False) -> Iterator[Store]:
    """The store of ``project`` in ``directory``, closed afterwards; `ProjectNotFoundError` when it has no file
    (unless ``create``)."""
    folder = settings.storage_dir(directory)
    path = files.project_path(folder, files.validate_project(project))
    if not create and not path.exists():
        raise ProjectNotFoundError("project", project, files.projects(folder), f" in {folder}")
    store = Store(path, create=create)
    try:
        yield store
    finally:
        store.close()


def find_run(store: Store, project: str, run: str, uid: str | None = None) -> RunRow:
    """The run named ``run`` (or, given, of uid ``uid``) in ``store``; `RunNotFoundError` listing the names."""
    row = store.run_by_uid(uid) if uid is not None else store.run(run)
    if row is None:
        names = [r.name for r in store.runs()]
        raise RunNotFoundError("run", run if uid is None else f"{run} (uid {uid})", names, f" in project {project!r}")
    return row


def delete_run(project: str, run: str, *, directory: str | os.PathLike | None = None, uid: str | None = None) -> RunRow:
    """Delete ``run`` of ``project`` and all its data; its files leave each dataset it was synced to at the next sync.

    Returns the run's row as it was.
    """
    with open_project(project, directory) as store:
        return store.remove_run(find_run(store, project, run, uid).id, "deleted")


def rename_run(
    project: str, run: str, new_name: str, *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Rename ``run`` to ``new_name`` (a valid run name no other run of the project has); the runs file of each
    dataset it syncs to says so at the next sync. Returns the renamed row."""
    validate_run_name(new_name)
    with open_project(project, directory) as store:
        return store.rename_run(find_run(store, project, run, uid).id, new_name)


def move_run(
    project: str, run: str, new_project: str, *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Move ``run`` into ``new_project`` (created if missing): the same run, uid and every row; returns its row there.

    The copy is written there first, then the run deleted here: a move killed in between leaves the run
    in both projects, and running it again finishes it. Its files leave this project's folders of each
    dataset at the next sync; syncing the new project sends them under its name.
    """
    files.validate_project(new_project)
    if new_project == project:
        raise InvalidNameError(f"run {run!r} is in project {project!r} already: name another project to move it to")
    with open_project(project, directory) as source:
        row = find_run(source, project, run, uid)
        copy = source.export_run(row.id)
        with open_project(new_project, directory, create=True) as target:
            moved = target.import_run(copy)
        source.remove_run(row.id, "moved", moved_to=new_project, expected=copy)
        return moved


def set_run_tags(
    project: str, run: str, tags: list[str], *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Give ``run`` exactly ``tags`` (validated: `store.tags`; [] removes them all); returns its row.

    A live run may be tagged too; its runs file in each dataset says so at the next sync."""
    return edit_run_tags(project, run, tags=tags, directory=directory, uid=uid)


def add_run_tags(
    project: str, run: str, tags: list[str], *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Add ``tags`` to ``run``'s (those it has already stay where they are); returns its row."""
    return edit_run_tags(project, run, add=tags, directory=directory, uid=uid)


def remove_run_tags(
    project: str, run: str, tags: list[str], *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Take ``tags`` off ``run`` (a tag it does not have is no error); returns its row."""
    return edit_run_tags(project, run, remove=tags, directory=directory, uid=uid)


def edit_run_tags(
    project: str,
    run: str,
    *,
    tags: list[str] | None = None,
    add: list[str] = (),
    remove: list[str] = (),
    directory: str | os.PathLike | None = None,
    uid: str | None = None,
) -> RunRow:
    """Set ``run``'s tags to ``tags`` (None: keep them), then add ``add`` and take off ``remove``, in one
    transaction; `InvalidAnnotationError` names a tag that is not acceptable. Returns the run's row."""
    cleaned = None if tags is None else clean_tags(tags)
    add, remove = clean_tags(add), clean_tags(remove)  # checked before any file is opened
    with open_project(project, directory) as store:
        return store.annotate_run(find_run(store, project, run, uid).id, tags=cleaned, add=add, remove=remove)


def set_run_notes(
    project: str, run: str, notes: str, *, directory: str | os.PathLike | None = None, uid: str | None = None
) -> RunRow:
    """Set ``run``'s notes (a string of at most 20,000 characters; "" clears them); returns its row."""
    notes = clean_notes(notes)
    with open_project(project, directory) as store:
        return store.annotate_run(find_run(store, project, run, uid).id, notes=notes)


def delete_project(project: str, *, directory: str | os.PathLike | None = None) -> list[Path]:
    """Delete ``project``'s file, its SQLite companions, its files folder (``<project>.files``) and sync lock.

    Local only: a Hub dataset keeps what was synced (delete the runs first, and sync, to remove them there).
    Refused (`RunInUseError`) while one of its runs has a live writer. Returns the paths removed.
    """
    folder = settings.storage_dir(directory)
    with open_project(project, directory) as store:
        for row in store.runs():
            check_free(row, f"delete project {project!r} with")
        path = Path(store.path)
    removed = []
    for candidate in [path, *(path.with_name(path.name + suffix) for suffix in SIDECARS)]:
        if candidate.exists():
            candidate.unlink()
            removed.append(candidate)
    lock = files.sync_lock_path(path)
    if lock.exists():
        lock.unlink()
    assets = files.project_files_dir(folder, project)
    if assets.exists():
        shutil.rmtree(assets)
        removed.append(assets)
    return removed
