"""Exactly once when failures come in pairs, processes collide and stores meet (issue 13's reproduced defects).

Each test replays one defect with the public API, the uploader, the CLI or several processes, against
the Hub emulator with the real huggingface_hub client, and checks the values themselves.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.helpers import run_python, spawn_python
from trackio_callback.errors import RunInUseError, TransientSyncError
from trackio_callback.hub import layout
from trackio_callback.hub.pull import pull
from trackio_callback.hub.uploader import Uploader
from trackio_callback.store import Store, SystemSample
from trackio_callback.store.batch import build_batches
from trackio_callback.store.runs import RunUpdate

DATASET = "alice/ds"
TOKEN = "hf_test_token"


def dataset_rows(hub, kind: str) -> list[dict]:
    rows = []
    for path, content in sorted(hub.repo_files(DATASET).items()):
        if path.startswith(f"{kind}/") and path.endswith(".parquet"):
            rows += [dict(r, path=path) for r in pq.read_table(io.BytesIO(content)).to_pylist()]
    return rows


def metric_values(rows: list[dict]) -> list[tuple]:
    return sorted((r["run_id"], r["seq"], r["step"], r["key"], r["value"]) for r in rows)


def store_values(path: Path) -> list[tuple]:
    store = Store(path, create=False)
    try:
        rows = []
        for run in store.runs():
            for key, data in store.points(run.id).items():
                rows += [(run.uid, q, s, key, v) for q, s, v in zip(data.seqs, data.steps, data.values)]
        return sorted(rows)
    finally:
        store.close()


def shard_ranges(hub, kind: str) -> dict[str, list[tuple[int, int]]]:
    """``{run uid: [(first, last), ...]}`` of the dataset's ``kind`` shards (main node's folder)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    for path in hub.repo_files(DATASET):
        file = layout.parse(path)
        if file is not None and file.kind == kind and file.node is None:
            ranges.setdefault(file.run_uid, []).append((file.first_seq, file.last_seq))
    return {uid: sorted(r) for uid, r in ranges.items()}


def assert_disjoint(ranges: list[tuple[int, int]]) -> None:
    for (_, last), (first, _) in zip(ranges, ranges[1:]):
        assert first > last, f"overlapping files: {ranges}"


def log_calls(run, start: int, stop: int) -> None:
    for step in range(start, stop):
        run.log({"a": float(step), "b": -float(step)}, step=step)


# -- 1. two failed syncs in a row ----------------------------------------------------------------------


def test_two_unanswered_syncs_in_a_row_then_a_clean_one_send_each_value_once(store_dir, hub):
    run = trackio.init(project="p", name="r")
    log_calls(run, 0, 100)
    run.finish()
    uploader = Uploader(run.path, "p", DATASET, token=TOKEN)
    hub.drop_connection(before_apply=False, n=10_000, endpoint="commit")  # every commit lands, no answer comes
    with pytest.raises(TransientSyncError):
        uploader.sync(budget=1.5)
    hub.reset_faults()
    run = trackio.init(project="p", name="r", resume="allow")
    log_calls(run, 100, 200)
    run.finish()
    hub.fail_next(10_000, status=503, endpoint="commit")  # nothing lands
    with pytest.raises(TransientSyncError):
        Uploader(run.path, "p", DATASET, token=TOKEN).sync(budget=1.5)
    hub.reset_faults()
    Uploader(run.path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    Uploader(run.path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    rows = metric_values(dataset_rows(hub, "metrics"))
    assert len(rows) == 400 and rows == store_values(run.path)
    (ranges,) = shard_ranges(hub, "metrics").values()
    assert_disjoint(ranges)


# -- 2. one writer per run -----------------------------------------------------------------------------

WRITER = """
import sys, time, trackio_callback as t
run = t.init(project="p", name="shared", flush_every=0.05)
for i in range(300):
    run.log({"a": float(i)}, step=i)
    if i == 20:
        run.flush(10)
        print("writing", flush=True)
    time.sleep(0.01)
run.finish()
print("done", flush=True)
"""


def test_a_second_live_writer_of_a_run_is_refused_naming_the_first(store_dir):
    child = spawn_python(WRITER, env={"TRACKIO_DIR": str(store_dir)})
    try:
        assert child.stdout.readline().strip() == "writing", child.stderr.read()
        with pytest.raises(RunInUseError, match=rf"process {child.pid} on host") as refused:
            trackio.init(project="p", name="shared", resume="allow")
        assert "one writer at a time" in str(refused.value)
        assert child.stdout.readline().strip() == "done"
    finally:
        child.wait(60)
    run = trackio.init(project="p", name="shared", resume="allow")  # the first writer finished: free
    for i in range(10):
        run.log({"b": float(i)}, step=10_000 + i)
    run.finish()
    reader = trackio.Reader(store_dir)
    a, b = reader.series("p", "shared", "a"), reader.series("p", "shared", "b")
    assert list(a.steps) == list(range(300)) and list(a.values) == [float(i) for i in range(300)]
    assert list(b.steps) == list(range(10_000, 10_010))


def test_a_killed_writers_lease_is_taken_over(store_dir):
    child = spawn_python(WRITER.replace("time.sleep(0.01)", "time.sleep(1)"), env={"TRACKIO_DIR": str(store_dir)})
    assert child.stdout.readline().strip() == "writing", child.stderr.read()
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    run = trackio.init(project="p", name="shared", resume="allow")  # its pid is gone: the lease is stale
    log_calls(run, 50, 60)
    run.finish()
    assert trackio.Reader(store_dir).runs("p")[0]["status"] == "finished"


def test_a_writer_whose_lease_was_taken_over_writes_no_more(tmp_path):
    path = tmp_path / "p.db"
    first = Store(path)
    dead_pid = _dead_pid()
    run = first.open_run("r", group=None, config={}, settings={}, resume="never", hostname="h", pid=dead_pid).row
    first.append(run.id, build_batches(0, [(0, time.time(), {"a": 1.0})]), [], RunUpdate(next_seq=1))
    second = Store(path)
    second.open_run("r", group=None, config={}, settings={}, resume="allow", hostname="h", pid=os.getpid())
    with pytest.raises(RunInUseError, match="taken over by process"):
        first.append(run.id, build_batches(1, [(1, time.time(), {"a": 2.0})]), [], RunUpdate(next_seq=2))
    second.append(run.id, build_batches(1, [(1, time.time(), {"a": 3.0})]), [], RunUpdate(next_seq=2))
    assert list(second.points(run.id)["a"].values) == [1.0, 3.0]
    first.close()
    second.close()


def _dead_pid() -> int:
    done = run_python("import os; print(os.getpid())")
    return int(done.stdout)


# -- 4. an observer node's shards on a shared filesystem ------------------------------------------------


def test_compaction_by_the_main_node_keeps_the_observer_nodes_shards(store_dir, hub):
    run = trackio.init(project="p", name="job")
    for i in range(3):
        run.log_system({"system/cpu": float(i)}, step=i, node="node0")
        run.log({"loss": float(i)}, step=i)
        assert run.flush(10)
        Uploader(run.path, "p", DATASET, token=TOKEN, own_node="node0").sync()
    observer = Store(run.path)  # node 1 writes the same file (a shared filesystem), as an observer
    observed = [SystemSample(time.time(), None, "node1", {"system/cpu": 100.0 + i}) for i in range(5)]
    observer.append(observer.run("job").id, [], observed, RunUpdate())
    observer.close()
    Uploader(run.path, "p", DATASET, token=TOKEN, node="node1").sync()
    run.finish()
    Uploader(run.path, "p", DATASET, token=TOKEN, own_node="node0").sync(compact_finished=True)
    rows = dataset_rows(hub, "system")
    assert sorted(r["value"] for r in rows if r["node"] == "node1") == [100.0, 101.0, 102.0, 103.0, 104.0]
    assert sorted(r["value"] for r in rows if r["node"] == "node0") == [0.0, 1.0, 2.0]
    assert all("/node1/" in r["path"] for r in rows if r["node"] == "node1")


# -- 5. a run continued in another store keeps one row identity ----------------------------------------


def test_rows_logged_by_a_store_that_continued_a_pulled_run_reach_every_other_store(tmp_path, hub):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    other = trackio.init(project="p", name="other", dir=a)
    for i in range(40):  # a run of store a that is never synced: it takes the project file's first row numbers
        other.log_system({"system/cpu": float(i)}, step=i)
        other.alert("note", f"other {i}", step=i)
    other.finish()
    run = trackio.init(project="p", name="r", dir=a)
    for i in range(5):
        run.log({"loss": float(i)}, step=i)
        run.log_system({"system/cpu": float(i)}, step=i)
        run.alert("note", f"a {i}", step=i)
    run.finish()
    Uploader(run.path, "p", DATASET, token=TOKEN, run_uids=[run.uid]).sync()
    pull(DATASET, directory=b, token=TOKEN)
    pull(DATASET, directory=c, token=TOKEN)
    resumed = trackio.init(project="p", name="r", dir=b, resume="allow")
    for i in range(5, 8):
        resumed.log({"loss": float(i)}, step=i)
        resumed.log_system({"system/cpu": float(i)}, step=i)
        resumed.alert("note", f"b {i}", step=i)
    resumed.finish()
    Uploader(resumed.path, "p", DATASET, token=TOKEN).sync()
    pull(DATASET, directory=c, token=TOKEN)

    def records(directory: Path) -> tuple[list, list]:
        reader = trackio.Reader(directory)
        system = [(v["seq"], v["step"], v["value"]) for v in reader.system_samples("p", "r")]
        alerts = [(x["step"], x["text"]) for x in reader.alerts("p", "r")]
        return system, alerts

    system_b, alerts_b = records(b)
    assert [s[2] for s in system_b] == [float(i) for i in range(8)]
    assert [m for _, m in alerts_b] == [f"a {i}" for i in range(5)] + [f"b {i}" for i in range(5, 8)]
    assert records(c) == (system_b, alerts_b)  # the third store holds every row, with the same numbers
    seqs = [r["seq"] for r in dataset_rows(hub, "system") if r["run_name"] == "r"]
    assert sorted(seqs) == list(range(8))  # one identity per row in the dataset too


# -- 6. one sync at a time across processes -------------------------------------------------------------

SLOW_SYNC = """
import sys
from trackio_callback.hub.uploader import Uploader
uploader = Uploader(sys.argv[1], "p", "alice/ds", token="hf_test_token")
print("syncing", flush=True)
result = uploader.sync(budget=60)
print("done", result.committed, flush=True)
"""


def test_a_cli_sync_waits_for_the_runs_own_sync_in_another_process(store_dir, hub):
    run = trackio.init(project="p", name="r")
    log_calls(run, 0, 100)
    assert run.flush(10)
    hub.slow(3.0, endpoint="commit")
    child = spawn_python(SLOW_SYNC.replace("sys.argv[1]", repr(str(run.path))), env=hub.env())
    try:
        assert child.stdout.readline().strip() == "syncing", child.stderr.read()
        deadline = time.monotonic() + 30
        while not any(r.endpoint == "preupload" for r in hub.requests()) and time.monotonic() < deadline:
            time.sleep(0.05)  # the child is inside its commit
        log_calls(run, 100, 200)
        assert run.flush(10)
        with pytest.raises(TransientSyncError, match="another sync"):
            Uploader(run.path, "p", DATASET, token=TOKEN).sync(budget=0.5)
        hub.slow(0)
        Uploader(run.path, "p", DATASET, token=TOKEN).sync(budget=60)  # waits for the child's, then sends the rest
        assert child.stdout.readline().split() == ["done", "True"], child.stderr.read()
    finally:
        child.wait(60)
    run.finish()
    rows = metric_values(dataset_rows(hub, "metrics"))
    assert len(rows) == 400 and rows == store_values(run.path)
    (ranges,) = shard_ranges(hub, "metrics").values()
    assert_disjoint(ranges)


# -- 7. the runs file never moves backwards -------------------------------------------------------------

LEFTOVER = """
import os, trackio_callback as t
from trackio_callback.hub.uploader import Uploader
run = t.init(project="p", name="r", dir={a!r})
for i in range(100):
    run.log({{"a": float(i)}}, step=i)
run.flush(10)
Uploader(run.path, "p", "alice/ds", token="hf_test_token").sync()
os._exit(0)  # killed: the run stays "running" in this store
"""


def test_syncing_an_old_leftover_store_does_not_move_the_run_back(tmp_path, hub):
    a, b = tmp_path / "a", tmp_path / "b"
    done = run_python(LEFTOVER.format(a=str(a)), env=hub.env())
    assert done.returncode == 0, done.stderr
    b.mkdir()
    for file in a.glob("p.db*"):  # the store, carried to a new machine (with its WAL)
        shutil.copy(file, b / file.name)
    run = trackio.init(project="p", name="r", dir=b, resume="allow")
    for i in range(100, 150):
        run.log({"a": float(i)}, step=i)
    run.finish()
    Uploader(run.path, "p", DATASET, token=TOKEN).sync()
    with pytest.warns(trackio.TrackioWarning, match="newer version of it"):
        Uploader(a / "p.db", "p", DATASET, token=TOKEN).sync()  # the leftover: its run now shows "crashed"
    (meta,) = dataset_rows(hub, "runs")
    assert (meta["num_logs"], meta["status"], meta["last_step"]) == (150, "finished", 149)


def _a_run_written_on_another_host(path: Path) -> tuple[Store, int]:
    store = Store(path)
    row = store.open_run("r", group=None, config={}, settings={}, resume="never", hostname="node-7", pid=4242).row
    store.append(row.id, build_batches(0, [(0, time.time(), {"a": 1.0})]), [], RunUpdate(next_seq=1))
    return store, row.id


def test_a_run_whose_writer_on_another_host_went_silent_is_continued_after_a_short_watch(tmp_path, monkeypatch):
    from trackio_callback.store import runs

    monkeypatch.setattr(runs, "LEASE_WATCH_S", 1.0)
    first, _ = _a_run_written_on_another_host(tmp_path / "p.db")  # a job requeued on another node: node-7 died
    second = Store(tmp_path / "p.db")
    started = time.monotonic()
    opened = second.open_run("r", group=None, config={}, settings={}, resume="allow", hostname="node-8", pid=1)
    assert opened.resumed and opened.row.hostname == "node-8" and time.monotonic() - started >= 1.0
    first.close()
    second.close()


def test_a_writer_on_another_host_that_is_still_heard_from_keeps_its_run(tmp_path, monkeypatch):
    import threading

    from trackio_callback.store import runs

    monkeypatch.setattr(runs, "LEASE_WATCH_S", 2.0)
    first, run_id = _a_run_written_on_another_host(tmp_path / "p.db")
    stop = threading.Event()

    def heartbeat() -> None:  # node-7's writer thread, alive
        while not stop.wait(0.2):
            first.append(run_id, [], [], RunUpdate())

    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        second = Store(tmp_path / "p.db")
        with pytest.raises(RunInUseError, match=r"process 4242 on host 'node-7'"):
            second.open_run("r", group=None, config={}, settings={}, resume="allow", hostname="node-8", pid=1)
        second.close()
    finally:
        stop.set()
        beating.join()
    first.close()
