"""Every environment variable trackio-callback reads, read here and nowhere else.

The start-up hook (``_trackio_callback_hook``) keeps only its own opt-out check,
``TRACKIO_CALLBACK_NO_HOOK``, since it runs before this package may be imported. Variables are
read when a value is asked for, not at import, so a variable set by the script before ``init()``
counts. An empty value counts as unset. Switches go through one parser, `_is_true`.

=============================  ===============================================================
variable                       what it sets
=============================  ===============================================================
TRACKIO_DIR                    the storage directory (else ``$HF_HOME/trackio-callback``)
TRACKIO_PROJECT                ``init()``'s project (else ``"huggingface"``)
TRACKIO_SPACE_ID               the dashboard Space a run syncs to
TRACKIO_DATASET_ID             the Hub dataset a run syncs to
HF_TOKEN                       the Hub token (else the one saved by ``hf auth login``)
TRACKIO_SYSTEM_METRICS         system sampling: seconds between samples, or off/on
TRACKIO_PEAK_FLOPS             one device's peak FLOP/s, for MFU (``"989 TFLOPS"``)
TRACKIO_DEADLINE               the job's time limit: seconds after the process started, or an ISO-8601 time
SLURM_JOB_END_TIME             SLURM's end time of the job (Unix seconds): the time limit when no other is given
TRACKIO_SQLITE_JOURNAL         force SQLite's journal mode (``wal`` or ``delete``)
TRACKIO_MAX_BUFFERED_CALLS     calls held in memory while the disk cannot be written
TRACKIO_MAX_FILE_BYTES         the largest file an artifact or ``save()`` takes (else 50 GB)
TRACKIO_MAX_TEXT_CHARS         the longest string ``log()`` stores whole (longer ones are cut)
TRACKIO_WEBHOOK_URL            where alerts are POSTed (Slack, Discord or JSON; a secret, never stored)
TRACKIO_WEBHOOK_MIN_LEVEL      the lowest alert level sent to the webhook (``info``, ``warn``, ``error``)
TRACKIO_NO_BROWSER             ``show()`` opens no browser
GRADIO_MCP_SERVER              ``show()`` also serves the MCP tools
FORCE_COLOR, NO_COLOR          the terminal commands' colour: forced (even into a pipe), or none
TRACKIO_CALLBACK_CRASH_AT      tests only: exit at this crash point of the sync (`utils.crashpoints`)
LOCAL_RANK, WORLD_SIZE, ...    the launcher's view of the job (torchrun, accelerate, SLURM)
CUDA_VISIBLE_DEVICES           which GPUs this process sees
=============================  ===============================================================
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import NamedTuple

DEFAULT_PROJECT = "huggingface"  # transformers' TrainingArguments.project default
DEFAULT_SYSTEM_INTERVAL_S = 10.0
SYSTEM_METRICS = "TRACKIO_SYSTEM_METRICS"
MAX_FILE_BYTES = 50 * 10**9  # the Hub's limit for one file
MEDIA_BUFFER_BYTES = 2**29  # snapshots of media waiting to be encoded (a flood of large images is thinned past it)
MAX_BUFFERED_CALLS = 200_000  # ~1 kB each with 10 keys: ~200 MB while SQLite cannot be written
MAX_TEXT_CHARS = 100_000  # a logged string past this is cut (~25k tokens): a text per step stays MBs, not GBs
JOURNAL_MODES = ("wal", "delete")

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _is_true(value: str | None) -> bool:
    """The one reading of a switch: ``1``, ``true``, ``yes``, ``on`` (any case, spaces ignored)."""
    return value is not None and value.strip().lower() in _TRUE


def _get(variable: str) -> str | None:
    """The variable's value; None when unset or empty."""
    value = os.environ.get(variable)
    return value if value else None


def _int(variable: str) -> int | None:
    try:
        return int(os.environ[variable])
    except (KeyError, ValueError):
        return None


# -- where data lives -------------------------------------------------------------------------------


def default_storage_dir() -> Path:
    """``$TRACKIO_DIR``, else ``trackio-callback/`` in the Hugging Face cache (``$HF_HOME``)."""
    if _get("TRACKIO_DIR"):
        return Path(os.environ["TRACKIO_DIR"]).expanduser()
    if _get("HF_HOME"):
        hf_home = Path(os.environ["HF_HOME"]).expanduser()
    else:
        cache = _get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
        hf_home = Path(cache).expanduser() / "huggingface"
    return hf_home / "trackio-callback"


def storage_dir(directory: str | os.PathLike | None = None) -> Path:
    """``directory``, else `default_storage_dir`; a value that is not a path is a TypeError naming it."""
    if directory is None:
        return default_storage_dir()
    if not isinstance(directory, (str, os.PathLike)):
        raise TypeError(
            f"dir must be a path (str or os.PathLike) or None, got {type(directory).__name__}: {directory!r}"
        )
    return Path(directory).expanduser()


# -- a run's defaults -------------------------------------------------------------------------------


def project(value: str | None = None) -> str:
    """``value`` if given, else ``$TRACKIO_PROJECT``, else `DEFAULT_PROJECT`."""
    return value if value is not None else _get("TRACKIO_PROJECT") or DEFAULT_PROJECT


def env_project() -> str | None:
    return _get("TRACKIO_PROJECT")


def space_id(value: str | None = None) -> str | None:
    """``value`` if given, else ``$TRACKIO_SPACE_ID``."""
    return value if value is not None else _get("TRACKIO_SPACE_ID")


def dataset_id(value: str | None = None) -> str | None:
    """``value`` if given, else ``$TRACKIO_DATASET_ID``."""
    return value if value is not None else _get("TRACKIO_DATASET_ID")


def hf_token() -> str | None:
    """``$HF_TOKEN`` (the token saved by ``hf auth login`` is `hub.repo.find_token`'s fallback)."""
    return _get("HF_TOKEN")


def hostname() -> str:
    """This machine's name, as stored with a run (used to tell whether its process is still alive)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket  # Windows

    return socket.gethostname()


# -- telemetry --------------------------------------------------------------------------------------


def system_metrics_interval(default: float = DEFAULT_SYSTEM_INTERVAL_S) -> float | None:
    """The sampling interval ``$TRACKIO_SYSTEM_METRICS`` asks for: None when it switches sampling off.

    Unset or empty: ``default``. ``0``, ``false``, ``off``, ``no``: None (off). ``true``, ``on``,
    ``yes``: ``default``. A number of seconds > 0 (``30``, ``2.5``): that interval. Anything else
    raises ValueError naming the value.
    """
    raw = os.environ.get(SYSTEM_METRICS)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _FALSE:
        return None
    if _is_true(value) and value != "1":  # "1" is a number: one second
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if seconds == 0:
        return None
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"{SYSTEM_METRICS}={raw!r} is not understood: use 0/false/off/no to switch system metrics off, "
            "true/on/yes for the default interval, or a number of seconds > 0 such as 10"
        )
    return seconds


def peak_flops_text() -> str | None:
    """``$TRACKIO_PEAK_FLOPS``: one device's peak FLOP/s as text (parsed by `telemetry.flops.parse_flops`)."""
    return _get("TRACKIO_PEAK_FLOPS")


def deadline_text() -> str | None:
    """``$TRACKIO_DEADLINE`` as text (parsed, and a bad value named, by `telemetry.deadline.resolve`)."""
    return _get("TRACKIO_DEADLINE")


def slurm_job_end_time() -> str | None:
    """``$SLURM_JOB_END_TIME``, the Unix time SLURM ends the job at, as text (parsed by `telemetry.deadline`)."""
    return _get("SLURM_JOB_END_TIME")


def cuda_visible_devices() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")


class Launcher(NamedTuple):
    """What the job launcher (torchrun, accelerate, deepspeed, SLURM) says about this process."""

    local_rank: str | None  # LOCAL_RANK, else SLURM_LOCALID (as text: a bad value is judged by the caller)
    world_size: int | None  # WORLD_SIZE
    local_world_size: int | None  # LOCAL_WORLD_SIZE
    nodes: int | None  # SLURM_NNODES, else SLURM_JOB_NUM_NODES
    node_rank: int | None  # GROUP_RANK (torchrun), NODE_RANK (accelerate, Lightning), SLURM_NODEID
    job_id: str | None  # TORCHELASTIC_RUN_ID, else SLURM_JOB_ID


def launcher() -> Launcher:
    local_rank = next(
        (raw for raw in (os.environ.get(v) for v in ("LOCAL_RANK", "SLURM_LOCALID")) if raw and raw.strip()), None
    )
    nodes = _int("SLURM_NNODES")
    node_rank = next(
        (r for r in (_int(v) for v in ("GROUP_RANK", "NODE_RANK", "SLURM_NODEID")) if r is not None and r >= 0), None
    )
    return Launcher(
        local_rank=local_rank,
        world_size=_int("WORLD_SIZE"),
        local_world_size=_int("LOCAL_WORLD_SIZE"),
        nodes=nodes if nodes is not None else _int("SLURM_JOB_NUM_NODES"),
        node_rank=node_rank,
        job_id=_get("TORCHELASTIC_RUN_ID") or _get("SLURM_JOB_ID"),
    )


# -- alerts -----------------------------------------------------------------------------------------


def webhook_url() -> str | None:
    """``$TRACKIO_WEBHOOK_URL``: the webhook a run's alerts go to (a secret: never stored, logged or synced)."""
    return _get("TRACKIO_WEBHOOK_URL")


def webhook_min_level() -> str | None:
    """``$TRACKIO_WEBHOOK_MIN_LEVEL``: the lowest level sent to the webhook, as text (parsed by `alerts.levels`)."""
    return _get("TRACKIO_WEBHOOK_MIN_LEVEL")


# -- storage ----------------------------------------------------------------------------------------


def sqlite_journal() -> str | None:
    """``$TRACKIO_SQLITE_JOURNAL``: a forced journal mode, or None to choose by filesystem."""
    forced = os.environ.get("TRACKIO_SQLITE_JOURNAL", "").strip().lower()
    if forced and forced not in JOURNAL_MODES:
        raise ValueError(f"TRACKIO_SQLITE_JOURNAL={forced!r} is not one of {', '.join(JOURNAL_MODES)}")
    return forced or None


def max_buffered_calls() -> int:
    """``$TRACKIO_MAX_BUFFERED_CALLS``, else `MAX_BUFFERED_CALLS`."""
    raw = _get("TRACKIO_MAX_BUFFERED_CALLS")
    if raw is None:
        return MAX_BUFFERED_CALLS
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"TRACKIO_MAX_BUFFERED_CALLS={raw!r} is not an integer number of calls") from None


def max_text_chars() -> int:
    """``$TRACKIO_MAX_TEXT_CHARS`` (a positive number of characters), else `MAX_TEXT_CHARS`."""
    return _positive_int("TRACKIO_MAX_TEXT_CHARS", MAX_TEXT_CHARS, "characters")


def max_file_bytes() -> int:
    """``$TRACKIO_MAX_FILE_BYTES``, else `MAX_FILE_BYTES`: the largest file an artifact or ``save()`` takes."""
    return _positive_int("TRACKIO_MAX_FILE_BYTES", MAX_FILE_BYTES, "bytes")


def media_buffer_bytes() -> int:
    """``$TRACKIO_MEDIA_BUFFER_BYTES``, else `MEDIA_BUFFER_BYTES`: memory media may hold while waiting to be encoded."""
    return _positive_int("TRACKIO_MEDIA_BUFFER_BYTES", MEDIA_BUFFER_BYTES, "bytes")


def _positive_int(name: str, default: int, unit: str) -> int:
    raw = _get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}={raw!r} is not a positive integer number of {unit}")
    return value


# -- the dashboard ----------------------------------------------------------------------------------


def mcp_server_requested() -> bool:
    """``$GRADIO_MCP_SERVER`` is true: ``show()`` serves the MCP tools too (trackio's switch)."""
    return _is_true(os.environ.get("GRADIO_MCP_SERVER"))


def no_browser() -> bool:
    """``$TRACKIO_NO_BROWSER`` is true: ``show()`` opens no browser (servers, Spaces, tests)."""
    return _is_true(os.environ.get("TRACKIO_NO_BROWSER"))


# -- the terminal -----------------------------------------------------------------------------------


def force_color() -> bool:
    """``$FORCE_COLOR`` is set and not empty (nor ``0``): the terminal commands colour even into a pipe."""
    value = _get("FORCE_COLOR")
    return value is not None and value.strip() not in ("0", "false")


def no_color() -> bool:
    """``$NO_COLOR`` is set and not empty: no colour in a terminal either (https://no-color.org)."""
    return _get("NO_COLOR") is not None


# -- tests ------------------------------------------------------------------------------------------


def crash_at() -> str | None:
    """``$TRACKIO_CALLBACK_CRASH_AT``: the crash point (`utils.crashpoints`) at which a test kills the process."""
    return _get("TRACKIO_CALLBACK_CRASH_AT")
