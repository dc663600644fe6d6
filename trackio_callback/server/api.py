"""The dashboard's JSON API: read-only GET endpoints over `Reader`, and the static front end.

Every answer is strict JSON (`jsontext`). Series come as columns (``steps``, ``timestamps`` in unix
seconds, ``values``) downsampled with min/max preservation, with the run's ``cursor`` (the seq of
its last ``log()`` call included), so a live page asks `/api/poll` only for what came after::

    GET /api/info                                   mode, version, default project, poll interval
    GET /api/projects                               projects, and the files that cannot be read (and why)
    GET /api/runs?project=P                         every run: status, why it ended (end_reason), times, last step,
                                                    config, summary, tags, notes, cursor
    GET /api/keys?project=P&run=A&run=B             per run: metric summaries; system, table, text, media,
                                                    histogram and trace keys
    GET /api/series?project=P&run=A&run=B&key=K[&key=K2][&max_points=N][&min_step=S&max_step=S][&format=packed]
                                                    with each run's cursor (a step range: zoomed detail);
                                                    keys=all instead of key=...: every metric each run logs;
                                                    format=packed: a JSON header and float64 columns (`packed`)
    GET /api/poll?project=P&run=A&after=SEQ[&run=B&after=SEQ][&key=K...]   points logged since each cursor
    GET /api/system?project=P&run=A[&after=SEQ]     system samples (GPU, CPU...) since a cursor
    GET /api/tables?project=P&run=A[&key=K]         logged tables (TRL completions); an image cell gets a ``url``
    GET /api/alerts?project=P&run=A                 alerts: [{step, timestamp, level, title, text, value}], oldest first
    GET /api/texts?project=P&run=A[&key=K]          logged strings: [{step, timestamp, key, value, kind}], oldest first
                                                    (kind: text, markdown or html)
    GET /api/media?project=P&run=A[&key=K]          images, audio, video, 3D objects: [{step, key, item, kind, caption,
                                                    digest, format, size, width, height, duration, seq, timestamp, url}]
    GET /api/file?project=P&digest=SHA256           a stored media file's bytes (immutable: cached for a year)
    GET /api/histograms?project=P&run=A&key=K[&max_steps=N]   {steps, timestamps, edges: [[...]], counts: [[...]]},
                                                    oldest first; at most N steps (default 1,000), evenly spread
    GET /api/traces?project=P&run=A[&key=K]         [{step, timestamp, key, seq, value: {messages, metadata, spans}}]
    GET /api/config_diff?project=P&run=A&run=B
    GET /api/download?project=P&run=A&key=K&format=csv|parquet     one series at full resolution

The only write endpoints are the local page's (`writes`: rename, tag, annotate, delete a run), served only when
`show` binds to loopback, behind a per-session token; every other method answers 405. Bound to loopback, only
loopback ``Host`` names are answered (no DNS rebinding). Names are checked by `Reader` (a project
is one path component, never ``..``; runs and keys are SQL parameters), so no parameter reaches
outside the storage directory or into SQL text; a bad one is a 400 or 404 naming what exists.
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import BadRequest, InvalidNameError, NotFoundError, TrackioError
from ..media.encoding import MEDIA_TYPES
from ..store import files
from ..store.downsample import even_indices
from ..store.reader import Reader, Series
from ..utils.jsontext import dumps, dumps_plain
from ..version import __version__
from .packed import MEDIA_TYPE as PACKED_MEDIA_TYPE
from .packed import pack_series
from .readers import ThreadReaders

logger = logging.getLogger(__name__)

DEFAULT_MAX_POINTS = 1000
MAX_POINTS_LIMIT = 100_000
DEFAULT_HISTOGRAM_STEPS = 1000  # a heatmap column each: more than a page is wide
MAX_HISTOGRAM_STEPS = 100_000
POLL_MS = 2000
MAX_VALUES_PER_PARAMETER = 500  # runs or keys in one request: the page asks per run, an assistant per key
STATIC = resources.files(__package__) / "static"


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status_code=status, media_type="application/json")


class Api:
    """The endpoints, over one storage directory. Each server thread reads with its own `Reader`."""

    def __init__(self, readers: ThreadReaders, project: str | None = None, dataset_id: str | None = None):
        self.readers = readers
        self.project = project
        self.dataset_id = dataset_id

    @property
    def reader(self) -> Reader:
        return self.readers.get()

    # -- endpoints --------------------------------------------------------------------------------

    def info(self, request: Request) -> dict[str, Any]:
        projects = self.reader.readable_projects()[0]  # the page never opens a file that cannot be read
        project = self.project if self.project in projects else self._latest(projects)
        return {
            "mode": "server",
            "version": __version__,
            "project": project,
            "dataset_id": self.dataset_id,
            "poll_ms": POLL_MS,
            "max_points": DEFAULT_MAX_POINTS,
        }

    def _latest(self, projects: list[str]) -> str | None:
        """The project written to last (its file's modification time, WAL included)."""
        return files.latest_project(self.reader.dir, projects) or self.project

    def projects(self, request: Request) -> dict[str, Any]:
        readable, unreadable = self.reader.readable_projects()
        return {
            "projects": readable,
            "unreadable": [{"name": name, "error": str(error)} for name, error in unreadable.items()],
        }

    def runs(self, request: Request) -> Response:
        project = _one(request, "project")
        runs = self.reader.runs(project)
        for run in runs:
            run["cursor"] = run["num_logs"] - 1  # the seq of its last log() call
        # JSON parsed back from the store and SQLite columns: the plain encoder (1,000 runs are ~0.5 MB).
        return Response(dumps_plain({"project": project, "runs": runs}), media_type="application/json")

    def keys(self, request: Request) -> dict[str, Any]:
        project = _one(request, "project")
        result = {}
        for run in _many(request, "run"):
            metrics = self.reader.summary(project, run)["metrics"]
            result[run] = {
                "metrics": metrics,
                "system": self.reader.system_keys(project, run),
                "tables": self.reader.table_keys(project, run),
                "texts": self.reader.text_keys(project, run),
                "media": self.reader.media_keys(project, run),
                "histograms": self.reader.histogram_keys(project, run),
                "traces": self.reader.trace_keys(project, run),
            }
        return {"project": project, "runs": result}

    def series(self, request: Request) -> dict[str, Any] | Response:
        project = _one(request, "project")
        max_points = _int(request, "max_points", DEFAULT_MAX_POINTS, low=4, high=MAX_POINTS_LIMIT)
        min_step = _int(request, "min_step", None, low=-(2**63))
        max_step = _int(request, "max_step", None, low=-(2**63))
        every_key = _choice(request, "keys", ("listed", "all")) == "all"
        if every_key and "key" in request.query_params:
            raise BadRequest("give either key=... or keys=all, not both")
        keys = None if every_key else _many(request, "key")
        packed = _choice(request, "format", ("json", "packed")) == "packed"
        result: list[Series] = []
        cursors = {}
        for run in _many(request, "run"):
            cursor = cursors[run] = self.reader.cursor(project, run)  # first: later points wait for a poll
            keys_of_run = keys if keys is not None else self.reader.metric_keys(project, run)
            # A key the run does not log is left out: it draws no line on that chart. Without a step range, a long
            # series is downsampled from its blocks' stored extremes (`Reader.series_of_keys` by_blocks).
            read = self.reader.series_of_keys(
                project, run, keys_of_run, min_step, max_step, max_points, until_seq=cursor, by_blocks=True
            )
            result += read.values()
        if packed:
            return Response(pack_series(project, cursors, result), media_type=PACKED_MEDIA_TYPE)
        columns = [_columns(series) | {"total": series.total} for series in result]
        return {"project": project, "cursors": cursors, "series": columns}

    def poll(self, request: Request) -> dict[str, Any]:
        project = _one(request, "project")
        runs, afters = _many(request, "run", unique=False), _many(request, "after", unique=False)  # pairs
        if len(runs) != len(afters):
            raise BadRequest(f"every run needs its after= cursor: got {len(runs)} run and {len(afters)} after")
        keys = request.query_params.getlist("key") or None
        max_points = _int(request, "max_points", DEFAULT_MAX_POINTS, low=4, high=MAX_POINTS_LIMIT)
        answer = []
        for run, after in zip(runs, afters):
            after_seq = _parse_int("after", after, low=-1)
            info = self.reader.run(project, run)
            cursor = info["num_logs"] - 1  # read first: later points wait for the next poll
            new = {}
            if cursor > after_seq:
                points = self.reader.new_points(project, run, after_seq, keys, max_points, until_seq=cursor)
                new = {key: _columns(series) for key, series in points.items()}
            answer.append(
                {
                    "run": run,
                    "cursor": max(cursor, after_seq),
                    "status": info["status"],
                    "end_reason": info["end_reason"],
                    "last_step": info["last_step"],
                    "series": new,
                }
            )
        return {"project": project, "runs": answer}

    def system(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        after = _int(request, "after", -1, low=-1)
        samples = self.reader.system_samples(project, run, after)
        cursor = samples[-1]["seq"] if samples else after
        series: dict[str, dict[str, dict[str, list]]] = {}
        for sample in samples:
            node = sample["node"] or ""
            empty: dict[str, list] = {"timestamps": [], "steps": [], "values": []}
            columns = series.setdefault(sample["key"], {}).setdefault(node, empty)
            columns["timestamps"].append(sample["timestamp"])
            columns["steps"].append(sample["step"])
            columns["values"].append(sample["value"])
        return {"project": project, "run": run, "cursor": cursor, "series": series}

    def tables(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        key = request.query_params.get("key")
        tables = self.reader.tables(project, run, key)
        for table in tables:
            if "rows" in table:
                table["rows"] = _with_file_urls(project, table["rows"])
        return {"project": project, "run": run, "tables": tables}

    def texts(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        key = request.query_params.get("key")
        return {"project": project, "run": run, "texts": self.reader.texts(project, run, key)}

    def media(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        key = request.query_params.get("key")
        items = [
            {name: value for name, value in item.items() if name != "path"} | {"url": file_url(project, item["digest"])}
            for item in self.reader.media(project, run, key)
        ]
        return {"project": project, "run": run, "media": items}

    def file(self, request: Request) -> Response:
        """A media file of the project, by digest: only those its media and table cells reference
        (``media_files``), never another blob of the store (an artifact's)."""
        project, digest = _one(request, "project"), _one(request, "digest")
        path = self.reader.media_path(project, digest)  # a digest that is not 64 hex digits: ValueError, 400
        stored = self.reader.store(project).media_file(digest)
        if stored is None or not path.is_file():
            where = "recorded" if stored is None else "stored here (pulled without its bytes?)"
            return json_response({"error": f"media file {digest} of project {project!r} is not {where}"}, 404)
        headers = {
            "Cache-Control": "public, max-age=31536000, immutable",  # content-addressed: the bytes never change
            "ETag": f'"{digest}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",  # an SVG or HTML opened by itself runs nothing on this origin
        }
        return FileResponse(
            path,
            media_type=MEDIA_TYPES.get(stored.format, "application/octet-stream"),
            headers=headers,
            filename=f"{digest}.{stored.format}",
            content_disposition_type="inline",
        )

    def histograms(self, request: Request) -> dict[str, Any]:
        project, run, key = _one(request, "project"), _one(request, "run"), _one(request, "key")
        max_steps = _int(request, "max_steps", DEFAULT_HISTOGRAM_STEPS, low=2, high=MAX_HISTOGRAM_STEPS)
        rows = self.reader.histograms(project, run, key)
        total = len(rows)
        rows = [rows[i] for i in even_indices(total, max_steps)]  # a heatmap column each: the first and last kept
        return {
            "project": project,
            "run": run,
            "key": key,
            "steps": [h["step"] for h in rows],
            "timestamps": [h["timestamp"] for h in rows],
            "edges": [h["edges"].tolist() for h in rows],
            "counts": [h["counts"].tolist() for h in rows],
            "total": total,
        }

    def traces(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        key = request.query_params.get("key")
        return {"project": project, "run": run, "traces": self.reader.traces(project, run, key)}

    def alerts(self, request: Request) -> dict[str, Any]:
        project, run = _one(request, "project"), _one(request, "run")
        return {"project": project, "run": run, "alerts": self.reader.alerts(project, run)}

    def config_diff(self, request: Request) -> dict[str, Any]:
        project = _one(request, "project")
        runs = _many(request, "run")
        return {"project": project, "runs": runs, "diff": self.reader.config_diff(project, runs)}

    def download(self, request: Request) -> Response:
        project, run, key = _one(request, "project"), _one(request, "run"), _one(request, "key")
        kind = request.query_params.get("format", "csv")
        if kind not in ("csv", "parquet"):
            raise BadRequest(f"format must be 'csv' or 'parquet', got {kind!r}")
        series = self.reader.series(project, run, key)
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{run}-{key}")
        headers = {"Content-Disposition": f'attachment; filename="{stem}.{kind}"'}
        if kind == "csv":
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(["step", "timestamp", "value"])
            writer.writerows(zip(series.steps, series.timestamps, series.values))
            return Response(text.getvalue(), media_type="text/csv", headers=headers)
        return Response(_parquet(series), media_type="application/vnd.apache.parquet", headers=headers)


def file_url(project: str, digest: str) -> str:
    """Where the page (or any client) reads a stored media file: `Api.file`."""
    return "/api/file?" + urlencode({"project": project, "digest": digest})


def _with_file_urls(project: str, value: Any) -> Any:
    """``value`` (a table's rows) with a ``url`` in each image cell (``{"_type": "trackio.image", "digest"...}``),
    in lists and nested lists too."""
    if isinstance(value, list):
        return [_with_file_urls(project, v) for v in value]
    if isinstance(value, dict) and value.get("_type") == "trackio.image" and isinstance(value.get("digest"), str):
        return value | {"url": file_url(project, value["digest"])}
    return value


def _parquet(series: Series) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "step": pa.array(series.steps, pa.int64()),
            "timestamp": pa.array(series.timestamps_us, pa.timestamp("us", tz="UTC")),
            "value": pa.array(series.values, pa.float64()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _columns(series: Series) -> dict[str, Any]:
    return {
        "run": series.run,
        "key": series.key,
        "steps": series.steps,
        "timestamps": series.timestamps,
        "values": series.values,
    }


# -- query parameters -------------------------------------------------------------------------------


def _one(request: Request, name: str) -> str:
    values = request.query_params.getlist(name)
    if len(values) != 1 or not values[0]:
        raise BadRequest(f"query parameter {name!r} is required once, got {values!r}")
    return values[0]


def _many(request: Request, name: str, unique: bool = True) -> list[str]:
    """A repeated parameter's values (each once, in order, if ``unique``); at most `MAX_VALUES_PER_PARAMETER`."""
    values = request.query_params.getlist(name)
    if not values or not all(values):
        raise BadRequest(f"query parameter {name!r} is required (repeat it for several), got {values!r}")
    if unique:
        values = list(dict.fromkeys(values))
    if len(values) > MAX_VALUES_PER_PARAMETER:
        raise BadRequest(f"at most {MAX_VALUES_PER_PARAMETER} values of {name!r} per request, got {len(values)}")
    return values


def _choice(request: Request, name: str, choices: tuple[str, ...]) -> str:
    """An optional parameter's value among ``choices`` (the first is the default)."""
    value = request.query_params.get(name, choices[0])
    if value not in choices:
        raise BadRequest(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def _int(request: Request, name: str, default: Any, low: int, high: int | None = None) -> Any:
    text = request.query_params.get(name)
    return default if text is None else _parse_int(name, text, low, high)


_INTEGER = re.compile(r"-?[0-9]{1,19}")
_INT64_MAX = 2**63 - 1


def _parse_int(name: str, text: str, low: int, high: int | None = None) -> int:
    if not _INTEGER.fullmatch(text):
        raise BadRequest(f"{name} must be an integer, got {text!r}")
    value = int(text)
    high = _INT64_MAX if high is None else high
    if not low <= value <= high:
        accepted = f">= {low}" if high == _INT64_MAX else f"from {low} to {high}"
        raise BadRequest(f"{name} must be an integer {accepted}, got {value}")
    return value


# -- the app ----------------------------------------------------------------------------------------


def _endpoint(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    def run(request: Request) -> Response:
        try:
            result = handler(request)
        except (BadRequest, InvalidNameError, TypeError, ValueError) as error:
            return json_response({"error": str(error)}, 400)
        except NotFoundError as error:
            return json_response({"error": str(error)}, 404)
        except TrackioError as error:
            return json_response({"error": str(error)}, 500)
        except sqlite3.DatabaseError as error:  # a project file damaged past its header
            project = request.query_params.get("project")
            return json_response({"error": f"project {project!r} cannot be read: {error}"}, 500)
        return result if isinstance(result, Response) else json_response(result)

    async def endpoint(request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(run, request)

    return endpoint


LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]


def loopback_hosts(bound_host: str) -> list[str]:
    """The ``Host`` names a dashboard bound to the loopback address ``bound_host`` answers.

    `LOOPBACK_HOSTS` and the bound address itself (``127.0.0.2`` is loopback too, and a browser sends
    the URL's host), bracketed when IPv6 as a ``Host`` header writes it. The check ignores the port, so
    ``127.0.0.2:7860`` passes as well; every other name is still refused (DNS rebinding).
    """
    bound = bound_host.lower()
    names = [bound, f"[{bound}]"] if ":" in bound else [bound]
    return list(dict.fromkeys([*LOOPBACK_HOSTS, *names]))


def create_app(
    directory: Any = None,
    project: str | None = None,
    dataset_id: str | None = None,
    allowed_hosts: list[str] | None = None,
    *,
    compress: bool = False,
    readers: ThreadReaders | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    lifespan_contexts: Sequence[Callable[[], AbstractAsyncContextManager[Any]]] = (),
    write_token: str | None = None,
) -> Starlette:
    """The dashboard app over the projects in ``directory`` (default: the storage dir).

    ``allowed_hosts``: the ``Host`` headers answered (others get 400), which stops a web page from
    reading a local dashboard through DNS rebinding; `show` passes the loopback names when it binds
    to loopback. None answers every host. ``compress``: gzip answers (fast level) for clients that
    accept it: worth it across a network, not on loopback, where it only costs CPU.

    What the caller adds (`show.build_app` adds the MCP tools this way; this module knows nothing of
    them): ``extra_routes``, served next to the API; ``lifespan_contexts``, callables that each give an
    async context manager, entered in order when the app starts and left when it stops (the MCP
    session manager's ``run``); ``readers``, the `ThreadReaders` the API reads with (default: new ones
    over ``directory``), to share them with those routes. The app closes its readers when it stops.
    ``write_token``: serve the page's write API (`writes`) behind that token, which ``/config.json`` then gives the
    page; None (a Space, a mirror, a server on the network): no write endpoint at all.
    """
    readers = readers if readers is not None else ThreadReaders(directory)
    with contextlib.suppress(ImportError):  # numpy (the fast series reads): ~0.1 s loaded now, not in a page's wait
        from ..store import arrays  # noqa: F401
    api = Api(readers, project, dataset_id)
    names = ("info", "projects", "runs", "keys", "series", "poll", "system", "tables", "alerts", "texts", "config_diff")
    names += ("media", "histograms", "traces", "download", "file")
    routes: list[BaseRoute] = [Route(f"/api/{name}", _endpoint(getattr(api, name)), methods=["GET"]) for name in names]

    async def index(request: Request) -> Response:
        return FileResponse(str(STATIC / "index.html"), headers={"Cache-Control": "no-cache"})

    async def config(request: Request) -> Response:  # a Space ships {"mode": "hub", ...} here instead
        page = {"mode": "server"} if write_token is None else {"mode": "server", "write_token": write_token}
        return Response(dumps(page), media_type="application/json", headers={"Cache-Control": "no-store"})

    routes.append(Route("/", index, methods=["GET"]))
    routes.append(Route("/config.json", config, methods=["GET"]))
    routes.append(Mount("/static", StaticFiles(directory=str(STATIC)), name="static"))
    if write_token is not None:
        from .writes import write_routes  # the write side: only a local server that writes loads it

        routes += write_routes(write_token, readers)
    routes += extra_routes

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for context in lifespan_contexts:
                await stack.enter_async_context(context())
            yield
        readers.close()

    middleware = []
    if allowed_hosts is not None:
        middleware.append(Middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts))
    if compress:
        middleware.append(Middleware(GZipMiddleware, minimum_size=2048, compresslevel=1))
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.api = api
    return app
