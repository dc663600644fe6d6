"""A job's time limit: where it comes from, and what to do as it nears (pure: the caller passes clocks and text).

A deadline is an absolute time, in Unix seconds. `resolve` finds it from, in order:

1. ``TrackioCallback(deadline=...)``: a number of seconds after the callback was created, a `datetime`,
   or text (a number of seconds, or an ISO-8601 time);
2. ``TRACKIO_DEADLINE``: a number of seconds after this process started, or an ISO-8601 time;
3. ``SLURM_JOB_END_TIME``: the Unix time at which SLURM ends the job (``0``: no limit).

An ISO-8601 time without a zone (``2025-06-01T18:00``) is local time; ``Z`` or an offset
(``2025-06-01T16:00:00Z``, ``2025-06-01T18:00+02:00``) says which zone. Each bad value raises
`DeadlineError` naming where it came from and what is accepted.

`DeadlineWatch` then answers, once each, the two questions the callback asks at each step::

    watch = DeadlineWatch(deadline.at, save_before=600)
    if watch.will_miss(now=time.time(), eta=metrics["train/eta_seconds"]):
        ...  # alert: the run will not finish in time
    if watch.save_due(now=time.time()):
        ...  # force a checkpoint: 10 minutes are left
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import NamedTuple

from ..errors import DeadlineError

ARGUMENT = "deadline"
ENV_DEADLINE = "TRACKIO_DEADLINE"
ENV_SLURM_END = "SLURM_JOB_END_TIME"

_ACCEPTED = "a number of seconds > 0 (such as 3600) or an ISO-8601 time (such as 2025-06-01T18:00:00+02:00)"


class Deadline(NamedTuple):
    at: float  # Unix seconds
    source: str  # "deadline=" (the callback's argument), "TRACKIO_DEADLINE" or "SLURM_JOB_END_TIME"


def parse_deadline(value: float | int | str | datetime, *, start: float, name: str = ARGUMENT) -> float:
    """``value`` as Unix seconds: a number of seconds counts from ``start`` (Unix seconds); a `datetime` or
    ISO-8601 text is that time (local time when it has no zone). Anything else raises `DeadlineError` naming ``name``.
    """
    if isinstance(value, datetime):
        return value.timestamp()  # a naive datetime is local time, as datetime.timestamp() reads it
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise DeadlineError(f"{name}={value!r} is not a deadline; use {_ACCEPTED}, or a datetime")
    if isinstance(value, str):
        text = value.strip()
        seconds = _number(text)
        if seconds is None:
            try:
                return datetime.fromisoformat(text).timestamp()
            except ValueError:
                raise DeadlineError(f"{name}={value!r} is not understood; use {_ACCEPTED}") from None
    else:
        seconds = float(value)
    if not (math.isfinite(seconds) and seconds > 0):
        raise DeadlineError(f"{name}={value!r} is not a deadline; use {_ACCEPTED}")
    return start + seconds


def parse_unix_time(text: str, *, name: str = ENV_SLURM_END) -> float | None:
    """A scheduler's end time: Unix seconds as text; ``0`` means no limit (None). Anything else: `DeadlineError`."""
    seconds = _number(text.strip())
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        raise DeadlineError(f"{name}={text!r} is not understood; it should be a Unix time in seconds (0: no limit)")
    return seconds or None


def resolve(
    argument: float | int | str | datetime | None,
    env_deadline: str | None,
    env_slurm_end: str | None,
    *,
    created: float,
    process_start: float,
) -> Deadline | None:
    """The first deadline given: ``argument`` (seconds count from ``created``), ``env_deadline`` (the text of
    ``TRACKIO_DEADLINE``; seconds count from ``process_start``), ``env_slurm_end`` (``SLURM_JOB_END_TIME``).
    None when none is. A bad value raises `DeadlineError` even when an earlier source is given: a typo in the
    environment is said, not hidden.
    """
    found = []
    if argument is not None:
        found.append(Deadline(parse_deadline(argument, start=created, name=ARGUMENT), ARGUMENT + "="))
    if env_deadline is not None:
        found.append(Deadline(parse_deadline(env_deadline, start=process_start, name=ENV_DEADLINE), ENV_DEADLINE))
    if env_slurm_end is not None:
        at = parse_unix_time(env_slurm_end, name=ENV_SLURM_END)
        if at is not None:
            found.append(Deadline(at, ENV_SLURM_END))
    return found[0] if found else None


def check_lead_time(value: float | int | None, name: str = "save_before_deadline") -> float | None:
    """Seconds > 0 before the deadline (None: none). Anything else raises `DeadlineError` naming ``name``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise DeadlineError(f"{name}={value!r} is not a number of seconds > 0 (such as 600)")
    return float(value)


class DeadlineWatch:
    """Decides, once each, that the run will miss its deadline and that the checkpoint before it is due."""

    def __init__(self, deadline: float, save_before: float | None = None):
        self.deadline = float(deadline)
        self.save_before = save_before
        self._warned = False
        self._saved = False

    def remaining(self, now: float) -> float:
        """Seconds left at ``now`` (negative once the deadline has passed)."""
        return self.deadline - now

    def will_miss(self, now: float, eta: float | None) -> bool:
        """True the first time ``eta`` (seconds to the end of training) exceeds the time left; False after."""
        if self._warned or eta is None or not math.isfinite(eta) or eta <= self.remaining(now):
            return False
        self._warned = True
        return True

    def save_due(self, now: float) -> bool:
        """True the first time at most ``save_before`` seconds are left; False after, and without ``save_before``."""
        if self._saved or self.save_before is None or self.remaining(now) > self.save_before:
            return False
        self._saved = True
        return True


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None
