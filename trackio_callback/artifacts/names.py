"""What an artifact name, an alias and a path inside an artifact may be (trackio's rules), checked once here.

Each check returns the value or raises ValueError naming it and what is accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..store.artifacts import VERSION_SPEC

NAME = re.compile(r"[A-Za-z0-9._-]+")
NAME_RULE = "letters, digits, '.', '_' and '-'"


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"artifact name {name!r} is not valid: use {NAME_RULE} (at least one)")
    return name


def check_type(kind: object) -> str:
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"artifact type must be a non-empty string such as 'model' or 'dataset', got {kind!r}")
    return kind


def check_aliases(aliases: object) -> list[str]:
    """The aliases as a list ([] for None); each a name that is not a version (``v3``)."""
    if aliases is None:
        return []
    if isinstance(aliases, str) or not isinstance(aliases, (list, tuple)):
        raise ValueError(f"aliases must be a list of strings, got {type(aliases).__name__}: {aliases!r}")
    for alias in aliases:
        if not isinstance(alias, str) or not NAME.fullmatch(alias):
            raise ValueError(f"alias {alias!r} is not valid: use {NAME_RULE}")
        if VERSION_SPEC.fullmatch(alias):
            raise ValueError(f"alias {alias!r} looks like a version (v<N>), which names versions only: choose another")
    return list(aliases)


def check_path(path: object) -> str:
    """A path inside an artifact: relative, '/'-separated, without empty, '.' or '..' parts, backslashes or NUL."""
    if not isinstance(path, str) or not path:
        raise ValueError(f"invalid path inside an artifact: {path!r} (must be a non-empty string)")
    if "\\" in path or "\x00" in path:
        raise ValueError(f"invalid path inside an artifact {path!r}: backslashes and NUL are not allowed")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise ValueError(f"invalid path inside an artifact {path!r}: it must be relative")
    if any(part in ("", ".", "..") for part in path.split("/")):
        raise ValueError(f"invalid path inside an artifact {path!r}: empty, '.' and '..' parts are not allowed")
    return path


def check_paths_compatible(paths: Iterable[str]) -> None:
    """No path twice, and none both a file and a folder (``a`` and ``a/b``)."""
    seen: set[str] = set()
    for path in paths:
        if path in seen:
            raise ValueError(f"the artifact has two files at {path!r}")
        seen.add(path)
    for path in seen:
        parts = path.split("/")
        for i in range(1, len(parts)):
            folder = "/".join(parts[:i])
            if folder in seen:
                raise ValueError(f"artifact path {path!r} needs {folder!r} to be a folder, but it is a file")
