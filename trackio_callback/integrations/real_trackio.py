"""The real ``trackio`` package installed next to trackio-callback: its ``trackio.log`` while it has no run.

With the ``trackio`` distribution installed, ``import trackio`` is the real package (see
`trackio_callback.integrations.registry`), but ``report_to="trackio"`` is still trackio-callback's callback,
which opens a trackio-callback run, not a trackio one. TRL also calls ``trackio`` directly when "trackio" is
in ``report_to``: GRPO/RLOO's ``trackio.log({"completions": trackio.Table(dataframe=df)})``, its profiling
``trackio.log(metrics, step=...)``, async GRPO's ``trackio.log({"rollouts": [trackio.Trace(...)]}, step=...)``.
The real ``trackio.log`` raises without a trackio run, which would stop training. `route_top_level_log`
wraps that one function, deciding per call:

1. the real trackio has a run (the script called ``trackio.init`` itself): the real ``log``, as if
   trackio-callback were not installed;
2. else a trackio-callback run is current: the call goes to it, trackio's values converted into
   trackio-callback's (``Table``, with its cells' images; ``Trace`` and lists of them; ``Image``, ``Audio``,
   ``Video``, ``Object3D``, ``Histogram``, ``Markdown``), which it stores as its own;
3. else, if a call already went to trackio-callback in this process (a gap between its runs: ``train()``
   finished the run, ``evaluate()`` has not reopened it yet): dropped with trackio-callback's warning;
4. else: the real ``log``, which raises as it does without trackio-callback.

Nothing else of trackio changes: ``trackio.Table``, ``trackio.Image``, ``trackio.Trace`` stay trackio's
classes and ``trackio.context_vars`` trackio's own (so TRL's model-card link only sees a trackio run).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ..core import run as run_module
from ..core.table import Table
from ..media import Audio, Histogram, Image, Markdown, Object3D, Trace, Video

ROUTED_MARKER = "_routes_to_trackio_callback"  # on the wrapper: a second patch must not wrap it again

_routed_a_call = False  # a trackio.log call went to a trackio-callback run in this process


def route_top_level_log(trackio: ModuleType) -> None:
    """Replace the real ``trackio.log`` with one that writes to trackio-callback's run while trackio has none.

    Idempotent. ``trackio`` is the real package's module, handed over right after it was imported.
    """
    real_log = trackio.log
    if getattr(real_log, ROUTED_MARKER, False):
        return

    @functools.wraps(real_log)
    def log(metrics: dict, step: int | None = None) -> None:
        global _routed_a_call
        if not _trackio_has_run(trackio):
            run = run_module.current_run()
            if run is not None:
                _routed_a_call = True
                run.log(trackio_callback_values(metrics), step)  # never raises: the run warns instead
                return
            if _routed_a_call:
                run_module.warn_no_run("trackio.log()")
                return
        return real_log(metrics, step)

    setattr(log, ROUTED_MARKER, True)
    trackio.log = log


def _trackio_has_run(trackio: ModuleType) -> bool:
    try:
        return trackio.context_vars.current_run.get() is not None
    except Exception:  # a trackio whose run is kept elsewhere: its own log decides, as without trackio-callback
        return True


def trackio_callback_values(metrics: Any) -> Any:
    """``metrics`` with trackio's objects as trackio-callback's (see the module docstring); others as they are."""
    if not isinstance(metrics, Mapping):
        return metrics  # Run.log says what it takes
    return {key: _value(value) for key, value in metrics.items()}


def _trackio_type(value: Any) -> str | None:
    """trackio's tag of a trackio object (``"trackio.table"``, ``"trackio.image"``, ...), else None.

    By the class's ``TYPE`` tag, which trackio's logged objects carry, rather than by class: this module
    never imports trackio (it is handed over, and may be absent).
    """
    kind = getattr(type(value), "TYPE", None)
    return kind if isinstance(kind, str) and kind.startswith("trackio.") else None


def _value(value: Any) -> Any:
    try:
        kind = _trackio_type(value)
        if kind == "trackio.table":
            return _table(value)
        if kind is not None:
            return _converted(value, kind)
        if isinstance(value, list) and value and all(_trackio_type(item) is not None for item in value):
            return [_converted(item, _trackio_type(item)) for item in value]  # async GRPO's list of traces
    except Exception:  # e.g. a cell that refers to itself: the run drops the value with a warning naming its key
        pass
    return value


def _table(table: Any) -> Table:
    """trackio's ``Table`` keeps its rows as dicts (``.data``); columns in the order they first appear."""
    rows = list(getattr(table, "data", None) or [])
    columns = list(dict.fromkeys(key for row in rows for key in row))
    return Table(columns=columns, data=[[_cell(row.get(column)) for column in columns] for row in rows])


def _converted(value: Any, kind: str) -> Any:
    """A trackio object as trackio-callback's, from the attributes trackio 0.43 keeps (else as it is: the run warns)."""
    source, caption = getattr(value, "_value", None), getattr(value, "caption", None)
    if kind == "trackio.image":
        return Image(source, caption=caption)
    if kind == "trackio.audio":
        return Audio(source, caption=caption, sample_rate=value._sample_rate, format=value._format)
    if kind == "trackio.video":
        return Video(source, caption=caption, fps=value._fps, format=value._format)
    if kind == "trackio.object3d":
        return Object3D(source, caption=caption)
    if kind == "trackio.histogram":
        return Histogram(np_histogram=(value.histogram, value.bins))
    if kind == "trackio.markdown":
        return Markdown(value.text)
    if kind == "trackio.trace":
        return Trace(_cell(value.messages), metadata=_cell(value.metadata), spans=_cell(value.spans))
    return value


def _cell(value: Any) -> Any:
    """trackio's objects in a cell (or a trace) as trackio-callback's: media are stored as files."""
    kind = _trackio_type(value)
    if kind is not None:
        return _converted(value, kind)
    if isinstance(value, (list, tuple)):
        return [_cell(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _cell(item) for key, item in value.items()}
    return value
