"""The local page's write API: rename, tag, annotate and delete runs. The dashboard's only write endpoints.

`show` enables it only when it binds to loopback over a local storage directory (never for a mirrored dataset,
never in a Space): it makes a per-session token (`new_write_token`) that lives in the server's memory and
reaches the page through ``GET /config.json`` (same origin only: no CORS header is ever sent, and foreign
``Host`` names are refused, so another site's page cannot read it)::

    POST /api/runs/rename  {"project": P, "run": R, "new_name": N}
    POST /api/runs/tags    {"project": P, "run": R, "tags": [T, ...]}       (the whole list)
    POST /api/runs/notes   {"project": P, "run": R, "notes": TEXT}
    POST /api/runs/delete  {"project": P, "run": R, "confirm": R}           (confirm: the run's name again)

Each needs the header ``X-Trackio-Token: TOKEN`` (missing or wrong: 403) and a JSON body (``Content-Type:
application/json``, else 415; a cross-site form cannot send one without a preflight the server never grants).
Answers ``{"ok": true, "run": <the run as /api/runs lists it>}`` (delete: as it was), or ``{"error": "..."}``
with 400 (a bad value, named with what is accepted: the same checks as the CLI's, `management.operations`),
404 (no such project or run), 409 (the run has a live writer: renaming or deleting it waits for it to end).
The token is compared in constant time and never logged, written to a file or sent in any other answer.
"""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import BadRequest, InvalidNameError, NotFoundError, RunInUseError, TrackioError
from ..management import operations
from ..utils.jsontext import dumps
from .readers import ThreadReaders

logger = logging.getLogger(__name__)

TOKEN_HEADER = "X-Trackio-Token"
MAX_BODY_BYTES = 256 * 1024  # notes of 20,000 characters, escaped, fit several times over
ACTIONS = ("rename", "tags", "notes", "delete")


def new_write_token() -> str:
    """A fresh per-session token (256 random bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def _answer(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(dumps(payload), status, media_type="application/json", headers={"Cache-Control": "no-store"})


def _text(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if not isinstance(value, str):
        raise BadRequest(f"{field!r} must be a string, got {json.dumps(value)[:80]}")
    return value


class RunWrites:
    """The four actions over one storage directory, each given the parsed JSON body; they answer the run's row."""

    def __init__(self, readers: ThreadReaders):
        self.readers = readers

    def _row(self, project: str, run: str) -> dict[str, Any]:
        return self.readers.get().run(project, run)

    def rename(self, body: dict[str, Any]) -> dict[str, Any]:
        project, run, new_name = _text(body, "project"), _text(body, "run"), _text(body, "new_name")
        row = operations.rename_run(project, run, new_name, directory=self.readers.directory)
        return self._row(project, row.name)

    def tags(self, body: dict[str, Any]) -> dict[str, Any]:
        project, run, tags = _text(body, "project"), _text(body, "run"), body.get("tags")
        if not isinstance(tags, list):
            raise BadRequest(f"'tags' must be a list of strings (the run's whole list), got {json.dumps(tags)[:80]}")
        operations.set_run_tags(project, run, tags, directory=self.readers.directory)
        return self._row(project, run)

    def notes(self, body: dict[str, Any]) -> dict[str, Any]:
        project, run, notes = _text(body, "project"), _text(body, "run"), _text(body, "notes")
        operations.set_run_notes(project, run, notes, directory=self.readers.directory)
        return self._row(project, run)

    def delete(self, body: dict[str, Any]) -> dict[str, Any]:
        project, run = _text(body, "project"), _text(body, "run")
        if body.get("confirm") != run:
            raise BadRequest(f"deleting run {run!r} needs 'confirm' equal to its name, {run!r}")
        before = self._row(project, run)
        operations.delete_run(project, run, directory=self.readers.directory, uid=before["uid"])
        return before


def _status(error: Exception) -> int:
    if isinstance(error, NotFoundError):
        return 404
    if isinstance(error, RunInUseError):
        return 409
    if isinstance(error, (BadRequest, InvalidNameError, ValueError, TypeError)):
        return 400
    return 500


def _endpoint(token: str, action: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[Request], Any]:
    expected = token.encode()

    async def endpoint(request: Request) -> Response:
        given = request.headers.get(TOKEN_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, expected):
            return _answer({"error": f"this action needs the page's {TOKEN_HEADER} header"}, 403)
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return _answer({"error": "the body must be JSON (Content-Type: application/json)"}, 415)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _answer({"error": f"the body is over {MAX_BODY_BYTES} bytes"}, 413)
        try:
            body = json.loads(raw)
        except ValueError as error:
            return _answer({"error": f"the body is not JSON: {error}"}, 400)
        if not isinstance(body, dict):
            return _answer({"error": "the body must be a JSON object"}, 400)
        try:
            row = await run_in_threadpool(action, body)
        except (TrackioError, ValueError, TypeError) as error:
            return _answer({"error": str(error)}, _status(error))
        logger.info("%s %s of project %r", request.url.path, body.get("run"), body.get("project"))
        return _answer({"ok": True, "run": row})

    return endpoint


def write_routes(token: str, readers: ThreadReaders) -> list[Route]:
    """``POST /api/runs/<action>`` for each of `ACTIONS`, behind ``token`` (see the module doc)."""
    if not token:
        raise ValueError("the write API needs a non-empty token")
    writes = RunWrites(readers)
    return [Route(f"/api/runs/{name}", _endpoint(token, getattr(writes, name)), methods=["POST"]) for name in ACTIONS]
