"""The read API that the CLI, the dashboard and the MCP server share."""

from __future__ import annotations

import math
import random
import time

import pytest

import trackio_callback as trackio
from trackio_callback import MetricNotFoundError, ProjectNotFoundError, Reader, RunNotFoundError
from trackio_callback.store.downsample import minmax_indices


@pytest.fixture
def spiky(store_dir):
    rng = random.Random(1)
    values = [1.0 / (1 + i / 1000) + rng.gauss(0, 0.001) for i in range(100_000)]
    values[31_337] = 50.0  # a one-step loss spike
    values[77_777] = -3.0
    values[55_555] = math.nan
    run = trackio.init(project="big", name="spiky")
    for step, value in enumerate(values):
        run.log({"train/loss": value}, step=step)
    run.finish()
    return values


def test_downsampling_keeps_spikes_nan_and_last_point(store_dir, spiky):
    series = Reader(store_dir).series("big", "spiky", "train/loss", max_points=400)
    assert len(series) <= 400 and series.total == 100_000 and series.downsampled
    assert 31_337 in series.steps and 50.0 in series.values
    assert 77_777 in series.steps and -3.0 in series.values
    assert 55_555 in series.steps and math.isnan(series.values[series.steps.index(55_555)])
    assert series.steps[-1] == 99_999 and series.values[-1] == spiky[-1]
    assert series.steps == sorted(series.steps)
    for step, value in zip(series.steps, series.values):
        assert value == spiky[step] or (math.isnan(value) and math.isnan(spiky[step]))


def test_full_series_and_step_window(store_dir, spiky):
    reader = Reader(store_dir)
    full = reader.series("big", "spiky", "train/loss")
    assert full.steps == list(range(100_000)) and not full.downsampled
    assert [v for v in full.values if v == v] == [v for v in spiky if v == v]
    window = reader.series("big", "spiky", "train/loss", min_step=31_330, max_step=31_340, max_points=4)
    assert window.total == 11 and window.steps[-1] == 31_340 and 31_337 in window.steps
    assert len(full.timestamps) == 100_000 and full.timestamps == sorted(full.timestamps)


@pytest.mark.parametrize("max_points", [0, 3, -1, 2.5, True])
def test_max_points_must_be_an_integer_of_at_least_4(store_dir, max_points):
    run = trackio.init(project="p", name="r")
    run.log({"x": 1.0})
    run.finish()
    with pytest.raises(ValueError, match=rf"max_points must be an integer >= 4, got {max_points!r}"):
        Reader(store_dir).series("p", "r", "x", max_points=max_points)


def test_minmax_indices_small_cases():
    assert minmax_indices([], 4) == []
    assert minmax_indices([1.0, 2.0], 4) == [0, 1]
    values = [0.0] * 40
    values[17] = 9.0
    kept = minmax_indices(values, 8)
    assert 17 in kept and 39 in kept and len(kept) <= 8
    assert minmax_indices([math.nan] * 20, 4)[-1] == 19


def test_summary_latest_and_keys(store_dir):
    run = trackio.init(project="p", name="r", config={"lr": 0.1})
    run.log({"train/loss": 2.0, "train/lr": 0.1}, step=1)
    run.log({"train/loss": 1.0}, step=2)
    run.log({"eval/loss": 1.5}, step=2)
    run.log({"train/loss": 3.0}, step=3)
    run.finish()
    reader = Reader(store_dir)
    assert reader.metric_keys("p", "r") == ["eval/loss", "train/loss", "train/lr"]
    summary = reader.summary("p", "r")
    loss = summary["metrics"]["train/loss"]
    assert (loss["count"], loss["last"], loss["min"], loss["max"], loss["first_step"], loss["last_step"]) == (
        3,
        3.0,
        1.0,
        3.0,
        1,
        3,
    )
    assert summary["config"] == {"lr": 0.1} and summary["status"] == "finished"
    assert reader.latest("p", "r") == {"eval/loss": 1.5, "train/loss": 3.0, "train/lr": 0.1}


def test_runs_filter_by_group_and_name(store_dir):
    for name, group in [("base-1", "baseline"), ("base-2", "baseline"), ("aug-1", "augmented"), ("solo", None)]:
        trackio.init(project="p", name=name, group=group).finish()
    reader = Reader(store_dir)
    assert [r["name"] for r in reader.runs("p")] == ["base-1", "base-2", "aug-1", "solo"]
    assert [r["name"] for r in reader.runs("p", group="baseline")] == ["base-1", "base-2"]
    assert [r["name"] for r in reader.runs("p", name=r"-1$")] == ["base-1", "aug-1"]
    assert [r["name"] for r in reader.runs("p", group="baseline", name="2")] == ["base-2"]
    with pytest.raises(ValueError, match=r"invalid run name regex '\('"):
        reader.runs("p", name="(")


def test_config_diff(store_dir):
    trackio.init(project="p", name="a", config={"lr": 0.1, "model": "tiny", "seed": 1, "nan": math.nan}).finish()
    trackio.init(project="p", name="b", config={"lr": 0.2, "model": "tiny", "nan": math.nan}).finish()
    diff = Reader(store_dir).config_diff("p", ["a", "b"])
    assert diff == {"lr": {"a": 0.1, "b": 0.2}, "seed": {"a": 1}}


def test_unknown_names_list_the_closest(store_dir):
    run = trackio.init(project="proj", name="baseline-run")
    run.log({"train/loss": 1.0})
    run.finish()
    reader = Reader(store_dir)
    with pytest.raises(ProjectNotFoundError, match="'prj' not found.*did you mean: 'proj'"):
        reader.runs("prj")
    with pytest.raises(
        RunNotFoundError, match="'baseline-rum' not found in project 'proj'; did you mean: 'baseline-run'"
    ):
        reader.series("proj", "baseline-rum", "train/loss")
    with pytest.raises(MetricNotFoundError, match="'train/los' not found.*'train/loss'"):
        reader.series("proj", "baseline-run", "train/los")
    with pytest.raises(trackio.InvalidNameError):
        reader.runs("../etc")
    assert Reader(store_dir / "missing").projects() == []


def test_system_metrics_are_stored_apart(store_dir):
    run = trackio.init(project="p", name="sys")
    run.log({"train/loss": 1.0}, step=5)
    run.log_system({"system/gpu0/utilization": 87.0, "system/gpu0/power_w": math.nan}, step=5, node="node-0")
    run.log_system({"system/gpu0/utilization": 91.0})
    run.finish()
    reader = Reader(store_dir)
    assert reader.metric_keys("p", "sys") == ["train/loss"]
    assert reader.system_keys("p", "sys") == ["system/gpu0/power_w", "system/gpu0/utilization"]
    util = reader.system_series("p", "sys", "system/gpu0/utilization")
    assert [(p["value"], p["step"], p["node"]) for p in util] == [(87.0, 5, "node-0"), (91.0, None, None)]
    assert util[0]["timestamp"] <= util[1]["timestamp"] <= time.time()
    assert math.isnan(reader.system_series("p", "sys", "system/gpu0/power_w")[0]["value"])


def test_a_run_whose_process_is_gone_reads_as_crashed(store_dir):
    from tests.helpers import run_python

    result = run_python(
        """
        import os, trackio_callback as t
        run = t.init(project="p", name="ghost", flush_every=0.05)
        run.log({"x": 1.0})
        assert run.flush(10)
        os._exit(0)  # no finish, no atexit: as if killed
        """
    )
    assert result.returncode == 0, result.stderr
    info = Reader(store_dir).run("p", "ghost")
    assert info["status"] == "crashed" and info["last_step"] == 0
