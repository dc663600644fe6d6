"""What ``save()`` does (trackio's call; `core.run.save`): keep files with a project, by path or glob.

Each matched file's bytes go to the project's blob store (`blobs`) and its path relative to the
working directory (its base name when it lies outside) is recorded (`store.artifacts.SavedFile`); a
copy is written at that path under ``<dir>/<project>.files/files/``, the folder returned, as trackio
returns its files folder. A run that syncs sends each saved file to its dataset, under
``files/<project>/<path>``, once per content.

Example::

    save_files("config.yaml", store=store, directory=Path("runs"), project="demo")  # ".../demo.files/files"
    save_files("checkpoints/**/*.pt", ...)                                          # every .pt below checkpoints/
"""

from __future__ import annotations

import glob
import os
import time
from pathlib import Path

from ..store import Store, files
from ..store.artifacts import SavedFile
from .blobs import BlobStore

FILES_FOLDER = "files"


def saved_files_dir(directory: Path, project: str) -> Path:
    """Where the copies of a project's saved files are: ``<dir>/<project>.files/files``."""
    return files.project_files_dir(directory, project) / FILES_FOLDER


def matching_files(pattern: str | os.PathLike, cwd: Path | None = None) -> list[Path]:
    """The files ``pattern`` names: one file, or a glob (``*``, ``?``, ``[...]``, ``**`` for any depth), sorted."""
    cwd = (cwd or Path.cwd()).resolve()
    path = Path(pattern)
    absolute = path if path.is_absolute() else cwd / path
    if absolute.is_file():
        return [absolute.resolve()]
    found = {Path(match).resolve() for match in glob.glob(str(absolute), recursive=True)}
    return sorted(match for match in found if match.is_file())


def save_files(
    pattern: str | os.PathLike,
    *,
    store: Store | None,
    directory: Path,
    project: str,
    run_uid: str | None = None,
    cwd: Path | None = None,
) -> str:
    """Keep the files ``pattern`` matches with ``project`` (in ``store``, else the project's file, opened here).

    ValueError naming the pattern when nothing matches. Returns the folder of the copies.
    """
    if not isinstance(pattern, (str, os.PathLike)):
        raise TypeError(f"save() takes a path or a glob pattern, got {type(pattern).__name__}: {pattern!r}")
    base = (cwd or Path.cwd()).resolve()
    matched = matching_files(pattern, base)
    if not matched:
        raise ValueError(f"save({str(pattern)!r}): no file matches (relative to {base}); use a file path or a glob")
    blobs = BlobStore(files.project_files_dir(directory, project))
    copies = saved_files_dir(directory, project)
    saved = []
    for path in matched:
        try:
            relative = path.relative_to(base).as_posix()
        except ValueError:  # outside the working directory: kept under its name, as trackio does
            relative = path.name
        digest, size = blobs.add_file(path)
        saved.append(SavedFile(relative, digest, size, run_uid, time.time()))
    own = store is None
    if own:
        store = Store(files.project_path(directory, project))
    try:
        store.record_saved_files(saved)
    finally:
        if own:
            store.close()
    for item in saved:
        blobs.copy_out(item.digest, copies / item.path)
    return str(copies)
