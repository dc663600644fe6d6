"""A preempted training restarted from its checkpoint in a new process, on an empty disk, continues one run.

Real `Trainer` processes on a tiny model, the real store, the Hub emulator: the first process is stopped by
SIGTERM (a scheduler's preemption: the run is flushed and synced on the way out) or by SIGKILL right after a
sync (nothing of it runs after the signal); the second starts with an empty ``TRACKIO_DIR`` and
``trainer.train(resume_from_checkpoint=True)``. The dataset then holds one run (one uid), every call once,
and the steps logged again after the restore have the restart's values as the latest.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.helpers import ROOT

DATASET = "alice/preempt"
SCRIPT = Path(__file__).parent / "scripts" / "preempted_training.py"
MAX_STEPS = 30


def start(hub, tmp_path: Path, disk: str, *flags: str, sleep: float = 0.05) -> subprocess.Popen:
    env = {
        **__import__("os").environ,
        **hub.env(hf_home=tmp_path / "hf"),
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        "TRACKIO_DIR": str(tmp_path / disk),
        "DATASET": DATASET,
        "STEP_SLEEP": str(sleep),
        "TRACKIO_SYSTEM_METRICS": "off",
    }
    command = [sys.executable, str(SCRIPT), str(tmp_path / "out"), str(MAX_STEPS), *flags]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_until(process: subprocess.Popen, line: str) -> None:
    """Read the process' output until ``line`` (it printed it and goes on)."""
    while (got := process.stdout.readline().strip()) != line:
        assert got or process.poll() is None, process.stderr.read()[-3000:]


def dataset_rows(hub, kind: str) -> list[dict]:
    rows = []
    for path, content in sorted(hub.repo_files(DATASET).items()):
        if path.startswith(f"{kind}/") and path.endswith(".parquet"):
            rows += pq.read_table(io.BytesIO(content)).to_pylist()
    return rows


def assert_one_run(hub, history: list[dict]) -> dict:
    """One uid; each (seq, key) once; the latest loss per step equals what the restarted Trainer's history says."""
    (runs_file,) = dataset_rows(hub, "runs")
    rows = dataset_rows(hub, "metrics")
    assert {r["run_id"] for r in rows} == {runs_file["run_id"]}
    counts = Counter((r["seq"], r["key"]) for r in rows)
    assert max(counts.values()) == 1
    latest: dict[int, tuple[int, float]] = {}
    for r in rows:
        if r["key"] == "train/loss" and (r["step"] not in latest or r["seq"] > latest[r["step"]][0]):
            latest[r["step"]] = (r["seq"], r["value"])
    expected = {e["step"]: e["loss"] for e in history if "loss" in e}
    assert sorted(latest) == list(range(1, MAX_STEPS + 1)) == sorted(expected)
    assert {step: value for step, (_, value) in latest.items()} == pytest.approx(expected, rel=1e-6)
    return runs_file


def finish_restart(hub, tmp_path: Path) -> list[dict]:
    restart = start(hub, tmp_path, "disk-2", "--resume", "--history", str(tmp_path / "history.json"), sleep=0)
    out, err = restart.communicate(timeout=300)
    assert restart.returncode == 0, err[-3000:]
    return json.loads((tmp_path / "history.json").read_text())


@pytest.mark.slow
def test_sigterm_then_restart_from_the_checkpoint_on_an_empty_disk_continues_one_run(hub, tmp_path):
    first = start(hub, tmp_path, "disk-1")
    checkpoint = tmp_path / "out" / "checkpoint-10" / "trackio_run.json"
    read_until(first, "step 12")  # two steps past the checkpoint (logged again after the restore), before the next save
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=120)
    assert first.returncode == -signal.SIGTERM
    identity = json.loads(checkpoint.read_text())
    synced = dataset_rows(hub, "metrics")  # the SIGTERM handler synced what was logged
    assert {r["run_id"] for r in synced} == {identity["uid"]}
    logged = max(r["step"] for r in synced)
    restored = max(int(p.name.split("-")[1]) for p in (tmp_path / "out").glob("checkpoint-*"))  # what True picks
    assert logged > 10 and logged >= restored

    runs_file = assert_one_run(hub, finish_restart(hub, tmp_path))
    assert runs_file["run_id"] == identity["uid"] and runs_file["run_name"] == identity["name"] == "preemptible"
    assert runs_file["status"] == "finished" and runs_file["last_step"] == MAX_STEPS
    losses = [r for r in dataset_rows(hub, "metrics") if r["key"] == "train/loss"]
    assert len(losses) == MAX_STEPS + logged - restored  # the steps after the checkpoint: before the signal and after


@pytest.mark.slow
def test_sigkill_after_a_sync_then_restart_on_an_empty_disk_continues_one_run(hub, tmp_path):
    first = start(hub, tmp_path, "disk-1", "--sync-on-save")
    read_until(first, "synced 10")
    first.send_signal(signal.SIGKILL)  # what was logged after the sync is lost with the machine
    first.wait(30)
    identity = json.loads((tmp_path / "out" / "checkpoint-10" / "trackio_run.json").read_text())
    (runs_file,) = dataset_rows(hub, "runs")
    assert runs_file["status"] == "running"  # synced while alive; nothing said it ended

    runs_file = assert_one_run(hub, finish_restart(hub, tmp_path))
    assert runs_file["run_id"] == identity["uid"] and runs_file["status"] == "finished"


def test_resume_from_checkpoint_on_the_same_disk_continues_the_run_and_checkpoints_name_it(store_dir, tmp_path):
    from tests import tiny
    from trackio_callback import Reader
    from trackio_callback.integrations.callback import TrackioCallback

    common = dict(report_to="none", logging_steps=1, save_strategy="steps", save_steps=4, run_name="same-disk")
    tiny.make_trainer(tmp_path / "out", max_steps=8, callbacks=[TrackioCallback()], **common).train()
    identity = json.loads((tmp_path / "out" / "checkpoint-4" / "trackio_run.json").read_text())
    # Another run name in the arguments: the checkpoint's run wins (it is that run's training that continues).
    resumed = tiny.make_trainer(
        tmp_path / "out", max_steps=12, callbacks=[TrackioCallback()], **{**common, "run_name": "renamed"}
    )
    resumed.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))
    with Reader(store_dir) as reader:
        (run,) = reader.runs("huggingface")
        assert (run["uid"], run["name"]) == (identity["uid"], "same-disk")
        series = reader.series("huggingface", "same-disk", "train/loss", latest_per_step=True)
        assert series.steps == list(range(1, 13))
        expected = {e["step"]: e["loss"] for e in resumed.state.log_history if "loss" in e}
        assert dict(zip(series.steps, series.values)) == pytest.approx(expected, rel=1e-6)


def test_a_checkpoint_copied_elsewhere_names_its_run_through_the_trainer_state(store_dir, tmp_path):
    import shutil

    from tests import tiny
    from trackio_callback import Reader
    from trackio_callback.integrations.callback import TrackioCallback

    common = dict(report_to="none", logging_steps=1, save_strategy="steps", save_steps=3, run_name="copied")
    tiny.make_trainer(tmp_path / "out", max_steps=3, callbacks=[TrackioCallback()], **common).train()
    moved = tmp_path / "elsewhere" / "last"
    shutil.copytree(tmp_path / "out" / "checkpoint-3", moved)
    (moved / "trackio_run.json").unlink()  # only trainer_state.json says which run it is
    fresh = tmp_path / "fresh-disk"
    resumed = tiny.make_trainer(
        tmp_path / "out2", max_steps=6, callbacks=[TrackioCallback(dir=fresh)], **{**common, "run_name": "other"}
    )
    resumed.train(resume_from_checkpoint=str(moved))
    with Reader(store_dir) as first, Reader(fresh) as second:
        (original,) = first.runs("huggingface")
        (continued,) = second.runs("huggingface")  # a local-only run on a fresh disk: same name and uid
        assert (continued["uid"], continued["name"]) == (original["uid"], "copied")
        assert second.series("huggingface", "copied", "train/loss").steps == [4, 5, 6]


def test_a_checkpoint_saved_without_the_callback_resumes_and_saves_with_it(store_dir, tmp_path):
    from tests import tiny
    from trackio_callback import Reader
    from trackio_callback.integrations.callback import TrackioCallback

    common = dict(report_to="none", logging_steps=1, save_strategy="steps", save_steps=3, run_name="plain")
    tiny.make_trainer(tmp_path / "out", max_steps=3, **common).train()
    resumed = tiny.make_trainer(tmp_path / "out", max_steps=6, callbacks=[TrackioCallback()], **common)
    resumed.train(resume_from_checkpoint=True)  # transformers looks up the callback's entry at each save
    assert (tmp_path / "out" / "checkpoint-6" / "trackio_run.json").exists()
    with Reader(store_dir) as reader:
        assert reader.series("huggingface", "plain", "train/loss").steps == [4, 5, 6]


def test_a_checkpoint_continues_its_run_after_the_run_was_renamed(store_dir, tmp_path):
    from tests import tiny
    from trackio_callback import Reader
    from trackio_callback.integrations.callback import TrackioCallback
    from trackio_callback.store import Store

    common = dict(report_to="none", logging_steps=1, save_strategy="steps", save_steps=3, run_name="before")
    tiny.make_trainer(tmp_path / "out", max_steps=3, callbacks=[TrackioCallback()], **common).train()
    store = Store(store_dir / "huggingface.db")
    try:
        store.rename_run(store.run("before").id, "after")  # renamed on the page or with the CLI meanwhile
    finally:
        store.close()
    resumed = tiny.make_trainer(tmp_path / "out", max_steps=6, callbacks=[TrackioCallback()], **common)
    resumed.train(resume_from_checkpoint=True)
    with Reader(store_dir) as reader:
        (run,) = reader.runs("huggingface")  # the checkpoint's uid found its run: no second "before"
        assert run["name"] == "after" and reader.series("huggingface", "after", "train/loss").steps == list(range(1, 7))
