"""A run's tags and notes: what is accepted, checked in one place for every writer (Python, CLI, MCP, the page).

A tag is a short label: a string, stripped of surrounding spaces, 1 to `MAX_TAG_CHARS` characters, without
control characters or commas (a comma separates tags on a command line and in a filter). A run holds at most
`MAX_TAGS`, each once, in the order first given. Notes are free text of at most `MAX_NOTES_CHARS` characters.
Anything else is an `InvalidAnnotationError` naming the value and what is accepted.

Example::

    clean_tags([" baseline", "lr-sweep", "baseline"])     # ('baseline', 'lr-sweep')
    merge_tags(("a", "b"), add=["c"], remove=["a"])        # ('b', 'c')
    clean_notes("tried a warmup of 500 steps")
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable

from ..errors import InvalidAnnotationError
from ..utils.jsontext import dumps

MAX_TAG_CHARS = 64
MAX_TAGS = 100
MAX_NOTES_CHARS = 20_000
TAG_RULE = f"a tag is a non-empty string of at most {MAX_TAG_CHARS} characters, without commas or control characters"


def clean_tag(tag: object) -> str:
    """``tag`` stripped; `InvalidAnnotationError` unless it is an acceptable tag."""
    if not isinstance(tag, str):
        raise InvalidAnnotationError(f"tag {tag!r} is a {type(tag).__name__}: {TAG_RULE}")
    stripped = tag.strip()
    if not stripped:
        raise InvalidAnnotationError(f"tag {tag!r} is empty: {TAG_RULE}")
    if len(stripped) > MAX_TAG_CHARS:
        raise InvalidAnnotationError(f"tag {stripped[:80]!r}... has {len(stripped)} characters: {TAG_RULE}")
    if "," in stripped:
        raise InvalidAnnotationError(f"tag {stripped!r} holds a comma: {TAG_RULE} (give several tags as a list)")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in stripped):
        raise InvalidAnnotationError(f"tag {stripped!r} holds a control character: {TAG_RULE}")
    return stripped


def clean_tags(tags: Iterable[object] | None) -> tuple[str, ...]:
    """The tags as stored: each `clean_tag`, duplicates dropped (first kept), at most `MAX_TAGS`."""
    if tags is None:
        return ()
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise InvalidAnnotationError(
            f'tags {tags!r} is a {type(tags).__name__}: give a list of strings, e.g. ["baseline", "lr-sweep"]'
        )
    cleaned = tuple(dict.fromkeys(clean_tag(tag) for tag in tags))
    if len(cleaned) > MAX_TAGS:
        raise InvalidAnnotationError(f"{len(cleaned)} distinct tags given: a run holds at most {MAX_TAGS}")
    return cleaned


def merge_tags(current: Iterable[str], add: Iterable[object] = (), remove: Iterable[object] = ()) -> tuple[str, ...]:
    """``current`` with ``add`` appended (those not there yet) and ``remove`` taken out, validated."""
    removed = set(clean_tags(remove))
    return clean_tags([t for t in (*current, *clean_tags(add)) if t not in removed])


def clean_notes(notes: object) -> str:
    """``notes`` as stored (None: ""); `InvalidAnnotationError` unless a string of at most `MAX_NOTES_CHARS`."""
    if notes is None:
        return ""
    if not isinstance(notes, str):
        raise InvalidAnnotationError(
            f"notes {notes!r} is a {type(notes).__name__}: notes are a string of at most {MAX_NOTES_CHARS} characters"
        )
    if len(notes) > MAX_NOTES_CHARS:
        raise InvalidAnnotationError(
            f"notes of {len(notes)} characters ({notes[:40]!r}...): notes hold at most {MAX_NOTES_CHARS} characters"
        )
    return notes


def tags_json(tags: Iterable[str]) -> str:
    """The ``runs.tags`` column's text of already-clean tags."""
    return dumps(list(tags))


def parse_tags(text: str | None) -> tuple[str, ...]:
    """Tags read from JSON text (the column, a runs file another store wrote): unreadable or missing text is no
    tags, and a tag that is not acceptable is left out (a dataset's file is input, never trusted)."""
    if not text:
        return ()
    try:
        value = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(value, list):
        return ()
    kept = []
    for tag in value:
        try:
            kept.append(clean_tag(tag))
        except InvalidAnnotationError:
            continue
    return tuple(dict.fromkeys(kept))[:MAX_TAGS]


def parse_notes(value: object) -> str:
    """Notes read from a runs file: text, at most `MAX_NOTES_CHARS` of it ("" when missing)."""
    return value[:MAX_NOTES_CHARS] if isinstance(value, str) else ""
