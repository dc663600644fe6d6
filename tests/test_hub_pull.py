"""Pulling a Hub dataset back into a local store: the real store, the Hub emulator, the real huggingface_hub."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import trackio_callback as trackio
from trackio_callback.core.table import Table
from trackio_callback.hub import export, layout
from trackio_callback.hub.commands import sync
from trackio_callback.hub.pull import pull
from trackio_callback.store import Store

DATASET = "alice/ds"
ZERO = dict.fromkeys(("runs", "metrics", "system", "tables", "alerts", "texts", "media", "histograms", "traces"), 0)


def micros(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1e6)


def snapshot(directory: Path, project: str = "p") -> dict:
    """Everything a Reader shows of a project, keyed by run uid; floats as repr (NaN compares), times in µs."""
    with trackio.Reader(directory) as reader:
        result = {}
        for info in reader.runs(project):
            name = info["name"]
            result[info["uid"]] = {
                **{k: info[k] for k in ("name", "group", "status", "config", "summary", "settings", "last_step")},
                "num_logs": info["num_logs"],
                "times": (micros(info["created_at"]), micros(info["finished_at"])),
                "metrics": {
                    key: (s.seqs, s.steps, s.timestamps_us, [repr(v) for v in s.values])
                    for key in reader.metric_keys(project, name)
                    for s in [reader.series(project, name, key)]
                },
                "summaries": {
                    key: {f: micros(v) if f == "last_timestamp" else repr(v) for f, v in stats.items()}
                    for key, stats in reader.summary(project, name)["metrics"].items()
                },
                "system": {
                    key: [(micros(p["timestamp"]), p["step"], p["node"], repr(p["value"])) for p in points]
                    for key in reader.system_keys(project, name)
                    for points in [reader.system_series(project, name, key)]
                },
                "tables": [
                    (t["key"], t["step"], micros(t["timestamp"]), t["columns"], t["rows"])
                    for t in reader.tables(project, name)
                ],
                "alerts": [
                    (a["step"], micros(a["timestamp"]), a["level"], a["title"], a["text"], repr(a["value"]))
                    for a in reader.alerts(project, name)
                ],
                "texts": [
                    (t["key"], t["step"], micros(t["timestamp"]), t["value"]) for t in reader.texts(project, name)
                ],
            }
        return result


def log_steps(run, start: int, stop: int) -> None:
    for step in range(start, stop):
        run.log({"train/loss": math.nan if step == 3 else 1 / (step + 1), "train/lr": 1e-3}, step=step)
        if step % 5 == 0:
            # a key in some calls only, and a string (a text series)
            run.log({"eval/loss": 2.0 / (step + 1), "samples/generation": f"step {step}: généré ✓\n"}, step=step)
            run.log_system({"system/gpu0/utilization": float(step), "system/gpu0/power": math.nan}, step=step)


@pytest.fixture
def origin(store_dir, hub):
    """Run ``r`` of project ``p``, logged in store A and synced to alice/ds at finish."""
    run = trackio.init(project="p", name="r", group="g", config={"lr": 1e-3}, dataset_id="ds")
    log_steps(run, 0, 20)
    run.log({"completions": Table(columns=["prompt", "reward"], data=[["2+2=", 1.0], ["x", math.nan]])}, step=19)
    run.record_health_alert("loss_spike", "loss 9 is 3x its running average", step=7, value=9.0)
    run.alert("nan_loss", "loss is NaN", step=3)
    run.summary["train_runtime"] = 1.0
    run.finish()
    return run.uid


def test_pull_copies_every_kind_of_data(store_dir, tmp_path, origin):
    counts = pull(DATASET, directory=tmp_path / "B")
    assert counts == ZERO | {"runs": 1, "metrics": 20 * 2 + 4, "system": 4 * 2, "tables": 1, "alerts": 2, "texts": 4}
    a, b = snapshot(store_dir), snapshot(tmp_path / "B")
    assert b == a
    run = b[origin]
    assert (run["name"], run["group"], run["status"]) == ("r", "g", "finished")
    assert run["config"] == {"lr": 1e-3} and run["summary"] == {"train_runtime": 1.0}
    assert run["settings"]["dataset_id"] == DATASET and run["num_logs"] == 24 and run["last_step"] == 19
    assert run["metrics"]["train/loss"][3][3] == "nan" and run["metrics"]["eval/loss"][1] == [0, 5, 10, 15]
    assert {p[3] for p in run["system"]["system/gpu0/power"]} == {"nan"}
    assert run["tables"][0][3:] == (["prompt", "reward"], [["2+2=", 1.0], ["x", "NaN"]])
    assert [alert[5] for alert in run["alerts"]] == ["9.0", "None"]
    assert [(t[1], t[3]) for t in run["texts"]] == [(s, f"step {s}: généré ✓\n") for s in (0, 5, 10, 15)]


def test_pulling_twice_changes_nothing(store_dir, tmp_path, origin):
    pull(DATASET, directory=tmp_path / "B")
    before = snapshot(tmp_path / "B")
    assert pull(DATASET, directory=tmp_path / "B") == ZERO
    assert snapshot(tmp_path / "B") == before == snapshot(store_dir)


def test_a_resumed_run_adds_only_its_new_part(store_dir, tmp_path, hub, origin):
    pull(DATASET, directory=tmp_path / "B")
    run = trackio.init(project="p", name="r", resume="allow", dataset_id="ds", config={"epochs": 2})
    log_steps(run, 20, 30)
    run.record_health_alert("grad_norm_explosion", "grad norm 1e6", step=25, value=1e6)
    run.summary["train_runtime"] = 2.0
    run.finish()
    counts = pull(DATASET, directory=tmp_path / "B")
    assert counts == ZERO | {"runs": 0, "metrics": 10 * 2 + 2, "system": 2 * 2, "tables": 0, "alerts": 1, "texts": 2}
    a, b = snapshot(store_dir), snapshot(tmp_path / "B")
    assert b == a
    assert b[origin]["metrics"]["train/loss"][1] == list(range(30))  # each step once
    assert b[origin]["config"] == {"lr": 1e-3, "epochs": 2} and b[origin]["summary"] == {"train_runtime": 2.0}
    assert pull(DATASET, directory=tmp_path / "B") == ZERO


def test_syncing_the_pulled_store_sends_nothing(store_dir, tmp_path, hub, origin):
    # B has a run of its own first: its system/table/alert seqs differ from the origin's
    other = trackio.init(project="p", name="local", dir=tmp_path / "B")
    other.log_system({"system/cpu": 1.0})
    other.log({"t": Table(columns=["a"], data=[[1]])}, step=0)
    other.alert("nan_loss", "x", step=0)
    other.finish()
    pull(DATASET, directory=tmp_path / "B")
    commits = hub.commit_count(DATASET)
    results = sync(tmp_path / "B")
    assert [r.committed for r in results.values()] == [False]
    assert hub.commit_count(DATASET) == commits


def test_the_pulled_store_syncs_only_what_it_logs_itself(store_dir, tmp_path, hub, origin):
    pull(DATASET, directory=tmp_path / "B")
    run = trackio.init(project="p", name="r", resume="allow", dataset_id="ds", dir=tmp_path / "B")
    run.log({"train/loss": 0.01}, step=20)
    run.finish()
    rows = [r for path, data in hub.repo_files(DATASET).items() if path.startswith("metrics/") for r in _rows(data)]
    assert len({(r["seq"], r["key"]) for r in rows}) == len(rows) == 20 * 2 + 4 + 1  # A's points, then B's one
    assert sorted(r["step"] for r in rows if r["key"] == "train/loss") == list(range(21))


def _rows(data: bytes) -> list[dict]:
    import io

    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(data)).to_pylist()


def test_a_taken_name_gets_a_suffix(store_dir, tmp_path, origin):
    mine = trackio.init(project="p", name="r", dir=tmp_path / "B")
    mine.log({"loss": 5.0})
    mine.finish()
    assert pull(DATASET, directory=tmp_path / "B")["runs"] == 1
    runs = {uid: run["name"] for uid, run in snapshot(tmp_path / "B").items()}
    assert runs == {mine.uid: "r", origin: "r-2"}
    assert snapshot(tmp_path / "B")[origin] == {**snapshot(store_dir)[origin], "name": "r-2"}
    assert pull(DATASET, directory=tmp_path / "B") == ZERO


def test_calls_stop_at_a_gap_and_continue_once_it_is_filled(store_dir, tmp_path, hub):
    run = trackio.init(project="p", name="r")
    log_steps(run, 0, 30)
    run.finish()
    store = Store(store_dir / "p.db")
    row = store.run("r")
    shards = {
        (low, high): export.kind_table(store, "p", row, "metrics", low - 1, high)
        for low, high in ((0, 9), (10, 19), (20, row.next_seq - 1))
    }
    files = {layout.shard_path("metrics", "p", row.uid, *r): export.parquet_bytes(t) for r, t in shards.items()}
    files[layout.run_path("p", row.uid)] = export.parquet_bytes(export.run_table("p", row))
    store.close()
    hub.create_repo(DATASET)
    hub.put_files(DATASET, {path: data for path, data in files.items() if "000000000010-" not in path})
    first = shards[(0, 9)].num_rows
    assert pull(DATASET, directory=tmp_path / "B")["metrics"] == first  # seqs 0..9 only: 10 is missing
    assert snapshot(tmp_path / "B")[row.uid]["num_logs"] == 10
    hub.put_files(DATASET, files)
    assert pull(DATASET, directory=tmp_path / "B")["metrics"] == 30 * 2 + 6 - first
    pulled, logged = snapshot(tmp_path / "B")[row.uid], snapshot(store_dir)[row.uid]
    assert (pulled["metrics"], pulled["summaries"]) == (logged["metrics"], logged["summaries"])  # no system files


def test_project_limits_the_pull(tmp_path, origin):
    assert pull(DATASET, directory=tmp_path / "B", project="other") == ZERO
    assert not (tmp_path / "B").exists()
