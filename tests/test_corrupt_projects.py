"""One unreadable project file never hides the good ones, and asking for it says which file and why.

Real SQLite files in a real storage dir: a good project, a file of garbage bytes (not a database) and
a project whose schema version is newer than this package's. The CLI runs as a process, the MCP tools
answer the real ``mcp`` client over HTTP, the dashboard API a real HTTP client.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import anyio
import httpx2 as httpx
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import trackio_callback as trackio
from tests.helpers import ROOT
from trackio_callback import Reader, errors
from trackio_callback.server.show import show
from trackio_callback.store.schema import SCHEMA_VERSION

GARBAGE = b"these bytes were never a SQLite database\n" * 64
NEWER = SCHEMA_VERSION + 1


@pytest.fixture
def storage(store_dir: Path) -> Path:
    """``good`` (one run ``r`` logging ``train/loss``), ``garbage`` (not a database) and ``newer`` (a newer schema)."""
    for project in ("good", "newer"):
        run = trackio.init(project=project, name="r", dir=store_dir)
        run.log({"train/loss": 0.5}, step=0)
        run.finish()
    with contextlib.closing(sqlite3.connect(store_dir / "newer.db")) as connection:
        connection.execute(f"PRAGMA user_version={NEWER}")
    (store_dir / "garbage.db").write_bytes(GARBAGE)
    return store_dir


def cli(directory: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackio_callback", "--dir", str(directory), *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _one_line_naming(stderr: str, file: Path, reason: str) -> None:
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1 and str(file) in lines[0] and reason in lines[0], stderr


# -- the Reader --------------------------------------------------------------------------------------


def test_the_reader_sets_the_bad_files_apart(storage):
    with Reader(storage) as reader:
        readable, unreadable = reader.readable_projects()
        assert readable == ["good"] and sorted(unreadable) == ["garbage", "newer"]
        assert isinstance(unreadable["garbage"], errors.UnreadableProjectError)
        assert isinstance(unreadable["newer"], errors.SchemaVersionError)
        with pytest.raises(errors.UnreadableProjectError, match=r"garbage\.db .*file is not a database"):
            reader.runs("garbage")
        assert [run["name"] for run in reader.runs("good")] == ["r"]


# -- the command line --------------------------------------------------------------------------------


def test_cli_list_projects_lists_the_good_ones_and_names_each_bad_file(storage):
    for extra in ([], ["--json"]):
        listed = cli(storage, "list", "projects", *extra)
        assert listed.returncode == 0, listed.stderr
        assert (json.loads(listed.stdout) if extra else listed.stdout.splitlines()) == ["good"]
        assert "Traceback" not in listed.stderr
        lines = sorted(listed.stderr.splitlines())
        assert len(lines) == 2, listed.stderr
        assert "'garbage'" in lines[0] and str(storage / "garbage.db") in lines[0] and "not a database" in lines[0]
        assert "'newer'" in lines[1] and f"schema version {NEWER}" in lines[1]


@pytest.mark.parametrize(
    "command",
    [
        ["list", "runs"],
        ["list", "metrics", "--run", "r"],
        ["get", "run", "--run", "r"],
        ["get", "metric", "--run", "r", "--metric", "train/loss"],
    ],
)
def test_cli_asked_for_a_bad_project_says_which_file_and_why(storage, command):
    for project, reason in (("garbage", "file is not a database"), ("newer", f"schema version {NEWER}")):
        answer = cli(storage, *command, "--project", project)
        assert answer.returncode == 2 and answer.stdout == "", (answer.stdout, answer.stderr)
        _one_line_naming(answer.stderr, storage / f"{project}.db", reason)
    good = cli(storage, *command, "--project", "good")
    assert good.returncode == 0 and good.stderr == "", good.stderr


def test_cli_show_of_a_bad_project_says_which_file_and_why(storage):
    answer = cli(storage, "show", "--project", "garbage", "--no-browser", "--port", "0", timeout=30)
    assert answer.returncode == 2 and "dashboard:" not in answer.stdout, answer.stdout
    _one_line_naming(answer.stderr, storage / "garbage.db", "file is not a database")


# -- the MCP tools and the dashboard API ------------------------------------------------------------


async def _calls(url: str, calls: list[tuple[str, dict]]) -> list[tuple[bool, str]]:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        answers = []
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            answers.append((result.is_error, result.content[0].text))
        return answers


def test_mcp_lists_the_good_projects_and_names_each_bad_file(storage):
    with show(dir=storage, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        (listed, garbage_runs, newer_summary, good_runs) = anyio.run(
            _calls,
            dashboard.url + "gradio_api/mcp/",
            [
                ("get_all_projects", {}),
                ("get_runs_for_project", {"project": "garbage"}),
                ("get_project_summary", {"project": "newer"}),
                ("get_runs_for_project", {"project": "good"}),
            ],
        )
    assert not listed[0], listed[1]
    answer = json.loads(listed[1])
    assert [(p["name"], p["runs"]) for p in answer["projects"]] == [("good", 1)]
    unreadable = {entry["name"]: entry for entry in answer["unreadable"]}
    assert sorted(unreadable) == ["garbage", "newer"]
    assert unreadable["garbage"]["file"] == str(storage / "garbage.db")
    assert "file is not a database" in unreadable["garbage"]["error"]
    assert unreadable["newer"]["file"] == str(storage / "newer.db")
    assert f"schema version {NEWER}" in unreadable["newer"]["error"]
    assert garbage_runs[0] and str(storage / "garbage.db") in garbage_runs[1]
    assert "file is not a database" in garbage_runs[1]
    assert newer_summary[0] and f"schema version {NEWER}" in newer_summary[1]
    assert not good_runs[0] and [run["name"] for run in json.loads(good_runs[1])["runs"]] == ["r"]


def test_the_dashboard_lists_the_good_projects_and_says_why_a_bad_one_fails(storage):
    with (
        show(dir=storage, open_browser=False, block=False, port=0) as dashboard,
        httpx.Client(base_url=dashboard.url, trust_env=False, timeout=30) as client,
    ):
        projects = client.get("/api/projects").json()
        assert projects["projects"] == ["good"]
        assert sorted(entry["name"] for entry in projects["unreadable"]) == ["garbage", "newer"]
        assert client.get("/api/info").json()["project"] == "good"  # newer and garbage were written later
        runs = client.get("/api/runs", params={"project": "garbage"})
        assert runs.headers["content-type"] == "application/json", runs.text
        assert "file is not a database" in runs.json()["error"]


# -- a file whose header is sound but whose pages are not -------------------------------------------


@pytest.fixture
def damaged(storage: Path) -> Path:
    """``damaged``: the runs table's root page overwritten, so opening works and reading its runs does not."""
    run = trackio.init(project="damaged", name="r", dir=storage)
    run.log({"train/loss": 0.5}, step=0)
    run.finish()
    path = storage / "damaged.db"
    with contextlib.closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")  # every page in the file itself, none in a WAL
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        (root,) = connection.execute("SELECT rootpage FROM sqlite_master WHERE name = 'runs'").fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * page_size)
    return storage


def test_a_file_damaged_past_its_header_is_named_too(damaged):
    answer = cli(damaged, "list", "runs", "--project", "damaged")
    assert answer.returncode == 2 and answer.stdout == "", (answer.stdout, answer.stderr)
    _one_line_naming(answer.stderr, damaged / "damaged.db", "malformed")
    with show(dir=damaged, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        listed, runs = anyio.run(
            _calls,
            dashboard.url + "gradio_api/mcp/",
            [("get_all_projects", {}), ("get_runs_for_project", {"project": "damaged"})],
        )
        page_runs = httpx.get(dashboard.url + "api/runs", params={"project": "damaged"}, trust_env=False, timeout=30)
    assert page_runs.headers["content-type"] == "application/json", page_runs.text
    assert "'damaged'" in page_runs.json()["error"] and "malformed" in page_runs.json()["error"]
    answer = json.loads(listed[1])
    assert [p["name"] for p in answer["projects"]] == ["good"]
    assert [(entry["name"], entry["file"]) for entry in answer["unreadable"]][0] == (
        "damaged",
        str(damaged / "damaged.db"),
    )
    assert "malformed" in answer["unreadable"][0]["error"]
    assert runs[0] and str(damaged / "damaged.db") in runs[1] and "malformed" in runs[1]


def test_cli_sync_syncs_the_good_projects_and_names_each_bad_file(storage, hub):
    synced = subprocess.run(
        [sys.executable, "-m", "trackio_callback", "--dir", str(storage), "sync", "--dataset-id", "alice/ds"],
        env={**os.environ, "PYTHONPATH": str(ROOT), **hub.env()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert synced.returncode == 0 and "Traceback" not in synced.stderr, synced.stderr
    assert "good -> alice/ds" in synced.stdout
    skipped = sorted(line for line in synced.stderr.splitlines() if "skipped project" in line)
    assert len(skipped) == 2 and "'garbage'" in skipped[0] and "'newer'" in skipped[1], synced.stderr
    assert any(path.startswith("metrics/good/") for path in hub.repo_files("alice/ds"))
