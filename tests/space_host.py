"""A local host for a static Space held by a ``HubEmulator``: the Space's page, on its own origin, for a browser.

``SpaceHost(hub, "alice/board")`` serves the files of the Space repo ``alice/board`` of ``hub`` the way huggingface.co
serves a ``sdk: static`` Space from ``https://alice-board.static.hf.space``: from an origin other than the Hub's, so
that the page's ``fetch()`` calls to the Hub are cross-origin (CORS) exactly as in production. The files are read from
the emulator on every request, so a commit to the Space shows at the next load.

* ``GET /`` (any query string, e.g. the ``?code=...&state=...`` of an OAuth redirect) and ``GET /index.html``:
  ``index.html``; ``GET /<path>``: that file (``<dir>/`` means ``<dir>/index.html``), with its ``Content-Type``
  (html, js, css, json, svg, png, txt and a few others; ``application/octet-stream`` otherwise) and
  ``Cache-Control: no-store``; 404 for a missing file (or a missing Space); ``HEAD`` likewise; other methods 405.
* As the Hub does for static Spaces (https://huggingface.co/docs/hub/spaces-sdks-static, "Space variables", and
  https://huggingface.co/docs/hub/spaces-oauth), ``index.html`` gets, right after ``<head>``, a
  ``<script>window.huggingface = {variables: {...}}</script>`` holding the Space's (public) variables
  (``add_space_variable``), ``SPACE_ID`` and ``SPACE_HOST`` (``127.0.0.1:<port>``), and, when the README front
  matter has ``hf_oauth: true``, the OAuth ones: ``OAUTH_CLIENT_ID``, ``OAUTH_SCOPES`` (``openid profile`` plus the
  ``hf_oauth_scopes`` of the front matter, space-separated) and ``OPENID_PROVIDER_URL`` (``hub.url``; the page finds
  the endpoints at ``{OPENID_PROVIDER_URL}/.well-known/openid-configuration``). This is what ``@huggingface/hub``'s
  ``oauthLoginUrl()`` reads inside a static Space. No other file is touched.
* With ``hf_oauth: true``, the host registers the Space's OAuth app with the emulator (``client_id``, a random UUID
  per host; every redirect URI under ``url + "/"`` allowed, as "any URL within the Space" is on the Hub; the front
  matter's scopes; ``hf_oauth_expiration_minutes``), refreshed at each ``index.html`` load; without it, the app is
  unregistered. ``variables()`` does the same and returns the variables.

Not emulated: the private-Space login wall (the files are served to anyone), ``app_build_command``/``app_file``.

Usage::

    readme = b"---\\nsdk: static\\nhf_oauth: true\\nhf_oauth_scopes:\\n- read-repos\\n---\\n"
    hub.create_repo("alice/board", "space", sdk="static", files={"README.md": readme, "index.html": page_html})
    with SpaceHost(hub, "alice/board") as host:
        page.goto(host.url)  # window.huggingface.variables.OAUTH_CLIENT_ID == host.client_id
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.hub_emulator import OAUTH_BASE_SCOPES, HubEmulator
from tests.serving import ServerThread

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".wasm": "application/wasm",
    ".woff2": "font/woff2",
}
_HEAD = re.compile(rb"<head(?:\s[^>]*)?>", re.IGNORECASE)
_FALLBACK_ANCHORS = (re.compile(rb"<html(?:\s[^>]*)?>", re.IGNORECASE), re.compile(rb"<!doctype[^>]*>", re.IGNORECASE))


def content_type(path: str) -> str:
    """The ``Content-Type`` a static Space serves ``path`` with."""
    return CONTENT_TYPES.get(PurePosixPath(path).suffix.lower(), "application/octet-stream")


def inject_variables(html: bytes, variables: dict[str, str]) -> bytes:
    """``html`` with ``<script>window.huggingface = {variables: {...}}</script>`` right after ``<head>`` (after
    ``<html>`` or the doctype when there is no ``<head>``, else first)."""
    data = json.dumps(variables, sort_keys=True).replace("</", "<\\/")
    script = f"<script>window.huggingface = {{variables: {data}}}</script>".encode()
    for pattern in (_HEAD, *_FALLBACK_ANCHORS):
        if match := pattern.search(html):
            return html[: match.end()] + script + html[match.end() :]
    return script + html


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: SpaceHost):
        self.host = host
        super().__init__(("127.0.0.1", host.port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        status, body, headers = self.server.host._answer(self.command, self.path)
        if self.command not in ("GET", "HEAD"):  # a request body is never read: do not parse it as the next request
            self.close_connection = True
            headers["Connection"] = "close"
        self.send_response(status)
        for name, value in {"Content-Length": str(len(body)), **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet: tests read host.requests())
        pass


class SpaceHost:
    """Serves the static Space ``space_id`` of ``hub`` on ``http://127.0.0.1:<port>``; see the module docstring."""

    def __init__(self, hub: HubEmulator, space_id: str, *, port: int = 0):
        self.hub = hub
        self.space_id = space_id
        self.port = port
        self.client_id = str(uuid.uuid4())
        self._lock = threading.Lock()
        self._log: list[tuple[str, str, int]] = []
        self._serving = ServerThread("space-host")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        """What the Space sees as ``SPACE_HOST`` (on the Hub: ``alice-board.hf.space``)."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> SpaceHost:
        self.port = self._serving.start(lambda: _Server(self))
        return self

    def stop(self) -> None:
        self._serving.stop()

    def __enter__(self) -> SpaceHost:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path with query, status)`` of every request served, oldest first."""
        with self._lock:
            return list(self._log)

    def variables(self) -> dict[str, str]:
        """The ``window.huggingface.variables`` of the page now (registering or dropping the OAuth app to match)."""
        card = self.hub.card_data(self.space_id, "space") or {}
        variables = {**self.hub.space_variables(self.space_id), "SPACE_ID": self.space_id, "SPACE_HOST": self.host}
        if card.get("hf_oauth") is not True:
            self.hub.unregister_oauth_app(self.client_id)
            return variables
        extra = card.get("hf_oauth_scopes") or []
        scopes = list(dict.fromkeys([*OAUTH_BASE_SCOPES, *(extra.split() if isinstance(extra, str) else extra)]))
        minutes = card.get("hf_oauth_expiration_minutes")
        self.hub.register_oauth_app(
            self.client_id,
            redirect_uris=[f"{self.url}/"],
            scopes=scopes,
            **({"expires_in": int(minutes) * 60} if isinstance(minutes, int) else {}),
        )
        variables.update(
            OAUTH_CLIENT_ID=self.client_id, OAUTH_SCOPES=" ".join(scopes), OPENID_PROVIDER_URL=self.hub.url
        )
        return variables

    def _answer(self, method: str, raw_path: str) -> tuple[int, bytes, dict[str, str]]:
        status, body, headers = self._file(method, unquote(urlsplit(raw_path).path))
        with self._lock:
            self._log.append((method, raw_path, status))
        return status, body, {"Cache-Control": "no-store", **headers}

    def _file(self, method: str, path: str) -> tuple[int, bytes, dict[str, str]]:
        text = {"Content-Type": "text/plain; charset=utf-8"}
        if method not in ("GET", "HEAD"):
            return 405, b"Method Not Allowed", {**text, "Allow": "GET, HEAD"}
        path = path.lstrip("/")
        if not path or path.endswith("/"):
            path += "index.html"
        try:
            data = None if ".." in path.split("/") else self.hub.repo_files(self.space_id, "space").get(path)
            if data is not None and path == "index.html":
                data = inject_variables(data, self.variables())
        except KeyError:  # no such Space (any more)
            data = None
        if data is None:
            return 404, b"Not Found", text
        return 200, data, {"Content-Type": content_type(path)}
