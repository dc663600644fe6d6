"""Faults: a Hub that fails, throttles, drops answers or goes away; a disk that fills up or cannot be written.

Hub faults come from the emulator (real HTTP, the real client). A full disk is a real OS limit:
the child process lowers its own ``RLIMIT_FSIZE`` below the store's size (with ``SIGXFSZ``
ignored, writes then fail with ``EFBIG``, which SQLite reports as an I/O error), then raises it
again. In every case training goes on, and what was logged is either kept or, once memory is at its
bound, dropped loudly and counted in a ``storage_failure`` alert.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
import time

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.helpers import ROOT
from trackio_callback import Reader
from trackio_callback.errors import TransientSyncError
from trackio_callback.hub.commands import sync

pytestmark = pytest.mark.slow


def dataset_points(hub, dataset: str) -> dict[tuple[str, int, str], float]:
    """Every metrics row of the dataset, by (run uid, seq, key); a duplicate fails the test."""
    rows: dict[tuple[str, int, str], float] = {}
    for path, content in hub.repo_files(dataset).items():
        if not path.startswith("metrics/"):
            continue
        table = pq.read_table(io.BytesIO(content)).to_pylist()
        for row in table:
            key = (row["run_id"], row["seq"], row["key"])
            assert key not in rows or rows[key] == row["value"], f"conflicting duplicate {key}"
            rows[key] = row["value"]
    return rows


def store_points(run: trackio.Run) -> dict[tuple[str, int, str], float]:
    reader = Reader(run.path.parent)
    points = {}
    for key in reader.metric_keys(run.project, run.name):
        series = reader.series(run.project, run.name, key)
        points.update({(run.uid, seq, key): value for seq, value in zip(series.seqs, series.values)})
    return points


def log_and_sync(run: trackio.Run, calls: int, every: int, budget: float = 5.0) -> list[str]:
    """Log ``calls`` calls, syncing every ``every`` calls with the run's own uploader; returns sync failures."""
    failures = []
    for step in range(calls):
        run.log({"loss": 1.0 / (step + 1), "acc": step / calls}, step=step)
        if step % every == every - 1:
            run.flush()
            try:
                run._uploader.sync(budget=budget)
            except TransientSyncError as error:
                failures.append(str(error))
    return failures


@pytest.mark.parametrize("ratio", [0.3, 0.5])
def test_half_of_the_writes_failing_still_lands_everything_exactly_once(hub, ratio):
    run = trackio.init(project="faults", name=f"flaky-{ratio}", dataset_id="faults-data")
    hub.fail_ratio(ratio, seed=7, endpoint="write")
    log_and_sync(run, 3000, every=300)
    hub.reset_faults()
    run.finish()
    failed = [r for r in hub.requests("write") if r.fault]
    assert len(failed) >= 3, "the emulator did fail writes"
    assert dataset_points(hub, "alice/faults-data") == store_points(run)
    commits = hub.commit_count("alice/faults-data")
    sync(run.path.parent, project="faults")  # what `trackio-callback sync` does
    assert hub.commit_count("alice/faults-data") == commits, "a second sync sends nothing"


def test_429_for_a_long_window_is_waited_out_honouring_retry_after(hub):
    run = trackio.init(project="faults", name="throttled", dataset_id="faults-data")
    for step in range(500):
        run.log({"loss": 1.0 / (step + 1)}, step=step)
    run.flush()
    hub.rate_limit(8.0, retry_after=3, endpoint="any")
    started = time.monotonic()
    with pytest.raises(TransientSyncError):
        run._uploader.sync(budget=2.0)  # a sync with less time than the window gives up for now
    result = run._uploader.sync(budget=60.0)  # the next one waits the window out
    waited = time.monotonic() - started
    throttled = [r for r in hub.requests() if r.fault == "rate_limit"]
    assert result.committed and 7.0 <= waited < 30
    # Retry-After: 3 s over an 8 s window is a handful of attempts, not a hammering.
    assert 2 <= len(throttled) <= 8, [r.path for r in throttled]
    run.finish()
    assert dataset_points(hub, "alice/faults-data") == store_points(run)


def test_answers_dropped_after_the_commit_applied_are_not_duplicated(hub):
    run = trackio.init(project="faults", name="lost-answers", dataset_id="faults-data")
    for round_ in range(3):
        for step in range(round_ * 200, (round_ + 1) * 200):
            run.log({"loss": float(step)}, step=step)
        run.flush()
        hub.drop_connection(before_apply=False, n=1, endpoint="commit")
        with contextlib.suppress(TransientSyncError):
            run._uploader.sync(budget=10.0)
    run.finish()
    dropped = [r for r in hub.requests("commit") if r.fault == "drop_after"]
    assert len(dropped) >= 1
    points = dataset_points(hub, "alice/faults-data")
    assert points == store_points(run) and len(points) == 600


def test_the_hub_going_away_mid_run_then_coming_back(hub, capsys):
    run = trackio.init(project="faults", name="outage", dataset_id="faults-data")
    log_and_sync(run, 400, every=200)
    hub.go_down()
    failures = log_and_sync(run, 400, every=100, budget=1.0)
    assert failures, "syncs while the Hub is away fail for now"
    assert run.flush(timeout=10)
    hub.come_up()
    for step in range(400, 600):
        run.log({"loss": 1.0 / (step + 1), "acc": 0.5}, step=step)
    run.finish()
    assert dataset_points(hub, "alice/faults-data") == store_points(run)


def test_an_unwritable_storage_dir_is_a_clear_error_at_init():
    for directory, reason in (("/proc/trackio-test", "No such file"), ("/etc/hostname/runs", "Not a directory")):
        with pytest.raises(OSError, match=rf"cannot open the project file {directory}/p\.db .*{reason}"):
            trackio.init(project="p", dir=directory)
        with pytest.raises(OSError, match="set TRACKIO_DIR to a writable directory"):
            trackio.init(project="p", dir=directory)


DISK_FULL = """
import json, os, resource, signal, sys, time, warnings
import trackio_callback as trackio

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, writes fail with EFBIG instead of killing us
directory, outage_calls, limit = sys.argv[1], int(sys.argv[2]), os.environ["TRACKIO_MAX_BUFFERED_CALLS"]
warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, *args, **kwargs: caught.append(str(message))

def fsize(limit):
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

fsize(0)
try:
    trackio.init(project="full", name="never", dir=directory)
    print(json.dumps({"init_error": None}))
except OSError as error:
    print(json.dumps({"init_error": str(error)}))
fsize(resource.RLIM_INFINITY)

run = trackio.init(project="full", name="r", dir=directory, flush_every=0.05)
for step in range(100):
    run.log({"a": float(step), "b": -float(step)}, step=step)
run.flush()
fsize(max(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory)))  # the disk is now full
started = time.monotonic()
for step in range(100, 100 + outage_calls):
    assert run.log({"a": float(step), "b": -float(step)}, step=step) is None  # training goes on
time.sleep(0.5)
buffered = run._writer.unwritten
fsize(resource.RLIM_INFINITY)  # space freed
flushed = run.flush(timeout=60)
run.finish()
print(json.dumps({"buffered": buffered, "flushed": flushed, "warnings": caught}))
"""


@pytest.mark.parametrize("outage_calls, bound", [(5_000, 20_000), (100_000, 20_000)])
def test_a_full_disk_mid_run_keeps_training_and_bounds_memory(tmp_path, outage_calls, bound):
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path), str(outage_calls)],
        env={**os.environ, "PYTHONPATH": str(ROOT), "TRACKIO_MAX_BUFFERED_CALLS": str(bound)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    first, last = (json.loads(line) for line in done.stdout.strip().splitlines()[-2:])
    assert "cannot open the project file" in first["init_error"] and "writable directory" in first["init_error"]
    assert last["flushed"] is True and last["buffered"] <= bound
    warned = last["warnings"]
    assert any("could not write to" in w and "kept in memory" in w for w in warned)
    reader = Reader(tmp_path)
    a = reader.series("full", "r", "a")
    b = reader.series("full", "r", "b")
    assert reader.run("full", "r")["status"] == "finished"
    assert a.steps == b.steps and a.values == [-v for v in b.values]  # no half-written call
    assert a.steps[:100] == list(range(100)) and a.steps[-1] == 99 + outage_calls  # before, and the last call
    alerts = reader.alerts("full", "r")
    if outage_calls <= bound:  # a short outage loses nothing
        assert a.steps == list(range(100 + outage_calls)) and a.values == [float(s) for s in a.steps]
        assert not alerts and not any("thinned" in w for w in warned)
    else:  # memory stays bounded: thinned evenly over the outage, loudly, and counted in an alert
        kept = len(a.steps) - 100
        assert kept <= bound and kept >= bound // 4
        gaps = {b - a for a, b in zip(a.steps[100:], a.steps[101:])}
        assert len(gaps) <= 2 and max(gaps) <= math.ceil(outage_calls / kept) + 1  # evenly spread
        assert any("thinned" in w for w in warned) and any("writes again" in w for w in warned)
        (alert,) = alerts
        assert (alert["level"], alert["title"], alert["value"]) == ("error", "storage_failure", outage_calls - kept)
        assert f"{outage_calls - kept} logged calls or samples were dropped" in alert["text"]
    assert reader.store("full").integrity_check() == "ok"
