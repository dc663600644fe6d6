"""trackio-callback: experiment tracking for Hugging Face transformers and TRL training.

A drop-in for the ``trackio`` calls that training scripts make::

    import trackio_callback as trackio

    trackio.init(project="my-training", name="baseline-run", config={"learning_rate": 2e-5})
    trackio.log({"train/loss": 0.5})
    trackio.finish()

Importing this package loads only the standard library: torch, transformers, pyarrow,
huggingface_hub and the dashboard stack are imported where they are used.
"""

from __future__ import annotations

from .errors import (
    InvalidNameError,
    MetricNotFoundError,
    NotFoundError,
    ProjectNotFoundError,
    RunNotFoundError,
    TrackioError,
    TrackioWarning,
)
from .version import __version__ as __version__

# The public map: name -> the module that defines it, imported on first use (the core is light, but
# `trackio-callback --help` and the start-up hook need none of it; TrackioCallback imports transformers).
_LAZY = {
    "Config": ".core.config",
    "Run": ".core.run",
    "current_run": ".core.run",
    "finish": ".core.run",
    "init": ".core.run",
    "log": ".core.run",
    "Reader": ".store.reader",
    "Series": ".store.reader",
    "TrackioCallback": ".integrations.callback",
}

__all__ = [
    "Config",
    "InvalidNameError",
    "MetricNotFoundError",
    "NotFoundError",
    "ProjectNotFoundError",
    "Reader",
    "Run",
    "RunNotFoundError",
    "Series",
    "TrackioCallback",
    "TrackioError",
    "TrackioWarning",
    "current_run",
    "finish",
    "init",
    "log",
    "show",
]


def show(project: str | None = None, **kwargs):
    """Serve the dashboard locally (needs the ``dashboard`` extra); see `trackio_callback.server.show.show`.

    ``show(project=None, *, host="127.0.0.1", port=None, dataset_id=None, dir=None, open_browser=True,
    block=True, mcp_server=None)``; with ``block=False`` it returns the running `Dashboard` (``.url``,
    ``.close()``). ``mcp_server=True`` (or ``GRADIO_MCP_SERVER=True``) also serves the MCP tools at
    ``http://127.0.0.1:7860/gradio_api/mcp/``.
    """
    try:
        from .server.show import show as serve
    except ImportError as error:
        from .server import missing_extra

        raise missing_extra(error, "the dashboard") from None
    return serve(project, **kwargs)


def __getattr__(name: str):
    # `trackio_callback.config` is the current run's config, as `trackio.config` is.
    if name == "config":
        from .core.run import require_run

        return require_run("config").config
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip __getattr__
        return value
    raise AttributeError(f"module 'trackio_callback' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _register() -> None:
    """Register as "trackio" with transformers/accelerate/`import trackio` (see `integrations.registry`)."""
    try:
        import _trackio_callback_hook  # installed next to this package (a top-level module)
    except ImportError:
        return
    _trackio_callback_hook.install()


_register()
