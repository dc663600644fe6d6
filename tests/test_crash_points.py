"""Kill the process at every numbered point of the sync protocol, then check that a clean sync sends each value once.

The points are the code's own (`utils.crashpoints.POINTS`, each marked by a `reached` call in
`hub.uploader` and `hub.pull`). The first test runs a sync with a compaction and a pull, watching which
points are reached, so a point added to the code without a test here, or a point the protocol no longer
reaches, fails it. Each other test runs one protocol step in a real process that exits at one point
(``TRACKIO_CALLBACK_CRASH_AT``), then heals with a clean sync or pull and compares values.
"""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.helpers import run_python
from trackio_callback.hub import layout
from trackio_callback.hub.pull import pull
from trackio_callback.hub.uploader import Uploader
from trackio_callback.management.operations import delete_run
from trackio_callback.store import Store
from trackio_callback.utils import crashpoints

DATASET = "alice/ds"
TOKEN = "hf_test_token"
# A removal's points are killed in tests/test_run_management.py (a sync that removes a deleted run).
SYNC_POINTS = [p for p in crashpoints.POINTS if not p.startswith(("pull:", "remove:"))]
PULL_POINTS = [p for p in crashpoints.POINTS if p.startswith("pull:")]


def prepare(store_dir: Path) -> Path:
    """A finished run with one shard on the Hub and more to send, so a sync commits and then compacts."""
    run = trackio.init(project="p", name="r", dir=store_dir)
    for step in range(50):
        run.log({"x": float(step), "y": -float(step)}, step=step)
    assert run.flush(10)
    Uploader(run.path, "p", DATASET, token=TOKEN).sync()
    for step in range(50, 100):
        run.log({"x": float(step), "y": -float(step)}, step=step)
        if step % 10 == 0:
            run.log_system({"system/cpu": float(step)}, step=step)
            run.alert("note", f"at {step}", step=step)
    run.finish()
    return run.path


def dataset_values(hub) -> list[tuple]:
    rows = []
    for path, content in hub.repo_files(DATASET).items():
        if layout.parse(path) is not None and layout.parse(path).kind in layout.KINDS:
            kind = layout.parse(path).kind
            for row in pq.read_table(io.BytesIO(content)).to_pylist():
                rows.append((kind, row["seq"], row.get("key") or row.get("text"), row.get("value")))
    return sorted(rows, key=repr)


def store_values(path: Path) -> list[tuple]:
    store = Store(path, create=False)
    try:
        (run,) = store.runs()
        rows = [
            ("metrics", q, key, v) for key, data in store.points(run.id).items() for q, v in zip(data.seqs, data.values)
        ]
        rows += [("system", v.seq, v.key, v.value) for v in store.system_rows(run.id, -1, 2**62)]
        rows += [("alerts", a.seq, a.text, a.value) for a in store.alerts(run.id)]
        return sorted(rows, key=repr)
    finally:
        store.close()


def test_every_crash_point_is_reached_by_a_sync_with_compaction_and_a_pull(store_dir, hub, tmp_path):
    path = prepare(store_dir)
    gone = trackio.init(project="p", name="gone", dir=store_dir)  # synced, then deleted: the sync removes it
    gone.log({"x": 1.0})
    gone.finish()
    Uploader(path, "p", DATASET, token=TOKEN, run_uids=[gone.uid]).sync()
    delete_run("p", "gone", directory=store_dir)
    seen: list[str] = []
    crashpoints.observer = seen.append
    try:
        Uploader(path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
        pull(DATASET, directory=tmp_path / "copy", token=TOKEN)
    finally:
        crashpoints.observer = None
    assert set(seen) == set(crashpoints.POINTS)
    assert [p for p in crashpoints.POINTS if p in seen] == sorted(set(seen), key=seen.index)  # protocol order


SYNC = """
from trackio_callback.hub.uploader import Uploader
Uploader({path!r}, "p", "alice/ds", token="hf_test_token").sync(compact_finished=True)
"""


@pytest.mark.parametrize("point", SYNC_POINTS)
def test_a_sync_killed_at_each_point_then_a_clean_sync_sends_each_value_once(store_dir, hub, point):
    path = prepare(store_dir)
    killed = run_python(SYNC.format(path=str(path)), env={**hub.env(), "TRACKIO_CALLBACK_CRASH_AT": point})
    assert killed.returncode == crashpoints.CRASH_EXIT, killed.stderr[-2000:]
    Uploader(path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    assert dataset_values(hub) == store_values(path)
    commits = hub.commit_count(DATASET)
    Uploader(path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    assert hub.commit_count(DATASET) == commits  # nothing left to send
    metrics = sorted(layout.parse(p)[4:] for p in hub.repo_files(DATASET) if p.startswith("metrics/"))
    assert metrics == [(0, 99)]  # compacted into one file, nothing left over


PULL = """
from trackio_callback.hub.pull import pull
pull("alice/ds", directory={directory!r}, token="hf_test_token")
"""


@pytest.mark.parametrize("point", PULL_POINTS)
def test_a_pull_killed_at_each_point_then_a_clean_pull_copies_each_value_once(store_dir, hub, tmp_path, point):
    path = prepare(store_dir)
    Uploader(path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    copy = tmp_path / "copy"
    killed = run_python(PULL.format(directory=str(copy)), env={**hub.env(), "TRACKIO_CALLBACK_CRASH_AT": point})
    assert killed.returncode == crashpoints.CRASH_EXIT, killed.stderr[-2000:]
    pull(DATASET, directory=copy, token=TOKEN)
    pull(DATASET, directory=copy, token=TOKEN)
    assert store_values(copy / "p.db") == store_values(path)
