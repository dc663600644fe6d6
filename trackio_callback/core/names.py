"""What a run name, a metric key and a Space SDK may be (project names: `store.files.validate_project`)."""

from __future__ import annotations

from ..errors import InvalidNameError

MAX_RUN_LENGTH = 256
MAX_KEY_LENGTH = 256


def validate_run_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"run name must be a string, got {type(name).__name__}: {name!r}")
    if not 0 < len(name) <= MAX_RUN_LENGTH or not name.isprintable() or name != name.strip():
        raise InvalidNameError(
            f"invalid run name {name!r}: use 1-256 printable characters without leading/trailing spaces"
        )
    return name


SPACE_SDKS = ("static", "gradio", "docker")


def validate_space_sdk(sdk: object) -> str:
    """``space_sdk``: ``"static"`` (free: the page reads the dataset), ``"gradio"`` or ``"docker"`` (a server)."""
    if sdk not in SPACE_SDKS:
        raise ValueError(f"space_sdk must be one of {', '.join(map(repr, SPACE_SDKS))}, got {sdk!r}")
    return sdk  # type: ignore[return-value]
