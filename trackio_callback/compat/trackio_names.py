"""The names of the ``trackio`` module (0.43), and why the few that are absent here are absent.

`TRACKIO_ALL` is trackio 0.43's ``__all__``: ``trackio_callback`` and the ``trackio`` module it
provides expose each of them (tests compare it with the real package's, and the README's table
says how each works here). `ABSENT` maps attributes of the real ``trackio`` module outside its
``__all__`` that are its own machinery (its server, storage class and registry) to what to use
instead; the ``trackio`` module raises `UnknownNameError` with that text.
"""

from __future__ import annotations

TRACKIO_VERSION = "0.43.0"
"""The trackio release whose API this package implements (``trackio.__version__`` of the provided module)."""

TRACKIO_ALL = (
    "init", "log", "log_system", "log_gpu", "log_artifact", "use_artifact", "log_cpu", "finish", "alert",
    "AlertLevel", "show", "sync", "freeze", "delete_project", "import_csv", "import_tf_events", "save",
    "Artifact", "ArtifactTTL", "Classes", "Config", "EvalTable", "Graph", "JoinedTable", "Molecule", "Plotly",
    "Settings", "ReferenceHandler", "ResolvedReference", "register_reference_handler", "Image", "Video", "Audio",
    "Html", "Object3D", "Table", "Trace", "Histogram", "Markdown", "Api", "TRACKIO_LOGO_DIR",
)  # fmt: skip

# Attributes of the real `trackio` module beyond `__all__` that code reads, and that exist here too.
EXTRA_ATTRIBUTES = ("config", "context_vars", "Run", "gpu_available", "cpu_available", "apple_gpu_available",
                    "TRACKIO_DIR", "__version__")  # fmt: skip

_NO_SERVER = "trackio-callback has no trackio server: runs are written to local SQLite and synced to a Hub dataset"
ABSENT = {
    "Registry": "model registries are not provided; version models with log_artifact(..., aliases=[...])",
    "Collection": "model registries are not provided; version models with log_artifact(..., aliases=[...])",
    "SQLiteStorage": "read runs with trackio_callback.Reader (or trackio.Api())",
    "RemoteClient": _NO_SERVER,
    "TrackioDashboardApp": "trackio.show() returns the running dashboard",
    "build_starlette_app_only": "trackio.show() serves the dashboard",
    "launch_trackio_dashboard": "trackio.show() serves the dashboard",
    "deploy": "use trackio.sync() and trackio.freeze()",
    "utils": "trackio's helper module is not provided",
    "get_project_media_path": "media files are stored by log(); read them with trackio_callback.Reader",
    "UploadEntry": _NO_SERVER,
}
