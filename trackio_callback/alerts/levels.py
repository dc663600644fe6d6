"""`AlertLevel` (trackio's three levels), their order, and `parse_level` for what users pass.

Example::

    parse_level("WARN") is AlertLevel.WARN          # True
    at_least(AlertLevel.INFO, AlertLevel.WARN)      # False: below the webhook's minimum
"""

from __future__ import annotations

from enum import Enum

from ..errors import AlertLevelError


class AlertLevel(str, Enum):
    """How serious an alert is (trackio's values: a level compares and serializes as its text)."""

    INFO = "info"
    WARN = "warn"
    ERROR = "error"


ORDER = {AlertLevel.INFO: 0, AlertLevel.WARN: 1, AlertLevel.ERROR: 2}
ACCEPTED = ", ".join(repr(level.value) for level in AlertLevel)


def parse_level(value: AlertLevel | str, name: str = "level") -> AlertLevel:
    """``value`` as an `AlertLevel`: an `AlertLevel` (also trackio's own), or its text in any case.

    Anything else raises `AlertLevelError` (a ValueError) naming ``name``, the value and the accepted ones.
    """
    if isinstance(value, AlertLevel):
        return value
    if isinstance(value, str):  # trackio's AlertLevel is a str Enum too: its text is the value
        try:
            return AlertLevel(str.lower(value).strip())
        except ValueError:
            pass
    raise AlertLevelError(f"{name}={value!r} is not an alert level; use one of {ACCEPTED} (or AlertLevel.INFO, ...)")


def at_least(level: AlertLevel, minimum: AlertLevel | None) -> bool:
    """Whether ``level`` reaches ``minimum`` (None: every level does)."""
    return minimum is None or ORDER[level] >= ORDER[minimum]
