"""``show()``: serve the dashboard locally, over the storage dir or over a pulled Hub dataset.

Example::

    import trackio_callback as trackio

    dashboard = trackio.show(project="qwen-capybara-sft", block=False)   # http://127.0.0.1:7860/
    dashboard.url
    dashboard.close()

    trackio.show(dataset_id="alice/trackio-dataset")   # pulls it into a local cache, and keeps pulling

This is the one module that puts the server together: the HTTP app (`api.create_app`), the MCP tools
(`mcp_server`, mounted into the app by `build_app`) and the Hub mirror (`hub.mirror.DatasetMirror`). Neither
`api` nor `mcp_server` imports this module or each other.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import warnings
import webbrowser
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette

from .. import settings
from ..errors import TrackioError, TrackioWarning
from ..hub.mirror import PULL_EVERY_S, DatasetMirror
from ..store.files import validate_project
from ..store.reader import Reader
from .api import create_app, loopback_hosts
from .readers import ThreadReaders
from .writes import new_write_token

DEFAULT_PORT = 7860
PORTS_TRIED = 100  # without an explicit port: the first free one of 7860, 7861, ...
START_ATTEMPTS = 5  # ... chosen again when another process took it before this server could


def build_app(directory: Any = None, *, mcp_server: bool = False, **options: Any) -> Starlette:
    """The dashboard app (`api.create_app`, which takes ``options``), serving the MCP tools too when ``mcp_server``.

    The MCP tools (streamable HTTP, at ``/gradio_api/mcp/`` and ``/mcp``) read with the app's own
    `ThreadReaders`; their session manager runs in the app's lifespan. With ``allowed_hosts`` (loopback),
    the MCP SDK's DNS-rebinding protection is on as well, for the same names. ``app.state.mcp``: the MCP
    server, or None.
    """
    readers = ThreadReaders(directory)
    routes: list[Any] = []
    contexts: list[Any] = []
    mcp = None
    if mcp_server:
        from .mcp_server import build_mcp, mount_points  # the MCP SDK: only loaded when asked for

        mcp = build_mcp(readers)
        routes = mount_points(mcp, options.get("allowed_hosts"))
        contexts = [mcp.session_manager.run]
    app = create_app(directory, readers=readers, extra_routes=routes, lifespan_contexts=contexts, **options)
    app.state.mcp = mcp
    return app


class Dashboard:
    """A running dashboard server (uvicorn in a daemon thread): its ``url``, and `close`."""

    def __init__(self, app: Any, host: str, port: int, mirror: DatasetMirror | None = None):
        self.host, self.port, self.mirror = host, port, mirror
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="trackio-dashboard", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout: float = 30.0) -> Dashboard:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            raise TrackioError(f"the dashboard did not start on {self.host}:{self.port}")
        return self

    # trackio's ``show()`` returns ``(app, url, share_url, full_url)``: scripts unpack it or index it.
    def as_trackio_result(self) -> tuple[Dashboard, str, None, str]:
        """trackio's result: this dashboard, its URL, no share URL (no tunnel here), the URL again."""
        return (self, self.url, None, self.url)

    def __iter__(self):
        return iter(self.as_trackio_result())

    def __getitem__(self, index: int | slice):
        return self.as_trackio_result()[index]

    def __len__(self) -> int:
        return 4

    def wait(self) -> None:
        """Block until the server stops (Ctrl+C stops it)."""
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(10)
        if self.mirror is not None:
            self.mirror.stop()

    def __enter__(self) -> Dashboard:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def show(
    project: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    dataset_id: str | None = None,
    dir: str | os.PathLike | None = None,  # noqa: A002 (the same name as init's)
    open_browser: bool = True,
    block: bool = True,
    pull_every: float = PULL_EVERY_S,
    mcp_server: bool | None = None,
) -> Dashboard:
    """Serve the dashboard on ``http://host:port/`` (127.0.0.1 unless told otherwise).

    ``project`` is the one the page opens (default: the most recent). ``dataset_id`` shows a Hub
    dataset instead of the storage dir: it is pulled into ``<storage dir>/mirrors/<owner>--<name>``
    first and every ``pull_every`` seconds after. ``port`` defaults to the first free of 7860,
    7861, ...; an explicit port must be free. ``block=False`` returns the running `Dashboard`.
    ``mcp_server`` (default: ``$GRADIO_MCP_SERVER`` is true) also serves the MCP tools at
    ``<url>gradio_api/mcp/`` and ``<url>mcp``. Bound to loopback over the storage dir, the page may rename, tag,
    annotate and delete runs (`writes`, behind a token made for this server and held only in memory).
    """
    if mcp_server is None:
        mcp_server = settings.mcp_server_requested()
    if project is not None:
        validate_project(project)
    mirror = None
    directory = settings.storage_dir(dir)
    if dataset_id is not None:
        mirror = DatasetMirror.of(dataset_id, dir, pull_every, project)
        dataset_id, directory = mirror.dataset_id, mirror.directory
    elif project is not None:
        _check_readable(directory, project)
    loopback = host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
    # The page's write API (`writes`): on this machine's own storage only (a mirror's next pull would undo a change).
    write_token = new_write_token() if loopback and mirror is None else None
    # A port chosen here can be taken before the server binds it (two show() at once): then another is chosen,
    # with an app of its own (a server that failed may have started the first one's lifespan).
    for attempt in range(1 if port is not None else START_ATTEMPTS):
        app = build_app(
            directory,
            mcp_server=mcp_server,
            project=project,
            dataset_id=dataset_id,
            allowed_hosts=loopback_hosts(host) if loopback else None,
            compress=not loopback,
            write_token=write_token,
        )
        try:
            dashboard = Dashboard(app, host, _free_port(host, port), mirror).start()
            break
        except TrackioError:
            if port is not None or attempt == START_ATTEMPTS - 1:
                raise
    if mirror is not None:
        mirror.start()
    print(f"* trackio-callback dashboard: {dashboard.url}" + (f" (project {project})" if project else ""))
    if mcp_server:
        print(f"* MCP server: {dashboard.url}gradio_api/mcp/  (also {dashboard.url}mcp)")
    if open_browser and not settings.no_browser():
        webbrowser.open(dashboard.url)
    if block:
        dashboard.wait()
    return dashboard


def trackio_show_options(
    *, dashboard: str | None, share: bool | None, frontend_dir: object, block_thread: bool | None
) -> dict[str, bool]:
    """`show`'s options for trackio's arguments of the same name (`trackio_callback.show`).

    ``block_thread=None`` blocks, except in a notebook (as trackio). The arguments that would change
    what is served and that have no counterpart here warn instead of passing in silence.
    """
    if dashboard not in (None, "registry"):
        raise ValueError(f"dashboard must be None or 'registry', got {dashboard!r}")
    unsupported = {
        "dashboard='registry'": dashboard == "registry" and "model registries are not provided; the runs are shown",
        "share=True": share and "no public tunnel is opened; the dashboard is served on this machine only",
        "frontend_dir": frontend_dir is not None and "custom front ends are not supported; the built-in page is served",
    }
    for argument, consequence in unsupported.items():
        if consequence:
            warnings.warn(f"show({argument}): {consequence}", TrackioWarning, stacklevel=3)
    return {"block": not _in_notebook() if block_thread is None else bool(block_thread)}


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    kernel = shell.get_ipython() if shell is not None and hasattr(shell, "get_ipython") else None
    return kernel is not None and type(kernel).__name__ != "TerminalInteractiveShell"


def _check_readable(directory: Path, project: str) -> None:
    """Raise the error naming ``project``'s file and why, when it exists but does not open.

    The page would open that project first; a missing one is fine (the page opens the latest instead).
    """
    with Reader(directory) as reader:
        if project in reader.projects():
            reader.store(project)


def _free_port(host: str, port: int | None) -> int:
    if port is not None:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an integer from 0 to 65535, got {port!r}")
        if port and not _can_bind(host, port):
            raise TrackioError(f"port {port} on {host} is in use; pass another port, or none to take a free one")
        return port or _ephemeral(host)
    for candidate in range(DEFAULT_PORT, DEFAULT_PORT + PORTS_TRIED):
        if _can_bind(host, candidate):
            return candidate
    return _ephemeral(host)


def _can_bind(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now: False only when some socket holds it for real.

    SO_REUSEADDR, as uvicorn (asyncio) binds the server itself: without it, the sockets a stopped
    dashboard leaves in TIME_WAIT (or FIN_WAIT_2) for about a minute would make its port look taken,
    while a socket listening there still makes the bind fail. Not on Windows, where SO_REUSEADDR lets a
    bind share a port someone listens on (and TIME_WAIT does not block a bind).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        if sys.platform != "win32":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
