"""``show()``: serve the dashboard locally, over the storage dir or over a pulled Hub dataset.

Example::

    import trackio_callback as trackio

    dashboard = trackio.show(project="qwen-capybara-sft", block=False)   # http://127.0.0.1:7860/
    dashboard.url
    dashboard.close()

    trackio.show(dataset_id="alice/trackio-dataset")   # pulls it into a local cache, and keeps pulling
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import warnings
import webbrowser
from pathlib import Path
from typing import Any

from .. import settings
from ..core.names import validate_project
from ..errors import TrackioError, TrackioWarning

logger = logging.getLogger(__name__)

DEFAULT_PORT = 7860
PORTS_TRIED = 100  # without an explicit port: the first free one of 7860, 7861, ...
PULL_EVERY_S = 30.0


class DatasetMirror:
    """Keeps a local copy of a trackio-callback Hub dataset, pulling it again every ``every`` seconds.

    The first `pull` runs in the caller (`of` does it, so a dashboard opens with data); `start` then pulls in a
    daemon thread until `stop`. A failed pull warns once and is retried on the next round.

    Example::

        mirror = DatasetMirror.of("alice/trackio-dataset")  # <storage dir>/mirrors/alice--trackio-dataset, pulled
        mirror.start()
        ...
        mirror.stop()
    """

    def __init__(self, dataset_id: str, directory: Path, every: float = PULL_EVERY_S, project: str | None = None):
        self.dataset_id = dataset_id
        self.directory = directory
        self.every = every
        self.project = project
        self.pulls = 0
        self.last_error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    @classmethod
    def of(
        cls,
        dataset_id: str,
        directory: str | os.PathLike | None = None,
        every: float = PULL_EVERY_S,
        project: str | None = None,
    ) -> DatasetMirror:
        """The mirror of ``dataset_id`` (a bare name is the token owner's) in ``<dir>/mirrors/``, pulled once."""
        if "/" not in dataset_id:
            from ..hub.repo import resolve

            dataset_id = resolve(None, dataset_id).dataset_id
        folder = settings.storage_dir(directory) / "mirrors" / dataset_id.replace("/", "--")
        mirror = cls(dataset_id, folder, every, project)
        mirror.pull()
        return mirror

    def pull(self) -> dict[str, int] | None:
        from ..hub.pull import pull

        try:
            counts = pull(self.dataset_id, self.directory, project=self.project)
        except Exception as error:  # the Hub may be down for a while: keep serving what we have
            self.last_error = error
            if not self._warned:
                self._warned = True
                warnings.warn(f"pulling {self.dataset_id} failed ({error}); retrying", TrackioWarning, stacklevel=2)
            logger.info("pull of %s failed: %s", self.dataset_id, error)
            return None
        self.pulls += 1
        self.last_error = None
        return counts

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trackio-mirror", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.pull()


class Dashboard:
    """A running dashboard server (uvicorn in a daemon thread): its ``url``, and `close`."""

    def __init__(self, app: Any, host: str, port: int, mirror: DatasetMirror | None = None):
        import uvicorn

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
    ``<url>gradio_api/mcp/`` and ``<url>mcp``.
    """
    if mcp_server is None:
        mcp_server = settings.mcp_server_requested()
    if project is not None:
        validate_project(project)
    from .api import LOOPBACK_HOSTS, create_app

    mirror = None
    directory = settings.storage_dir(dir)
    if dataset_id is not None:
        mirror = DatasetMirror.of(dataset_id, dir, pull_every, project)
        dataset_id, directory = mirror.dataset_id, mirror.directory
    port = _free_port(host, port)
    loopback = host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")
    allowed = LOOPBACK_HOSTS if loopback else None
    app = create_app(
        directory,
        project=project,
        dataset_id=dataset_id,
        allowed_hosts=allowed,
        mcp_server=mcp_server,
        compress=not loopback,
    )
    dashboard = Dashboard(app, host, port, mirror).start()
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
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
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
