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

import os
from pathlib import Path
from typing import Any

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
# It is trackio 0.43's whole API (`compat.trackio_names.TRACKIO_ALL`) plus this package's own names;
# the `trackio` module the start-up hook provides re-exports it (`integrations.trackio_module`).
_LAZY = {
    # runs and logging
    "Run": ".core.run",
    "init": ".core.run",
    "log": ".core.run",
    "log_system": ".core.shortcuts",
    "finish": ".core.run",
    "current_run": ".core.run",
    "alert": ".core.shortcuts",
    "AlertLevel": ".alerts.levels",
    "Config": ".core.config",
    "context_vars": ".core.context_vars",
    # system metrics by hand
    "log_gpu": ".integrations.manual_system",
    "log_cpu": ".integrations.manual_system",
    "gpu_available": ".telemetry.manual",
    "cpu_available": ".telemetry.manual",
    "apple_gpu_available": ".telemetry.manual",
    # values other than numbers
    "Table": ".core.table",
    "Image": ".media",
    "Audio": ".media",
    "Video": ".media",
    "Html": ".media",
    "Object3D": ".media",
    "Histogram": ".media",
    "Markdown": ".media",
    "Trace": ".media",
    # files and artifacts
    "save": ".core.shortcuts",
    "Artifact": ".artifacts.artifact",
    "log_artifact": ".core.shortcuts",
    "use_artifact": ".core.shortcuts",
    "ReferenceHandler": ".artifacts.references",
    "ResolvedReference": ".artifacts.references",
    "register_reference_handler": ".artifacts.references",
    # run management, imports, the Hub
    "Api": ".management.api",
    "delete_project": ".management.api",
    "import_csv": ".importers.csv_file",
    "import_tf_events": ".importers.tf_events",
    "sync": ".core.shortcuts",
    "freeze": ".core.shortcuts",
    # trackio's W&B placeholders: constructing one raises UnsupportedFeatureError naming the alternative
    "ArtifactTTL": ".compat.placeholders",
    "Classes": ".compat.placeholders",
    "EvalTable": ".compat.placeholders",
    "Graph": ".compat.placeholders",
    "JoinedTable": ".compat.placeholders",
    "Molecule": ".compat.placeholders",
    "Plotly": ".compat.placeholders",
    "Settings": ".compat.placeholders",
    # reading
    "Reader": ".store.reader",
    "Series": ".store.reader",
    "TrackioCallback": ".integrations.callback",
}

__all__ = [  # trackio's __all__ (compat.trackio_names.TRACKIO_ALL), this package's own names, the errors
    "AlertLevel",
    "Api",
    "Artifact",
    "ArtifactTTL",
    "Audio",
    "Classes",
    "Config",
    "EvalTable",
    "Graph",
    "Histogram",
    "Html",
    "Image",
    "InvalidNameError",
    "JoinedTable",
    "Markdown",
    "MetricNotFoundError",
    "Molecule",
    "NotFoundError",
    "Object3D",
    "Plotly",
    "ProjectNotFoundError",
    "Reader",
    "ReferenceHandler",
    "ResolvedReference",
    "Run",
    "RunNotFoundError",
    "Series",
    "Settings",
    "TRACKIO_LOGO_DIR",
    "Table",
    "Trace",
    "TrackioCallback",
    "TrackioError",
    "TrackioWarning",
    "Video",
    "alert",
    "apple_gpu_available",
    "context_vars",
    "cpu_available",
    "current_run",
    "delete_project",
    "finish",
    "freeze",
    "gpu_available",
    "import_csv",
    "import_tf_events",
    "init",
    "log",
    "log_artifact",
    "log_cpu",
    "log_gpu",
    "log_system",
    "register_reference_handler",
    "save",
    "show",
    "sync",
    "use_artifact",
]

TRACKIO_LOGO_DIR = str(Path(__file__).parent / "server" / "static")
"""trackio's constant (the folder of its logos); here the dashboard's static files, where the page's icons are."""


def show(
    project: str | None = None,
    *,
    dashboard: str | None = None,
    theme: Any = None,
    mcp_server: bool | None = None,
    footer: bool = True,
    color_palette: list[str] | None = None,
    open_browser: bool = True,
    block_thread: bool | None = None,
    host: str | None = None,
    share: bool | None = None,
    server_port: int | None = None,
    frontend_dir: str | os.PathLike | None = None,
    dataset_id: str | None = None,
    dir: str | os.PathLike | None = None,  # noqa: A002 - as init()
):
    """Serve the dashboard locally (needs the ``dashboard`` extra); trackio's signature.

    ``block_thread`` (default: block, except in a notebook) keeps serving until Ctrl+C; with
    ``block_thread=False`` it returns at once. Returns the running `Dashboard` (``.url``, ``.close()``),
    which also unpacks as trackio's ``(app, url, share_url, full_url)``. ``host`` defaults to
    127.0.0.1, ``server_port`` to the first free port from 7860; ``mcp_server=True`` (or
    ``GRADIO_MCP_SERVER=True``) also serves the MCP tools at ``/gradio_api/mcp/``. ``dataset_id`` shows a
    Hub dataset, pulled. trackio's styling arguments (``theme``, ``footer``, ``color_palette``) are
    accepted and not used; ``dashboard="registry"``, ``share=True`` and ``frontend_dir`` are not
    supported (a warning says so).
    """
    try:
        from .server.show import show as serve
    except ImportError as error:
        from .server import missing_extra

        raise missing_extra(error, "the dashboard") from None
    from .server.show import trackio_show_options

    options = trackio_show_options(
        dashboard=dashboard, share=share, frontend_dir=frontend_dir, block_thread=block_thread
    )
    return serve(
        project, host=host or "127.0.0.1", port=server_port, dataset_id=dataset_id, dir=dir,
        open_browser=open_browser, mcp_server=mcp_server, **options,
    )  # fmt: skip


def __getattr__(name: str):
    # `trackio_callback.config` is the current run's config, as `trackio.config` is.
    if name == "config":
        from .core.run import require_run

        return require_run("config").config
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name], __name__)
        value = module if name == "context_vars" else getattr(module, name)
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
