"""Validation of project and run names, and readable generated run names."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidNameError

MAX_PROJECT_LENGTH = 128
MAX_RUN_LENGTH = 256
MAX_KEY_LENGTH = 256
if TYPE_CHECKING:
    import random

_PROJECT_PUNCTUATION = frozenset("-_. ")

_ADJECTIVES = (
    "amber",
    "brisk",
    "calm",
    "dapper",
    "eager",
    "fuzzy",
    "gentle",
    "hardy",
    "icy",
    "jolly",
    "keen",
    "lively",
    "mellow",
    "nimble",
    "olive",
    "plucky",
    "quiet",
    "rapid",
    "sunny",
    "tidy",
    "upbeat",
    "vivid",
    "witty",
    "young",
    "zesty",
    "bold",
    "crisp",
    "dusty",
    "fresh",
    "golden",
    "lucky",
    "misty",
)
_NOUNS = (
    "badger",
    "comet",
    "dawn",
    "ember",
    "falcon",
    "glacier",
    "harbor",
    "island",
    "jaguar",
    "koala",
    "lagoon",
    "meadow",
    "nebula",
    "otter",
    "pine",
    "quartz",
    "river",
    "sparrow",
    "tundra",
    "valley",
    "walrus",
    "yak",
    "zephyr",
    "canyon",
    "delta",
    "fjord",
    "grove",
    "heron",
    "lynx",
    "maple",
    "orbit",
)


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


def validate_run_name(name: object) -> str:
    if not isinstance(name, str):
        raise InvalidNameError(f"run name must be a string, got {type(name).__name__}: {name!r}")
    if not 0 < len(name) <= MAX_RUN_LENGTH or not name.isprintable() or name != name.strip():
        raise InvalidNameError(
            f"invalid run name {name!r}: use 1-256 printable characters without leading/trailing spaces"
        )
    return name


def generate_run_name(ordinal: int, rng: random.Random | None = None) -> str:
    """A readable name such as ``"brisk-falcon-7"``; ``ordinal`` keeps it unique within a project."""
    import random

    rng = rng or random.Random()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{ordinal}"


SPACE_SDKS = ("static", "gradio", "docker")


def validate_space_sdk(sdk: object) -> str:
    """``space_sdk``: ``"static"`` (free: the page reads the dataset), ``"gradio"`` or ``"docker"`` (a server)."""
    if sdk not in SPACE_SDKS:
        raise ValueError(f"space_sdk must be one of {', '.join(map(repr, SPACE_SDKS))}, got {sdk!r}")
    return sdk  # type: ignore[return-value]
