"""A job restarted on a fresh disk continues its run from the Hub: the real store, the Hub emulator, huggingface_hub."""

from __future__ import annotations

import io
import json
from collections import Counter

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from trackio_callback import TrackioWarning
from trackio_callback.cli.main import main
from trackio_callback.errors import RunNotFoundError
from trackio_callback.store import Store

DATASET = "alice/ds"


def dataset_rows(hub, kind: str = "metrics") -> list[dict]:
    rows = []
    for path, content in sorted(hub.repo_files(DATASET).items()):
        if path.startswith(f"{kind}/") and path.endswith(".parquet"):
            rows += pq.read_table(io.BytesIO(content)).to_pylist()
    return rows


def run_files(hub) -> list[dict]:
    return dataset_rows(hub, "runs")


def job(directory, steps: range, *, resume: str = "allow", name: str = "job-1", **extra) -> trackio.Run:
    """One job on its own disk: init, log ``steps`` (x = 10 * step), a text and an alert, finish."""
    run = trackio.init(project="p", name=name, dataset_id=DATASET, resume=resume, dir=directory, **extra)
    for step in steps:
        run.log({"x": 10.0 * step, "y": float(step)}, step=step)
    run.log({"note": f"job at {steps.start}"})
    run.alert(f"alert at {steps.start}", level="info")
    run.finish()
    return run


def assert_one_run_every_seq_once(hub) -> list[dict]:
    rows = dataset_rows(hub)
    assert {r["run_id"] for r in rows} == {run_files(hub)[0]["run_id"]}
    seqs = Counter((r["seq"], r["key"]) for r in rows)
    assert max(seqs.values()) == 1, [k for k, n in seqs.items() if n > 1][:5]
    calls = sorted({r["seq"] for r in rows})
    assert calls == list(range(len(calls))) or calls == list(range(calls[0], calls[0] + len(calls)))
    return rows


def test_resume_allow_on_a_fresh_disk_continues_the_run_with_its_uid(hub, tmp_path):
    first = job(tmp_path / "disk-1", range(0, 100), config={"lr": 1e-3, "model": "tiny"})
    second = trackio.init(
        project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2", config={"lr": 5e-4}
    )
    assert (second.uid, second.resumed, second.step) == (first.uid, True, 100)
    for step in range(100, 200):
        second.log({"x": 10.0 * step, "y": float(step)}, step=step)
    second.alert("second alert")
    second.finish()

    (runs_file,) = run_files(hub)  # one run in the dataset, not two named job-1
    assert runs_file["run_id"] == first.uid and runs_file["status"] == "finished"
    assert runs_file["num_logs"] == 200 and runs_file["last_step"] == 199  # a call of strings only takes no seq
    assert json.loads(runs_file["config"]) == {"lr": 5e-4, "model": "tiny"}  # merged: the restart's value wins
    rows = assert_one_run_every_seq_once(hub)
    by_step = {(r["step"], r["key"]): r["value"] for r in rows}
    assert [by_step[(s, "x")] for s in range(200)] == [10.0 * s for s in range(200)]
    alerts = dataset_rows(hub, "alerts")
    assert sorted(a["seq"] for a in alerts) == [0, 1]  # the second job's alert numbered after the first's
    assert [a["title"] for a in sorted(alerts, key=lambda a: a["seq"])] == ["alert at 0", "second alert"]
    texts = dataset_rows(hub, "texts")
    assert [(t["seq"], t["value"]) for t in texts] == [(0, "job at 0")]


def test_resume_must_on_a_fresh_disk_continues_and_fails_only_when_the_hub_lacks_it(hub, tmp_path):
    first = job(tmp_path / "disk-1", range(0, 10))
    with pytest.raises(RunNotFoundError, match=r"'nobody'.*alice/ds"):
        trackio.init(project="p", name="nobody", dataset_id=DATASET, resume="must", dir=tmp_path / "disk-2")
    third = job(tmp_path / "disk-3", range(10, 20), resume="must")
    assert third.uid == first.uid
    assert_one_run_every_seq_once(hub)
    assert len(run_files(hub)) == 1


def test_a_restart_logs_rewound_steps_after_the_hubs_and_latest_per_step_prefers_them(hub, tmp_path):
    first = job(tmp_path / "disk-1", range(0, 100))
    # Restored from the checkpoint of step 80: steps 80..99 are logged again, with other values.
    run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    for step in range(80, 120):
        run.log({"x": -1.0 * step}, step=step)
    run.finish()
    rows = assert_one_run_every_seq_once(hub)
    x = sorted((r["seq"], r["step"], r["value"]) for r in rows if r["key"] == "x")
    assert len(x) == 140 and x[100][:2] == (100, 80)  # numbered after the first job's 100 calls
    # A full pull to a third disk shows one run; its latest value per step is the restart's.
    assert main(["--dir", str(tmp_path / "disk-3"), "pull", "--dataset-id", DATASET]) == 0
    with trackio.Reader(tmp_path / "disk-3") as reader:
        (info,) = reader.runs("p")
        assert info["uid"] == first.uid
        series = reader.series("p", "job-1", "x", latest_per_step=True)
        assert dict(zip(series.steps, series.values)) == {
            **{s: 10.0 * s for s in range(80)},
            **{s: -1.0 * s for s in range(80, 120)},
        }


def test_pull_history_brings_the_earlier_values_to_the_new_disk(hub, tmp_path):
    job(tmp_path / "disk-1", range(0, 50))
    run = trackio.init(
        project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2", pull_history=True
    )
    run.log({"x": 500.0}, step=50)
    run.finish()
    with trackio.Reader(tmp_path / "disk-2") as reader:
        assert reader.series("p", "job-1", "x").steps == list(range(51))
    assert_one_run_every_seq_once(hub)


def test_without_history_only_the_runs_files_are_fetched(hub, tmp_path):
    job(tmp_path / "disk-1", range(0, 500))
    hub.clear_log()
    run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    fetched = [r.path for r in hub.requests() if r.method == "GET" and "/resolve/" in r.path]
    assert fetched and all("/runs/p/" in path for path in fetched), fetched  # no shard was downloaded
    run.finish()
    with trackio.Reader(tmp_path / "disk-2") as reader:
        assert reader.metric_keys("p", "job-1") == []  # nothing of the history came: it stays on the Hub
    store = Store(tmp_path / "disk-2" / "p.db")
    try:
        (row,) = store.runs()
        assert row.seq_floors["metrics"] == 500 and row.seq_floors["alerts"] == 1 and row.seq_floors["texts"] == 1
    finally:
        store.close()


@pytest.fixture
def quick_lookup(monkeypatch):
    """init() asks an unreachable Hub for 2 s instead of 10 (the same retries, fewer of them)."""
    from trackio_callback.hub import resume

    monkeypatch.setattr(resume, "LOOKUP_BUDGET_S", 2.0)


def test_an_offline_restart_is_joined_to_the_hubs_run_by_the_next_sync(hub, tmp_path, quick_lookup):
    first = job(tmp_path / "disk-1", range(0, 100))
    hub.go_down()
    with pytest.warns(TrackioWarning, match="cannot reach the Hub to look for run 'job-1'"):
        run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    assert run.uid != first.uid and run.step == 0  # a new local run: the Hub's steps are unknown here
    for step in range(100, 150):
        run.log({"x": 10.0 * step, "y": float(step)}, step=step)
    run.alert("offline alert")
    with pytest.warns(TrackioWarning):
        run.finish(timeout=3)
    hub.come_up()
    assert main(["--dir", str(tmp_path / "disk-2"), "sync"]) == 0
    (runs_file,) = run_files(hub)
    assert runs_file["run_id"] == first.uid and runs_file["num_logs"] == 150
    rows = assert_one_run_every_seq_once(hub)
    assert sorted((r["seq"], r["value"]) for r in rows if r["key"] == "x")[100:] == [
        (100 + i, 10.0 * (100 + i)) for i in range(50)
    ]
    assert [a["seq"] for a in dataset_rows(hub, "alerts")] == [0, 1]
    assert "unreconciled" not in json.loads(runs_file["settings"])
    paths = sorted(p for p in hub.repo_files(DATASET) if p.startswith("metrics/"))
    assert paths[-1].endswith("000000000100-000000000149.parquet"), paths  # shards named by their own seqs
    store = Store(tmp_path / "disk-2" / "p.db")
    try:
        (row,) = store.runs()
        assert row.uid == first.uid and row.next_seq == 150
    finally:
        store.close()
    assert main(["--dir", str(tmp_path / "disk-2"), "sync"]) == 0  # nothing left to send
    assert len(dataset_rows(hub)) == 2 * 150


def test_an_offline_run_the_hub_never_had_is_sent_as_itself(hub, tmp_path, quick_lookup):
    hub.go_down()
    with pytest.warns(TrackioWarning, match="cannot reach the Hub"):
        run = trackio.init(project="p", name="fresh", dataset_id=DATASET, resume="allow", dir=tmp_path / "d")
    for step in range(20):
        run.log({"x": float(step)}, step=step)
    with pytest.warns(TrackioWarning):
        run.finish(timeout=3)
    hub.come_up()
    assert main(["--dir", str(tmp_path / "d"), "sync"]) == 0
    (runs_file,) = run_files(hub)
    assert runs_file["run_id"] == run.uid and runs_file["num_logs"] == 20
    assert "unreconciled" not in json.loads(runs_file["settings"])


def test_an_offline_restart_still_running_is_joined_when_the_hub_answers(hub, tmp_path, quick_lookup):
    first = job(tmp_path / "disk-1", range(0, 100))
    hub.go_down()
    with pytest.warns(TrackioWarning, match="cannot reach the Hub"):
        run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    for step in range(100, 130):
        run.log({"x": 10.0 * step, "y": float(step)}, step=step)
    hub.come_up()
    run._uploader.sync()  # the run is still being written: its writer renumbers it between two writes
    assert run.uid == first.uid
    (runs_file,) = run_files(hub)
    assert runs_file["num_logs"] == 130 and "unreconciled" not in json.loads(runs_file["settings"])
    paths = sorted(p for p in hub.repo_files(DATASET) if p.startswith("metrics/"))
    assert paths[-1].endswith("000000000100-000000000129.parquet"), paths  # named by its own seqs
    for step in range(130, 150):  # logging goes on, numbered after the joined calls
        run.log({"x": 10.0 * step, "y": float(step)}, step=step)
    run.finish()
    rows = assert_one_run_every_seq_once(hub)
    assert sorted((r["seq"], r["value"]) for r in rows if r["key"] == "x") == [(s, 10.0 * s) for s in range(150)]
    assert len(run_files(hub)) == 1


def test_a_later_pull_fills_in_the_history_a_resume_left_on_the_hub(hub, tmp_path):
    job(tmp_path / "disk-1", range(0, 60))
    run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    for step in range(50, 80):  # restored from step 50: 50..59 again
        run.log({"x": -1.0 * step, "y": float(step)}, step=step)
    run.alert("after the restart")
    run.finish()
    commits = hub.commit_count(DATASET)
    disk = tmp_path / "disk-2"
    assert main(["--dir", str(disk), "pull", "--dataset-id", DATASET]) == 0
    with trackio.Reader(disk) as reader:
        series = reader.series("p", "job-1", "x")
        assert series.seqs == list(range(90)) and series.steps == [*range(60), *range(50, 80)]
        latest = reader.series("p", "job-1", "x", latest_per_step=True)
        assert dict(zip(latest.steps, latest.values)) == {
            **{s: 10.0 * s for s in range(50)},
            **{s: -1.0 * s for s in range(50, 80)},
        }
        summary = reader.summary("p", "job-1")["metrics"]["x"]
        assert summary["count"] == 90 and summary["last"] == -79.0 and summary["min"] == -79.0
        assert summary["max"] == 590.0 and summary["first_step"] == 0
        assert [a["title"] for a in reader.alerts("p", "job-1")] == ["alert at 0", "after the restart"]
        assert [t["value"] for t in reader.texts("p", "job-1")] == ["job at 0"]
    assert main(["--dir", str(disk), "pull", "--dataset-id", DATASET]) == 0  # twice: nothing more
    with trackio.Reader(disk) as reader:
        assert len(reader.series("p", "job-1", "x").seqs) == 90
    assert main(["--dir", str(disk), "sync"]) == 0
    assert hub.commit_count(DATASET) == commits  # the history came from the dataset: nothing is sent back


def test_a_pull_before_an_offline_run_is_joined_waits_for_it(hub, tmp_path, quick_lookup):
    """Found by the model: a pull brought the dataset's run in under another name beside the offline one."""
    first = job(tmp_path / "disk-1", range(0, 10))
    hub.go_down()
    with pytest.warns(TrackioWarning, match="cannot reach the Hub"):
        run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
    hub.come_up()
    run.log({"x": 100.0}, step=10)
    assert main(["--dir", str(tmp_path / "disk-2"), "pull", "--dataset-id", DATASET]) == 0
    run.finish()  # the final sync joins it; the next pull brings the history
    assert main(["--dir", str(tmp_path / "disk-2"), "pull", "--dataset-id", DATASET]) == 0
    with trackio.Reader(tmp_path / "disk-2") as reader:
        (info,) = reader.runs("p")
        assert (info["uid"], info["name"]) == (first.uid, "job-1")
        assert reader.series("p", "job-1", "x").values == [10.0 * s for s in range(10)] + [100.0]
    assert_one_run_every_seq_once(hub)


def test_a_copy_of_the_hubs_run_beside_an_offline_namesake_is_dropped_by_the_join(hub, tmp_path, quick_lookup):
    """A store that already holds the dataset's run (metadata pulled by an earlier version, under another name)
    and an offline run of its name: joining the offline run replaces the copy, which held nothing of its own."""
    from trackio_callback.hub.pull import create_from_runs_file, read_rows

    first = job(tmp_path / "disk-1", range(0, 10))
    disk = tmp_path / "disk-2"
    hub.go_down()
    with pytest.warns(TrackioWarning):
        run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=disk)
        run.log({"x": 100.0}, step=10)
        run.finish(timeout=3)
    hub.come_up()
    store = Store(disk / "p.db")
    try:
        (path,) = [p for p in hub.repo_files(DATASET) if p.startswith("runs/")]
        (tmp_path / "runs.parquet").write_bytes(hub.repo_files(DATASET)[path])
        copy, created = create_from_runs_file(store, read_rows(tmp_path, "runs.parquet")[0])
        assert created and copy.uid == first.uid and copy.name == "job-1-2"
    finally:
        store.close()
    assert main(["--dir", str(disk), "sync"]) == 0
    with trackio.Reader(disk) as reader:
        assert [(r["uid"], r["name"]) for r in reader.runs("p")] == [(first.uid, "job-1")]
    assert_one_run_every_seq_once(hub)
    assert [r["value"] for r in sorted(dataset_rows(hub), key=lambda r: r["seq"]) if r["key"] == "x"][-1] == 100.0


def test_an_offline_runs_artifacts_follow_it_when_it_is_joined(hub, tmp_path, quick_lookup):
    first = job(tmp_path / "disk-1", range(0, 5))
    (tmp_path / "weights.bin").write_bytes(b"\x01" * 1000)
    hub.go_down()
    with pytest.warns(TrackioWarning):
        run = trackio.init(project="p", name="job-1", dataset_id=DATASET, resume="allow", dir=tmp_path / "disk-2")
        run.log({"x": 1.0}, step=5)
        run.log_artifact(str(tmp_path / "weights.bin"), name="weights", type="model")
        run.finish(timeout=3)
    hub.come_up()
    assert main(["--dir", str(tmp_path / "disk-2"), "sync"]) == 0
    uses = [p for p in hub.repo_files(DATASET) if p.startswith("artifacts/p/uses/")]
    assert uses == [f"artifacts/p/uses/{first.uid}.json"]  # the lineage names the joined run
    lineage = json.loads(hub.repo_files(DATASET)[uses[0]])
    assert "weights" in json.dumps(lineage)
