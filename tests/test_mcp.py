"""The MCP server through the official ``mcp`` client: over HTTP at both paths, and over stdio.

The store is written by a real tiny ``Trainer`` run (``report_to="trackio"``) plus a few synthetic
runs with known shapes; every answer is compared with `Reader`.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sys
import time
from pathlib import Path

import anyio
import httpx2 as httpx
import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

import trackio_callback as trackio
from tests import tiny
from tests.helpers import ROOT, spawn_cli
from trackio_callback import Reader
from trackio_callback.server.mcp_server import TOOL_NAMES, WRITE_TOOL_NAMES
from trackio_callback.server.show import show
from trackio_callback.store.downsample import minmax_indices


class ToolFailed(Exception):
    pass


async def _session_calls(session: ClientSession, calls: list[tuple[str, dict]]) -> list:
    answers = []
    for name, arguments in calls:
        result = await session.call_tool(name, arguments)
        text = result.content[0].text
        answers.append(ToolFailed(text) if result.is_error else json.loads(text))
    return answers


async def _http(url: str, calls: list[tuple[str, dict]], listing: list | None = None) -> list:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        if listing is not None:
            listing.extend((await session.list_tools()).tools)
        return await _session_calls(session, calls)


def call_http(url: str, calls: list[tuple[str, dict]], listing: list | None = None) -> list:
    return anyio.run(_http, url, calls, listing)


def call_stdio(args: list[str], env: dict[str, str], calls: list[tuple[str, dict]]) -> list:
    parameters = StdioServerParameters(
        command=sys.executable,
        args=["-m", "trackio_callback", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )

    async def run() -> list:
        async with stdio_client(parameters) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            names = [t.name for t in (await session.list_tools()).tools]
            return [names, *await _session_calls(session, calls)]

    return anyio.run(run)


def one(answers: list):
    (answer,) = answers
    if isinstance(answer, Exception):
        raise answer
    return answer


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    """A real Trainer run ("plain", project "huggingface") and synthetic runs in project "shapes"."""
    directory = tmp_path_factory.mktemp("mcp-store")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKIO_DIR", str(directory))
        trainer = tiny.make_trainer(directory / "out", eval_steps=2, report_to="trackio", run_name="plain", max_steps=6)
        trainer.train()
        trackio.finish()
    for name, lr, shape in (("clean", 1e-3, "decay"), ("diverging", 3e-3, "diverge"), ("spiky", 1e-3, "spike")):
        run = trackio.init(project="shapes", name=name, group="sweep", config={"lr": lr, "seed": 1}, dir=directory)
        for step in range(400):
            loss = 2.0 * math.exp(-step / 80) + 0.1 + 0.01 * math.sin(step)
            if shape == "diverge" and step > 200:
                loss = 0.3 * math.exp((step - 200) / 60)
            if shape == "spike" and step == 250:
                loss = 40.0
            run.log({"train/loss": loss, "train/learning_rate": lr}, step=step)
        if name == "clean":
            for i in range(6):
                run.log_system({"system/gpu.0.utilization": 60.0 + i}, step=i * 50)
        if name == "spiky":
            run.record_health_alert("loss_spike", "train/loss jumped to 40", step=250, value=40.0)
        run.finish()
    return directory


@pytest.fixture(scope="module")
def server(store):
    with show(dir=store, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        yield dashboard


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url + "gradio_api/mcp/"


def test_both_paths_list_every_tool_with_a_description(server, store):
    for path in ("gradio_api/mcp/", "mcp"):
        tools: list = []
        projects = one(call_http(server.url + path, [("get_all_projects", {})], tools))
        assert {t.name for t in tools} == set(TOOL_NAMES)
        assert all(len(t.description) > 40 for t in tools)
        assert projects["projects"] == [
            {"name": "huggingface", "runs": 1, "last_activity": projects["projects"][0]["last_activity"]},
            {"name": "shapes", "runs": 3, "last_activity": projects["projects"][1]["last_activity"]},
        ]
    schema = next(t for t in tools if t.name == "get_metric_values").input_schema
    assert set(schema["required"]) == {"project", "run", "metric_name"}
    assert {"min_step", "max_step", "max_points"} <= set(schema["properties"])


def test_runs_metrics_and_values_match_the_store(url, store):
    reader = Reader(store)
    runs, metrics, values, window = call_http(
        url,
        [
            ("get_runs_for_project", {"project": "huggingface"}),
            ("get_metrics_for_run", {"project": "huggingface", "run": "plain"}),
            ("get_metric_values", {"project": "huggingface", "run": "plain", "metric_name": "train/loss"}),
            (
                "get_metric_values",
                {"project": "shapes", "run": "clean", "metric_name": "train/loss", "min_step": 100, "max_step": 109},
            ),
        ],
    )
    (run,) = runs["runs"]
    assert run["name"] == "plain" and run["status"] == "finished" and run["last_step"] == 6
    assert runs["total"] == 1 and runs["truncated"] is False
    assert set(metrics["metrics"]) == set(reader.metric_keys("huggingface", "plain"))
    assert {"train/loss", "eval/loss", "train/grad_norm", "train/learning_rate"} <= set(metrics["metrics"])
    expected = reader.series("huggingface", "plain", "train/loss")
    assert [p["step"] for p in values["points"]] == expected.steps
    assert [p["value"] for p in values["points"]] == expected.values
    assert values["total_points"] == len(expected) and values["downsampled"] is False
    clean = reader.series("shapes", "clean", "train/loss", min_step=100, max_step=109)
    assert [p["value"] for p in window["points"]] == clean.values and [p["step"] for p in window["points"]] == list(
        range(100, 110)
    )


def test_summaries_alerts_system_and_comparison(url, store):
    reader = Reader(store)
    project, run, alerts, system, series, compared = call_http(
        url,
        [
            ("get_project_summary", {"project": "shapes"}),
            ("get_run_summary", {"project": "huggingface", "run": "plain"}),
            ("get_alerts", {"project": "shapes"}),
            ("get_system_metrics", {"project": "shapes", "run": "clean"}),
            ("get_system_metrics", {"project": "shapes", "run": "clean", "metric_name": "system/gpu.0.utilization"}),
            ("compare_runs", {"project": "shapes", "runs": ["clean", "diverging", "spiky"], "metric": "train/loss"}),
        ],
    )
    assert project["run_count"] == 3 and project["status_counts"] == {"finished": 3}
    assert project["group_counts"] == {"sweep": 3}
    assert [r["name"] for r in project["runs"]] == ["spiky", "diverging", "clean"]
    summary = reader.summary("huggingface", "plain")
    assert run["config"]["learning_rate"] == 1e-3 and run["status"] == "finished" and run["last_step"] == 6
    assert run["metrics"]["train/loss"]["last"] == summary["metrics"]["train/loss"]["last"]
    assert run["metrics"]["eval/loss"]["count"] == summary["metrics"]["eval/loss"]["count"]
    assert alerts["total"] == 1
    assert {k: alerts["alerts"][0][k] for k in ("run", "level", "title", "text", "step", "value")} == {
        "run": "spiky", "level": "warn", "title": "loss_spike", "text": "train/loss jumped to 40", "step": 250,
        "value": 40.0,
    }  # fmt: skip
    assert system["metrics"]["system/gpu.0.utilization"] == {
        "samples": 6, "last": 65.0, "min": 60.0, "max": 65.0, "mean": 62.5
    }  # fmt: skip
    assert [s["value"] for s in series["samples"]] == [60.0, 61.0, 62.0, 63.0, 64.0, 65.0]
    by_run = {r["run"]: r for r in compared["runs"]}
    assert by_run["spiky"]["max"] == 40.0 and by_run["clean"]["count"] == 400
    assert compared["ranking_by_last"][0] in ("clean", "spiky") and compared["ranking_by_last"][-1] == "diverging"
    assert compared["config_diff"] == {"lr": {"clean": 1e-3, "diverging": 3e-3, "spiky": 1e-3}}
    assert compared["unranked"] == []


def test_long_system_series_keep_their_spikes_dips_and_last_sample(tmp_path):
    """More samples than max_points: min/max downsampling (`minmax_indices` over the values), as for metrics."""
    run = trackio.init(project="machine", name="long", dir=tmp_path)
    values = [50.0 + i % 5 for i in range(1000)]
    values[333], values[777] = 100.0, 0.0  # a spike and a dip that an every-n-th sample would miss
    for step, value in enumerate(values):
        run.log_system({"system/gpu.0.utilization": value}, step=step)
    run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        (answer,) = call_http(
            dashboard.url + "mcp",
            [
                (
                    "get_system_metrics",
                    {"project": "machine", "run": "long", "metric_name": "system/gpu.0.utilization", "max_points": 40},
                )
            ],
        )
    samples = answer["samples"]
    assert answer["total_samples"] == 1000 and answer["returned_samples"] == len(samples) <= 40
    assert [s["step"] for s in samples] == minmax_indices(values, 40)  # step == index here
    assert [s["value"] for s in samples] == [values[s["step"]] for s in samples]
    kept = {s["step"]: s["value"] for s in samples}
    assert kept[333] == 100.0 and kept[777] == 0.0 and samples[-1]["step"] == 999  # max, min, last


def test_analyze_run_names_the_shape_of_each_curve(url, store):
    clean, diverging, spiky, plain = call_http(
        url,
        [
            ("analyze_run", {"project": "shapes", "run": "clean"}),
            ("analyze_run", {"project": "shapes", "run": "diverging"}),
            ("analyze_run", {"project": "shapes", "run": "spiky"}),
            ("analyze_run", {"project": "huggingface", "run": "plain"}),
        ],
    )

    def serious(result):
        return {f["kind"] for f in result["findings"] if f["severity"] in ("warning", "critical")}

    assert clean["loss_key"] == "train/loss" and serious(clean) == set()
    assert "divergence" in serious(diverging)
    spikes = next(f for f in spiky["findings"] if f["kind"] == "spike")
    assert any(s["step"] == 250 and s["value"] == 40.0 for s in spikes["spikes"])
    assert plain["loss_key"] == "train/loss" and plain["points"] == 6


def test_unknown_names_are_tool_errors_naming_what_exists(url):
    project, run, metric, points = call_http(
        url,
        [
            ("get_runs_for_project", {"project": "shape"}),
            ("get_run_summary", {"project": "shapes", "run": "clen"}),
            ("get_metric_values", {"project": "shapes", "run": "clean", "metric_name": "train/los"}),
            (
                "get_metric_values",
                {"project": "shapes", "run": "clean", "metric_name": "train/loss", "max_points": 9999},
            ),
        ],
    )
    assert isinstance(project, ToolFailed) and "'shapes'" in str(project)
    assert isinstance(run, ToolFailed) and "'clean'" in str(run)
    assert isinstance(metric, ToolFailed) and "'train/loss'" in str(metric)
    assert isinstance(points, ToolFailed) and "max_points must be an integer from 4 to 5000" in str(points)


def test_answers_are_bounded(tmp_path):
    run = trackio.init(project="big", name="long", dir=tmp_path)
    for step in range(200_000):
        run.log({"train/loss": 1.0 if step != 123_456 else 1e3}, step=step)
    run.finish()
    for i in range(205):
        trackio.init(project="many", name=f"r{i}", dir=tmp_path).finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        values, runs = call_http(
            dashboard.url + "mcp",
            [
                ("get_metric_values", {"project": "big", "run": "long", "metric_name": "train/loss"}),
                ("get_runs_for_project", {"project": "many"}),
            ],
        )
    assert values["total_points"] == 200_000 and values["returned_points"] <= 500 and values["downsampled"] is True
    assert max(p["value"] for p in values["points"]) == 1e3 and values["points"][-1]["step"] == 199_999
    assert len(json.dumps(values)) < 60_000
    assert runs["total"] == 205 and runs["truncated"] is True and len(runs["runs"]) == 200
    assert runs["runs"][0]["name"] == "r204"  # newest first


def test_stdio_serves_the_same_tools(store):
    names, values = call_stdio(
        ["--dir", str(store), "mcp"],
        {},
        [("get_metric_values", {"project": "shapes", "run": "spiky", "metric_name": "train/loss", "max_points": 40})],
    )
    assert set(names) == set(TOOL_NAMES) | set(WRITE_TOOL_NAMES)  # over a local directory: the write tools too
    expected = Reader(store).series("shapes", "spiky", "train/loss", max_points=40)
    assert [p["value"] for p in values["points"]] == expected.values and 40.0 in expected.values


def test_gradio_mcp_server_variable_turns_it_on(store, monkeypatch):
    with show(dir=store, open_browser=False, block=False, port=0) as plain:
        assert httpx.post(plain.url + "gradio_api/mcp/", json={}).status_code == 404
    monkeypatch.setenv("GRADIO_MCP_SERVER", "True")
    with show(dir=store, open_browser=False, block=False, port=0) as served:
        assert one(call_http(served.url + "gradio_api/mcp/", [("get_all_projects", {})]))["projects"]


def test_cli_show_with_mcp_server(store):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    process = spawn_cli("--dir", str(store), "show", "--mcp-server", "--no-browser", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}/gradio_api/mcp/"
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = one(call_http(url, [("get_project_summary", {"project": "shapes"})]))
                break
            except Exception:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.3)
        assert answer["run_count"] == 3
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert f"MCP server: http://127.0.0.1:{port}/gradio_api/mcp/" in output


def test_mcp_over_a_hub_dataset(hub, tmp_path):
    run = trackio.init(project="remote", name="synced", dataset_id="shared-runs", config={"lr": 0.5})
    for step in range(30):
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)
    run.finish()
    names, runs, values = call_stdio(
        ["--dir", str(tmp_path / "elsewhere"), "mcp", "--dataset-id", "alice/shared-runs"],
        hub.env(hf_home=tmp_path / "hf_home"),
        [
            ("get_runs_for_project", {"project": "remote"}),
            ("get_metric_values", {"project": "remote", "run": "synced", "metric_name": "train/loss"}),
        ],
    )
    assert [r["name"] for r in runs["runs"]] == ["synced"]
    assert [p["value"] for p in values["points"]] == [1.0 / (step + 1) for step in range(30)]
    assert set(names) == set(TOOL_NAMES)  # a mirror is read-only: the next pull would undo a change
