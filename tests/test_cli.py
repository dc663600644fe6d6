"""The command line: a thin layer over the read API."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import trackio_callback as trackio
from trackio_callback.cli.main import main


@pytest.fixture
def logged(store_dir):
    run = trackio.init(project="cli", name="run-a", group="g", config={"lr": 0.1})
    for step in range(10):
        run.log({"train/loss": 1.0 / (step + 1), "train/lr": 0.1}, step=step)
    run.log({"train/loss": math.nan}, step=10)
    run.log({"train/loss": math.inf}, step=11)
    run.finish()
    trackio.init(project="cli", name="run-b").finish()
    trackio.init(project="other", name="x").finish()
    return store_dir


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_projects_runs_metrics(logged, capsys):
    assert cli(capsys, "list", "projects") == (0, "cli\nother\n", "")
    code, out, _ = cli(capsys, "list", "runs", "--project", "cli")
    lines = out.splitlines()
    header = ["name", "group", "status", "last_step", "created", "(UTC)", "ended", "tags"]
    assert code == 0 and lines[0].split() == header
    assert lines[1].split()[:4] == ["run-a", "g", "finished", "11"] and lines[2].split()[:4] == [
        "run-b",
        "-",
        "finished",
        "-",
    ]
    assert cli(capsys, "list", "metrics", "--project", "cli", "--run", "run-a") == (0, "train/loss\ntrain/lr\n", "")
    code, out, _ = cli(capsys, "list", "runs", "--project", "cli", "--group", "g", "--json")
    assert [r["name"] for r in json.loads(out)] == ["run-a"]


def test_get_metric_json_is_strict_json(logged, capsys):
    code, out, _ = cli(
        capsys, "get", "metric", "--project", "cli", "--run", "run-a", "--metric", "train/loss", "--json"
    )
    points = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert code == 0 and [p["step"] for p in points] == list(range(12))
    assert [p["value"] for p in points[:3]] == [1.0, 0.5, 1.0 / 3] and points[10:] == [
        {"step": 10, "timestamp": points[10]["timestamp"], "value": "NaN"},
        {"step": 11, "timestamp": points[11]["timestamp"], "value": "Infinity"},
    ]
    assert all(set(p) == {"step", "timestamp", "value"} for p in points)
    code, out, _ = cli(
        capsys,
        "get",
        "metric",
        "--project",
        "cli",
        "--run",
        "run-a",
        "--metric",
        "train/loss",
        "--json",
        "--min-step",
        "2",
        "--max-step",
        "4",
    )
    assert [p["step"] for p in json.loads(out)] == [2, 3, 4]


def test_get_metric_text_and_run_summary(logged, capsys):
    code, out, _ = cli(capsys, "get", "metric", "--project", "cli", "--run", "run-a", "--metric", "train/lr")
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["step", "timestamp", "value"] and len(rows) == 11 and rows[1][2] == "0.1"
    code, out, _ = cli(capsys, "get", "run", "--project", "cli", "--run", "run-a", "--json")
    summary = json.loads(out)
    assert summary["config"] == {"lr": 0.1} and summary["metrics"]["train/loss"]["last"] == "Infinity"
    assert summary["metrics"]["train/loss"]["nan_count"] == 1
    code, out, _ = cli(capsys, "get", "run", "--project", "cli", "--run", "run-a")
    assert "status: finished" in out and "train/loss" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "runs", "--project", "nope"], "project 'nope' not found"),
        (["get", "metric", "--project", "cli", "--run", "run-c", "--metric", "m"], "did you mean: 'run-b', 'run-a'"),
        (["get", "metric", "--project", "cli", "--run", "run-a", "--metric", "loss"], "metric 'loss' not found"),
        (["get", "metric", "--project", "cli", "--run", "run-a", "--metric", "train/lr", "--max-points", "2"], ">= 4"),
        (["list", "runs", "--project", "../x"], "invalid project name '../x'"),
    ],
)
def test_errors_are_one_clear_line(logged, capsys, args, message):
    code, out, err = cli(capsys, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_missing_required_option(logged, capsys):
    with pytest.raises(SystemExit, match="--project is required"):
        main(["list", "runs"])


def test_module_entry_point_and_help(logged):
    def module(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "trackio_callback", *args], capture_output=True, text=True)

    bare = module()
    assert bare.returncode == 2 and "usage: trackio-callback" in bare.stderr
    helped = module("--help")
    assert helped.returncode == 0 and "list" in helped.stdout and "get" in helped.stdout
    assert module("--dir", str(logged), "list", "projects").stdout == "cli\nother\n"


def test_demo_logs_a_curve(store_dir, capsys):
    assert main(["--dir", str(store_dir), "demo", "--steps", "120", "--synthetic"]) == 0
    out = capsys.readouterr().out
    assert "trackio-callback" in out and "demo.db" in out
    reader = trackio.Reader(store_dir)
    (run,) = reader.runs("demo")
    assert run["status"] == "finished" and run["last_step"] == 120
    assert len(reader.series("demo", run["name"], "train/loss")) == 120
    assert len(reader.series("demo", run["name"], "eval/loss")) == 2
