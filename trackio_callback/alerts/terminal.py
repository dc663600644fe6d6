"""The line an alert prints to the terminal, in trackio's form: ``[TRACKIO WARN] title: text (step 12)``."""

from __future__ import annotations

from .levels import AlertLevel

_COLORS = {AlertLevel.INFO: "\033[94m", AlertLevel.WARN: "\033[93m", AlertLevel.ERROR: "\033[91m"}
_RESET = "\033[0m"


def terminal_line(level: AlertLevel, title: str, text: str | None, step: int | None, color: bool = False) -> str:
    """The alert as one line; ``color``: the tag in the level's ANSI color (for a terminal, not a log file)."""
    tag = f"[TRACKIO {level.value.upper()}]"
    if color:
        tag = f"{_COLORS[level]}{tag}{_RESET}"
    body = f"{title}: {text}" if text else title
    return f"{tag} {body}" + (f" (step {step})" if step is not None else "")
