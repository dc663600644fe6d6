"""Hub sync against the local Hub emulator, with the real huggingface_hub client: exactly once, under faults."""

from __future__ import annotations

import io
import json
import math
import signal
import time

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.helpers import run_python, spawn_python
from trackio_callback import TrackioWarning
from trackio_callback.cli.main import main
from trackio_callback.errors import HubTokenError, TransientSyncError
from trackio_callback.hub.uploader import Uploader
from trackio_callback.store import Store

DATASET = "alice/ds"


def dataset_rows(hub, kind: str = "metrics", repo: str = DATASET) -> list[dict]:
    rows = []
    for path, content in sorted(hub.repo_files(repo).items()):
        if path.startswith(f"{kind}/") and path.endswith(".parquet"):
            rows += pq.read_table(io.BytesIO(content)).to_pylist()
    return rows


def metric_keys(rows: list[dict]) -> list[tuple]:
    """(run, seq, key, step, value) of each row; repr keeps NaN comparable."""
    return sorted((r["run_id"], r["seq"], r["key"], r["step"], repr(r["value"])) for r in rows)


def store_metrics(store_dir, project: str) -> list[tuple]:
    store = Store(store_dir / f"{project}.db")
    rows = []
    for run in store.runs():
        for key, data in store.points(run.id).items():
            rows += [(run.uid, seq, key, step, repr(v)) for seq, step, v in zip(data.seqs, data.steps, data.values)]
    store.close()
    return sorted(rows)


def log_steps(run, start: int, stop: int) -> None:
    for step in range(start, stop):
        run.log({"train/loss": math.nan if step == 13 else 1 / (step + 1), "train/lr": 1e-3}, step=step)


def test_a_synced_run_equals_the_store(store_dir, hub, tmp_path):
    run = trackio.init(project="proj", name="r", dataset_id="ds", config={"lr": 1e-3})
    log_steps(run, 0, 100)
    run.log_system({"system/gpu0/utilization": 50.0}, step=10, node="node0")
    run.record_health_alert("loss_spike", "a spike", step=5, value=9.0)
    run.finish()
    assert hub.repo(DATASET).private  # created private
    assert dataset_rows(hub) and metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")
    assert [(r["step"], r["value"], r["node"]) for r in dataset_rows(hub, "system")] == [(10, 50.0, "node0")]
    assert [(r["level"], r["title"], r["text"], r["step"]) for r in dataset_rows(hub, "alerts")] == [
        ("warn", "loss_spike", "a spike", 5)
    ]
    (meta,) = dataset_rows(hub, "runs")
    assert (meta["run_name"], meta["status"], json.loads(meta["config"])) == ("r", "finished", {"lr": 1e-3})
    card = hub.repo_files(DATASET)["README.md"].decode()
    assert "config_name: metrics" in card and "config_name: runs" in card
    code = f"""
    import datasets
    metrics = datasets.load_dataset({DATASET!r}, "metrics", split="train")
    runs = datasets.load_dataset({DATASET!r}, "runs", split="train")
    print(len(metrics), runs[0]["run_name"], sum(1 for r in metrics if r["key"] == "train/loss"))
    """
    loaded = run_python(code, env=hub.env(hf_home=tmp_path / "hf"))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.split() == ["200", "r", "100"]


def test_nothing_new_means_no_commit(store_dir, hub):
    run = trackio.init(project="proj", name="r", dataset_id="ds", sync_every=60)
    log_steps(run, 0, 10)
    assert run.flush(10)
    first = run._uploader.sync()
    commits = hub.commit_count(DATASET)
    assert first.committed and first.rows == 20
    assert not run._uploader.sync().committed and hub.commit_count(DATASET) == commits
    log_steps(run, 10, 15)
    assert run.flush(10)
    second = run._uploader.sync()
    assert second.rows == 10 and second.bytes_sent < first.bytes_sent * 2  # only the new part
    run.finish()
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")
    # the background thread syncs every 60 s: none happened during this test besides ours and finish's
    assert hub.commit_count(DATASET) <= commits + 3


def test_exactly_once_under_30_percent_write_failures(store_dir, hub):
    run = trackio.init(project="proj", name="r")
    uploader = Uploader(run.path, "proj", DATASET, token="hf_test_token", retry_budget=20)
    hub.fail_ratio(0.3, seed=7, endpoint="write")
    outcomes = []
    for round_ in range(6):
        log_steps(run, round_ * 20, (round_ + 1) * 20)
        assert run.flush(10)
        try:
            outcomes.append(uploader.sync().committed)
        except TransientSyncError:
            outcomes.append(None)
    hub.drop_connection(before_apply=False, endpoint="commit")  # the Hub applies it; the answer is lost
    log_steps(run, 120, 130)
    run.finish()
    uploader.sync()  # retries the lost answer: same files, same paths
    hub.reset_faults()
    uploader.sync()
    assert [r.status for r in hub.requests("commit")].count(503) > 0  # faults did happen
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")  # nothing lost, nothing twice


def test_a_crash_between_commit_and_confirmation_is_not_duplicated(store_dir, hub, monkeypatch):
    run = trackio.init(project="proj", name="r")
    log_steps(run, 0, 30)
    run.finish()
    uploader = Uploader(run.path, "proj", DATASET, token="hf_test_token")

    def crash(*args, **kwargs):
        raise RuntimeError("process died before recording the commit")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(Store, "confirm_sync", crash)
        uploader.sync()  # the commit landed
    run = trackio.init(project="proj", name="r", resume="allow")
    log_steps(run, 30, 40)
    run.finish()
    Uploader(run.path, "proj", DATASET, token="hf_test_token").sync()  # a new process, as after a crash
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")


def test_hub_down_for_the_whole_run_then_cli_sync(store_dir, hub, capsys):
    hub.go_down()
    with pytest.warns(TrackioWarning, match="did not complete"):
        run = trackio.init(project="proj", name="r", dataset_id=DATASET)
        log_steps(run, 0, 50)
        run.finish(timeout=3)
    hub.come_up()
    assert not hub.has_repo(DATASET)
    assert main(["--dir", str(store_dir), "sync"]) == 0
    assert "proj -> alice/ds" in capsys.readouterr().out
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")
    assert main(["--dir", str(store_dir), "sync"]) == 0 and "up to date" in capsys.readouterr().out


SYNC_THEN_LOG = """
import sys, time, trackio_callback as t
run = t.init(project="proj", name="victim", dataset_id="alice/ds", flush_every=0.1)
for step in range(200):
    run.log({"x": float(step)}, step=step)
run.flush(10)
run._uploader.sync()
print("synced", flush=True)
step = 200
while True:
    run.log({"x": float(step)}, step=step)
    step += 1
    time.sleep(0.001)
"""


def test_sigkill_mid_run_then_resume_loses_and_doubles_nothing(store_dir, hub, tmp_path):
    env = hub.env(hf_home=tmp_path / "hf")
    child = spawn_python(SYNC_THEN_LOG, env=env)
    assert child.stdout.readline().strip() == "synced", child.stderr.read()
    time.sleep(1.0)
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    resumed = run_python(
        """
        import trackio_callback as t
        run = t.init(project="proj", name="victim", dataset_id="alice/ds", resume="allow")
        for step in range(run.step, run.step + 100):
            run.log({"x": float(step)}, step=step)
        run.finish()
        """,
        env=env,
    )
    assert resumed.returncode == 0, resumed.stderr
    synced = metric_keys(dataset_rows(hub))
    assert synced == store_metrics(store_dir, "proj") and len(synced) > 300
    assert len({(r[0], r[1], r[2]) for r in synced}) == len(synced)


def test_finished_runs_are_compacted(store_dir, hub):
    run = trackio.init(project="proj", name="r", dataset_id="ds", sync_every=60)
    for round_ in range(3):
        log_steps(run, round_ * 10, (round_ + 1) * 10)
        assert run.flush(10)
        run._uploader.sync()
    run.alert("nan_loss", "loss is nan", step=13)
    before = [p for p in hub.repo_files(DATASET) if p.startswith("metrics/")]
    assert len(before) == 3
    run.finish()
    after = [p for p in hub.repo_files(DATASET) if p.startswith("metrics/")]
    assert after == [f"metrics/proj/{run.uid}/000000000000-000000000029.parquet"]
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")


def test_token_problems_are_clear_errors_at_init(store_dir, hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(HubTokenError, match="set HF_TOKEN"):
        trackio.init(project="proj", dataset_id="ds")
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(HubTokenError, match="rejected HF_TOKEN"):
        trackio.init(project="proj", space_id="trackio")
    assert trackio.current_run() is None


def test_no_access_gives_up_with_one_warning_and_keeps_data_local(store_dir, hub):
    run = trackio.init(project="proj", name="r", dataset_id="bob/not-mine")
    log_steps(run, 0, 5)
    with pytest.warns(TrackioWarning, match="HTTP 403"):
        run.finish()
    assert not hub.has_repo("bob/not-mine")
    assert len(store_metrics(store_dir, "proj")) == 10


def test_the_token_is_in_no_file_written(store_dir, hub):
    run = trackio.init(project="proj", name="r", space_id="trackio", config={"note": "hello"})
    log_steps(run, 0, 20)
    run.finish()
    token = b"hf_test_token"
    assert all(token not in path.read_bytes() for path in store_dir.rglob("*") if path.is_file())
    files = hub.repo_files("alice/trackio-dataset")
    assert files and all(token not in content for content in files.values())


def test_the_thread_commits_at_most_once_per_interval_and_never_when_idle(store_dir, hub):
    run = trackio.init(project="proj", name="r", flush_every=0.05)
    uploader = Uploader(run.path, "proj", DATASET, token="hf_test_token", interval=0.4)
    uploader.start()
    began = time.monotonic()
    step = 0
    while time.monotonic() - began < 2.0:
        run.log({"x": float(step)}, step=step)
        step += 1
        time.sleep(0.002)
    run.flush(10)
    time.sleep(0.8)  # at least one more interval: catches up
    busy = hub.commit_count(DATASET)
    time.sleep(1.2)  # idle: nothing new, no commit
    assert hub.commit_count(DATASET) == busy
    assert 2 <= busy <= 1 + 1 + math.ceil(2.8 / 0.4)  # initial commit + repo creation slack + one per interval
    uploader.stop(timeout=10)
    run.finish()
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")


def test_cli_pull_brings_a_dataset_back(store_dir, hub, tmp_path, capsys):
    run = trackio.init(project="proj", name="r", dataset_id="ds")
    log_steps(run, 0, 25)
    run.finish()
    elsewhere = tmp_path / "elsewhere"
    assert main(["--dir", str(elsewhere), "pull", "--dataset-id", "ds"]) == 0
    assert "1 runs, 50 metrics" in capsys.readouterr().out
    reader = trackio.Reader(elsewhere)
    assert reader.series("proj", "r", "train/lr").values == [1e-3] * 25
    assert main(["--dir", str(elsewhere), "pull", "--dataset-id", "ds"]) == 0
    assert "0 runs, 0 metrics" in capsys.readouterr().out


def test_long_ranges_are_cut_into_files_of_bounded_size(store_dir, hub, monkeypatch):
    from trackio_callback.hub import uploader as uploader_module

    monkeypatch.setattr(uploader_module, "MAX_SEQS_PER_FILE", 10)
    run = trackio.init(project="proj", name="r", dataset_id="ds", sync_every=60)
    log_steps(run, 0, 35)
    assert run.flush(10)
    run._uploader.sync()
    names = sorted(p.rsplit("/", 1)[1] for p in hub.repo_files(DATASET) if p.startswith("metrics/"))
    assert names == [
        "000000000000-000000000009.parquet",
        "000000000010-000000000019.parquet",
        "000000000020-000000000029.parquet",
        "000000000030-000000000034.parquet",
    ]
    for round_ in range(3):  # many small files, merged at finish into files of at most 10 calls
        log_steps(run, 35 + round_ * 3, 38 + round_ * 3)
        assert run.flush(10)
        run._uploader.sync()
    run.finish()
    names = sorted(p.rsplit("/", 1)[1] for p in hub.repo_files(DATASET) if p.startswith("metrics/"))
    assert names == [f"{a:012d}-{min(a + 9, 43):012d}.parquet" for a in range(0, 44, 10)]
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")


def test_a_long_offline_backlog_goes_in_several_commits(store_dir, hub, monkeypatch):
    from trackio_callback.hub import uploader as uploader_module

    monkeypatch.setattr(uploader_module, "MAX_SEQS_PER_FILE", 10)
    monkeypatch.setattr(uploader_module, "MAX_FILES_PER_COMMIT", 3)
    run = trackio.init(project="proj", name="r")
    log_steps(run, 0, 75)  # 8 files of metrics + the runs file: 3 commits
    run.finish()
    before = hub.commit_count(DATASET) if hub.has_repo(DATASET) else 0
    hub.fail_next(1, status=500, endpoint="commit")  # the first commit fails: nothing is lost, nothing doubled
    uploader = Uploader(run.path, "proj", DATASET, token="hf_test_token", retry_budget=30)
    result = uploader.sync()
    assert result.committed and len(result.files) == 9
    assert hub.commit_count(DATASET) - before - 1 == 3  # (minus the repo's initial commit)
    assert metric_keys(dataset_rows(hub)) == store_metrics(store_dir, "proj")


def test_sigterm_syncs_once_more_before_the_process_dies(store_dir, hub, tmp_path):
    child = spawn_python(
        """
        import time, trackio_callback as t
        run = t.init(project="proj", name="term", dataset_id="alice/ds")  # sync_every=300: only the exit syncs
        for step in range(500):
            run.log({"x": float(step)}, step=step)
        print("ready", flush=True)
        time.sleep(60)
        """,
        env=hub.env(hf_home=tmp_path / "hf"),
    )
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    child.send_signal(signal.SIGTERM)
    assert child.wait(60) == -signal.SIGTERM
    rows = dataset_rows(hub)
    assert sorted(r["step"] for r in rows) == list(range(500))
    assert [r["status"] for r in dataset_rows(hub, "runs")] == ["crashed"]


def test_a_multi_node_job_syncs_every_node_into_one_run(hub, tmp_path, monkeypatch):
    from transformers import TrainerControl, TrainerState, TrainingArguments

    from trackio_callback.integrations.callback import TrackioCallback

    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True)  # before the env
    for variable, value in {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1", "LOCAL_RANK": "0",
                            "TORCHELASTIC_RUN_ID": "job7", "TRACKIO_DATASET_ID": "ds"}.items():  # fmt: skip
        monkeypatch.setenv(variable, value)
    disks = {"node0": tmp_path / "node0-disk", "node1": tmp_path / "node1-disk"}  # no shared filesystem

    monkeypatch.setenv("GROUP_RANK", "1")  # node 1: samples its GPUs, sends them itself
    observer = TrackioCallback(system_metrics=0.05, dir=disks["node1"])
    other = TrainerState(is_world_process_zero=False)
    observer.on_train_begin(args, other, TrainerControl())
    time.sleep(0.5)
    observer.on_train_end(args, other, TrainerControl())

    monkeypatch.setenv("GROUP_RANK", "0")  # node 0: the training metrics and its own samples
    main_callback = TrackioCallback(system_metrics=0.05, dir=disks["node0"])
    zero = TrainerState(max_steps=2)
    main_callback.on_train_begin(args, zero, TrainerControl())
    zero.global_step = 1
    main_callback.on_log(args, zero, TrainerControl(), logs={"loss": 2.0})
    time.sleep(0.5)
    main_callback.on_train_end(args, zero, TrainerControl())

    uids = set()
    for node, disk in disks.items():
        (run,) = trackio.Reader(disk).runs("huggingface")
        uids.add(run["uid"])
        samples = trackio.Reader(disk).system_series("huggingface", "job-job7", "system/memory_used_gb")
        synced = [r for r in dataset_rows(hub, "system") if r["key"] == "system/memory_used_gb" and r["node"] == node]
        assert len(synced) == len(samples) >= 1  # every sample of every node, once
    assert len(uids) == 1  # both nodes found the same run without talking
    paths = [p for p in hub.repo_files(DATASET) if p.startswith("system/")]
    assert any(f"/{uids.pop()}/node1/" in p for p in paths)
    assert [r["value"] for r in dataset_rows(hub) if r["key"] == "train/loss"] == [2.0]
    assert [r["run_name"] for r in dataset_rows(hub, "runs")] == ["job-job7"]
