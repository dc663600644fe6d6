"""Readable generated run names (``"brisk-falcon-7"``), for runs started without a name."""

from __future__ import annotations

import random

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


def generate_run_name(ordinal: int, rng: random.Random | None = None) -> str:
    """A readable name such as ``"brisk-falcon-7"``; ``ordinal`` keeps it unique within a project."""
    rng = rng or random.Random()
    return f"{rng.choice(_ADJECTIVES)}-{rng.choice(_NOUNS)}-{ordinal}"
