"""A local, in-memory emulator of the Hugging Face Hub HTTP API, for tests that drive the real ``huggingface_hub``.

``HubEmulator`` is a small HTTP server (stdlib ``ThreadingHTTPServer``, daemon threads, bound to ``127.0.0.1`` on a
free port) that speaks the subset of the Hub API the real client (``huggingface_hub`` 2.x, ``HfApi``,
``hf_hub_download``, ``HfFileSystem``) and ``datasets.load_dataset`` use to create repos, commit files and read them
back. Everything lives in memory; nothing ever leaves the machine.

Covered (``{t}`` is ``models``, ``datasets`` or ``spaces``; ``{repo}`` is ``namespace/name``):

* ``GET /api/whoami-v2``; ``POST /api/repos/create`` (private/public/protected, Space SDKs, 409 when the repo
  exists: ``create_repo(exist_ok=True)`` swallows it); ``DELETE /api/repos/delete``; ``POST /api/validate-yaml``.
* ``GET /api/{t}/{repo}`` and ``/api/{t}/{repo}/revision/{rev}`` (``repo_info``/``dataset_info``/``space_info``);
  ``PUT /api/{t}/{repo}/settings`` (``update_repo_settings(private=...)``); ``GET /api/{t}/{repo}/refs``;
  ``GET /api/{t}/{repo}/auth-check``.
* ``POST /api/{t}/{repo}/preupload/{rev}``: every file is ``"uploadMode": "regular"``, ``"shouldIgnore": false``,
  with the git ``oid`` of the file already in the repo (the client then skips unchanged files).
* ``POST /api/{t}/{repo}/commit/{rev}``: the NDJSON payload (``header``, then ``file`` with base64 ``content``,
  ``deletedFile``, ``deletedFolder``), applied atomically (all operations or none); ``parentCommit`` is checked
  (412 when stale).
* ``GET /api/{t}/{repo}/tree/{rev}[/{path}]`` (``recursive``, ``expand``, ``Link``-header pagination),
  ``POST /api/{t}/{repo}/paths-info/{rev}``, ``GET /api/{t}/{repo}/commits/{rev}`` (``list_repo_commits``),
  ``POST /api/{t}/{repo}/super-squash/{branch}``.
* ``GET``/``HEAD /[datasets/|spaces/]{repo}/resolve/{rev}/{path}`` with ``X-Repo-Commit``, ``ETag`` (the git blob
  id), ``Content-Length``, ``Accept-Ranges`` and HTTP ``Range`` (206/416): enough for ``hf_hub_download``,
  ``HfFileSystem`` and ``datasets.load_dataset``. Revisions are ``main`` or a (short) commit id.
* Spaces: ``secrets`` and ``variables`` (``POST``/``GET``/``DELETE``), ``runtime``, ``restart``. A static Space's
  page is served by ``tests/space_host.py`` (``SpaceHost``), on another origin, as ``*.hf.space`` serves it.
* CORS, for a page on another origin that ``fetch()``-es from the Hub (a static Space): every answer, errors
  included, has ``Access-Control-Allow-Origin`` (the request's ``Origin`` echoed, ``*`` without one) and
  ``Access-Control-Expose-Headers`` (``Content-Range``, ``ETag``, ``X-Repo-Commit``, ``Link``, ``Accept-Ranges``,
  ``X-Error-Code``, ``Retry-After``...); ``OPTIONS`` on any path is a preflight answered 204 (methods, the requested
  headers echoed, ``Max-Age``), logged as endpoint ``"preflight"``, never faulted, and outside the ``"read"`` group.
* OAuth 2.0 authorization code + PKCE, as huggingface.co does it for "Sign in with HF" (``@huggingface/hub``'s
  ``oauthLoginUrl``/``oauthHandleRedirect``): ``GET /.well-known/openid-configuration``; ``GET /oauth/authorize``
  auto-approves as ``oauth_user`` (default the owner of ``DEFAULT_TOKEN``; None answers ``error=access_denied``) and
  answers 302 to ``redirect_uri?code=...&state=...`` (400 for an unknown ``client_id``, a redirect URI the app does
  not allow, ``response_type`` other than ``code``, no ``S256`` ``code_challenge``, a scope the app may not ask);
  ``POST /oauth/token`` (form: ``grant_type=authorization_code``, ``code``, ``redirect_uri``, ``code_verifier``,
  optional ``client_id``) checks the verifier, the redirect URI and that the code is unused (any attempt consumes
  it), and answers ``{"access_token": "hf_oauth_...", "token_type": "bearer", "expires_in": 28800, "scope": ...}``
  (errors: 400 ``{"error": "invalid_grant", "error_description": ...}``); ``GET /oauth/userinfo`` (``sub``,
  ``name``, ``preferred_username``, ``orgs``...). Apps come from ``register_oauth_app(client_id, redirect_uris=...,
  scopes=...)`` (``SpaceHost`` registers one per ``hf_oauth: true`` Space). An issued token authenticates as its user
  (it joins ``tokens``) but, as on the Hub, with its scopes only: the user's private repos need ``read-repos`` (or
  ``write-repos``/``manage-repos``) to be read, ``write-repos`` to be written, ``manage-repos`` to create or delete
  repos; public repos are readable with any token. ``oauth_grants()``, ``revoke_oauth_tokens()`` (then 401) and
  ``pkce_challenge(verifier)`` help tests. No ``id_token``, refresh tokens or client secrets (confidential clients).

Not emulated (answered 4xx, and unknown routes are listed by ``unhandled()``): LFS/Xet uploads (never needed, since
preupload always answers "regular"; the real Hub would store ``*.parquet`` as LFS/Xet), branches other than ``main``,
tags, pull requests (``create_pr``), ``CommitOperationCopy`` of LFS files, gated-access flows.

Authentication: ``Authorization: Bearer <token>`` with a token of ``tokens`` (token -> user name). A missing token
gets 401 on ``whoami`` and on every write; an unknown token gets 401 everywhere ("Invalid credentials in
Authorization header"); private repos are invisible to others (401 anonymous, 404 authenticated, ``RepoNotFound``);
writing outside one's namespaces is 403. Like the real Hub, a new repo starts with an "initial commit" holding a
``.gitattributes`` (pass ``gitattributes=False`` to start empty).

Fault injection (thread-safe; ``endpoint`` selects the requests a fault applies to: an endpoint name such as
``"commit"``, ``"preupload"``, ``"create_repo"``, ``"resolve"``, ``"tree"``, ``"oauth_token"``..., a set of names,
or the groups ``"write"``, ``"read"`` and ``"any"``): ``fail_next(n, status)``, ``fail_ratio(p, seed=...)``,
``rate_limit(seconds, retry_after=...)`` (429 + ``Retry-After``), ``drop_connection(before_apply=..., n=...)`` (close
the TCP connection without an answer, before or after the request took effect), ``slow(seconds)``, ``go_down()`` /
``come_up()`` (connections refused, same port), ``reset_faults()``. Inspection: ``requests()`` (method, path,
endpoint, status, bytes received...), ``bytes_received()``, ``commit_count()``, ``commits()``, ``repo_files()``,
``repo()``, ``card_data()``, ``space_variables()``, ``unhandled()``.

Usage, in-process (``hub`` is the pytest fixture below; it also points the whole client at the emulator)::

    def test_upload(hub):
        api = hub.api()  # HfApi(endpoint=hub.url, token="hf_test_token"), user "alice"
        api.create_repo("alice/ds", repo_type="dataset", private=True)
        api.upload_file(path_or_fileobj=b"x", path_in_repo="a.txt", repo_id="alice/ds", repo_type="dataset")
        assert hub.repo_files("alice/ds")["a.txt"] == b"x"
        hub.fail_next(1, status=500, endpoint="commit")  # the client does not retry commits: the next one raises

or standalone: ``with HubEmulator() as hub: ...``. ``huggingface_hub`` reads ``HF_ENDPOINT``, ``HF_HUB_OFFLINE``
and ``HF_HUB_DISABLE_XET`` once, at import: in-process code must use ``endpoint=hub.url`` or ``hub.patch_client``
(done by the fixture), and code run in a subprocess gets ``env={**os.environ, **hub.env()}``.

The fixture is named ``hub`` (its function is ``hub_fixture``, so that importing it does not clash with the ``hub``
test arguments): register it for the whole suite with ``from tests.hub_emulator import hub_fixture  # noqa: F401`` in
``tests/conftest.py``, or import it the same way in the test modules that need it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import math
import os
import random
import re
import secrets
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

import pytest

from tests.serving import ServerThread

DEFAULT_TOKEN = "hf_test_token"
DEFAULT_USER = "alice"
OTHER_TOKEN = "hf_other_token"
OTHER_USER = "bob"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
URL_PREFIXES = {"model": "", "dataset": "datasets/", "space": "spaces/"}
SPACE_SDKS = frozenset({"gradio", "streamlit", "docker", "static"})
WRITE_ENDPOINTS = frozenset(
    {
        "create_repo",
        "delete_repo",
        "preupload",
        "commit",
        "super_squash",
        "settings",
        "secrets_write",
        "variables_write",
        "restart",
    }
)
DEFAULT_GITATTRIBUTES = b"""*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
"""
CORS_EXPOSE_HEADERS = (
    "Content-Range, Content-Length, Content-Type, ETag, X-Repo-Commit, Link, Accept-Ranges, X-Error-Code, "
    "X-Error-Message, X-Request-Id, Retry-After, RateLimit, RateLimit-Policy"
)
CORS_ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
CORS_ALLOW_HEADERS = "Authorization, Range, Content-Type, Accept, X-Requested-With"
CORS_MAX_AGE = "86400"
OAUTH_BASE_SCOPES = ("openid", "profile")  # always granted to a Space's OAuth app
OAUTH_TOKEN_LIFETIME = 28800  # seconds: the Hub's default (``hf_oauth_expiration_minutes: 480``)
OAUTH_CODE_LIFETIME = 600.0
READ_SCOPES = frozenset({"read-repos", "write-repos", "manage-repos"})
WRITE_SCOPES = frozenset({"write-repos", "manage-repos"})
MANAGE_SCOPES = frozenset({"manage-repos"})
FaultScope = str | Collection[str]


# ----------------------------------------------------------------------------------------------------------- state


def git_blob_id(content: bytes) -> str:
    """The git object id of a blob (what the Hub reports as a file's ``oid``/``blob_id`` and ``ETag``)."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


def pkce_challenge(code_verifier: str) -> str:
    """The PKCE ``S256`` code challenge of a verifier: base64url(sha256(verifier)), without padding (RFC 7636)."""
    digest = hashlib.sha256(code_verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass(frozen=True)
class Commit:
    """One commit of a repo: its id, message, author and the full (read-only) file snapshot it produced."""

    oid: str
    title: str
    message: str
    author: str
    date: str
    parents: tuple[str, ...]
    files: Mapping[str, bytes]


@dataclass
class Repo:
    """A repo held by the emulator; ``commits`` is oldest first and the last one is the head of ``main``."""

    repo_id: str
    repo_type: str
    visibility: str
    sdk: str | None = None
    created_at: str = field(default_factory=_now)
    commits: list[Commit] = field(default_factory=list)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    gated: bool | str = False

    @property
    def private(self) -> bool:
        return self.visibility == "private"

    @property
    def namespace(self) -> str:
        return self.repo_id.split("/", 1)[0]

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    @property
    def files(self) -> Mapping[str, bytes]:
        return self.head.files if self.commits else MappingProxyType({})


@dataclass(frozen=True)
class RequestRecord:
    """One request as the emulator saw it. ``status`` is None when the connection was dropped without an answer."""

    method: str
    path: str
    query: str
    endpoint: str
    repo_type: str | None
    repo_id: str | None
    user: str | None
    status: int | None
    bytes_received: int
    bytes_sent: int
    fault: str | None


@dataclass(frozen=True)
class OAuthApp:
    """An OAuth app (a "connected application", or the one the Hub creates for a Space with ``hf_oauth: true``).

    ``redirect_uris``: the redirect URIs ``/oauth/authorize`` accepts; one ending with ``/`` accepts every URI under it
    (as for a Space: "any URL within the Space"), the others must match exactly; None accepts any. ``scopes``: the
    scopes the app may ask for (``openid`` and ``profile`` always included); None allows any.
    """

    client_id: str
    redirect_uris: tuple[str, ...] | None = None
    scopes: frozenset[str] | None = None
    expires_in: int = OAUTH_TOKEN_LIFETIME

    def accepts_redirect(self, uri: str) -> bool:
        if self.redirect_uris is None:
            return True
        return any(
            uri == allowed or (allowed.endswith("/") and uri.startswith(allowed)) for allowed in self.redirect_uris
        )


@dataclass(frozen=True)
class OAuthGrant:
    """An access token issued by ``POST /oauth/token``: for ``user``, through ``client_id``, with ``scope``."""

    access_token: str
    user: str
    client_id: str
    scope: str
    expires_in: int

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.scope.split())


@dataclass(frozen=True)
class _OAuthCode:
    client_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    user: str
    expires_at: float


class HubError(Exception):
    """An HTTP error answer, with the ``X-Error-Code`` the client maps to its exception types."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})
        self.payload = dict(payload) if payload is not None else {"error": message}


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload).encode()
    return Response(status, body, {"Content-Type": "application/json", **(headers or {})})


def error_response(error: HubError) -> Response:
    headers = {"X-Error-Message": error.message.encode("ascii", "replace").decode(), **error.headers}
    if error.code:
        headers["X-Error-Code"] = error.code
    return json_response(error.payload, error.status, headers)


def oauth_error(status: int, error: str, description: str) -> HubError:
    """An OAuth 2.0 error answer (RFC 6749 section 5.2): ``{"error": ..., "error_description": ...}``."""
    return HubError(status, description, payload={"error": error, "error_description": description})


@dataclass
class Request:
    """A parsed request, as handed to the route handlers."""

    method: str
    segments: list[str]
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    user: str | None
    endpoint: str = "unknown"
    scopes: frozenset[str] | None = None  # an OAuth token's scopes; None for a plain access token (every right)
    repo_type: str | None = None
    repo_id: str | None = None
    rest: list[str] = field(default_factory=list)

    def param(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def flag(self, name: str) -> bool:
        return (self.param(name) or "").lower() in {"1", "true", "yes"}

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"{}")
        except ValueError as error:
            raise HubError(400, f"Invalid JSON body: {error}") from error


# ---------------------------------------------------------------------------------------------------------- faults


@dataclass
class _Fault:
    """A pending one-shot fault: answer ``status``, or drop the connection (``drop`` is "before" or "after")."""

    scope: FaultScope
    remaining: int
    status: int | None = None
    drop: str | None = None


@dataclass(frozen=True)
class _Decision:
    status: int | None = None
    drop: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    label: str | None = None


def _in_scope(scope: FaultScope, endpoint: str) -> bool:
    if isinstance(scope, str):
        if scope == "any":
            return True
        if scope == "write":
            return endpoint in WRITE_ENDPOINTS
        if scope == "read":
            return endpoint not in WRITE_ENDPOINTS and endpoint != "preflight"
        return scope == endpoint or (endpoint.endswith("_write") and scope == endpoint[: -len("_write")])
    return any(_in_scope(item, endpoint) for item in scope)


# --------------------------------------------------------------------------------------------------------- helpers


def _clean_path(path: Any) -> str:
    """Validate a path in the repo the way the Hub does (relative, no ``..``, no ``.git``)."""
    if not isinstance(path, str) or not path.strip("/"):
        raise HubError(400, f"Invalid path in repo: {path!r}")
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or "." in parts[:-1] or parts[0] == ".git":
        raise HubError(400, f"Invalid path in repo: {path!r}")
    return path


def _folders(files: Collection[str]) -> set[str]:
    folders = set()
    for path in files:
        parts = path.split("/")[:-1]
        folders.update("/".join(parts[: index + 1]) for index in range(len(parts)))
    return folders


def _parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a ``Range`` header asks for, None to send everything; 416 when unsatisfiable."""
    if not header or not header.strip().lower().startswith("bytes=") or "," in header:
        return None
    start_text, _, end_text = header.split("=", 1)[1].strip().partition("-")
    try:
        if not start_text:
            length = int(end_text)
            start, end = max(size - length, 0), size - 1
        else:
            start = int(start_text)
            end = min(int(end_text), size - 1) if end_text else size - 1
    except ValueError:
        return None
    if start >= size or start > end:
        raise HubError(416, "Requested Range Not Satisfiable", headers={"Content-Range": f"bytes */{size}"})
    return start, end


def _front_matter(content: str) -> Any:
    """The YAML front matter of a README (None when there is none); raises ``ValueError`` when it does not parse."""
    if not content.startswith("---"):
        return None
    lines = content.splitlines()
    try:
        end = next(index for index, line in enumerate(lines[1:], start=1) if line.strip() == "---")
    except StopIteration:
        return None
    import yaml

    try:
        return yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as error:
        raise ValueError(f"Invalid YAML in README.md metadata: {error}") from error


def _validate_card(data: Any) -> list[str]:
    if data is None:
        return []
    if not isinstance(data, dict):
        return ["Metadata must be a YAML mapping"]
    configs = data.get("configs", [])
    if not isinstance(configs, list) or not all(isinstance(item, dict) and "config_name" in item for item in configs):
        return ['"configs" must be a list of mappings, each with a "config_name"']
    return []


# ---------------------------------------------------------------------------------------------------------- server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, emulator: HubEmulator):
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connections closed under a handler (``go_down``, a client gone) are expected; anything else is a bug."""
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            self.emulator._note_error(traceback.format_exc())

    def close_connections(self) -> None:
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        self.server.emulator._serve(self)

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (quiet: tests read the request log)
        pass

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def send(self, response: Response) -> None:
        self.send_response(response.status)
        headers = {} if response.status in (204, 304) else {"Content-Length": str(len(response.body))}
        headers.update(response.headers)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def drop(self) -> None:
        """Close the connection without an answer (the client sees a disconnect, not an HTTP status)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


# -------------------------------------------------------------------------------------------------------- emulator


class HubEmulator:
    """An in-memory Hugging Face Hub on ``http://127.0.0.1:<port>``; see the module docstring."""

    def __init__(
        self,
        tokens: Mapping[str, str] | None = None,
        *,
        orgs: Mapping[str, Collection[str]] | None = None,
        gitattributes: bool = True,
        tree_page_size: int = 1000,
        commits_page_size: int = 50,
    ):
        self.tokens = dict(tokens if tokens is not None else {DEFAULT_TOKEN: DEFAULT_USER, OTHER_TOKEN: OTHER_USER})
        self.oauth_user: str | None = self.tokens.get(DEFAULT_TOKEN, DEFAULT_USER)  # who /oauth/authorize signs in
        self.orgs = {name: set(members) for name, members in (orgs or {}).items()}
        self.gitattributes = gitattributes
        self.tree_page_size = tree_page_size
        self.commits_page_size = commits_page_size
        self._lock = threading.RLock()
        self._repos: dict[tuple[str, str], Repo] = {}
        self._log: list[RequestRecord] = []
        self._errors: list[str] = []
        self._counter = itertools.count()
        self._salt = os.urandom(8).hex()  # commit ids differ between emulators, as they would on the Hub
        self._faults: list[_Fault] = []
        self._rate_limit: tuple[float, int | None, FaultScope] | None = None
        self._ratio: tuple[float, random.Random, int, FaultScope] | None = None
        self._slow: tuple[float, FaultScope] | None = None
        self._oauth_apps: dict[str, OAuthApp] = {}
        self._oauth_codes: dict[str, _OAuthCode] = {}
        self._oauth_grants: dict[str, OAuthGrant] = {}
        self._serving = ServerThread("hub-emulator")
        self.port = 0

    # ------------------------------------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._serving.running

    def start(self) -> HubEmulator:
        self.port = self._serving.start(lambda: _Server(self.port, self))
        return self

    def stop(self) -> None:
        self._serving.stop()

    def go_down(self) -> None:
        """Close the listening socket and every open connection: new connections are refused until ``come_up``."""
        self.stop()

    def come_up(self) -> None:
        """Listen again, on the same port."""
        self.start()

    def __enter__(self) -> HubEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ----------------------------------------------------------------------------------------------- client side

    def env(self, token: str | None = DEFAULT_TOKEN, hf_home: str | Path | None = None) -> dict[str, str]:
        """Environment variables pointing a fresh process' ``huggingface_hub``/``datasets`` at the emulator."""
        env = {
            "HF_ENDPOINT": self.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_OFFLINE": "0",
            "HF_DATASETS_OFFLINE": "0",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        }
        if token is not None:
            env["HF_TOKEN"] = token
        if hf_home is not None:
            env["HF_HOME"] = str(hf_home)
        return env

    def patch_client(
        self, monkeypatch: pytest.MonkeyPatch, token: str | None = DEFAULT_TOKEN, hf_home: str | Path | None = None
    ) -> None:
        """Point this process' already imported ``huggingface_hub`` (and ``datasets``) at the emulator.

        Sets the ``env()`` variables (for subprocesses, and for what is read at call time, like ``HF_TOKEN``) and
        patches what was read at import: ``constants.ENDPOINT`` and the resolve URL template, ``HF_HUB_OFFLINE``
        (``tests/tiny.py`` sets it), ``HF_HUB_DISABLE_XET``, the endpoint of the module-level ``HfApi`` behind
        ``huggingface_hub.upload_file`` & co., and with ``hf_home`` the download caches.
        """
        for name, value in self.env(token, hf_home).items():
            monkeypatch.setenv(name, value)
        if token is None:
            monkeypatch.delenv("HF_TOKEN", raising=False)
        self._patch_huggingface_hub(monkeypatch, hf_home)
        if "datasets.config" in sys.modules:
            self._patch_datasets(monkeypatch, sys.modules["datasets.config"], hf_home)

    def _patch_huggingface_hub(self, monkeypatch: pytest.MonkeyPatch, hf_home: str | Path | None) -> None:
        from huggingface_hub import constants, hf_api

        template = self.url + "/{repo_id}/resolve/{revision}/{filename}"
        for name, value in {
            "ENDPOINT": self.url,
            "HUGGINGFACE_CO_URL_TEMPLATE": template,
            "HF_HUB_OFFLINE": False,
            "HF_HUB_DISABLE_XET": True,
        }.items():
            monkeypatch.setattr(constants, name, value)
        monkeypatch.setattr(hf_api.api, "endpoint", self.url)
        if hf_home is not None:
            monkeypatch.setattr(constants, "HF_HOME", str(hf_home))
            monkeypatch.setattr(constants, "HF_HUB_CACHE", str(Path(hf_home) / "hub"))

    def _patch_datasets(self, monkeypatch: pytest.MonkeyPatch, config: Any, hf_home: str | Path | None) -> None:
        monkeypatch.setattr(config, "HF_ENDPOINT", self.url)
        monkeypatch.setattr(config, "HUB_DATASETS_URL", self.url + "/datasets/{repo_id}/resolve/{revision}/{path}")
        monkeypatch.setattr(config, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(config, "HF_DATASETS_OFFLINE", False)
        if hf_home is not None:
            monkeypatch.setattr(config, "HF_DATASETS_CACHE", Path(hf_home) / "datasets")

    def api(self, token: str | bool | None = DEFAULT_TOKEN) -> Any:
        """A real ``HfApi`` talking to the emulator with ``token``."""
        from huggingface_hub import HfApi

        return HfApi(endpoint=self.url, token=token)

    # ---------------------------------------------------------------------------------------------- seeding

    def create_repo(
        self,
        repo_id: str,
        repo_type: str = "dataset",
        *,
        private: bool = False,
        sdk: str | None = None,
        files: Mapping[str, bytes] | None = None,
    ) -> Repo:
        """Create a repo directly (no HTTP, no auth), optionally with a first commit of ``files``."""
        with self._lock:
            repo = self._new_repo(repo_id, repo_type, "private" if private else "public", sdk, author="emulator")
            if files:
                self.put_files(repo_id, files, repo_type=repo_type)
            return repo

    def put_files(
        self, repo_id: str, files: Mapping[str, bytes], repo_type: str = "dataset", message: str = "Seed files"
    ) -> Commit:
        """Commit ``files`` directly (no HTTP, no auth) on top of the current head."""
        with self._lock:
            repo = self._get_repo(repo_type, repo_id)
            snapshot = {**repo.files, **{_clean_path(path): bytes(data) for path, data in files.items()}}
            return self._add_commit(repo, snapshot, message, "", "emulator")

    # ------------------------------------------------------------------------------------------------ inspection

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        with self._lock:
            return self._get_repo(repo_type, repo_id)

    def has_repo(self, repo_id: str, repo_type: str = "dataset") -> bool:
        with self._lock:
            return (repo_type, repo_id) in self._repos

    def repo_files(self, repo_id: str, repo_type: str = "dataset", revision: str = "main") -> dict[str, bytes]:
        """The files of a repo at ``revision`` (``.gitattributes`` included), as a plain dict path -> bytes."""
        with self._lock:
            return dict(self._resolve_revision(self._get_repo(repo_type, repo_id), revision).files)

    def commits(self, repo_id: str, repo_type: str = "dataset") -> list[Commit]:
        """The commits of ``main``, oldest first (the initial commit included)."""
        with self._lock:
            return list(self._get_repo(repo_type, repo_id).commits)

    def commit_count(self, repo_id: str, repo_type: str = "dataset") -> int:
        return len(self.commits(repo_id, repo_type))

    def requests(self, endpoint: FaultScope = "any", repo_id: str | None = None) -> list[RequestRecord]:
        """The request log, oldest first, optionally filtered by endpoint (or group) and repo."""
        with self._lock:
            records = list(self._log)
        return [
            record
            for record in records
            if _in_scope(endpoint, record.endpoint) and (repo_id is None or record.repo_id == repo_id)
        ]

    def bytes_received(self, endpoint: FaultScope = "any", repo_id: str | None = None) -> int:
        """Request-body bytes received (headers excluded), e.g. ``bytes_received("commit")``."""
        return sum(record.bytes_received for record in self.requests(endpoint, repo_id))

    def unhandled(self) -> list[RequestRecord]:
        """Requests for routes the emulator does not implement (answered 404): a test may assert there are none."""
        return self.requests("unknown")

    def internal_errors(self) -> list[str]:
        """Tracebacks of emulator bugs (answered 500 without any injected fault)."""
        with self._lock:
            return list(self._errors)

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def card_data(self, repo_id: str, repo_type: str = "dataset") -> dict[str, Any] | None:
        """The README.md front matter of a repo (None when there is none, or when it is not a YAML mapping)."""
        with self._lock:
            return self._card_data(self._get_repo(repo_type, repo_id).head)

    def space_variables(self, space_id: str) -> dict[str, str]:
        """The (public) variables of a Space, name -> value."""
        with self._lock:
            return {key: str(value["value"]) for key, value in self._get_repo("space", space_id).variables.items()}

    # ------------------------------------------------------------------------------------------------- oauth

    def register_oauth_app(
        self,
        client_id: str | None = None,
        *,
        redirect_uris: Collection[str] | None = None,
        scopes: str | Collection[str] | None = None,
        expires_in: int = OAUTH_TOKEN_LIFETIME,
    ) -> OAuthApp:
        """Register (or replace) an OAuth app that ``/oauth/authorize`` accepts; a random client id when None.

        ``redirect_uris``: exact URIs, or prefixes ending with ``/`` (None: any). ``scopes``: the scopes it may ask for,
        a space-separated string or a collection (``openid profile`` always included; None: any scope).
        """
        if isinstance(scopes, str):
            scopes = scopes.split()
        app = OAuthApp(
            client_id=client_id or str(uuid.uuid4()),
            redirect_uris=tuple(redirect_uris) if redirect_uris is not None else None,
            scopes=frozenset(scopes) | frozenset(OAUTH_BASE_SCOPES) if scopes is not None else None,
            expires_in=expires_in,
        )
        with self._lock:
            self._oauth_apps[app.client_id] = app
        return app

    def unregister_oauth_app(self, client_id: str) -> None:
        """Forget an OAuth app: ``/oauth/authorize`` answers 400 for it; tokens already issued keep working."""
        with self._lock:
            self._oauth_apps.pop(client_id, None)

    def oauth_apps(self) -> dict[str, OAuthApp]:
        with self._lock:
            return dict(self._oauth_apps)

    def oauth_grants(self) -> list[OAuthGrant]:
        """The access tokens issued by ``POST /oauth/token`` and not revoked, oldest first."""
        with self._lock:
            return list(self._oauth_grants.values())

    def revoke_oauth_tokens(self, user: str | None = None) -> int:
        """Revoke the OAuth access tokens (of ``user``, or all): they then get 401 like any unknown token."""
        with self._lock:
            doomed = [token for token, grant in self._oauth_grants.items() if user is None or grant.user == user]
            for token in doomed:
                del self._oauth_grants[token]
                self.tokens.pop(token, None)
            return len(doomed)

    # ----------------------------------------------------------------------------------------------- faults

    def fail_next(self, n: int = 1, status: int = 500, *, endpoint: FaultScope = "any") -> None:
        """Answer the next ``n`` matching requests with ``status`` (without applying them)."""
        with self._lock:
            self._faults.append(_Fault(endpoint, n, status=status))

    def drop_connection(self, before_apply: bool = True, n: int = 1, *, endpoint: FaultScope = "commit") -> None:
        """Close the connection of the next ``n`` matching requests without answering.

        ``before_apply=True``: the request has no effect. ``before_apply=False``: it is fully applied first (a commit
        lands) and only the answer is lost, so the client sees a connection error for a write that succeeded.
        """
        with self._lock:
            self._faults.append(_Fault(endpoint, n, drop="before" if before_apply else "after"))

    def rate_limit(self, seconds: float, retry_after: int | None = None, *, endpoint: FaultScope = "any") -> None:
        """Answer 429 to matching requests for ``seconds``, with ``Retry-After`` (default: the seconds left)."""
        with self._lock:
            self._rate_limit = (time.monotonic() + seconds, retry_after, endpoint)

    def fail_ratio(
        self, p: float, *, seed: int | None = None, status: int = 503, endpoint: FaultScope = "write"
    ) -> None:
        """Answer ``status`` to each matching request with probability ``p`` (reproducible with ``seed``)."""
        with self._lock:
            self._ratio = (p, random.Random(seed), status, endpoint) if p > 0 else None

    def slow(self, seconds: float, *, endpoint: FaultScope = "any") -> None:
        """Wait ``seconds`` before answering matching requests (0 to stop)."""
        with self._lock:
            self._slow = (seconds, endpoint) if seconds > 0 else None

    def reset_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._rate_limit = self._ratio = self._slow = None

    def _decide(self, endpoint: str) -> _Decision | None:
        with self._lock:
            if decision := self._rate_limited(endpoint):
                return decision
            for fault in self._faults:
                if fault.remaining > 0 and _in_scope(fault.scope, endpoint):
                    fault.remaining -= 1
                    label = f"drop_{fault.drop}" if fault.drop else f"fail_{fault.status}"
                    return _Decision(status=fault.status, drop=fault.drop, label=label)
            if self._ratio is not None:
                p, rng, status, scope = self._ratio
                if _in_scope(scope, endpoint) and rng.random() < p:
                    return _Decision(status=status, label=f"ratio_{status}")
        return None

    def _rate_limited(self, endpoint: str) -> _Decision | None:
        if self._rate_limit is None:
            return None
        until, retry_after, scope = self._rate_limit
        left = until - time.monotonic()
        if left <= 0:
            self._rate_limit = None
            return None
        if not _in_scope(scope, endpoint):
            return None
        wait = retry_after if retry_after is not None else max(1, math.ceil(left))
        headers = {
            "Retry-After": str(wait),
            "RateLimit": f'"api";r=0;t={wait}',
            "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
        }
        return _Decision(status=429, headers=headers, label="rate_limit")

    def _delay(self, endpoint: str) -> float:
        with self._lock:
            return self._slow[0] if self._slow is not None and _in_scope(self._slow[1], endpoint) else 0.0

    # ---------------------------------------------------------------------------------------------- serving

    def _serve(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        body = handler.read_body()
        request = Request(
            method=handler.command,
            segments=[unquote(part) for part in split.path.strip("/").split("/")],
            query=parse_qs(split.query),
            headers=handler.headers,
            body=body,
            user=None,
        )
        route = self._route(request)
        preflight = request.endpoint == "preflight"  # never faulted: a test's fault is meant for the request itself
        decision = None if preflight else self._decide(request.endpoint)
        drop = decision.drop if decision is not None else None
        response = None if drop == "before" else self._respond(request, route, decision)
        if response is not None and not preflight and (delay := self._delay(request.endpoint)):
            time.sleep(delay)
        if response is not None:  # every answer, errors included, so that a page on another origin can read it
            response.headers = {**self._cors_headers(request), **response.headers}
        if drop is not None or response is None:
            self._record(request, split, None, len(body), 0, decision)  # logged first: the client may look at once
            handler.drop()
            return
        sent = 0 if handler.command == "HEAD" else len(response.body)
        self._record(request, split, response.status, len(body), sent, decision)
        handler.send(response)

    def _respond(
        self, request: Request, route: Callable[[Request], Response] | None, decision: _Decision | None
    ) -> Response:
        if decision is not None and decision.status is not None:
            message = f"Injected failure ({decision.label}) by the Hub emulator"
            return error_response(HubError(decision.status, message, headers=decision.headers))
        try:
            request.user, request.scopes = self._authenticate(request.headers)
            if route is None:
                raise HubError(404, f"Not emulated: {request.method} /{'/'.join(request.segments)}")
            with self._lock:
                return route(request)
        except HubError as error:
            return error_response(error)
        except Exception:  # an emulator bug: answer 500 and keep the traceback for the test to see
            self._note_error(traceback.format_exc())
            return error_response(HubError(500, "Hub emulator internal error"))

    def _note_error(self, text: str) -> None:
        with self._lock:
            self._errors.append(text)

    def _record(
        self, request: Request, split: Any, status: int | None, received: int, sent: int, decision: _Decision | None
    ) -> None:
        record = RequestRecord(
            method=request.method,
            path=split.path,
            query=split.query,
            endpoint=request.endpoint,
            repo_type=request.repo_type,
            repo_id=request.repo_id,
            user=request.user,
            status=status,
            bytes_received=received,
            bytes_sent=sent,
            fault=decision.label if decision is not None else None,
        )
        with self._lock:
            self._log.append(record)

    def _authenticate(self, headers: Mapping[str, str]) -> tuple[str | None, frozenset[str] | None]:
        """The user of the request's token (None when anonymous) and its OAuth scopes (None: a plain token)."""
        authorization = headers.get("Authorization") or ""
        if not authorization:
            return None, None
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        with self._lock:
            user = self.tokens.get(token) if scheme.lower() == "bearer" else None
            grant = self._oauth_grants.get(token)
        if user is None:
            raise HubError(401, INVALID_CREDENTIALS)
        return user, grant.scopes if grant is not None else None

    @staticmethod
    def _cors_headers(request: Request) -> dict[str, str]:
        """What the Hub sends for cross-origin reads: the origin echoed (``*`` without one), the headers exposed."""
        origin = request.headers.get("Origin")
        headers = {"Access-Control-Allow-Origin": origin or "*", "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS}
        if origin:
            headers["Vary"] = "Origin"
        return headers

    @staticmethod
    def _preflight(request: Request) -> Response:
        """``OPTIONS`` on any path: the CORS preflight a browser sends before a non-simple cross-origin request."""
        headers = {
            "Access-Control-Allow-Methods": CORS_ALLOW_METHODS,
            "Access-Control-Allow-Headers": request.headers.get("Access-Control-Request-Headers") or CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }
        if (request.headers.get("Access-Control-Request-Private-Network") or "").lower() == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return Response(204, b"", headers)

    # ----------------------------------------------------------------------------------------------- routing

    def _route(self, request: Request) -> Callable[[Request], Response] | None:
        """Find the handler of a request and fill in its ``endpoint``, ``repo_type``, ``repo_id`` and ``rest``."""
        segments, method = request.segments, request.method
        if method == "OPTIONS":
            request.endpoint = "preflight"
            return self._preflight
        if segments[:1] == ["api"]:
            return self._route_api(request, segments[1:], method)
        oauth = {
            ("GET", ".well-known/openid-configuration"): ("openid_configuration", self._openid_configuration),
            ("GET", "oauth/authorize"): ("oauth_authorize", self._oauth_authorize),
            ("POST", "oauth/token"): ("oauth_token", self._oauth_token),
            ("GET", "oauth/userinfo"): ("oauth_userinfo", self._oauth_userinfo),
            ("POST", "oauth/userinfo"): ("oauth_userinfo", self._oauth_userinfo),
        }
        if (method, "/".join(segments)) in oauth:
            request.endpoint, handler = oauth[(method, "/".join(segments))]
            return handler
        resolve_at = 3 if segments[:1] in (["datasets"], ["spaces"]) else 2
        if len(segments) > resolve_at + 1 and segments[resolve_at] == "resolve" and method in ("GET", "HEAD"):
            request.repo_type = REPO_TYPES[segments[0]] if resolve_at == 3 else "model"
            request.repo_id = "/".join(segments[resolve_at - 2 : resolve_at])
            request.rest = segments[resolve_at + 1 :]
            request.endpoint = "resolve"
            return self._resolve
        return None

    def _route_api(self, request: Request, segments: list[str], method: str) -> Callable[[Request], Response] | None:
        simple = {
            ("GET", "whoami-v2"): ("whoami", self._whoami),
            ("POST", "repos/create"): ("create_repo", self._create_repo),
            ("DELETE", "repos/delete"): ("delete_repo", self._delete_repo),
            ("POST", "validate-yaml"): ("validate_yaml", self._validate_yaml),
            ("GET", "agent-harnesses"): ("agent_harnesses", self._not_found),
        }
        if (method, "/".join(segments)) in simple:
            request.endpoint, handler = simple[(method, "/".join(segments))]
            return handler
        if segments[:1] == ["telemetry"]:
            request.endpoint = "telemetry"
            return lambda request: json_response({})
        if len(segments) < 3 or segments[0] not in REPO_TYPES:
            return None
        request.repo_type, request.repo_id = REPO_TYPES[segments[0]], f"{segments[1]}/{segments[2]}"
        action, request.rest = (segments[3] if len(segments) > 3 else None), segments[4:]
        routes = self._repo_routes()
        if (method, action) not in routes or (
            action in ("secrets", "variables", "runtime", "restart") and request.repo_type != "space"
        ):
            return None
        request.endpoint, handler = routes[(method, action)]
        return handler

    def _repo_routes(self) -> dict[tuple[str, str | None], tuple[str, Callable[[Request], Response]]]:
        return {
            ("GET", None): ("repo_info", self._repo_info),
            ("GET", "revision"): ("repo_info", self._repo_info),
            ("POST", "preupload"): ("preupload", self._preupload),
            ("POST", "commit"): ("commit", self._commit),
            ("GET", "tree"): ("tree", self._tree),
            ("POST", "paths-info"): ("paths_info", self._paths_info),
            ("GET", "commits"): ("commits", self._list_commits),
            ("GET", "refs"): ("refs", self._refs),
            ("POST", "super-squash"): ("super_squash", self._super_squash),
            ("PUT", "settings"): ("settings", self._settings),
            ("GET", "auth-check"): ("auth_check", self._auth_check),
            ("GET", "secrets"): ("secrets", self._get_secrets),
            ("POST", "secrets"): ("secrets_write", self._add_secret),
            ("DELETE", "secrets"): ("secrets_write", self._delete_secret),
            ("GET", "variables"): ("variables", self._get_variables),
            ("POST", "variables"): ("variables_write", self._add_variable),
            ("DELETE", "variables"): ("variables_write", self._delete_variable),
            ("GET", "runtime"): ("runtime", self._runtime),
            ("POST", "restart"): ("restart", self._restart),
        }

    # ------------------------------------------------------------------------------------------ repos & access

    def _get_repo(self, repo_type: str, repo_id: str) -> Repo:
        repo = self._repos.get((repo_type, repo_id))
        if repo is None:
            raise KeyError(f"No {repo_type} repo {repo_id!r} in the emulator")
        return repo

    def _can_write(self, user: str | None, namespace: str) -> bool:
        return user is not None and (user == namespace or user in self.orgs.get(namespace, ()))

    @staticmethod
    def _granted(request: Request, scopes: frozenset[str]) -> bool:
        """Whether the token may act on the user's repos: plain tokens always, OAuth tokens with one of ``scopes``."""
        return request.scopes is None or bool(request.scopes & scopes)

    def _readable(self, request: Request) -> Repo:
        assert request.repo_type is not None and request.repo_id is not None
        repo = self._repos.get((request.repo_type, request.repo_id))
        if repo is None or (
            repo.private and not (self._can_write(request.user, repo.namespace) and self._granted(request, READ_SCOPES))
        ):
            status = 401 if request.user is None else 404
            raise HubError(status, "Repository not found", code="RepoNotFound")
        return repo

    def _writable(self, request: Request, scopes: frozenset[str] = WRITE_SCOPES) -> Repo:
        if request.user is None:
            raise HubError(401, "You must be authenticated to write to a repository")
        repo = self._readable(request)
        if not self._can_write(request.user, repo.namespace):
            raise HubError(403, f"You don't have the rights to write to {repo.repo_type} {repo.repo_id}")
        if not self._granted(request, scopes):
            raise HubError(403, f"This OAuth token lacks the scope to write to {repo.repo_type} {repo.repo_id}")
        return repo

    def _resolve_revision(self, repo: Repo, revision: str) -> Commit:
        if revision == "main" and repo.commits:
            return repo.head
        if len(revision) >= 7 and all(char in "0123456789abcdef" for char in revision):
            for commit in reversed(repo.commits):
                if commit.oid.startswith(revision):
                    return commit
        raise HubError(404, f"Invalid rev id: {revision}", code="RevisionNotFound")

    def _repo_url(self, repo: Repo) -> str:
        return f"{self.url}/{URL_PREFIXES[repo.repo_type]}{repo.repo_id}"

    def _new_repo(self, repo_id: str, repo_type: str, visibility: str, sdk: str | None, author: str) -> Repo:
        repo = Repo(repo_id=repo_id, repo_type=repo_type, visibility=visibility, sdk=sdk)
        self._repos[(repo_type, repo_id)] = repo
        initial = {".gitattributes": DEFAULT_GITATTRIBUTES} if self.gitattributes else {}
        self._add_commit(repo, initial, "initial commit", "", author)
        return repo

    def _add_commit(self, repo: Repo, files: Mapping[str, bytes], title: str, message: str, author: str) -> Commit:
        parents = (repo.head.oid,) if repo.commits else ()
        digest = hashlib.sha1(
            f"{self._salt}\n{repo.repo_type}/{repo.repo_id}\n{parents}\n{title}\n{next(self._counter)}".encode()
        )
        for path in sorted(files):
            digest.update(f"{path}\0{git_blob_id(files[path])}\n".encode())
        commit = Commit(digest.hexdigest(), title, message, author, _now(), parents, MappingProxyType(dict(files)))
        repo.commits.append(commit)
        return commit

    # ------------------------------------------------------------------------------------------------- account

    @staticmethod
    def _not_found(request: Request) -> Response:
        """Known to the client but deliberately absent (e.g. the agent registry: the client then caches nothing)."""
        raise HubError(404, "Not found")

    def _whoami(self, request: Request) -> Response:
        if request.user is None:
            raise HubError(401, INVALID_CREDENTIALS)
        orgs = [
            {"type": "org", "name": name, "fullname": name}
            for name, members in self.orgs.items()
            if request.user in members
        ]
        return json_response(
            {
                "type": "user",
                "id": hashlib.md5(request.user.encode()).hexdigest()[:24],
                "name": request.user,
                "fullname": request.user.title(),
                "email": f"{request.user}@example.com",
                "emailVerified": True,
                "isPro": False,
                "canPay": False,
                "orgs": orgs,
                "auth": (
                    {"type": "access_token", "accessToken": {"displayName": "emulator", "role": "write"}}
                    if request.scopes is None
                    else {"type": "oauth", "scope": " ".join(sorted(request.scopes))}
                ),
            }
        )

    def _create_repo(self, request: Request) -> Response:
        if request.user is None:
            raise HubError(401, "You must be authenticated to create a repository")
        payload = request.json()
        repo_type, name = payload.get("type") or "model", payload.get("name") or ""
        namespace = payload.get("organization") or request.user
        if repo_type not in URL_PREFIXES or not name or "/" in name or name.startswith((".", "-")):
            raise HubError(400, f"Invalid repo name or type: {name!r} ({repo_type})")
        if not self._can_write(request.user, namespace) or not self._granted(request, MANAGE_SCOPES):
            raise HubError(403, f'You don\'t have the rights to create a {repo_type} under the namespace "{namespace}"')
        repo_id = f"{namespace}/{name}"
        existing = self._repos.get((repo_type, repo_id))
        if existing is not None:
            url = self._repo_url(existing)
            error = f"You already created this {repo_type} repo"
            return json_response({"error": error, "url": url}, 409, {"X-Error-Message": error})
        sdk = payload.get("sdk")
        if repo_type == "space" and sdk not in SPACE_SDKS:
            raise HubError(400, f"Invalid or missing Space SDK: {sdk!r}")
        visibility = payload.get("visibility") or ("private" if payload.get("private") else "public")
        repo = self._new_repo(repo_id, repo_type, visibility, sdk if repo_type == "space" else None, request.user)
        for item in payload.get("secrets") or []:
            repo.secrets[item["key"]] = {
                "value": item["value"],
                "description": item.get("description"),
                "updatedAt": _now(),
            }
        for item in payload.get("variables") or []:
            repo.variables[item["key"]] = {
                "value": item["value"],
                "description": item.get("description"),
                "updatedAt": _now(),
            }
        return json_response({"url": self._repo_url(repo), "name": repo_id, "id": repo.head.oid[:24]})

    def _delete_repo(self, request: Request) -> Response:
        payload = request.json()
        request.repo_type = payload.get("type") or "model"
        request.repo_id = f"{payload.get('organization') or request.user}/{payload.get('name')}"
        repo = self._writable(request, MANAGE_SCOPES)
        del self._repos[(repo.repo_type, repo.repo_id)]
        return json_response({})

    def _validate_yaml(self, request: Request) -> Response:
        content = request.json().get("content") or ""
        try:
            errors = _validate_card(_front_matter(content))
        except ValueError as error:
            errors = [str(error)]
        payload = {"errors": [{"message": message} for message in errors], "warnings": []}
        return json_response(payload, 400 if errors else 200)

    # --------------------------------------------------------------------------------------------------- oauth

    def _openid_configuration(self, request: Request) -> Response:
        return json_response(
            {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/oauth/authorize",
                "token_endpoint": f"{self.url}/oauth/token",
                "userinfo_endpoint": f"{self.url}/oauth/userinfo",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "subject_types_supported": ["public"],
                "scopes_supported": [*OAUTH_BASE_SCOPES, "email", *sorted(READ_SCOPES), "inference-api"],
            }
        )

    def _oauth_authorize(self, request: Request) -> Response:
        """Auto-approve as ``oauth_user`` (deny with ``error=access_denied`` when it is None): 302 to the app."""
        client_id = request.param("client_id") or ""
        app = self._oauth_apps.get(client_id)
        if app is None:
            raise oauth_error(400, "invalid_client", f"Unknown OAuth client_id: {client_id!r}")
        redirect_uri = request.param("redirect_uri") or ""
        if not redirect_uri or not app.accepts_redirect(redirect_uri):
            raise oauth_error(400, "invalid_request", f"redirect_uri not allowed for this app: {redirect_uri!r}")
        if request.param("response_type") != "code":
            raise oauth_error(400, "unsupported_response_type", "Only response_type=code is supported")
        challenge = request.param("code_challenge") or ""
        if request.param("code_challenge_method") != "S256" or not challenge:
            raise oauth_error(400, "invalid_request", "PKCE is required: a code_challenge with method S256")
        scopes = list(dict.fromkeys((request.param("scope") or " ".join(OAUTH_BASE_SCOPES)).split()))
        if app.scopes is not None and (refused := [scope for scope in scopes if scope not in app.scopes]):
            raise oauth_error(400, "invalid_scope", f"Scopes not allowed for this app: {' '.join(refused)}")
        params: dict[str, str]
        if self.oauth_user is None:
            params = {"error": "access_denied", "error_description": "The user denied the authorization request"}
        else:
            code = secrets.token_urlsafe(24)
            expires_at = time.monotonic() + OAUTH_CODE_LIFETIME
            self._oauth_codes[code] = _OAuthCode(
                client_id, redirect_uri, challenge, " ".join(scopes), self.oauth_user, expires_at
            )
            params = {"code": code}
        if (state := request.param("state")) is not None:
            params["state"] = state
        location = f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{urlencode(params)}"
        return Response(302, b"", {"Location": location, "Cache-Control": "no-store"})

    def _oauth_token(self, request: Request) -> Response:
        """Exchange a code (single use, consumed by any attempt) for an access token, checking the PKCE verifier."""
        form = self._form(request)
        if form.get("grant_type") != "authorization_code":
            raise oauth_error(400, "unsupported_grant_type", "Only grant_type=authorization_code is supported")
        code = self._oauth_codes.pop(form.get("code", ""), None)
        if code is None or code.expires_at < time.monotonic():
            raise oauth_error(400, "invalid_grant", "Invalid, expired or already used authorization code")
        if form.get("client_id", code.client_id) != code.client_id:
            raise oauth_error(400, "invalid_grant", "The code was issued to another client_id")
        if form.get("redirect_uri") != code.redirect_uri:
            raise oauth_error(400, "invalid_grant", "redirect_uri does not match the one of the authorization")
        verifier = form.get("code_verifier", "")
        if not re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier) or pkce_challenge(verifier) != code.code_challenge:
            raise oauth_error(400, "invalid_grant", "PKCE verification failed (code_verifier)")
        app = self._oauth_apps.get(code.client_id)
        if app is None:
            raise oauth_error(400, "invalid_client", f"Unknown OAuth client_id: {code.client_id!r}")
        grant = OAuthGrant(f"hf_oauth_{secrets.token_hex(20)}", code.user, code.client_id, code.scope, app.expires_in)
        self._oauth_grants[grant.access_token] = grant
        self.tokens[grant.access_token] = grant.user
        payload = {
            "access_token": grant.access_token,
            "token_type": "bearer",
            "expires_in": grant.expires_in,
            "scope": grant.scope,
        }
        return json_response(payload, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    @staticmethod
    def _form(request: Request) -> dict[str, str]:
        if request.headers.get("Content-Type", "").startswith("application/json"):
            return {str(key): str(value) for key, value in request.json().items()}
        parsed = parse_qs(request.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def _oauth_userinfo(self, request: Request) -> Response:
        if request.user is None:
            raise HubError(401, "An access token is required", headers={"WWW-Authenticate": "Bearer"})
        user = request.user
        info: dict[str, Any] = {
            "sub": hashlib.md5(user.encode()).hexdigest()[:24],  # the whoami id
            "name": user.title(),
            "preferred_username": user,
            "profile": f"{self.url}/{user}",
            "picture": f"{self.url}/avatars/{user}.svg",
            "isPro": False,
            "orgs": [
                {
                    "sub": hashlib.md5(name.encode()).hexdigest()[:24],
                    "name": name,
                    "preferred_username": name,
                    "picture": f"{self.url}/avatars/{name}.svg",
                    "isEnterprise": False,
                }
                for name, members in sorted(self.orgs.items())
                if user in members
            ],
        }
        if request.scopes is None or "email" in request.scopes:
            info.update(email=f"{user}@example.com", email_verified=True)
        return json_response(info)

    # ------------------------------------------------------------------------------------------------ repo info

    def _repo_info(self, request: Request) -> Response:
        repo = self._readable(request)
        commit = self._resolve_revision(repo, request.rest[0] if request.rest else "main")
        blobs = request.flag("blobs")
        siblings = [
            {"rfilename": path, **({"size": len(data), "blobId": git_blob_id(data)} if blobs else {})}
            for path, data in sorted(commit.files.items())
        ]
        info: dict[str, Any] = {
            "_id": repo.created_at,
            "id": repo.repo_id,
            "author": repo.namespace,
            "sha": commit.oid,
            "private": repo.private,
            "gated": repo.gated,
            "disabled": False,
            "createdAt": repo.created_at,
            "lastModified": commit.date,
            "likes": 0,
            "downloads": 0,
            "tags": [],
            "siblings": siblings,
            "usedStorage": sum(len(data) for data in commit.files.values()),
        }
        card = self._card_data(commit)
        if card is not None:
            info["cardData"] = card
        if repo.repo_type == "space":
            info.update(
                sdk=repo.sdk, subdomain=repo.repo_id.replace("/", "-").lower(), runtime=self._runtime_info(repo)
            )
        return json_response(info)

    @staticmethod
    def _card_data(commit: Commit) -> Any:
        readme = commit.files.get("README.md")
        if readme is None:
            return None
        try:
            data = _front_matter(readme.decode("utf-8", errors="replace"))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _refs(self, request: Request) -> Response:
        repo = self._readable(request)
        branch = {"name": "main", "ref": "refs/heads/main", "targetCommit": repo.head.oid}
        return json_response({"branches": [branch], "tags": [], "converts": [], "pullRequests": []})

    def _auth_check(self, request: Request) -> Response:
        self._readable(request)
        return json_response({})

    def _settings(self, request: Request) -> Response:
        repo = self._writable(request)
        payload = request.json()
        if "visibility" in payload:
            repo.visibility = payload["visibility"]
        elif "private" in payload:
            repo.visibility = "private" if payload["private"] else "public"
        if "gated" in payload:
            repo.gated = payload["gated"]
        return json_response({})

    # ------------------------------------------------------------------------------------------------- uploads

    def _preupload(self, request: Request) -> Response:
        repo = self._writable(request)
        commit = self._branch_head(repo, request)
        files = []
        for item in request.json().get("files") or []:
            path = _clean_path(item.get("path"))
            entry: dict[str, Any] = {"path": path, "uploadMode": "regular", "shouldIgnore": False}
            if path in commit.files:
                entry["oid"] = git_blob_id(commit.files[path])
            files.append(entry)
        return json_response({"files": files, "commitOid": commit.oid})

    def _branch_head(self, repo: Repo, request: Request) -> Commit:
        if request.param("create_pr") in ("1", "true"):
            raise HubError(400, "Pull requests are not emulated")
        revision = request.rest[0] if request.rest else "main"
        if revision != "main":
            raise HubError(
                404, f"Invalid rev id: {revision} (the emulator only has a main branch)", code="RevisionNotFound"
            )
        return repo.head

    def _commit(self, request: Request) -> Response:
        repo = self._writable(request)
        head = self._branch_head(repo, request)
        header, operations = self._parse_ndjson(request.body)
        parent = header.get("parentCommit")
        if parent and not head.oid.startswith(parent):
            raise HubError(412, "A commit has happened since. Please refresh and try again.")
        files = dict(head.files)
        for key, value in operations:
            self._apply(files, key, value)
        summary = header.get("summary") or "Commit with the Hub emulator"
        commit = self._add_commit(repo, files, summary, header.get("description") or "", request.user or "")
        url = f"{self._repo_url(repo)}/commit/{commit.oid}"
        return json_response(
            {"success": True, "commitOid": commit.oid, "commitUrl": url, "pullRequestUrl": None, "hookOutput": ""}
        )

    @staticmethod
    def _parse_ndjson(body: bytes) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        except ValueError as error:
            raise HubError(400, f"Invalid NDJSON commit payload: {error}") from error
        if not lines or lines[0].get("key") != "header":
            raise HubError(400, "The commit payload must start with a header line")
        return lines[0].get("value") or {}, [(line.get("key"), line.get("value") or {}) for line in lines[1:]]

    @staticmethod
    def _apply(files: dict[str, bytes], key: str, value: dict[str, Any]) -> None:
        path = value.get("path")
        if key == "file":
            content = value.get("content") or ""
            encoding = value.get("encoding") or "utf-8"
            files[_clean_path(path)] = (
                base64.b64decode(content, validate=True) if encoding == "base64" else content.encode()
            )
        elif key == "deletedFile":
            if files.pop(_clean_path(path), None) is None:
                raise HubError(404, f"A file with this name doesn't exist: {path}", code="EntryNotFound")
        elif key == "deletedFolder":
            prefix = _clean_path(path).rstrip("/") + "/"
            doomed = [name for name in files if name.startswith(prefix)]
            if not doomed:
                raise HubError(404, f"A folder with this name doesn't exist: {path}", code="EntryNotFound")
            for name in doomed:
                del files[name]
        elif key == "lfsFile":
            raise HubError(400, "LFS uploads are not emulated (preupload answers uploadMode=regular)")
        else:
            raise HubError(400, f"Unknown commit operation: {key!r}")

    def _super_squash(self, request: Request) -> Response:
        repo = self._writable(request)
        head = self._branch_head(repo, request)
        message = request.json().get("message") or "Super-squash"
        repo.commits = []
        commit = self._add_commit(repo, head.files, message, "", request.user or "")
        return json_response({"commitOid": commit.oid})

    # --------------------------------------------------------------------------------------------------- reads

    def _resolve(self, request: Request) -> Response:
        repo = self._readable(request)
        commit = self._resolve_revision(repo, request.rest[0])
        path = "/".join(request.rest[1:])
        headers = {"X-Repo-Commit": commit.oid, "Accept-Ranges": "bytes"}
        data = commit.files.get(path)
        if data is None:
            raise HubError(404, "Entry not found", code="EntryNotFound", headers=headers)
        headers.update({"ETag": f'"{git_blob_id(data)}"', "Content-Type": "application/octet-stream"})
        byte_range = _byte_range(request.headers.get("Range"), len(data))
        if byte_range is None:
            return Response(200, data, headers)
        start, end = byte_range
        headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        return Response(206, data[start : end + 1], headers)

    def _tree(self, request: Request) -> Response:
        repo = self._readable(request)
        commit = self._resolve_revision(repo, request.rest[0] if request.rest else "main")
        path = "/".join(request.rest[1:]).strip("/")
        folders = _folders(commit.files)
        if path and path not in folders:
            raise HubError(404, f"Path {path!r} not found (or not a folder)", code="EntryNotFound")
        recursive, expand = request.flag("recursive"), request.flag("expand")
        prefix = f"{path}/" if path else ""
        names = [name for name in sorted(folders | set(commit.files)) if name.startswith(prefix)]
        if not recursive:
            names = [name for name in names if _parent(name) == path]
        entries = [self._entry(repo, commit, name, name in folders, expand) for name in names]
        return self._page(request, entries, 50 if expand else self.tree_page_size)

    def _paths_info(self, request: Request) -> Response:
        repo = self._readable(request)
        commit = self._resolve_revision(repo, request.rest[0] if request.rest else "main")
        if request.headers.get("Content-Type", "").startswith("application/json"):
            payload = request.json()
            paths, expand = payload.get("paths") or [], bool(payload.get("expand"))
        else:
            form = parse_qs(request.body.decode())
            paths, expand = form.get("paths", []), (form.get("expand") or [""])[0].lower() in ("1", "true")
        folders = _folders(commit.files)
        entries = [
            self._entry(repo, commit, path.strip("/"), path.strip("/") in folders, expand)
            for path in paths
            if path.strip("/") in commit.files or path.strip("/") in folders
        ]
        return json_response(entries)

    def _entry(self, repo: Repo, commit: Commit, path: str, is_folder: bool, expand: bool) -> dict[str, Any]:
        if is_folder:
            listing = "".join(
                f"{name}\0{git_blob_id(data)}"
                for name, data in sorted(commit.files.items())
                if name.startswith(path + "/")
            )
            entry: dict[str, Any] = {
                "type": "directory",
                "oid": hashlib.sha1(listing.encode()).hexdigest(),
                "size": 0,
                "path": path,
            }
        else:
            data = commit.files[path]
            entry = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": path}
        if expand:
            last = self._last_commit(repo, commit, path, is_folder)
            entry["lastCommit"] = {"id": last.oid, "title": last.title, "date": last.date}
        return entry

    @staticmethod
    def _last_commit(repo: Repo, commit: Commit, path: str, is_folder: bool) -> Commit:
        """The newest commit, up to ``commit``, that changed ``path`` (a file, or anything under a folder)."""

        def view(files: Mapping[str, bytes]) -> Any:
            if is_folder:
                return {name: data for name, data in files.items() if name.startswith(path + "/")}
            return files.get(path)

        history = repo.commits[: repo.commits.index(commit) + 1]
        for index in range(len(history) - 1, 0, -1):
            if view(history[index].files) != view(history[index - 1].files):
                return history[index]
        return history[0]

    def _list_commits(self, request: Request) -> Response:
        repo = self._readable(request)
        commit = self._resolve_revision(repo, request.rest[0] if request.rest else "main")
        history = repo.commits[: repo.commits.index(commit) + 1]
        items = [
            {
                "id": item.oid,
                "title": item.title,
                "message": item.message,
                "date": item.date,
                "authors": [{"user": item.author, "avatar": ""}],
                "formatted": {"title": item.title, "message": item.message},
            }
            for item in reversed(history)
        ]
        return self._page(request, items, self.commits_page_size)

    def _page(self, request: Request, items: list[Any], size: int) -> Response:
        """One page of ``items``, with a GitHub-style ``Link: <...>; rel="next"`` header when more remain."""
        start = int(request.param("cursor") or 0)
        headers = {}
        if start + size < len(items):
            query = {name: values[0] for name, values in request.query.items() if name != "cursor"}
            path = "/".join(quote(segment, safe="") for segment in request.segments)
            next_url = f"{self.url}/{path}?{urlencode({**query, 'cursor': start + size})}"
            headers["Link"] = f'<{next_url}>; rel="next"'
        return json_response(items[start : start + size], headers=headers)

    # -------------------------------------------------------------------------------------------------- spaces

    def _get_secrets(self, request: Request) -> Response:
        repo = self._writable(request)
        return json_response(
            {
                key: {"description": value.get("description"), "updatedAt": value["updatedAt"]}
                for key, value in repo.secrets.items()
            }
        )

    def _add_secret(self, request: Request) -> Response:
        repo = self._writable(request)
        payload = request.json()
        repo.secrets[payload["key"]] = {
            "value": payload["value"],
            "description": payload.get("description"),
            "updatedAt": _now(),
        }
        return json_response({})

    def _delete_secret(self, request: Request) -> Response:
        repo = self._writable(request)
        repo.secrets.pop(request.json().get("key"), None)
        return json_response({})

    def _get_variables(self, request: Request) -> Response:
        return json_response(self._writable(request).variables)

    def _add_variable(self, request: Request) -> Response:
        repo = self._writable(request)
        payload = request.json()
        repo.variables[payload["key"]] = {
            "value": payload["value"],
            "description": payload.get("description"),
            "updatedAt": _now(),
        }
        return json_response(repo.variables)

    def _delete_variable(self, request: Request) -> Response:
        repo = self._writable(request)
        repo.variables.pop(request.json().get("key"), None)
        return json_response(repo.variables)

    @staticmethod
    def _runtime_info(repo: Repo) -> dict[str, Any]:
        hardware = None if repo.sdk == "static" else "cpu-basic"
        return {
            "stage": "RUNNING",
            "hardware": {"current": hardware, "requested": hardware},
            "gcTimeout": None,
            "storage": None,
        }

    def _runtime(self, request: Request) -> Response:
        return json_response(self._runtime_info(self._readable(request)))

    def _restart(self, request: Request) -> Response:
        return json_response(self._runtime_info(self._writable(request)))


# --------------------------------------------------------------------------------------------------------- fixture


@pytest.fixture(name="hub")
def hub_fixture(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[HubEmulator]:
    """A running ``HubEmulator`` (users ``alice``/``hf_test_token`` and ``bob``/``hf_other_token``), with this
    process' ``huggingface_hub`` pointed at it (``patch_client``: endpoint, ``HF_TOKEN=hf_test_token``, online, no
    Xet, caches under ``tmp_path / "hf_home"``) and the environment set for subprocesses. Stopped, and the patches
    undone, after the test."""
    with HubEmulator() as emulator:
        emulator.patch_client(monkeypatch, hf_home=tmp_path / "hf_home")
        yield emulator
