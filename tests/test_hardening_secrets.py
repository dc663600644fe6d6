"""The Hub token never leaves the process, and the local servers only answer this machine's reads.

A full run with sync and Space creation: real tiny ``Trainer`` runs (``report_to="trackio"``) with ``HF_TOKEN`` set to
a distinctive token the Hub emulator knows as user ``alice`` (the emulator's default token is removed, so it is the
only credential that works), one with a static Space and one with ``space_sdk="docker"``; the dashboard (``show()``)
and its MCP server then read the local store, and a second dashboard mirrors the dataset from the Hub. Everything
runs with the root logger at DEBUG into a file, with warnings recorded and stdout/stderr captured at the file
descriptors.

Then EVERYTHING the package produced is scanned for the token, its first 12 characters and its base64 (at each of
the three alignments it can have inside a longer base64 text): every file under the test's directory (the storage
dir with its SQLite files and -wal/-shm companions, the dataset mirror, the HF cache, the Trainer's output, the log
file), read raw and decoded (SQLite rows and zlib blobs, Parquet tables); every file of every commit of every repo
the package touched on the emulator, with the commit messages; the emulator's request log (paths and queries); the
log file, warnings and captured output; the dashboard's and the MCP server's answers.
"""

from __future__ import annotations

import base64
import contextlib
import inspect
import io
import json
import logging
import sqlite3
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
import pyarrow.parquet as pq
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import trackio_callback as trackio
from tests import tiny
from tests.hub_emulator import DEFAULT_TOKEN, DEFAULT_USER
from trackio_callback import Reader
from trackio_callback.cli.main import build_parser
from trackio_callback.server.api import LOOPBACK_HOSTS
from trackio_callback.server.mcp_server import MCP_PATHS, TOOL_NAMES
from trackio_callback.server.show import build_app, show

TOKEN = "hf_Xq9ZtR4mLk2WvB7nPd3sYc8JfH6gTa1E"
STATIC_SPACE, STATIC_DATASET = "alice/secret-board", "alice/secret-board-dataset"
DOCKER_SPACE, DOCKER_DATASET = "alice/secret-docker", "alice/secret-docker-dataset"
SPACE_ENDPOINTS = {"secrets", "secrets_write", "variables", "variables_write"}
NON_GET = ("POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "PROPFIND")
LOGGERS = ("", "trackio_callback", "huggingface_hub", "httpx", "httpx2", "httpcore", "httpcore2", "urllib3", "mcp")


def _base64_cores(secret: bytes) -> list[bytes]:
    """What base64 text holding ``secret`` must contain, whatever the offset (mod 3) it starts at."""
    cores = []
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * shift + secret)
            cores.append(text[4 if shift else 0 : -4])  # drop the groups shared with the neighbours
    return cores


NEEDLES: dict[str, bytes] = {"token": TOKEN.encode(), "first 12 characters": TOKEN[:12].encode()}
NEEDLES |= {f"base64 #{i}": core for i, core in enumerate(_base64_cores(TOKEN.encode()))}


def leaks(data: bytes | str) -> list[str]:
    """Which forms of the token ``data`` holds."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return [name for name, needle in NEEDLES.items() if needle in raw]


def decoded(path: Path, data: bytes) -> Iterator[bytes]:
    """Views of a file that compression could hide the token from: SQLite rows and blobs, Parquet tables."""
    if data.startswith(b"SQLite format 3\x00"):
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            for line in connection.iterdump():
                yield line.encode("utf-8", "surrogatepass")
            tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in connection.execute(f'SELECT * FROM "{table}"'):
                    for cell in row:
                        if isinstance(cell, bytes):
                            with contextlib.suppress(zlib.error):
                                yield zlib.decompress(cell)
    if data.startswith(b"PAR1"):
        table = pq.read_table(io.BytesIO(data))
        yield json.dumps(table.to_pylist(), default=str).encode()
        yield str(table.schema.metadata).encode()


def scan_tree(root: Path) -> tuple[dict[str, list[str]], set[str]]:
    """Leaks found in the files under ``root``, and the files scanned (relative paths)."""
    found, scanned = {}, set()
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a -wal/-shm file checkpointed away while walking
            continue
        scanned.add(str(path.relative_to(root)))
        hits = leaks(data)
        for view in decoded(path, data):
            hits += leaks(view)
        if hits:
            found[str(path)] = sorted(set(hits))
    return found, scanned


def scan_repo(hub, repo_id: str, repo_type: str) -> dict[str, list[str]]:
    found = {}
    for commit in hub.commits(repo_id, repo_type):
        for text in (commit.title, commit.message, commit.author):
            if leaks(text):
                found[f"{repo_id} commit {commit.oid} message"] = leaks(text)
        for name, content in commit.files.items():
            hits = leaks(content) + [h for view in decoded(Path(name), content) for h in leaks(view)]
            if hits:
                found[f"{repo_type} {repo_id}@{commit.oid[:8]}:{name}"] = sorted(set(hits))
    return found


@contextlib.contextmanager
def debug_logging(path: Path) -> Iterator[None]:
    """The root logger (and the libraries that set their own levels) at DEBUG, into ``path``."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def _mcp_session(url: str, calls: list[tuple[str, dict]]) -> list[str]:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        texts = [json.dumps([t.model_dump(mode="json") for t in (await session.list_tools()).tools])]
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            assert not result.is_error, (name, result.content[0].text)
            texts.append(result.content[0].text)
        return texts


def mcp_answers(url: str, runs: list[str]) -> list[str]:
    calls = [("get_all_projects", {}), ("get_runs_for_project", {"project": "secrets"})]
    calls += [("get_project_summary", {"project": "secrets"}), ("get_alerts", {"project": "secrets"})]
    for run in runs:
        calls += [(name, {"project": "secrets", "run": run}) for name in ("get_run_summary", "get_metrics_for_run")]
        calls += [(name, {"project": "secrets", "run": run}) for name in ("analyze_run", "get_system_metrics")]
        calls.append(("get_metric_values", {"project": "secrets", "run": run, "metric_name": "train/loss"}))
    calls.append(("compare_runs", {"project": "secrets", "runs": runs, "metric": "train/loss"}))
    return anyio.run(_mcp_session, url, calls)


def dashboard_answers(client: httpx.Client, runs: list[str]) -> list[str]:
    both = "&".join(f"run={run}" for run in runs)
    paths = [
        "/",
        "/config.json",
        "/api/info",
        "/api/projects",
        "/api/runs?project=secrets",
        f"/api/keys?project=secrets&{both}",
        f"/api/series?project=secrets&{both}&key=train/loss&key=train/learning_rate",
        f"/api/poll?project=secrets&{'&'.join(f'run={run}&after=-1' for run in runs)}",
        f"/api/config_diff?project=secrets&{both}",
    ]
    for run in runs:
        paths += [f"/api/{name}?project=secrets&run={run}" for name in ("system", "tables", "alerts")]
        paths += [
            f"/api/download?project=secrets&run={run}&key=train/loss&format={kind}" for kind in ("csv", "parquet")
        ]
    answers = []
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        if path.endswith("parquet"):
            answers.append(json.dumps(pq.read_table(io.BytesIO(response.content)).to_pylist(), default=str))
        else:
            answers.append(response.text)
        answers.append(json.dumps(dict(response.headers)))
    return answers


# -- the full run -----------------------------------------------------------------------------------------------


@pytest.fixture
def token_only(hub, monkeypatch, tmp_path):
    """HF_TOKEN is the distinctive token, alice's only credential; temporary files stay under ``tmp_path``."""
    hub.tokens.pop(DEFAULT_TOKEN)
    hub.tokens[TOKEN] = DEFAULT_USER
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("GRADIO_MCP_SERVER", raising=False)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    return hub


def _train(tmp_path: Path, name: str, **args: Any) -> None:
    trainer = tiny.make_trainer(tmp_path / name, eval_steps=2, report_to="trackio", run_name=name, **args)
    trainer.train()
    assert trainer.state.global_step == 4


def test_the_token_is_written_nowhere_and_the_servers_are_local_and_read_only(token_only, tmp_path, store_dir, capfd):
    """The HF token is written nowhere; the local servers answer this machine only, and write only behind the page's
    token (which is nowhere but in its config.json)."""
    from huggingface_hub import constants

    hub = token_only
    assert Path(constants.HF_HUB_CACHE).is_relative_to(tmp_path)  # the HF cache used is scanned with the rest
    log_file = tmp_path / "debug.log"
    answers: list[str] = []
    with debug_logging(log_file), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # 1. the callback opens the run from TrainingArguments: a static Space, the token in hub_token too
        _train(tmp_path, "static-run", project="secrets", trackio_space_id="secret-board", hub_token=TOKEN)
        # 2. a run opened with init(space_sdk="docker"), reused by the Trainer
        trackio.init(project="secrets", name="docker-run", space_id="secret-docker", space_sdk="docker")
        _train(tmp_path, "docker-run")
        trackio.finish()

        with show(project="secrets", open_browser=False, block=False, port=0, mcp_server=True) as local:
            assert local.host == "127.0.0.1" and local.url == f"http://127.0.0.1:{local.port}/"
            sockets = [s for server in local._server.servers for s in server.sockets]
            assert sockets and {s.getsockname()[:2] for s in sockets} == {("127.0.0.1", local.port)}
            with httpx.Client(base_url=local.url, trust_env=False, timeout=60) as client:
                answers += dashboard_answers(client, ["static-run", "docker-run"])
                write_token = client.get("/config.json").json()["write_token"]  # loopback: the page may write
                _assert_read_only(client, local.port)
                _assert_writes_need_the_token(client)
            answers += mcp_answers(local.url + "gradio_api/mcp/", ["static-run", "docker-run"])
            # while the servers hold the SQLite files open (-wal/-shm present)
            during, scanned_during = scan_tree(tmp_path)
            files_holding_during = files_holding(tmp_path, write_token.encode())

        with show(dataset_id=STATIC_DATASET, open_browser=False, block=False, port=0, mcp_server=True) as mirror:
            with httpx.Client(base_url=mirror.url, trust_env=False, timeout=60) as client:
                info = client.get("/api/info").json()
                assert info["dataset_id"] == STATIC_DATASET
                assert client.get("/config.json").json() == {"mode": "server"}  # a mirror: no write token
                answers += dashboard_answers(client, ["static-run"])  # the run synced to this dataset
            answers += mcp_answers(mirror.url + "mcp", ["static-run"])
        assert (store_dir / "mirrors" / "alice--secret-board-dataset" / "secrets.db").is_file()

    out, err = capfd.readouterr()
    messages = [f"{w.category.__name__}: {w.message}" for w in caught]
    log_text = log_file.read_text(encoding="utf-8")
    assert "trackio_callback" in log_text and "DEBUG" in log_text  # the capture did see the package's DEBUG lines

    # What was created: private by default, with the expected kinds.
    for repo_id, repo_type, sdk in (
        (STATIC_DATASET, "dataset", None),
        (STATIC_SPACE, "space", "static"),
        (DOCKER_DATASET, "dataset", None),
        (DOCKER_SPACE, "space", "docker"),
    ):
        repo = hub.repo(repo_id, repo_type)
        assert repo.private, f"{repo_type} {repo_id} was created public"
        assert repo.sdk == sdk and repo.secrets == {} and repo.variables == {}
    assert any(p.startswith("metrics/secrets/") for p in hub.repo_files(STATIC_DATASET))
    assert any(p.startswith("metrics/secrets/") for p in hub.repo_files(DOCKER_DATASET))
    assert json.loads(hub.repo_files(STATIC_SPACE, "space")["config.json"])["dataset_id"] == STATIC_DATASET
    assert "Dockerfile" in hub.repo_files(DOCKER_SPACE, "space")
    assert any("Space secret HF_TOKEN" in m and "never stores one" in m for m in messages), messages

    # The Hub was only ever asked with the token, and never to set a Space variable or secret, or a visibility.
    records = hub.requests()
    assert records and {r.user for r in records if r.user is not None} == {DEFAULT_USER}
    assert [r for r in records if r.status == 401] == []
    assert [r for r in records if r.endpoint in SPACE_ENDPOINTS | {"settings"}] == []
    assert [r.path for r in records if leaks(r.path + "?" + r.query)] == []
    touched = {
        (r.repo_id, r.repo_type) for r in records if r.repo_id is not None and hub.has_repo(r.repo_id, r.repo_type)
    }
    expected_repos = {(STATIC_DATASET, "dataset"), (STATIC_SPACE, "space")}
    assert touched == expected_repos | {(DOCKER_DATASET, "dataset"), (DOCKER_SPACE, "space")}

    # And the token is nowhere.
    found: dict[str, list[str]] = {}
    found |= {f"(servers running) {path}": hits for path, hits in during.items()}
    after, scanned_after = scan_tree(tmp_path)
    found |= after
    for repo_id, repo_type in sorted(touched):
        found |= scan_repo(hub, repo_id, repo_type)
    for saved in (constants.HF_TOKEN_PATH, constants.HF_STORED_TOKENS_PATH):  # `hf auth login`'s files
        if Path(saved).is_file() and (hits := leaks(Path(saved).read_bytes())):
            found[saved] = hits
    for label, text in (("log file", log_text), ("stdout", out), ("stderr", err), ("warnings", "\n".join(messages))):
        if hits := leaks(text):
            found[label] = hits
    for i, answer in enumerate(answers):
        if hits := leaks(answer):
            found[f"server answer #{i}: {answer[:80]}"] = hits
    assert found == {}, found
    assert {"store/secrets.db", "store/secrets.db-wal", "store/secrets.db-shm"} <= scanned_during

    # The page's write token: in config.json's answer, and nowhere else (no file, log, output or other answer).
    needle = write_token.encode()
    assert len(write_token) >= 40 and files_holding_during == [] and files_holding(tmp_path, needle) == []
    for label, text in (("log file", log_text), ("stdout", out), ("stderr", err), ("warnings", "\n".join(messages))):
        assert write_token not in text, label
    given = [answer for answer in answers if write_token in answer]
    assert given and all(json.loads(a) == {"mode": "server", "write_token": write_token} for a in given)
    mirrored = "store/mirrors/alice--secret-board-dataset/secrets.db"
    assert {"debug.log", "store/secrets.db", mirrored} <= scanned_after


def files_holding(root: Path, needle: bytes) -> list[str]:
    """The files under ``root`` that hold ``needle``, raw or decoded (SQLite rows, Parquet tables)."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a -wal/-shm file checkpointed away while walking
            continue
        if needle in data or any(needle in view for view in decoded(path, data)):
            found.append(str(path))
    return found


WRITE_ROUTES = ("/api/runs/rename", "/api/runs/tags", "/api/runs/notes", "/api/runs/delete")


def _assert_writes_need_the_token(client: httpx.Client) -> None:
    """The page's write routes (the only ones): 403 without the page's token or with another, nothing changed."""
    bodies = {
        "/api/runs/rename": {"project": "secrets", "run": "static-run", "new_name": "x"},
        "/api/runs/tags": {"project": "secrets", "run": "static-run", "tags": ["forged"]},
        "/api/runs/notes": {"project": "secrets", "run": "static-run", "notes": "forged"},
        "/api/runs/delete": {"project": "secrets", "run": "static-run", "confirm": "static-run"},
    }
    for path, body in bodies.items():
        for headers in ({}, {"X-Trackio-Token": "forged"}, {"X-Trackio-Token": ""}):
            response = client.post(path, json=body, headers=headers)
            assert response.status_code == 403, (path, headers, response.status_code)
        for method in ("GET", "PUT", "DELETE"):
            assert client.request(method, path).status_code == 405, (method, path)
    with Reader() as reader:
        runs = reader.runs("secrets")
    assert [(r["name"], r["tags"], r["notes"]) for r in runs] == [("static-run", [], ""), ("docker-run", [], "")]


def _assert_read_only(client: httpx.Client, port: int) -> None:
    """Anything but GET (and HEAD, its body-less twin) is 405 on every read path; foreign Host/Origin are refused."""
    paths = [
        "/",
        "/config.json",
        "/static/app.js",
        "/api/info",
        "/api/projects",
        "/api/runs?project=secrets",
        "/api/keys?project=secrets&run=static-run",
        "/api/series?project=secrets&run=static-run&key=train/loss",
        "/api/poll?project=secrets&run=static-run&after=-1",
        "/api/system?project=secrets&run=static-run",
        "/api/tables?project=secrets&run=static-run",
        "/api/alerts?project=secrets&run=static-run",
        "/api/config_diff?project=secrets&run=static-run&run=docker-run",
        "/api/download?project=secrets&run=static-run&key=train/loss",
    ]
    for path in paths:
        for method in NON_GET:
            response = client.request(method, path, content=b'{"name": "x", "status": "deleted"}')
            assert response.status_code == 405, (method, path, response.status_code)
        head = client.head(path)
        assert head.status_code == 200 and head.content == b"", path
    with Reader() as reader:  # nothing changed
        assert [r["name"] for r in reader.runs("secrets")] == ["static-run", "docker-run"]

    # DNS rebinding: a page on another name pointed at 127.0.0.1 gives itself away by Host (and Origin).
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    accept = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    for path in MCP_PATHS:
        for foreign in ({"Host": "attacker.example"}, {"Host": f"attacker.example:{port}"}):
            response = client.post(path, json=initialize, headers={**accept, **foreign})
            assert response.status_code == 400 and response.text == "Invalid host header", (path, foreign)
        for origin in ("http://attacker.example", f"http://attacker.example:{port}", "null"):
            response = client.post(path, json=initialize, headers={**accept, "Origin": origin})
            assert response.status_code == 403 and "Invalid Origin header" in response.text, (path, origin)
    same_origin = client.post("/mcp", json=initialize, headers={**accept, "Origin": f"http://127.0.0.1:{port}"})
    assert same_origin.status_code == 200 and '"serverInfo"' in same_origin.text  # the check is not blanket
    foreign_page = client.get("/api/runs?project=secrets", headers={"Origin": "http://attacker.example"})
    assert foreign_page.status_code == 200 and "access-control-allow-origin" not in foreign_page.headers  # no CORS
    assert client.get("/api/projects", headers={"Host": "attacker.example"}).status_code == 400


def test_servers_default_to_loopback_and_write_only_behind_a_token(store_dir):
    """The only write endpoints are the page's (POST /api/runs/<action>), and only an app given a write token has
    them (`show` on loopback); every other route answers GET/HEAD only, except the MCP transport (POST for
    JSON-RPC, DELETE to end a session), whose tools are all read-only."""
    assert inspect.signature(show).parameters["host"].default == "127.0.0.1"
    assert build_parser().parse_args(["show"]).host == "127.0.0.1"
    trackio.init(project="p", name="r").finish()
    without = build_app(store_dir, allowed_hosts=LOOPBACK_HOSTS, mcp_server=True)
    assert not {route.path for route in without.routes} & set(WRITE_ROUTES)
    app = build_app(store_dir, allowed_hosts=LOOPBACK_HOSTS, mcp_server=True, write_token="t" * 43)
    routes = {route.path: getattr(route, "methods", None) for route in app.routes}
    assert {path for path in routes if path in WRITE_ROUTES} == set(WRITE_ROUTES)
    for path, methods in routes.items():
        if path in WRITE_ROUTES:
            assert methods == {"POST"}, path
        elif path in MCP_PATHS:
            assert methods == {"GET", "HEAD", "POST", "DELETE"}, path
        elif path == "/static":
            assert methods is None  # StaticFiles: GET/HEAD only (405 otherwise, checked over HTTP above)
        else:
            assert methods == {"GET", "HEAD"}, (path, methods)
    assert set(routes) >= {"/api/runs", "/api/series", "/api/download", "/", *MCP_PATHS}
    read_only = ("get_", "compare_", "analyze_")
    assert all(name.startswith(read_only) for name in TOOL_NAMES), TOOL_NAMES


def test_the_scanner_finds_the_token_in_every_form_it_looks_for(tmp_path):
    """A scan that finds nothing proves something only if it would have found the token."""
    import pyarrow as pa

    assert leaks("x" + TOKEN + "y") == ["token", "first 12 characters"]
    assert leaks("Bearer " + TOKEN[:12] + "...") == ["first 12 characters"]
    for shift in range(3):  # inside a longer base64 text (a commit's NDJSON payload), at each alignment
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            assert any(n.startswith("base64") for n in leaks(encode(b"k" * shift + TOKEN.encode() + b"tail")))
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    with contextlib.closing(sqlite3.connect(hidden / "x.db")) as connection:
        connection.execute("CREATE TABLE t (a BLOB)")
        connection.execute("INSERT INTO t VALUES (?)", (zlib.compress(b"config " + TOKEN.encode()),))
        connection.commit()
    table = pa.table({"settings": [json.dumps({"token": TOKEN})] * 1000})
    pq.write_table(table, hidden / "x.parquet", compression="zstd")
    assert TOKEN.encode() not in (hidden / "x.db").read_bytes()  # zlib-compressed: only decoding finds it
    parquet = (hidden / "x.parquet").read_bytes()
    assert any("token" in leaks(view) for view in decoded(hidden / "x.parquet", parquet))
    found, scanned = scan_tree(hidden)
    assert scanned == {"x.db", "x.parquet"} and set(found) == {str(hidden / "x.db"), str(hidden / "x.parquet")}
