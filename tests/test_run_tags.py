"""Run tags and notes end to end: the store (schema 10), the Python API, management, the CLI, the MCP tools over
stdio (and not over the dashboard's HTTP mount), the page's write API, and the Hub round trip (runs file, pull).

Real parts only: SQLite files, the real mcp client spawning ``trackio-callback mcp``, the Hub emulator with the real
huggingface_hub client, Starlette's test client over the real app.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import json
import os
import sqlite3
import sys
import warnings

import anyio
import httpx2 as httpx
import pyarrow.parquet as pq
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from starlette.testclient import TestClient

import trackio_callback as trackio
from tests.helpers import ROOT
from trackio_callback import Reader
from trackio_callback.cli.main import main
from trackio_callback.errors import InvalidAnnotationError, RunNotFoundError, TrackioError, TrackioWarning
from trackio_callback.hub.commands import sync
from trackio_callback.hub.mirror import DatasetMirror
from trackio_callback.hub.pull import pull
from trackio_callback.management import operations
from trackio_callback.management.api import Api
from trackio_callback.server.mcp_server import TOOL_NAMES, WRITE_TOOL_NAMES
from trackio_callback.server.show import build_app, show
from trackio_callback.server.writes import TOKEN_HEADER
from trackio_callback.store import Store, files
from trackio_callback.store.schema import MIGRATIONS, SCHEMA_VERSION
from trackio_callback.store.tags import MAX_NOTES_CHARS, MAX_TAGS, clean_tags, merge_tags

DATASET = "alice/tagged"


def tags_of(directory, project: str = "p") -> dict[str, list[str]]:
    with Reader(directory) as reader:
        return {r["name"]: r["tags"] for r in reader.runs(project)}


def notes_of(directory, project: str = "p") -> dict[str, str]:
    with Reader(directory) as reader:
        return {r["name"]: r["notes"] for r in reader.runs(project)}


def finished_run(name: str, directory=None, **options) -> None:
    run = trackio.init(project="p", name=name, dir=directory, auto_log_cpu=False, **options)
    run.log({"train/loss": 1.0})
    run.finish()


# -- the store ------------------------------------------------------------------------------------------------------


def test_a_schema_9_file_migrates_to_runs_without_tags_or_notes(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for migration in MIGRATIONS[:9]:
        migration(conn)
    conn.execute(
        "INSERT INTO runs (name, created_at, heartbeat_at, uid, status) VALUES ('old', 1.0, 1.0, 'u1', 'finished')"
    )
    conn.execute("PRAGMA user_version=9")
    conn.execute("COMMIT")
    conn.close()
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION >= 10  # _v10 added tags and notes
    (row,) = store.runs()
    assert (row.name, row.tags, row.notes) == ("old", (), "")
    assert store.annotate_run(row.id, tags=["kept"], notes="why").tags == ("kept",)
    store.close()
    assert Store(path).run("old")[-2:] == (("kept",), "why")  # reopened: no second migration, values kept


def test_tags_are_stripped_deduplicated_in_order_and_merged():
    assert clean_tags([" baseline ", "lr-sweep", "baseline", "é 🚀"]) == ("baseline", "lr-sweep", "é 🚀")
    assert merge_tags(("a", "b"), add=["c", "a"], remove=["a", "missing"]) == ("b", "c")
    assert clean_tags(["x"] * 500 + [f"t{i}" for i in range(MAX_TAGS - 1)])[:2] == ("x", "t0")  # 100 distinct: fine


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        (["ok", ""], "tag '' is empty"),
        (["   "], "tag '   ' is empty"),
        (["a,b"], "tag 'a,b' holds a comma"),
        (["tab\there"], "holds a control character"),
        (["new\nline"], "holds a control character"),
        (["x" * 65], "has 65 characters"),
        ([3], "tag 3 is a int"),
        ("single", "tags 'single' is a str: give a list of strings"),
        ([f"t{i}" for i in range(MAX_TAGS + 1)], "101 distinct tags given: a run holds at most 100"),
    ],
)
def test_bad_tags_are_refused_by_every_writer_naming_the_value(store_dir, tags, message):
    finished_run("r", tags=["before"])
    for write in (
        lambda: operations.set_run_tags("p", "r", tags),
        lambda: operations.add_run_tags("p", "r", tags),
        lambda: trackio.init(project="p", name="other", tags=tags),
    ):
        with pytest.raises(InvalidAnnotationError, match=message) as raised:
            write()
        accepted = ("a tag is a non-empty string of at most 64 characters", "at most 100", "give a list of strings")
        assert any(rule in str(raised.value) for rule in accepted)  # and says what is accepted
    assert tags_of(store_dir) == {"r": ["before"]}  # nothing changed, no run created


def test_bad_notes_are_refused(store_dir):
    finished_run("r", notes="first")
    with pytest.raises(InvalidAnnotationError, match=r"notes 5 is a int: notes are a string of at most 20000"):
        operations.set_run_notes("p", "r", 5)
    with pytest.raises(InvalidAnnotationError, match=r"notes of 20001 characters .*at most 20000 characters"):
        operations.set_run_notes("p", "r", "n" * (MAX_NOTES_CHARS + 1))
    operations.set_run_notes("p", "r", "n" * MAX_NOTES_CHARS)  # the limit itself is fine
    assert notes_of(store_dir)["r"] == "n" * MAX_NOTES_CHARS
    with pytest.raises(RunNotFoundError, match="run 'nope' not found in project 'p'; available: 'r'"):
        operations.set_run_notes("p", "nope", "x")


# -- Python ---------------------------------------------------------------------------------------------------------


def test_init_takes_tags_and_notes_as_keywords_beside_trackios_parameters():
    parameters = inspect.signature(trackio.init).parameters
    assert parameters["tags"].kind is parameters["notes"].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters["tags"].default is None and parameters["notes"].default is None


def test_run_tags_and_notes_from_init_during_training_and_after_finish(store_dir):
    run = trackio.init(project="p", name="r", tags=["baseline", "baseline", " sft "], notes="first try")
    assert run.tags == ("baseline", "sft") and run.notes == "first try"
    assert tags_of(store_dir) == {"r": ["baseline", "sft"]} and notes_of(store_dir) == {"r": "first try"}
    for step in range(50):
        run.log({"train/loss": 1.0 / (step + 1)})
        if step == 10:
            run.tags = [*run.tags, "lr-3e-4"]  # no I/O here: the writer stores it
            run.notes = "warmup 500 steps"
        if step == 20:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                run.tags = ["fine", "not,fine"]  # training goes on; the tags stay as they were
                run.tags = ["fine", "not,fine"]  # said once
            assert [str(w.message) for w in caught if w.category is TrackioWarning] == [
                "run 'r': tag 'not,fine' holds a comma: a tag is a non-empty string of at most 64 characters, without "
                "commas or control characters (give several tags as a list); its tags are unchanged"
            ]
    assert run.flush(timeout=10)
    assert tags_of(store_dir) == {"r": ["baseline", "sft", "lr-3e-4"]}
    assert notes_of(store_dir) == {"r": "warmup 500 steps"}
    run.finish()
    run.tags = ["best"]  # after finish: stored at once
    run.notes = ""
    assert tags_of(store_dir) == {"r": ["best"]} and notes_of(store_dir) == {"r": ""}
    with Reader(store_dir) as reader:
        assert len(reader.series("p", "r", "train/loss")) == 50  # the bad tags cost no logged value


def test_resuming_adds_the_tags_given_and_replaces_notes_only_when_given(store_dir):
    finished_run("r", tags=["a", "b"], notes="kept")
    run = trackio.init(project="p", name="r", resume="allow", tags=["b", "c"])
    assert run.tags == ("a", "b", "c") and run.notes == "kept"
    run.finish()
    trackio.init(project="p", name="r", resume="allow", notes="replaced").finish()
    assert tags_of(store_dir) == {"r": ["a", "b", "c"]} and notes_of(store_dir) == {"r": "replaced"}


def test_trackios_api_runs_read_and_set_tags_and_notes(store_dir):
    finished_run("r", tags=["x"])
    (run,) = Api().runs("p")
    assert run.tags == ["x"] and run.notes == ""
    run.tags = ["x", "y"]
    run.notes = "from the api"
    assert tags_of(store_dir) == {"r": ["x", "y"]} and notes_of(store_dir) == {"r": "from the api"}
    operations.remove_run_tags("p", "r", ["x"])
    assert run.tags == ["y"]  # a handle reads the run as stored now
    with pytest.raises(InvalidAnnotationError):
        run.tags = ["no,commas"]


def test_tags_and_notes_move_with_a_run_and_filter_reads(store_dir):
    finished_run("a", tags=["keep"])
    finished_run("b", tags=["drop", "keep"], notes="b's notes")
    finished_run("c")
    with Reader(store_dir) as reader:
        assert [r["name"] for r in reader.runs("p", tag="keep")] == ["a", "b"]
        assert [r["name"] for r in reader.runs("p", tag=" drop ")] == ["b"]
        assert reader.runs("p", tag="none") == []
        assert reader.run("p", "c")["tags"] == [] and reader.run("p", "c")["notes"] == ""
    operations.move_run("p", "b", "q")
    assert tags_of(store_dir, "q") == {"b": ["drop", "keep"]} and notes_of(store_dir, "q") == {"b": "b's notes"}


# -- the CLI --------------------------------------------------------------------------------------------------------


def cli(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_tags_notes_list_and_get(store_dir, capsys, monkeypatch):
    finished_run("a", tags=["old"])
    finished_run("b")
    assert cli(capsys, "runs", "tag", "p", "a", "--add", "x", "y", "--remove", "old") == (
        0,
        "run 'a' of project 'p' tags: x, y\n",
        "",
    )
    assert cli(capsys, "runs", "tag", "p", "b", "--add", "y")[0] == 0
    assert cli(capsys, "runs", "tag", "p", "a") == (0, "run 'a' of project 'p' tags: x, y\n", "")  # no option: shown
    code, out, err = cli(capsys, "runs", "tag", "p", "a", "--add", "bad,tag")
    assert code == 2 and out == "" and "tag 'bad,tag' holds a comma" in err
    assert cli(capsys, "runs", "note", "p", "a", "line one\nline two") == (
        0,
        "run 'a' of project 'p' notes: 17 characters\n",
        "",
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("from stdin\n"))
    assert cli(capsys, "runs", "note", "p", "b", "-")[0] == 0
    assert notes_of(store_dir) == {"a": "line one\nline two", "b": "from stdin\n"}

    code, out, _ = cli(capsys, "list", "runs", "--project", "p")
    lines = out.splitlines()
    assert lines[0].split()[-1] == "tags" and lines[1].endswith("x, y") and lines[2].endswith("  y")
    code, out, _ = cli(capsys, "list", "runs", "--project", "p", "--tag", "x", "--json")
    assert [(r["name"], r["tags"], r["notes"]) for r in json.loads(out)] == [("a", ["x", "y"], "line one\nline two")]
    code, out, _ = cli(capsys, "get", "run", "--project", "p", "--run", "a")
    assert "tags: x, y\nnotes:\n  line one\n  line two\n" in out
    assert cli(capsys, "runs", "tag", "p", "a", "--clear") == (0, "run 'a' of project 'p' tags: -\n", "")
    assert cli(capsys, "runs", "note", "p", "a", "") == (0, "run 'a' of project 'p' notes cleared\n", "")
    assert tags_of(store_dir) == {"a": [], "b": ["y"]} and notes_of(store_dir)["a"] == ""


# -- MCP ------------------------------------------------------------------------------------------------------------


async def _stdio_session(directory, calls: list[tuple[str, dict]]) -> list:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "trackio_callback", "--dir", str(directory), "mcp"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    async with stdio_client(parameters) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        answers: list = [{t.name: t for t in (await session.list_tools()).tools}]
        for name, arguments in calls:
            result = await session.call_tool(name, arguments)
            text = result.content[0].text
            answers.append(("error", text) if result.is_error else json.loads(text))
        return answers


def test_mcp_over_stdio_sets_tags_and_notes(store_dir):
    finished_run("r", tags=["a"])
    tools, added, removed, bad, noted, runs = anyio.run(
        _stdio_session,
        store_dir,
        [
            ("set_run_tags", {"project": "p", "run": "r", "add": ["b", "c"]}),
            ("set_run_tags", {"project": "p", "run": "r", "remove": ["a"], "add": ["d"]}),
            ("set_run_tags", {"project": "p", "run": "r", "add": ["x" * 70]}),
            ("set_run_notes", {"project": "p", "run": "r", "notes": "set by an assistant"}),
            ("get_runs_for_project", {"project": "p"}),
        ],
    )
    assert set(tools) == set(TOOL_NAMES) | set(WRITE_TOOL_NAMES)
    schema = tools["set_run_tags"].input_schema
    assert set(schema["properties"]) == {"project", "run", "add", "remove"} and schema["required"] == ["project", "run"]
    assert added["tags"] == ["a", "b", "c"] and removed["tags"] == ["b", "c", "d"]
    assert bad[0] == "error" and "has 70 characters" in bad[1] and "at most 64 characters" in bad[1]
    assert noted["notes_chars"] == len("set by an assistant")
    (brief,) = runs["runs"]
    assert brief["tags"] == ["b", "c", "d"] and brief["notes"] == "set by an assistant"
    assert tags_of(store_dir) == {"r": ["b", "c", "d"]} and notes_of(store_dir) == {"r": "set by an assistant"}


async def _http_tools(url: str) -> list[str]:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        return [t.name for t in (await session.list_tools()).tools]


def test_the_dashboards_mcp_mount_lists_no_write_tool(store_dir):
    finished_run("r")
    with show(dir=store_dir, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        for path in ("gradio_api/mcp/", "mcp"):
            names = anyio.run(_http_tools, dashboard.url + path)
            assert set(names) == set(TOOL_NAMES) and not set(names) & set(WRITE_TOOL_NAMES)


# -- the page's write API -------------------------------------------------------------------------------------------


@pytest.fixture
def writable(store_dir):
    finished_run("a", tags=["t"])
    finished_run("b")
    app = build_app(store_dir, write_token="s3cret-token", allowed_hosts=["testserver"])
    with TestClient(app) as client:
        yield client


def post(client: TestClient, action: str, body: dict, token: str | None = "s3cret-token", **options):
    headers = {} if token is None else {TOKEN_HEADER: token}
    return client.post(f"/api/runs/{action}", json=body, headers=headers, **options)


def test_write_api_needs_the_token_and_json(writable, store_dir):
    assert writable.get("/config.json").json() == {"mode": "server", "write_token": "s3cret-token"}
    body = {"project": "p", "run": "a", "tags": ["x"]}
    for token in (None, "", "wrong", "s3cret-token-", "S3CRET-TOKEN"):
        answer = post(writable, "tags", body, token)
        assert answer.status_code == 403 and "s3cret" not in answer.text
    form = writable.post("/api/runs/tags", data={"tags": "x"}, headers={TOKEN_HEADER: "s3cret-token"})
    assert form.status_code == 415
    for path in ("/api/runs/tags", "/api/runs/delete"):
        assert writable.get(path).status_code == 405
    assert writable.post("/api/runs?project=p", json=body).status_code == 405
    assert tags_of(store_dir) == {"a": ["t"], "b": []}  # nothing changed


def test_write_api_actions_validate_like_the_cli(writable, store_dir):
    answer = post(writable, "tags", {"project": "p", "run": "a", "tags": ["x", " y", "x"]})
    assert answer.status_code == 200 and answer.json()["run"]["tags"] == ["x", "y"]
    assert answer.headers["cache-control"] == "no-store" and "s3cret" not in answer.text
    bad = post(writable, "tags", {"project": "p", "run": "a", "tags": ["x,y"]})
    assert bad.status_code == 400 and "tag 'x,y' holds a comma" in bad.json()["error"]
    assert post(writable, "tags", {"project": "p", "run": "a", "tags": "x"}).status_code == 400
    assert post(writable, "notes", {"project": "p", "run": "a", "notes": "n" * 20_001}).status_code == 400
    assert post(writable, "notes", {"project": "p", "run": "a", "notes": "why"}).json()["run"]["notes"] == "why"
    missing = post(writable, "notes", {"project": "p", "run": "zz", "notes": "x"})
    assert missing.status_code == 404 and "'zz' not found" in missing.json()["error"]
    taken = post(writable, "rename", {"project": "p", "run": "a", "new_name": "b"})
    assert taken.status_code == 400 and "a run of that name exists" in taken.json()["error"]
    renamed = post(writable, "rename", {"project": "p", "run": "a", "new_name": "a2"})
    assert renamed.json()["run"]["name"] == "a2" and renamed.json()["run"]["tags"] == ["x", "y"]
    unconfirmed = post(writable, "delete", {"project": "p", "run": "b", "confirm": "B"})
    assert unconfirmed.status_code == 400 and "'confirm' equal to its name" in unconfirmed.json()["error"]
    deleted = post(writable, "delete", {"project": "p", "run": "b", "confirm": "b"})
    assert deleted.status_code == 200 and deleted.json()["run"]["name"] == "b"
    assert tags_of(store_dir) == {"a2": ["x", "y"]} and notes_of(store_dir) == {"a2": "why"}


def test_a_live_run_cannot_be_renamed_or_deleted_from_the_page_but_can_be_tagged(writable, store_dir):
    run = trackio.init(project="p", name="live")
    run.log({"train/loss": 1.0})
    assert run.flush(timeout=10)
    assert post(writable, "rename", {"project": "p", "run": "live", "new_name": "x"}).status_code == 409
    assert post(writable, "delete", {"project": "p", "run": "live", "confirm": "live"}).status_code == 409
    assert post(writable, "tags", {"project": "p", "run": "live", "tags": ["watch"]}).status_code == 200
    run.log({"train/loss": 0.5})
    run.finish()
    assert tags_of(store_dir)["live"] == ["watch"]  # the run's writer did not overwrite them


def test_show_makes_a_token_only_on_loopback_over_local_storage(store_dir):
    finished_run("r")
    tokens = []
    for _ in range(2):
        with (
            show(dir=store_dir, open_browser=False, block=False, port=0) as local,
            httpx.Client(base_url=local.url, trust_env=False) as client,
        ):
            tokens.append(client.get("/config.json").json()["write_token"])
    token, other = tokens
    assert len(token) >= 40 and token != other  # per session
    app = build_app(store_dir)  # a server without a token (a Space's, a network one): no write route at all
    assert not [r for r in app.routes if getattr(r, "path", "").startswith("/api/runs/")]
    with TestClient(app) as client:
        assert client.get("/config.json").json() == {"mode": "server"}
        assert client.post("/api/runs/tags", json={}).status_code == 404


# -- the Hub ----------------------------------------------------------------------------------------------------------


def runs_file(hub, uid: str) -> dict:
    data = hub.repo_files(DATASET)[f"runs/p/{uid}.parquet"]
    (row,) = pq.read_table(io.BytesIO(data)).to_pylist()
    return row


def runs_file_commits(hub, uid: str) -> int:
    """How many commits wrote the run's runs file (a new content each time)."""
    path, seen, count = f"runs/p/{uid}.parquet", None, 0
    for commit in hub.commits(DATASET):
        content = commit.files.get(path)
        if content is not None and content != seen:
            count, seen = count + 1, content
    return count


def test_tags_travel_through_the_runs_file_and_pull(store_dir, tmp_path, hub):
    run = trackio.init(project="p", name="r", dataset_id="tagged", tags=["first"], notes="synced notes")
    run.log({"train/loss": 1.0})
    run.finish()
    uid = run.uid
    row = runs_file(hub, uid)
    assert json.loads(row["tags"]) == ["first"] and row["notes"] == "synced notes"
    assert runs_file_commits(hub, uid) == 1

    operations.edit_run_tags("p", "r", add=["best"], remove=["first"])
    hub.drop_connection(before_apply=False, endpoint="commit")  # the commit lands, its answer is lost
    with contextlib.suppress(TrackioError):
        sync(store_dir)
    sync(store_dir)
    row = runs_file(hub, uid)
    assert json.loads(row["tags"]) == ["best"] and row["notes"] == "synced notes"
    commits = hub.commit_count(DATASET)
    sync(store_dir)  # nothing changed: nothing sent
    assert hub.commit_count(DATASET) == commits and runs_file_commits(hub, uid) == 2

    fresh = tmp_path / "fresh"
    assert pull(DATASET, directory=fresh)["runs"] == 1
    assert tags_of(fresh) == {"r": ["best"]} and notes_of(fresh) == {"r": "synced notes"}
    mirror = DatasetMirror.of(DATASET, tmp_path / "dashboard")  # what show(dataset_id=...) serves
    assert tags_of(mirror.directory) == {"r": ["best"]}
    operations.set_run_notes("p", "r", "changed at the origin")  # a later change reaches the pulled store too
    sync(store_dir)
    pull(DATASET, directory=fresh)
    assert notes_of(fresh) == {"r": "changed at the origin"}
    mirror.pull()
    assert notes_of(mirror.directory) == {"r": "changed at the origin"}
    commits = hub.commit_count(DATASET)
    assert [r.committed for r in sync(fresh).values()] == [False]  # the pulled store agrees: it sends nothing
    assert hub.commit_count(DATASET) == commits


def test_a_runs_file_written_before_tags_pulls_as_no_tags(store_dir, tmp_path, hub):
    run = trackio.init(project="p", name="r", dataset_id="tagged")
    run.log({"train/loss": 1.0})
    run.finish()
    path = f"runs/p/{run.uid}.parquet"
    table = pq.read_table(io.BytesIO(hub.repo_files(DATASET)[path]))
    old = table.drop_columns(["tags", "notes"])
    buffer = io.BytesIO()
    pq.write_table(old, buffer)
    hub.api().upload_file(path_or_fileobj=buffer.getvalue(), path_in_repo=path, repo_id=DATASET, repo_type="dataset")
    fresh = tmp_path / "fresh"
    pull(DATASET, directory=fresh)
    assert tags_of(fresh) == {"r": []} and notes_of(fresh) == {"r": ""}
    assert files.projects(fresh) == ["p"]
