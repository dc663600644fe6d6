"""Every exception and warning trackio-callback raises on purpose.

Each message names the bad value and what is accepted.

All errors derive from `TrackioError` (so ``except TrackioError`` catches any of them), and keep the
built-in base a caller would expect (``ValueError`` for a bad name or token, ``LookupError`` for a
missing run, ``TypeError`` for a value ``log()`` cannot store). Warnings are `TrackioWarning`.
"""

from __future__ import annotations


class TrackioError(Exception):
    """Base class of every error this package raises on purpose."""


class TrackioWarning(UserWarning):
    """Something logged was not recorded, or could not be written yet; training goes on."""


# -- names and values -------------------------------------------------------------------------------


class InvalidNameError(TrackioError, ValueError):
    """A project, run or metric name that cannot be used."""


class RejectedValue(TrackioError, TypeError):
    """A value ``log()`` cannot store as a number; the message says what it is."""


class NotFoundError(TrackioError, LookupError):
    """A project, run or metric that does not exist. The message lists the closest names."""

    def __init__(self, kind: str, name: str, available: list[str], where: str = ""):
        self.kind, self.name, self.available = kind, name, available
        import difflib  # only on the error path: keeps the CLI's start-up short

        close = difflib.get_close_matches(name, available, n=5, cutoff=0.5)
        shown = close or available[:10]
        hint = (
            ("did you mean: " if close else "available: ") + ", ".join(repr(a) for a in shown)
            if shown
            else (f"there are no {kind}s yet")
        )
        super().__init__(f"{kind} {name!r} not found{where}; {hint}")


class ProjectNotFoundError(NotFoundError):
    pass


class RunNotFoundError(NotFoundError):
    pass


class MetricNotFoundError(NotFoundError):
    pass


# -- the store --------------------------------------------------------------------------------------


class SchemaVersionError(TrackioError):
    """The database was written by a newer trackio-callback than the one reading it."""


class UnreadableProjectError(TrackioError):
    """A project file SQLite cannot open as a database (garbage bytes, a damaged header). Names the file."""


class StoreBusyError(TrackioError):
    """SQLite stayed locked by other writers for longer than the retry budget."""


class RunInUseError(TrackioError, RuntimeError):
    """A run has one writer at a time: another live process holds the run (its lease: host, pid, heartbeat)."""


# -- the Hub ----------------------------------------------------------------------------------------


class HubTokenError(TrackioError, ValueError):
    """HF_TOKEN is missing or the Hub rejects it."""


class PermanentSyncError(TrackioError):
    """The Hub refused in a way that retrying will not heal (bad token, no access, no repo)."""


class TransientSyncError(TrackioError):
    """The sync did not finish within its time budget; the next sync continues from the watermark."""


# -- the dashboard server ---------------------------------------------------------------------------


class BadRequest(TrackioError):
    """A query parameter that is missing or malformed (the dashboard API answers 400)."""
