"""The dashboard's JSON API, against the real server (`show`) over real SQLite stores, with real HTTP.

One server serves a module-wide storage dir (project ``proj``: runs ``base`` and ``other``; project
``big``: a 200k-point series with one spike); tests that log while the server runs use their own
project in that dir. Every JSON answer is parsed strictly (a bare NaN or Infinity fails the test).
"""

from __future__ import annotations

import csv
import http.client
import inspect
import io
import json
import math
import random
import socket
import time
from pathlib import Path
from urllib.parse import quote

import httpx2 as httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from trackio_callback import Reader, TrackioError
from trackio_callback.core.table import Table
from trackio_callback.server.show import show

NAN, INF = math.nan, math.inf
WEIRD = [NAN, INF, -INF, 1.5]
WEIRD_JSON = ["NaN", "Infinity", "-Infinity", 1.5]
SPIKE_AT, SPIKE = 123_457, 1e3
BIG = 200_000
ENDPOINTS = (
    "/api/info",
    "/api/projects",
    "/api/runs?project=proj",
    "/api/keys?project=proj&run=base",
    "/api/series?project=proj&run=base&key=train/loss",
    "/api/poll?project=proj&run=base&after=-1",
    "/api/system?project=proj&run=base",
    "/api/tables?project=proj&run=base",
    "/api/alerts?project=proj&run=base",
    "/api/config_diff?project=proj&run=base&run=other",
    "/api/download?project=proj&run=base&key=train/loss",
)


def _reject_constant(name: str):
    raise AssertionError(f"non-strict JSON constant {name}")


def strict(response: httpx.Response):
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.text, parse_constant=_reject_constant)


def _show(directory: Path, **kwargs):
    return show(dir=directory, open_browser=False, block=False, port=0, **kwargs)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The storage dir ``<base>/store`` (and a decoy project ``secret`` in ``<base>``, outside it)."""
    base = tmp_path_factory.mktemp("served")
    directory = base / "store"
    decoy = trackio.init(project="secret", name="hidden-run", dir=base)
    decoy.log({"secret/loss": 42.0})
    decoy.finish()

    run = trackio.init(project="proj", name="base", group="g1", dir=directory, config={"lr": 0.1, "seed": 1})
    run.config["model"] = "tiny"
    for i in range(300):
        record = {"train/loss": 1 / (i + 1), "train/lr": 1e-3, "weird": WEIRD[i % 4]}
        if i % 10 == 0:
            record["eval/loss"] = 2 / (i + 1)
        run.log(record, step=i)
    run.log_system({"system/gpu0/util": 50.0, "system/gpu0/power": NAN}, step=3, node="node-0")
    run.log_system({"system/gpu0/util": 60.0})
    run.log({"completions": Table(columns=["prompt", "reward"], data=[["2+2=", 1.0], ["x", NAN]])}, step=299)
    run.record_health_alert("loss_spike", "loss 9 is 3x its running average", step=7, value=9.0)
    run.alert("nan_loss", "loss is NaN", step=13)
    run.finish()

    other = trackio.init(project="proj", name="other", group="g2", dir=directory, config={"lr": 0.2, "seed": 1})
    other.config["extra"] = True
    for i in range(120):
        other.log({"train/loss": 0.5 + i / 1000}, step=2 * i)
    other.finish()

    rng = random.Random(11)
    values = [1.0 + rng.gauss(0, 0.01) for _ in range(BIG)]
    values[SPIKE_AT] = SPIKE
    big = trackio.init(project="big", name="spiky", dir=directory)
    for value in values:
        big.log({"loss": value})
    big.finish()
    return {"base": base, "dir": directory, "big": values}


@pytest.fixture(scope="module")
def dashboard(served):
    with _show(served["dir"]) as running:
        yield running


@pytest.fixture(scope="module")
def client(dashboard):
    with httpx.Client(base_url=dashboard.url, trust_env=False, timeout=30) as http:
        yield http


@pytest.fixture
def reader(served):
    with Reader(served["dir"]) as opened:
        yield opened


def get(client: httpx.Client, path: str, status: int = 200):
    response = client.get(path)
    assert response.status_code == status, (path, response.text)
    return strict(response)


def raw_get(dashboard, path: str) -> tuple[int, bytes]:
    """A request whose target is sent byte for byte (no URL normalization by the client)."""
    connection = http.client.HTTPConnection(dashboard.host, dashboard.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# -- the read endpoints -----------------------------------------------------------------------------


def test_info_and_projects(client, served):
    projects = get(client, "/api/projects")["projects"]
    assert {"big", "proj"} <= set(projects) and "secret" not in projects and projects == sorted(projects)
    info = get(client, "/api/info")
    assert info.pop("project") in projects  # the one written to last: see the test below
    assert info == {
        "mode": "server",
        "version": trackio.__version__,
        "dataset_id": None,
        "poll_ms": 2000,
        "max_points": 1000,
    }
    with _show(served["dir"], project="big") as chosen:
        assert httpx.get(chosen.url + "api/info", trust_env=False).json()["project"] == "big"


def test_runs_lists_names_groups_status_config_and_cursor(client):
    answer = get(client, "/api/runs?project=proj")
    assert answer["project"] == "proj"
    runs = {run["name"]: run for run in answer["runs"]}
    assert list(runs) == ["base", "other"]
    assert (runs["base"]["group"], runs["other"]["group"]) == ("g1", "g2")
    assert {run["status"] for run in runs.values()} == {"finished"}
    assert runs["base"]["config"] == {"lr": 0.1, "seed": 1, "model": "tiny"}
    assert runs["other"]["config"] == {"lr": 0.2, "seed": 1, "extra": True}
    assert (runs["base"]["num_logs"], runs["base"]["cursor"], runs["base"]["last_step"]) == (300, 299, 299)
    assert (runs["other"]["num_logs"], runs["other"]["cursor"], runs["other"]["last_step"]) == (120, 119, 238)
    assert all(run["finished_at"] >= run["created_at"] for run in runs.values())


def test_keys_summaries_match_what_was_logged(client):
    answer = get(client, "/api/keys?project=proj&run=base&run=other")["runs"]
    base, other = answer["base"], answer["other"]
    assert sorted(base["metrics"]) == ["eval/loss", "train/loss", "train/lr", "weird"]
    loss = base["metrics"]["train/loss"]
    assert (loss["count"], loss["nan_count"], loss["first_step"], loss["last_step"]) == (300, 0, 0, 299)
    assert (loss["last"], loss["min"], loss["max"]) == (1 / 300, 1 / 300, 1.0)
    evaluation = base["metrics"]["eval/loss"]
    assert (evaluation["count"], evaluation["last"], evaluation["min"], evaluation["last_step"]) == (
        30,
        2 / 291,
        2 / 291,
        290,
    )
    weird = base["metrics"]["weird"]
    assert (weird["count"], weird["nan_count"], weird["last"], weird["min"], weird["max"]) == (
        300,
        75,
        1.5,
        "-Infinity",
        "Infinity",
    )
    assert base["system"] == ["system/gpu0/power", "system/gpu0/util"] and base["tables"] == ["completions"]
    assert list(other["metrics"]) == ["train/loss"] and other["system"] == [] and other["tables"] == []
    assert (other["metrics"]["train/loss"]["count"], other["metrics"]["train/loss"]["max"]) == (120, 0.5 + 119 / 1000)


def _same_as_reader(item: dict, series) -> None:
    assert (item["run"], item["key"]) == (series.run, series.key)
    assert item["steps"] == series.steps and item["timestamps"] == series.timestamps
    assert item["values"] == series.values and item["total"] == series.total


def test_series_of_several_runs_and_keys_equals_the_reader(client, reader):
    query = "project=proj&run=base&run=other&key=train/loss&key=eval/loss&key=never-logged&max_points=40"
    answer = get(client, f"/api/series?{query}")
    assert answer["cursors"] == {"base": 299, "other": 119}
    pairs = [(item["run"], item["key"]) for item in answer["series"]]
    assert pairs == [("base", "train/loss"), ("base", "eval/loss"), ("other", "train/loss")]  # others skipped
    for item in answer["series"]:
        _same_as_reader(item, reader.series("proj", item["run"], item["key"], max_points=40))
        assert len(item["steps"]) <= 40
    assert answer["series"][1]["steps"] == list(range(0, 300, 10)) and answer["series"][1]["total"] == 30
    assert get(client, "/api/series?project=proj&run=other&key=eval/loss")["series"] == []


def test_a_spike_in_200_000_points_survives_max_points_1000(client, served, reader):
    values = served["big"]
    for query in ("&max_points=1000", ""):  # 1000 is also the default
        (item,) = get(client, f"/api/series?project=big&run=spiky&key=loss{query}")["series"]
        assert len(item["values"]) <= 1000 and item["total"] == BIG
        assert item["values"][item["steps"].index(SPIKE_AT)] == SPIKE == max(item["values"])
        assert (item["steps"][-1], item["values"][-1]) == (BIG - 1, values[-1])
        assert all(values[step] == value for step, value in zip(item["steps"], item["values"]))
        # A long series is downsampled with buckets of whole 64-point blocks (tests/test_store_extremes.py).
        _same_as_reader(item, reader.series_of_keys("big", "spiky", ["loss"], max_points=1000, by_blocks=True)["loss"])


def test_non_finite_values_are_strict_json_strings(client):
    text = client.get("/api/series?project=proj&run=base&key=weird&max_points=4000").text
    with pytest.raises(AssertionError, match="non-strict JSON constant NaN"):
        json.loads(text.replace('"NaN"', "NaN"), parse_constant=_reject_constant)  # the check does reject
    (item,) = json.loads(text, parse_constant=_reject_constant)["series"]
    assert item["values"] == WEIRD_JSON * 75 and "NaN" not in text.replace('"NaN"', "")
    polled = get(client, "/api/poll?project=proj&run=base&after=295&key=weird")["runs"][0]["series"]
    assert polled["weird"]["values"] == WEIRD_JSON * 1 and polled["weird"]["steps"] == [296, 297, 298, 299]
    (power,) = get(client, "/api/system?project=proj&run=base")["series"]["system/gpu0/power"].values()
    assert power["values"] == ["NaN"]


def test_system_samples_since_a_cursor(client, reader):
    answer = get(client, "/api/system?project=proj&run=base")
    samples = reader.system_samples("proj", "base")
    assert answer["cursor"] == samples[-1]["seq"] and len(samples) == 3
    util = answer["series"]["system/gpu0/util"]
    assert sorted(util) == ["", "node-0"]
    assert (util["node-0"]["steps"], util["node-0"]["values"]) == ([3], [50.0])
    assert (util[""]["steps"], util[""]["values"]) == ([None], [60.0])
    assert util["node-0"]["timestamps"] == [samples[0]["timestamp"]]
    after = get(client, f"/api/system?project=proj&run=base&after={samples[0]['seq']}")
    assert after["cursor"] == answer["cursor"] and list(after["series"]) == ["system/gpu0/power", "system/gpu0/util"]
    assert after["series"]["system/gpu0/util"] == {"": util[""]}
    empty = get(client, f"/api/system?project=proj&run=base&after={answer['cursor']}")
    assert (empty["cursor"], empty["series"]) == (answer["cursor"], {})


def test_tables_alerts_and_config_diff(client, reader):
    (table,) = get(client, "/api/tables?project=proj&run=base")["tables"]
    assert (table["key"], table["step"], table["columns"]) == ("completions", 299, ["prompt", "reward"])
    assert (
        table["rows"] == [["2+2=", 1.0], ["x", "NaN"]]  # a NaN cell: the JSON policy's string
        and table["timestamp"] == reader.tables("proj", "base")[0]["timestamp"]
    )
    assert get(client, "/api/tables?project=proj&run=base&key=completions")["tables"] == [table]
    assert get(client, "/api/tables?project=proj&run=other")["tables"] == []
    alerts = get(client, "/api/alerts?project=proj&run=base")["alerts"]
    assert [(a["step"], a["level"], a["title"], a["text"], a["value"]) for a in alerts] == [
        (7, "warn", "loss_spike", "loss 9 is 3x its running average", 9.0),
        (13, "warn", "nan_loss", "loss is NaN", None),
    ]
    assert alerts[0]["timestamp"] <= alerts[1]["timestamp"]
    diff = get(client, "/api/config_diff?project=proj&run=base&run=other")
    assert diff == {
        "project": "proj",
        "runs": ["base", "other"],
        "diff": {"extra": {"other": True}, "lr": {"base": 0.1, "other": 0.2}, "model": {"base": "tiny"}},
    }


def test_download_csv_and_parquet_at_full_resolution(client, reader):
    series = reader.series("proj", "base", "train/loss")
    response = client.get("/api/download?project=proj&run=base&key=train/loss&format=csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="base-train_loss.csv"'
    header, *rows = list(csv.reader(io.StringIO(response.text)))
    assert header == ["step", "timestamp", "value"] and len(rows) == 300
    assert [int(r[0]) for r in rows] == series.steps == list(range(300))
    assert [float(r[1]) for r in rows] == series.timestamps
    assert [float(r[2]) for r in rows] == [1 / (i + 1) for i in range(300)]
    assert client.get("/api/download?project=proj&run=base&key=train/loss").text == response.text  # csv by default
    weird = client.get("/api/download?project=proj&run=base&key=weird").text.splitlines()[1:5]
    assert [line.split(",")[2] for line in weird] == ["nan", "inf", "-inf", "1.5"]

    response = client.get("/api/download?project=big&run=spiky&key=loss&format=parquet")
    assert response.status_code == 200 and response.headers["content-type"] == "application/vnd.apache.parquet"
    assert response.headers["content-disposition"] == 'attachment; filename="spiky-loss.parquet"'
    table = pq.read_table(io.BytesIO(response.content))
    assert table.schema.types == [pa.int64(), pa.timestamp("us", tz="UTC"), pa.float64()]
    assert table.column_names == ["step", "timestamp", "value"] and table.num_rows == BIG
    full = reader.series("big", "spiky", "loss")
    assert table.column("step").to_pylist() == full.steps == list(range(BIG))
    assert table.column("value").to_pylist() == full.values and table.column("value")[SPIKE_AT].as_py() == SPIKE
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == full.timestamps_us
    first = table.column("timestamp")[0].as_py()
    assert first.tzinfo is not None and first.timestamp() == full.timestamps_us[0] / 1e6


# -- live polling -----------------------------------------------------------------------------------


def a_value(i: int) -> float:
    return (i * 7919 % 13) / 4 + i / 1000


def b_value(i: int) -> float:
    return -(i * 37 % 11) / 8


def _log(run, start: int, stop: int) -> None:
    for i in range(start, stop):
        run.log({"a": a_value(i), "b": b_value(i)}, step=3 * i)


def test_poll_returns_exactly_what_was_logged_since_the_cursor(client, served, reader):
    run = trackio.init(project="live", name="r", dir=served["dir"], flush_every=3600)
    _log(run, 0, 3000)
    assert run.flush(30)
    initial = client.get("/api/series?project=live&run=r&key=a&key=b")
    first = strict(initial)
    cursor = first["cursors"]["r"]
    assert cursor == 2999 and [item["total"] for item in first["series"]] == [3000, 3000]
    assert all(900 < len(item["steps"]) <= 1000 for item in first["series"])

    _log(run, 3000, 3050)
    assert run.flush(30)
    response = client.get(f"/api/poll?project=live&run=r&after={cursor}")
    (polled,) = strict(response)["runs"]
    assert (polled["run"], polled["cursor"], polled["status"], polled["last_step"]) == ("r", 3049, "running", 3 * 3049)
    assert sorted(polled["series"]) == ["a", "b"]
    new = range(3000, 3050)
    for key, value in (("a", a_value), ("b", b_value)):
        assert polled["series"][key]["steps"] == [3 * i for i in new]
        assert polled["series"][key]["values"] == [value(i) for i in new]
    assert polled["series"]["a"]["timestamps"] == reader.new_points("live", "r", cursor)["a"].timestamps
    small = len(response.content)
    assert small * 10 < len(initial.content)  # a poll sends the new points only

    again = get(client, "/api/poll?project=live&run=r&after=3049")["runs"][0]
    assert (again["cursor"], again["series"]) == (3049, {})
    only_b = get(client, f"/api/poll?project=live&run=r&after={cursor}&key=b")["runs"][0]["series"]
    assert list(only_b) == ["b"] and len(only_b["b"]["steps"]) == 50

    _log(run, 3050, 3550)
    assert run.flush(30)
    response = client.get("/api/poll?project=live&run=r&after=3049")
    (polled,) = strict(response)["runs"]
    assert polled["cursor"] == 3549 and [len(polled["series"][k]["values"]) for k in "ab"] == [500, 500]
    ratio = len(response.content) / small
    assert 10 / 3 < ratio < 30, ratio  # grows with the new points: about 10x for 10x the points
    run.finish()
    (done,) = get(client, "/api/poll?project=live&run=r&after=3549")["runs"]
    assert (done["status"], done["cursor"], done["series"]) == ("finished", 3549, {})


def test_series_is_a_snapshot_at_its_cursor_that_poll_continues(client, served):
    run = trackio.init(project="live2", name="r", dir=served["dir"], flush_every=3600)
    _log(run, 0, 10)
    assert run.flush(30)
    answer = get(client, "/api/series?project=live2&run=r&key=a&max_points=4")
    (item,) = answer["series"]
    assert answer["cursors"] == {"r": 9} and item["total"] == 10 and item["steps"][-1] == 27
    _log(run, 10, 12)
    assert run.flush(30)
    polled = get(client, "/api/poll?project=live2&run=r&after=9&run=r&after=10")["runs"]
    assert [(p["cursor"], p["series"]["a"]["steps"]) for p in polled] == [(11, [30, 33]), (11, [33])]
    run.finish()


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/api/runs", 400, ["'project'", "required"]),
        ("/api/runs?project=", 400, ["'project'"]),
        ("/api/runs?project=proj&project=big", 400, ["'project'", "once"]),
        ("/api/keys?project=proj", 400, ["'run'"]),
        ("/api/series?project=proj&run=base", 400, ["'key'"]),
        ("/api/download?project=proj&run=base", 400, ["'key'"]),
        ("/api/series?project=proj&run=base&key=train/loss&max_points=2", 400, ["max_points", "from 4 to 100000"]),
        ("/api/series?project=proj&run=base&key=train/loss&max_points=100001", 400, ["from 4 to 100000"]),
        ("/api/series?project=proj&run=base&key=train/loss&max_points=ten", 400, ["max_points must be an integer"]),
        ("/api/poll?project=proj&run=base&after=abc", 400, ["after must be an integer", "'abc'"]),
        ("/api/poll?project=proj&run=base&after=-2", 400, ["after must be an integer >= -1"]),
        ("/api/poll?project=proj&run=base&after=1.5", 400, ["after must be an integer"]),
        ("/api/poll?project=proj&run=base", 400, ["'after'"]),
        ("/api/poll?project=proj&run=base&run=other&after=1", 400, ["every run needs its after= cursor"]),
        ("/api/system?project=proj&run=base&after=x", 400, ["after must be an integer"]),
        ("/api/download?project=proj&run=base&key=train/loss&format=xml", 400, ["'csv' or 'parquet'", "'xml'"]),
        ("/api/runs?project=zzzz", 404, ["project 'zzzz' not found", "'big'", "'proj'"]),
        ("/api/runs?project=prjo", 404, ["did you mean", "'proj'"]),
        ("/api/keys?project=proj&run=nope", 404, ["run 'nope' not found", "'base'", "'other'"]),
        ("/api/series?project=proj&run=bse&key=train/loss", 404, ["did you mean: 'base'"]),
        ("/api/poll?project=proj&run=nope&after=1", 404, ["run 'nope'", "'base'", "'other'"]),
        ("/api/config_diff?project=proj&run=base&run=nope", 404, ["run 'nope'"]),
        ("/api/download?project=proj&run=base&key=nope", 404, ["metric 'nope' not found", "'train/loss'", "'weird'"]),
        ("/api/tables?project=proj&run=base&key=nope", 404, ["table 'nope' not found", "'completions'"]),
    ],
)
def test_bad_requests_say_what_is_wrong(client, path, status, words):
    message = get(client, path, status)["error"]
    for word in words:
        assert word in message, message


def test_an_after_beyond_int64_is_a_bad_request(dashboard):
    with httpx.Client(base_url=dashboard.url, trust_env=False) as fresh:  # a 500 drops the connection
        response = fresh.get(f"/api/system?project=proj&run=base&after={2**64}")
    assert response.status_code == 400 and "after" in response.json()["error"]


# -- security ---------------------------------------------------------------------------------------


PROJECT_PATHS = (
    "/api/runs?project={}",
    "/api/series?project={}&run=hidden-run&key=secret/loss",
    "/api/download?project={}&run=hidden-run&key=secret/loss",
)


def _listing(base: Path) -> list[str]:
    """Every file under ``base`` except SQLite's -wal/-shm companions (they come and go with readers)."""
    return sorted(str(p.relative_to(base)) for p in base.rglob("*") if not p.name.endswith(("-wal", "-shm")))


@pytest.mark.parametrize(
    "encoded",
    ["..%2Fsecret", "..", "%2Fetc%2Fpasswd", "a%2Fb", "%2e%2e", "%2e%2e%2fsecret", "x%00y", "proj%20", "%2Ftmp"],
)
def test_project_names_cannot_leave_the_storage_dir(client, served, encoded):
    get(client, "/api/runs?project=proj")  # readers opened: their files exist already
    before = _listing(served["base"])
    for path in PROJECT_PATHS:
        response = client.get(path.format(encoded))
        assert response.status_code == 400, (path, response.text)
        message = strict(response)["error"]
        assert "invalid project name" in message and "hidden-run" not in message and "42" not in message
    assert _listing(served["base"]) == before


@pytest.mark.parametrize("name", ["x' OR '1'='1", '"; DROP TABLE runs; --', "base' --", "%", "*", "x\x00y"])
def test_run_and_metric_names_are_only_ever_parameters(client, served, name):
    value = quote(name, safe="")
    message = get(client, f"/api/keys?project=proj&run={value}", 404)["error"]
    assert f"run {name!r} not found in project 'proj'" in message and "'base'" in message
    get(client, f"/api/series?project=proj&run={value}&key=train/loss", 404)
    get(client, f"/api/download?project=proj&run=base&key={value}", 404)
    assert get(client, f"/api/series?project=proj&run=base&key={value}")["series"] == []
    assert get(client, f"/api/poll?project=proj&run=base&after=-1&key={value}")["runs"][0]["series"] == {}
    with Reader(served["dir"]) as fresh:
        assert [r["name"] for r in fresh.runs("proj")] == ["base", "other"]
        assert len(fresh.series("proj", "base", "train/loss")) == 300
        assert fresh.store("proj").integrity_check() == "ok"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_every_endpoint_is_read_only(client, served, method):
    before = _listing(served["base"])
    for path in (*ENDPOINTS, "/", "/static/app.js"):
        response = client.request(method, path, content=b'{"name": "x"}')
        assert response.status_code == 405, (method, path)
    assert get(client, "/api/runs?project=proj")["runs"][0]["name"] == "base"
    assert _listing(served["base"]) == before


def test_the_get_endpoints_answer(client):
    for path in ENDPOINTS:
        assert client.get(path).status_code == 200, path


def test_the_server_listens_on_localhost_only(dashboard):
    assert inspect.signature(show).parameters["host"].default == "127.0.0.1"
    assert dashboard.host == "127.0.0.1" and dashboard.url == f"http://127.0.0.1:{dashboard.port}/"
    sockets = [s for server in dashboard._server.servers for s in server.sockets]
    assert sockets and {s.getsockname()[:2] for s in sockets} == {("127.0.0.1", dashboard.port)}


def test_only_loopback_host_names_are_answered(dashboard):
    # A web page can point its own domain at 127.0.0.1 (DNS rebinding); the Host header gives it away.
    with httpx.Client(base_url=dashboard.url, trust_env=False) as client:
        assert client.get("/api/projects", headers={"Host": "attacker.example"}).status_code == 400
        assert client.get("/api/projects", headers={"Host": f"attacker.example:{dashboard.port}"}).status_code == 400
        for name in ("127.0.0.1", "localhost"):
            assert client.get("/api/projects", headers={"Host": f"{name}:{dashboard.port}"}).status_code == 200


def test_an_explicit_busy_port_is_an_error(served, dashboard):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(TrackioError, match=rf"port {port} on 127\.0\.0\.1 is in use"):
            show(dir=served["dir"], open_browser=False, block=False, port=port)
    with pytest.raises(TrackioError, match=rf"port {dashboard.port} "):
        show(dir=served["dir"], open_browser=False, block=False, port=dashboard.port)


def test_the_page_and_its_script_are_served(client):
    from trackio_callback.server.api import STATIC

    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.content == (STATIC / "index.html").read_bytes() and page.text.lstrip().lower().startswith(
        "<!doctype html"
    )
    script = client.get("/static/app.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert script.content == (STATIC / "app.js").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/static/../../etc/passwd",
        "/static/%2e%2e/%2e%2e/etc/passwd",
        "/static/..%2f..%2f..%2fetc%2fpasswd",
        "/static/../api.py",
        "/static/%2e%2e/api.py",
        "/static//etc/passwd",
        "/../../etc/passwd",
    ],
)
def test_static_paths_cannot_escape_the_static_dir(dashboard, path):
    status, body = raw_get(dashboard, path)
    assert status == 404, (path, body[:200])
    assert b"root:" not in body and b"import" not in body


# -- a Hub dataset, mirrored --------------------------------------------------------------------------


def _values(client, key: str) -> list[float]:
    answer = client.get(f"/api/series?project=p&run=r&key={key}&max_points=1000")
    return strict(answer)["series"][0]["values"] if answer.status_code == 200 else []


def test_show_a_dataset_keeps_pulling_it(hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds", dir=tmp_path / "source", sync_every=60)
    for i in range(10):
        run.log({"train/loss": 1 / (i + 1)}, step=i)
    assert run.flush(10)
    assert run._uploader.sync().committed
    with show(
        dataset_id="alice/ds", dir=tmp_path / "viewer", open_browser=False, block=False, port=0, pull_every=0.5
    ) as mirrored:
        with httpx.Client(base_url=mirrored.url, trust_env=False, timeout=30) as http:
            assert get(http, "/api/info")["dataset_id"] == "alice/ds"
            assert get(http, "/api/projects")["projects"] == ["p"]
            (info,) = get(http, "/api/runs?project=p")["runs"]
            assert (info["name"], info["uid"], info["cursor"]) == ("r", run.uid, 9)
            assert _values(http, "train/loss") == [1 / (i + 1) for i in range(10)]
            for i in range(10, 25):
                run.log({"train/loss": 1 / (i + 1)}, step=i)
            assert run.flush(10)
            assert run._uploader.sync().committed
            deadline = time.monotonic() + 15
            while len(_values(http, "train/loss")) < 25 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _values(http, "train/loss") == [1 / (i + 1) for i in range(25)]
            assert get(http, "/api/runs?project=p")["runs"][0]["cursor"] == 24
        mirror = mirrored.mirror
        # The pull that brought the new values may still be finishing (its artifacts, pruning) after they show.
        deadline = time.monotonic() + 15
        while mirror.pulls < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert mirror.pulls >= 2 and mirror.directory == tmp_path / "viewer" / "mirrors" / "alice--ds"
        assert (mirror.directory / "p.db").is_file()
    assert mirror._stop.is_set() and not mirror._thread.is_alive()  # close() stopped the pulling
    run.finish()


def test_answers_are_compressed_only_across_a_network(served):
    from trackio_callback.server.api import create_app
    from trackio_callback.server.show import Dashboard

    for compress in (False, True):
        app = create_app(served["dir"], compress=compress)
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        with Dashboard(app, "127.0.0.1", port).start() as dashboard:
            response = httpx.get(
                dashboard.url + "api/series",
                params={"project": "big", "run": "spiky", "key": "loss"},
                headers={"Accept-Encoding": "gzip"},
            )
        assert response.status_code == 200 and len(response.json()["series"][0]["values"]) <= 1000
        assert response.headers.get("content-encoding") == ("gzip" if compress else None)


def test_the_page_opens_the_project_written_to_last(tmp_path):
    for project in ("zeta", "alpha"):  # alpha is written last, though zeta sorts last
        run = trackio.init(project=project, name="r", dir=tmp_path)
        run.log({"loss": 1.0})
        run.finish()
        time.sleep(0.05)
    with _show(tmp_path) as dashboard:
        assert httpx.get(dashboard.url + "api/info", trust_env=False).json()["project"] == "alpha"
