"""Where data lives and which environment variables configure a run."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_PROJECT = "huggingface"  # transformers' TrainingArguments.project default
DB_SUFFIX = ".db"


def default_storage_dir() -> Path:
    """``$TRACKIO_DIR``, else ``trackio-callback/`` in the Hugging Face cache (``$HF_HOME``)."""
    if os.environ.get("TRACKIO_DIR"):
        return Path(os.environ["TRACKIO_DIR"]).expanduser()
    if os.environ.get("HF_HOME"):
        hf_home = Path(os.environ["HF_HOME"]).expanduser()
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        hf_home = Path(cache).expanduser() / "huggingface"
    return hf_home / "trackio-callback"


def storage_dir(directory: str | os.PathLike | None = None) -> Path:
    if directory is None:
        return default_storage_dir()
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(
            f"dir must be a path (str or os.PathLike) or None, got {type(directory).__name__}: {directory!r}"
        )
    return Path(directory).expanduser()


def project_path(directory: Path, project: str) -> Path:
    return directory / f"{project}{DB_SUFFIX}"


def env_default(value, variable: str, default=None):
    """``value`` if given, else the environment variable (empty counts as unset), else ``default``."""
    if value is not None:
        return value
    return os.environ.get(variable) or default


def hostname() -> str:
    """This machine's name, as stored with a run (used to tell whether its process is still alive)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows

    return socket.gethostname()
