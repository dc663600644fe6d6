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

from .core.run import Config, Run, current_run, finish, init, log
from .errors import (
    InvalidNameError,
    MetricNotFoundError,
    NotFoundError,
    ProjectNotFoundError,
    RunNotFoundError,
    TrackioError,
    TrackioWarning,
)
from .store.reader import Reader, Series

__version__ = "0.1.0"

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
        raise TrackioError(
            f"the dashboard needs the 'dashboard' extra ({error.name} is missing): "
            "pip install 'trackio-callback[dashboard]'"
        ) from None
    return serve(project, **kwargs)


def __getattr__(name: str):
    # `trackio_callback.config` is the current run's config, as `trackio.config` is.
    if name == "config":
        from .core.run import _require_run

        return _require_run("config").config
    if name == "TrackioCallback":  # imports transformers: only when asked for
        from .integrations.callback import TrackioCallback

        return TrackioCallback
    raise AttributeError(f"module 'trackio_callback' has no attribute {name!r}")


def _register() -> None:
    """Register as "trackio" with transformers/accelerate/`import trackio` (see `integration`)."""
    try:
        import _trackio_callback_hook  # installed next to this package (a top-level module)
    except ImportError:
        return
    _trackio_callback_hook.install()


_register()
