"""The one module that knows how project files are named and found: ``<storage dir>/<project>.db``.

A project name is a file name, so what a project may be called is decided here too (`validate_project`).

SQLite keeps beside each file its ``-wal`` (and ``-shm``) companions in WAL mode; `last_written`
counts the WAL, which is where recent writes are until a checkpoint.

Example::

    project_path(Path("runs"), "demo")     # runs/demo.db
    projects(Path("runs"))                 # ["demo", ...], sorted
    latest_project(Path("runs"), ["a", "b"])  # the one written to last
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidNameError

DB_SUFFIX = ".db"
FILES_SUFFIX = ".files"
WAL_SUFFIX = "-wal"
MAX_PROJECT_LENGTH = 128
_PROJECT_PUNCTUATION = frozenset("-_. ")


def validate_project(project: object) -> str:
    """Return ``project`` if it can name a project file, else raise `InvalidNameError`.

    A project becomes ``<dir>/<project>.db``, so the name must be a single safe path component:
    1-128 characters, letters, digits, ``-``, ``_``, ``.`` and space, starting with a letter or digit,
    no ``..``.
    """
    if not isinstance(project, str):
        raise InvalidNameError(f"project must be a string, got {type(project).__name__}: {project!r}")
    rule = "1-128 characters: letters, digits, '-', '_', '.', ' '; starting with a letter or digit; no '..'"
    if (
        not 0 < len(project) <= MAX_PROJECT_LENGTH
        or not project[0].isalnum()
        or ".." in project
        or project != project.rstrip()
        or any(not (c.isalnum() or c in _PROJECT_PUNCTUATION) for c in project)
    ):
        raise InvalidNameError(f"invalid project name {project!r}: use {rule}")
    return project


def project_path(directory: Path, project: str) -> Path:
    """The SQLite file of ``project`` (a validated name: one path component) in ``directory``."""
    return directory / f"{project}{DB_SUFFIX}"


def project_files_dir(directory: Path, project: str) -> Path:
    """The folder of ``project``'s files beside its database (artifacts, saved files): ``<dir>/<project>.files``."""
    return directory / f"{project}{FILES_SUFFIX}"


def blob_path(files_dir: Path, digest: str) -> Path:
    """Where the blob store (`artifacts.blobs`) keeps the bytes of sha256 ``digest`` in a project's files folder."""
    return files_dir / "blobs" / "sha256" / digest[:2] / digest


def sync_lock_path(store_path: Path) -> Path:
    """The lock file of a store's Hub syncs: beside it, hidden, never taken for a project (``.<name>.db.sync-lock``)."""
    return store_path.with_name(f".{store_path.name}.sync-lock")


def projects(directory: Path) -> list[str]:
    """The projects with a file in ``directory``, sorted by name ([] when the directory does not exist)."""
    if not directory.is_dir():
        return []
    return sorted(p.name[: -len(DB_SUFFIX)] for p in directory.glob("*" + DB_SUFFIX))


def last_written(directory: Path, project: str) -> float:
    """When ``project`` was last written (its file's or its WAL's modification time; 0 when missing)."""
    path = project_path(directory, project)
    times = [p.stat().st_mtime for p in (path, path.with_name(path.name + WAL_SUFFIX)) if p.exists()]
    return max(times, default=0.0)


def latest_project(directory: Path, names: list[str]) -> str | None:
    """The project of ``names`` written to last, or None when ``names`` is empty."""
    return max(names, key=lambda name: last_written(directory, name), default=None)
