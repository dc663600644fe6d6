"""Nothing logged is lost: process exits, signals, SIGKILL, and many processes writing at once."""

from __future__ import annotations

import signal
import time

import pytest

from tests.helpers import spawn_python
from trackio_callback import Reader
from trackio_callback.store import Store

LOG_FOREVER = """
import time, trackio_callback as t
run = t.init(project="p", name="victim", flush_every={interval})
print("ready", flush=True)
i = 0
while True:
    run.log({{"x": float(i), "y": -float(i)}}, step=i)
    i += 1
    if i % 10 == 0:
        time.sleep(0.001)
"""


def _wait_for(process, line: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = process.stdout.readline()
        if out.strip() == line:
            return
        if out == "" and process.poll() is not None:
            raise AssertionError(f"child exited early: {process.stderr.read()}")
    raise AssertionError(f"child never printed {line!r}")


@pytest.mark.parametrize("attempt", range(3))
def test_sigkill_loses_at_most_the_last_flush_interval(store_dir, attempt):
    interval = 0.25
    child = spawn_python(LOG_FOREVER.format(interval=interval))
    _wait_for(child, "ready")
    time.sleep(1.5 + 0.3 * attempt)
    killed_at = time.time()
    child.send_signal(signal.SIGKILL)
    assert child.wait(30) == -signal.SIGKILL
    store = Store(store_dir / "p.db")
    assert store.integrity_check() == "ok"
    series = Reader(store_dir).series("p", "victim", "x")
    assert len(series) > 1000
    assert series.steps == list(range(len(series)))  # a gap-free prefix of what was logged
    assert series.values == [float(i) for i in range(len(series))]
    assert Reader(store_dir).series("p", "victim", "y").values == [-v for v in series.values]
    # What was lost was logged during the last flush interval (plus scheduling slack on a busy machine).
    lost_window = killed_at - series.timestamps[-1]
    assert lost_window < interval + 1.0, lost_window
    assert Reader(store_dir).run("p", "victim")["status"] == "crashed"


LOG_THEN_WAIT = """
import signal, sys, time, trackio_callback as t
{setup}
run = t.init(project="p", name="sig", flush_every=600)  # only the exit path can write
for i in range(5000):
    run.log({{"x": float(i)}}, step=i)
print("ready", flush=True)
time.sleep(60)
{after}
"""


def _run_signalled(setup: str, sig: int, after: str = "") -> tuple[int, str]:
    child = spawn_python(LOG_THEN_WAIT.format(setup=setup, after=after))
    _wait_for(child, "ready")
    child.send_signal(sig)
    code = child.wait(60)
    return code, child.stdout.read() + child.stderr.read()


def test_sigterm_flushes_everything_and_still_kills(store_dir):
    code, _ = _run_signalled("", signal.SIGTERM)
    assert code == -signal.SIGTERM  # the default action still happens
    assert Reader(store_dir).series("p", "sig", "x").values == [float(i) for i in range(5000)]
    assert Reader(store_dir).run("p", "sig")["status"] == "crashed"


def test_sigterm_chains_to_the_programs_own_handler(store_dir):
    setup = """
def handler(signum, frame):
    print("own handler ran", flush=True)
    sys.exit(3)
signal.signal(signal.SIGTERM, handler)
"""
    code, output = _run_signalled(setup, signal.SIGTERM)
    assert code == 3 and "own handler ran" in output
    assert len(Reader(store_dir).series("p", "sig", "x")) == 5000
    assert Reader(store_dir).run("p", "sig")["status"] == "finished"  # sys.exit is a clean exit


def test_an_ignored_sigterm_stays_ignored(store_dir):
    setup = "signal.signal(signal.SIGTERM, signal.SIG_IGN)"
    child = spawn_python(LOG_THEN_WAIT.format(setup=setup, after="").replace("time.sleep(60)", "time.sleep(1.5)"))
    _wait_for(child, "ready")
    child.send_signal(signal.SIGTERM)
    assert child.wait(60) == 0
    assert len(Reader(store_dir).series("p", "sig", "x")) == 5000
    assert Reader(store_dir).run("p", "sig")["status"] == "finished"


def test_sigint_flushes_and_raises_keyboard_interrupt(store_dir):
    code, output = _run_signalled("", signal.SIGINT)
    assert code != 0 and "KeyboardInterrupt" in output
    assert len(Reader(store_dir).series("p", "sig", "x")) == 5000
    assert Reader(store_dir).run("p", "sig")["status"] == "crashed"


@pytest.mark.parametrize(
    ("ending", "status", "code"),
    [("pass", "finished", 0), ("raise ValueError('boom')", "crashed", 1), ("sys.exit(0)", "finished", 0)],
)
@pytest.mark.parametrize(
    "opening",
    ['t.init(project="p", name="exit", flush_every=600)', 't.Run("p", name="exit", flush_every=600)'],
    ids=["init", "Run built directly"],
)
def test_interpreter_exit_writes_everything(store_dir, opening, ending, status, code):
    child = spawn_python(
        f"""
import sys, trackio_callback as t
run = {opening}  # flush_every=600: only the exit path can write
for i in range(3000):
    run.log({{"x": float(i)}})
{ending}
"""
    )
    assert child.wait(60) == code, child.stderr.read()
    series = Reader(store_dir).series("p", "exit", "x")
    assert series.steps == list(range(3000)) and series.values == [float(i) for i in range(3000)]
    assert Reader(store_dir).run("p", "exit")["status"] == status


WRITER = """
import sys, time, trackio_callback as t
run = t.init(project="shared", name=f"w{{sys.argv[1]}}", flush_every=0.05)
for i in range({calls}):
    run.log({{"loss": float(i), "lr": 1e-3, "grad_norm": 0.5}}, step=i)
    if i % 500 == 0:
        run.log_system({{"system/cpu": float(i)}})
        time.sleep(0.025)  # stretch each run to about a second so that all eight overlap
run.finish()
print("done", flush=True)
"""


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_eight_processes_write_one_project_at_once(store_dir, journal):
    calls = 20_000
    env = {"TRACKIO_SQLITE_JOURNAL": journal}
    children = [spawn_python(WRITER.format(calls=calls).replace("sys.argv[1]", str(n)), env=env) for n in range(8)]
    for child in children:
        assert child.wait(300) == 0
        out, err = child.communicate()
        assert out.strip() == "done" and err == "", err
    reader = Reader(store_dir)
    runs = reader.runs("shared")
    assert sorted(r["name"] for r in runs) == [f"w{n}" for n in range(8)]
    assert max(r["created_at"] for r in runs) < min(r["finished_at"] for r in runs)  # all wrote at once
    for run in runs:
        assert run["status"] == "finished" and run["num_logs"] == calls
        loss = reader.series("shared", run["name"], "loss")
        assert loss.steps == list(range(calls)) and loss.values == [float(i) for i in range(calls)]
        assert reader.summary("shared", run["name"])["metrics"]["grad_norm"]["count"] == calls
        assert len(reader.system_series("shared", run["name"], "system/cpu")) == calls // 500
    assert Store(store_dir / "shared.db").integrity_check() == "ok"


def test_a_failing_write_keeps_the_data_and_retries(store_dir):
    import sqlite3

    import trackio_callback as trackio
    from trackio_callback import TrackioWarning

    run = trackio.init(project="p", name="flaky", flush_every=0.05)
    real_append = run._store.append
    failures = []

    def failing_twice(*args, **kwargs):  # the disk is full for the first two writes
        if len(failures) < 2:
            failures.append(1)
            raise sqlite3.OperationalError("database or disk is full")
        return real_append(*args, **kwargs)

    run._store.append = failing_twice
    with pytest.warns(TrackioWarning, match="disk is full.*kept in memory and retried"):
        for step in range(100):
            run.log({"x": float(step)}, step=step)
        assert run.flush(timeout=30)
    run.finish()
    assert len(failures) == 2
    assert Reader(store_dir).series("p", "flaky", "x").values == [float(i) for i in range(100)]
