"""The ``trackio`` module as trackio-callback provides it: what ``import trackio`` returns.

Loaded under the name ``trackio`` by the start-up hook (see `trackio_callback.integrations.registry`) when the
real ``trackio`` distribution is not installed, so that code written for trackio — TRL's GRPO/RLOO
completion tables and profiling, accelerate's tracker, user scripts — writes into trackio-callback's
current run (with the real trackio installed, ``import trackio`` is the real package and
`trackio_callback.integrations.real_trackio` routes its ``log`` instead):

    import trackio
    trackio.init(project="p", name="r")
    trackio.log({"completions": trackio.Table(dataframe=df)})
    trackio.finish()

Arguments of ``trackio.init`` that have no meaning here (``bucket_id``, ``embed``, ...) are ignored.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

from trackio_callback.core import run as _run
from trackio_callback.core.table import Image, Table
from trackio_callback.version import __version__

logger = logging.getLogger("trackio_callback.integrations.trackio_module")

__all__ = ["Image", "Table", "__version__", "context_vars", "current_run", "finish", "init", "log", "show"]

_INIT_PARAMETERS = (
    "project", "name", "group", "space_id", "dataset_id", "config", "resume", "sync_every", "space_sdk"
)  # fmt: skip


def init(project: str | None = None, name: str | None = None, *, private: bool | None = None, **kwargs: Any):
    """``trackio.init``: starts (or resumes) a trackio-callback run; unknown arguments are ignored."""
    ignored = sorted(k for k in kwargs if k not in _INIT_PARAMETERS)
    if ignored:
        logger.debug("trackio.init(): ignoring %s", ", ".join(ignored))
    chosen = {k: v for k, v in kwargs.items() if k in _INIT_PARAMETERS}
    return _run.init(project=project, name=name, private=True if private is None else private, **chosen)


def log(metrics: dict, step: int | None = None) -> None:
    """``trackio.log``: to the current run; without one, a warning instead of an error (never stops training)."""
    run = _run.current_run()
    if run is None:
        _run.warn_no_run("trackio.log()")
        return
    run.log(metrics, step)


def finish() -> None:
    _run.finish()


def current_run():
    return _run.current_run()


def show(project: str | None = None, **kwargs: Any):
    """``trackio.show``: the trackio-callback dashboard; trackio's styling arguments are ignored."""
    import trackio_callback

    known = ("host", "port", "dataset_id", "dir", "open_browser", "block", "mcp_server")
    return trackio_callback.show(project, **{k: v for k, v in kwargs.items() if k in known})


class _CurrentValue:
    """Stands in for trackio's context variables: ``.get()`` reads trackio-callback's current run."""

    def __init__(self, read):
        self._read = read

    def get(self, default: Any = None) -> Any:
        run = _run.current_run()
        return default if run is None else self._read(run)

    def set(self, value: Any) -> None:  # trackio code may set them; the current run is the source of truth
        pass


context_vars = SimpleNamespace(
    current_run=_CurrentValue(lambda run: run),
    current_project=_CurrentValue(lambda run: run.project),
    current_space_id=_CurrentValue(lambda run: run.space_id),
)


def __getattr__(name: str):
    if name == "config":  # trackio.config: the current run's config
        return _run.require_run("trackio.config").config
    raise AttributeError(f"trackio (provided by trackio-callback) has no attribute {name!r}")
