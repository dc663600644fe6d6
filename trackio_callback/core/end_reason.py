"""Why a run ended: the end reason a run records with its final status (``runs.end_reason``, synced).

One dict per run, ``kind`` and ``message`` always, the rest by kind (all optional)::

    finished        a normal finish
    exception       an uncaught exception: "type", "message" ("ValueError: bad batch"), "traceback" (last lines)
    cuda_oom        CUDA out of memory (torch.OutOfMemoryError, or a RuntimeError saying so): as an exception,
                    plus "peak_memory_gb" / "total_memory_gb" (GiB, of the device) when torch could tell
    signal          SIGTERM (a scheduler's time limit or preemption) or SIGINT (Ctrl-C): "signal"
    health_stop     training stopped on a health alert: "alert" ("nan_loss", ...)
    deadline_stop   training stopped for the job's time limit
    heartbeat_lost  never stored: readers derive it for a run whose process died silently (SIGKILL)
                    (`store.runs.effective_end_reason`)

and ``step`` (the last step logged) and ``at`` (Unix seconds) which `Run.finish` adds. `describe` is the
short text shown by ``list runs``, the dashboard, the MCP tools and the webhook.

Example::

    >>> reason = from_signal(signal.SIGTERM, step=41)
    >>> describe(reason)
    'SIGTERM (preempted or timed out) at step 41'

Standard library only: torch is read from ``sys.modules`` (loaded by the training already), never imported.
"""

from __future__ import annotations

import re
import signal
import sys
import time
import traceback as traceback_module
from types import TracebackType
from typing import Any

from ..store.end_reasons import KINDS, describe, heartbeat_lost

__all__ = [
    "KINDS",
    "cuda_oom",
    "deadline_stop",
    "describe",
    "finished",
    "from_exception",
    "from_signal",
    "from_status",
    "health_stop",
    "heartbeat_lost",
    "is_cuda_oom",
    "make",
    "stamped",
]

MAX_MESSAGE_CHARS = 500  # a reason in a chat message or a table cell: the exception's first line, not a dump
TRACEBACK_LINES = 8  # the innermost frames: where it failed, not the whole stack
MAX_TRACEBACK_LINE_CHARS = 240
BYTES_PER_GB = 2**30  # GiB, as `telemetry.system` and torch.cuda's messages count them
SIGNAL_WORDS = {
    "SIGTERM": "preempted or timed out",  # what sends SIGTERM to a training job: its scheduler
    "SIGINT": "interrupted",
}
_CUDA_OOM_TEXT = "CUDA out of memory"
_GPU_INDEX = re.compile(r"GPU (\d+)")


def make(kind: str, message: str, **details: Any) -> dict[str, Any]:
    """An end reason of ``kind`` (one of `KINDS`) with ``message`` and ``details`` (JSON values).

    Raises ValueError naming a bad kind or message and what is accepted.
    """
    if kind not in KINDS:
        raise ValueError(f"end reason kind {kind!r} is not one of {', '.join(map(repr, KINDS))}")
    if not isinstance(message, str) or not message.strip():
        raise ValueError(f"an end reason's message must be a non-empty string, got {message!r}")
    return {"kind": kind, "message": _bounded(_one_line(message)), **details}


def finished(message: str = "finished") -> dict[str, Any]:
    return make("finished", message)


def health_stop(message: str, alert: str | None = None, **details: Any) -> dict[str, Any]:
    """Training stopped on a health alert (``alert``: its kind, e.g. ``"nan_loss"``)."""
    return make("health_stop", message, **({"alert": alert} if alert is not None else {}), **details)


def deadline_stop(message: str, **details: Any) -> dict[str, Any]:
    """Training stopped because the job's time limit was near."""
    return make("deadline_stop", message, **details)


def from_signal(signum: int, step: int | None = None) -> dict[str, Any]:
    """Ended by signal ``signum``: SIGTERM is a scheduler's time limit or preemption, SIGINT an interrupt."""
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    words = SIGNAL_WORDS.get(name)
    reason = make("signal", f"{name} ({words})" if words else name, signal=name)
    return _with_step(reason, step)


def from_exception(
    kind: type[BaseException], value: BaseException | None, tb: TracebackType | None, step: int | None = None
) -> dict[str, Any]:
    """Ended by an uncaught exception: its type, message and last traceback lines.

    A `KeyboardInterrupt` is SIGINT (Python's own SIGINT handler raises it); a CUDA out-of-memory error is
    ``cuda_oom``, with the device's peak memory against its total when torch can tell.
    """
    if issubclass(kind, KeyboardInterrupt):
        return from_signal(signal.SIGINT, step)
    text = _exception_text(value)
    lines = _traceback_lines(tb)
    if is_cuda_oom(kind, text):
        peak, total = _gpu_memory(text)
        return _with_step(cuda_oom(_type_name(kind), text, lines, peak, total), step)
    message = f"{kind.__name__}: {text}" if text else kind.__name__
    return _with_step(make("exception", message, type=_type_name(kind), traceback=lines), step)


def cuda_oom(
    type_name: str,
    text: str,
    traceback: list[str] | None = None,
    peak_bytes: int | None = None,
    total_bytes: int | None = None,
) -> dict[str, Any]:
    """A CUDA out-of-memory end; ``peak_bytes``/``total_bytes``: the device's peak allocation and its memory."""
    short = type_name.rpartition(".")[2]
    message = f"{short}: {text}" if text else short
    if _CUDA_OOM_TEXT.lower() not in message.lower():
        message = f"{_CUDA_OOM_TEXT}: {message}"
    details: dict[str, Any] = {"type": type_name, "traceback": list(traceback or [])}
    if peak_bytes is not None and total_bytes:
        details["peak_memory_gb"] = round(peak_bytes / BYTES_PER_GB, 3)
        details["total_memory_gb"] = round(total_bytes / BYTES_PER_GB, 3)
        usage = f" (peak {details['peak_memory_gb']:.2f} GiB of {details['total_memory_gb']:.2f} GiB)"
        message = _bounded(_one_line(message), MAX_MESSAGE_CHARS - len(usage)) + usage
    return make("cuda_oom", message, **details)


def from_status(status: str, reason: str | None = None) -> dict[str, Any]:
    """The reason of ``finish(status, reason=...)`` called with no structured reason.

    ``finished`` is a normal finish (``reason``: its message); any other status is an error ending: the
    exception being handled when there is one (``finish`` in an ``except`` block), else ``reason``.
    """
    if status == "finished":
        return finished(reason or "finished")
    if reason:
        return make("exception", reason)
    handled = sys.exc_info()
    if handled[0] is not None:
        return from_exception(*handled)
    return make("exception", f"ended as {status!r}")


def is_cuda_oom(kind: type[BaseException], text: str) -> bool:
    """torch's out-of-memory error (its class is in ``sys.modules``: torch raised it), or a RuntimeError saying so."""
    torch = sys.modules.get("torch")
    if torch is not None:
        classes = (
            getattr(torch, "OutOfMemoryError", None),
            getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None),
        )
        if any(isinstance(c, type) and issubclass(kind, c) for c in classes):
            return True
    return issubclass(kind, RuntimeError) and _CUDA_OOM_TEXT in text


def _gpu_memory(text: str) -> tuple[int | None, int | None]:
    """The peak memory allocated on the failing device and its total, when torch has CUDA initialized here."""
    torch = sys.modules.get("torch")
    try:
        cuda = torch.cuda  # type: ignore[union-attr]
        if not cuda.is_available() or not cuda.is_initialized():
            return None, None  # nothing was allocated by this process
        found = _GPU_INDEX.search(text)
        device = int(found.group(1)) if found else cuda.current_device()
        return int(cuda.max_memory_allocated(device)), int(cuda.get_device_properties(device).total_memory)
    except Exception:  # no torch, no CUDA, a device gone bad: the reason goes without the numbers
        return None, None


def _with_step(reason: dict[str, Any], step: int | None) -> dict[str, Any]:
    if step is not None:
        reason["step"] = step
    return reason


def stamped(reason: dict[str, Any], step: int | None, at: float | None = None) -> dict[str, Any]:
    """``reason`` with its ``step`` (unless set) and ``at`` (unless set; default now)."""
    result = dict(reason)
    if step is not None and "step" not in result:
        result["step"] = step
    result.setdefault("at", time.time() if at is None else at)
    return result


def _type_name(kind: type[BaseException]) -> str:
    module = getattr(kind, "__module__", "builtins")
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


def _exception_text(value: BaseException | None) -> str:
    try:
        text = str(value) if value is not None else ""
    except Exception:  # an exception whose __str__ fails: its type still says enough
        return ""
    return _bounded(_one_line(text))


def _traceback_lines(tb: TracebackType | None) -> list[str]:
    """The last `TRACEBACK_LINES` lines of the stack where it was raised (innermost last), each bounded."""
    if tb is None:
        return []
    try:
        lines = "".join(traceback_module.format_tb(tb)).splitlines()
    except Exception:  # formatting reads source files: never let that stop the run's end
        return []
    return [_bounded(line.rstrip(), MAX_TRACEBACK_LINE_CHARS) for line in lines[-TRACEBACK_LINES:]]


def _one_line(text: str) -> str:
    """The first non-empty line of ``text``."""
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return text.strip()


def _bounded(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)] + "…"
