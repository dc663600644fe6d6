"""The ``runs.end_reason`` column: its kinds, the reason a reader derives for a killed run, and its text.

A run's end reason is a JSON object (NULL while the run runs)::

    {"kind": "signal", "message": "SIGTERM (preempted or timed out)", "signal": "SIGTERM", "step": 41,
     "at": 1735689600.0}

``kind`` and ``message`` (one line a person reads) are always there; the other fields depend on the kind
(`core.end_reason` builds them as a run ends). This module holds what readers need, below the core: the
kinds, `heartbeat_lost` (a ``running`` run whose process is gone never wrote a reason: readers derive this
one, see `runs.effective_end_reason`) and `describe`, the short text the CLI, the dashboard, the MCP tools
and the webhook show.

Example::

    >>> describe({"kind": "exception", "message": "ValueError: bad batch", "step": 12})
    'ValueError: bad batch at step 12'
    >>> describe(None)
    ''
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

KINDS = ("finished", "exception", "cuda_oom", "signal", "health_stop", "deadline_stop", "heartbeat_lost")


def heartbeat_lost(last_heartbeat: float, last_step: int | None) -> dict[str, Any]:
    """The reason of a run whose process ended without a word (SIGKILL, the host's OOM killer, a lost machine)."""
    heard = datetime.fromtimestamp(last_heartbeat, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    reason: dict[str, Any] = {
        "kind": "heartbeat_lost",
        "message": f"heartbeat lost: the process was killed or its machine lost (last heard {heard})",
        "last_heartbeat": last_heartbeat,
        "at": last_heartbeat,
    }
    if last_step is not None:
        reason["step"] = last_step
    return reason


def describe(end_reason: object, with_step: bool = True) -> str:
    """The short text of an end reason: its message, and ``at step N`` when it has a step ("" for None).

    Anything else stored there (a reason written by another version, a hand-edited file) still gets a text.
    """
    if end_reason is None:
        return ""
    if not isinstance(end_reason, dict):
        return str(end_reason)
    text = end_reason.get("message") or end_reason.get("kind") or "unknown"
    text = str(text)
    step = end_reason.get("step")
    if with_step and isinstance(step, int) and not isinstance(step, bool):
        text += f" at step {step}"
    return text
