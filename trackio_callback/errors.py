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


class InvalidAnnotationError(TrackioError, ValueError):
    """Run tags or notes that cannot be stored (an empty tag, one with a comma, notes too long, ...); the message
    names the value and says what is accepted."""


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


class NoSuchProjectError(ProjectNotFoundError, ValueError):
    """trackio's `Api` was given a project without a file: a `ProjectNotFoundError`, and the ``ValueError``
    trackio raises there."""


class MetricNotFoundError(NotFoundError):
    pass


class NothingToWatchError(TrackioError, LookupError):
    """``watch`` was given no project or run and found none to follow; the message names what exists."""


# -- alerts ---------------------------------------------------------------------------------------


class AlertLevelError(TrackioError, ValueError):
    """An alert level that is not one of ``info``, ``warn``, ``error``."""


class DeadlineError(TrackioError, ValueError):
    """A deadline (``deadline=``, ``TRACKIO_DEADLINE``, ``SLURM_JOB_END_TIME``) that cannot be read; names it."""


class WebhookURLError(TrackioError, ValueError):
    """A webhook URL that cannot be POSTed to. The message never holds the URL: it is a secret."""


class WebhookDeliveryError(TrackioError):
    """A webhook kept failing (or answered a 4xx) until its message was given up. Names the host only."""


class ArtifactNotFoundError(NotFoundError, ValueError):
    """An artifact, version or alias that does not exist (a ``ValueError`` too, as trackio raises)."""


# -- the store --------------------------------------------------------------------------------------


class SchemaVersionError(TrackioError):
    """The database was written by a newer trackio-callback than the one reading it."""


class UnreadableProjectError(TrackioError):
    """A project file SQLite cannot open as a database (garbage bytes, a damaged header). Names the file."""


class StoreBusyError(TrackioError):
    """SQLite stayed locked by other writers for longer than the retry budget."""


class RunInUseError(TrackioError, RuntimeError):
    """A run has one writer at a time: another live process holds the run (its lease: host, pid, heartbeat)."""


class MediaValueError(TrackioError, ValueError):
    """A media value (`Image`, `Audio`, `Video`, `Object3D`, `Histogram`) built from something it cannot take."""


class FileTooLargeError(TrackioError, ValueError):
    """A file over ``TRACKIO_MAX_FILE_BYTES`` given to an artifact or ``save()``; names it, its size, the limit."""


# -- the Hub ----------------------------------------------------------------------------------------


class HubTokenError(TrackioError, ValueError):
    """HF_TOKEN is missing or the Hub rejects it."""


class PermanentSyncError(TrackioError):
    """The Hub refused in a way that retrying will not heal (bad token, no access, no repo)."""


class TransientSyncError(TrackioError):
    """The sync did not finish within its time budget; the next sync continues from the watermark."""


# -- importing other trackers' logs ----------------------------------------------------------------


class HubUnreachableError(TransientSyncError):
    """The Hub could not be asked (refused, timed out, 5xx after retries): resuming a run from it starts offline."""


class ImportSourceError(TrackioError, ValueError):
    """A CSV file or TensorBoard log directory that cannot be imported (no step column, no scalars, ...)."""


class MissingExtraError(TrackioError, ImportError):
    """A feature needs an optional extra that is not installed; the message says which and how to install it."""


# -- the dashboard server ---------------------------------------------------------------------------


class BadRequest(TrackioError):
    """A query parameter that is missing or malformed (the dashboard API answers 400)."""


# -- trackio's names --------------------------------------------------------------------------------


class UnsupportedFeatureError(TrackioError, NotImplementedError):
    """A trackio name that has no meaning here (a W&B placeholder, trackio's server internals).

    The message says so and names what to use instead. It is a ``NotImplementedError`` as trackio's
    placeholders raise, so code written for trackio catches it as it did.
    """


class UnknownNameError(TrackioError, AttributeError):
    """An attribute of the ``trackio`` module that trackio-callback does not provide, and why.

    An ``AttributeError`` too, so that ``hasattr(trackio, name)`` and ``getattr(trackio, name, default)``
    keep working for code that probes trackio's features.
    """
