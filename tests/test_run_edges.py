"""Edges of `Run`: metrics in any Mapping, log() and finish() in a forked child (Run() at exit: test_durability)."""

from __future__ import annotations

import json
import os
import time
import types
import warnings
from collections.abc import Iterator, Mapping

import pytest

import trackio_callback as trackio
from tests.helpers import run_python
from trackio_callback import Reader, TrackioWarning

# -- Defect 3: any Mapping is logged on every call, checked like a dict -----------------------------------


class MetricsView(Mapping):
    """A read-only Mapping that is not a dict and has no ``copy()``: what a user's own container looks like."""

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


MAPPING_KINDS = {
    "dict": lambda data: data,
    "mappingproxy": types.MappingProxyType,
    "custom-mapping": MetricsView,
    "mappingproxy-of-custom-mapping": lambda data: types.MappingProxyType(MetricsView(data)),
}

# Known float keys (the dict fast path), then bad keys and values (every check), then known keys again.
CALLS = [
    {"loss": 1.0, "lr": 0.5},
    {"loss": 0.9, "lr": 0.25},
    {"loss": 0.8, "lr": 0.125, "text": ["oops"], 7: 1.0, "count": 3, "note": "a string: a text series"},
    {"loss": 0.7, "lr": 0.0625, "count": 4},
    {"loss": 0.6, "lr": 0.03125},
    {"loss": 0.5, "lr": 0.015625},
]


def _log_through(kind: str, project: str) -> tuple[dict[str, tuple[list[int], list[float]]], list[str]]:
    """Log `CALLS` wrapped in ``kind``, reusing and mutating one buffer the way a training loop does."""
    buffer: dict = {}
    metrics = MAPPING_KINDS[kind](buffer)  # `buffer` itself or a view of it: each sees every later change
    run = trackio.init(project=project, name=kind, flush_every=600)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # only the run's own warn-once may deduplicate
        for values in CALLS:
            buffer.clear()
            buffer.update(values)
            run.log(metrics)
            buffer["loss"] = -1.0  # changed after log(): what was logged must not change with it
    run.finish()
    reader = Reader()
    stored = {}
    for key in reader.metric_keys(project, kind):
        series = reader.series(project, kind, key)
        stored[key] = (series.steps, series.values)
    for key in reader.text_keys(project, kind):
        stored[f"text:{key}"] = [(t["step"], t["value"]) for t in reader.texts(project, kind, key)]
    return stored, [str(w.message) for w in caught]


@pytest.mark.parametrize("kind", [k for k in MAPPING_KINDS if k != "dict"])
def test_any_mapping_is_logged_every_call_with_the_checks_a_dict_gets(kind):
    expected_store, expected_warnings = _log_through("dict", "as-dict")
    assert expected_store["loss"] == ([0, 1, 2, 3, 4, 5], [1.0, 0.9, 0.8, 0.7, 0.6, 0.5])
    assert expected_store["text:note"] == [(2, "a string: a text series")]
    assert len(expected_warnings) == 2  # 'text' (a list) is not a number, 7 is not a string key
    stored, warned = _log_through(kind, f"as-{kind}")
    assert stored == expected_store
    assert warned == expected_warnings


@pytest.mark.parametrize("metrics", [None, [("loss", 1.0)], 0.5, "loss"])
def test_a_non_mapping_is_dropped_with_a_warning_naming_its_type(metrics):
    run = trackio.init(project="not-mapping", name="run")
    with pytest.warns(TrackioWarning, match=rf"log\(\) takes a dict of numbers, not {type(metrics).__name__}: dropped"):
        run.log(metrics)
    run.log({"loss": 1.0})  # the run goes on
    run.finish()
    assert Reader().series("not-mapping", "run", "loss").values == [1.0]


# Defect 8 (a Run built directly is finished at interpreter exit): tests/test_durability.py,
# test_interpreter_exit_writes_everything[Run built directly-...].


# -- Defect 11: in a forked child the run belongs to the parent -------------------------------------------


def _fork(child) -> tuple[int, int]:
    """Fork; the child runs ``child(write_fd)`` and exits without running the parent's cleanup."""
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python >= 3.12: fork with threads running
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            os.close(read_fd)
            child(write_fd)
        except BaseException as error:
            os.write(write_fd, json.dumps({"error": repr(error)}).encode())
            code = 1
        finally:
            os._exit(code)  # never back into pytest
    os.close(write_fd)
    return pid, read_fd


def _read_report(pid: int, read_fd: int) -> dict:
    with os.fdopen(read_fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    report = json.loads(data)
    assert "error" not in report, report["error"]
    assert os.waitstatus_to_exitcode(status) == 0
    return report


def test_log_and_finish_in_a_forked_child_leave_the_parents_run_alone(store_dir):
    run = trackio.init(project="forked", name="parent", flush_every=600)  # buffered calls cross the fork
    for i in range(100):
        run.log({"x": float(i)})
    parent_pid = os.getpid()

    def child(write_fd: int) -> None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")  # only the run's own warn-once may deduplicate
            for i in range(50):
                run.log({"x": 1000.0 + i})
                trackio.log({"x": 2000.0 + i})
                run.log_system({"system/cpu": 1.0})
            started = time.monotonic()
            run.finish()
            trackio.finish()
            finish_s = time.monotonic() - started
            own = trackio.init(project="forked", name="child", flush_every=600)  # what the warning advises
            own.log({"y": 1.0})
            own.finish()
        report = {
            "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
            "finish_s": finish_s,
            "flushed": run.flush(timeout=1),
        }
        os.write(write_fd, json.dumps(report).encode())

    report = _read_report(*_fork(child))
    assert len(report["warnings"]) == 1, report["warnings"]
    warned = report["warnings"][0]
    assert warned.startswith("TrackioWarning: ")
    assert f"fork of pid {parent_pid}" in warned and "run 'parent'" in warned
    assert "log from the parent" in warned and "init() in this process" in warned
    assert report["finish_s"] < 1.0
    assert report["flushed"] is True
    assert Reader(store_dir).run("forked", "parent")["status"] == "running"  # the child did not end it

    for i in range(100, 200):
        run.log({"x": float(i)})
    run.finish()
    reader = Reader(store_dir)
    series = reader.series("forked", "parent", "x")
    assert series.steps == list(range(200))
    assert series.values == [float(i) for i in range(200)]
    assert reader.system_keys("forked", "parent") == []
    assert reader.run("forked", "parent")["status"] == "finished"
    assert reader.series("forked", "child", "y").values == [1.0]
    assert reader.run("forked", "child")["status"] == "finished"


def test_a_multiprocessing_fork_worker_warns_once_and_the_parent_run_finishes(store_dir):
    done = run_python(
        """
        import multiprocessing, time
        import trackio_callback as t

        def worker():
            for i in range(100):
                t.log({"x": -1.0})
            started = time.monotonic()
            t.finish()
            print(f"child finish took {time.monotonic() - started:.3f} s", flush=True)

        run = t.init(project="mp", name="parent", flush_every=600)
        for i in range(50):
            run.log({"x": float(i)})
        process = multiprocessing.get_context("fork").Process(target=worker)
        process.start()
        process.join(60)
        assert process.exitcode == 0, process.exitcode
        for i in range(50, 100):
            run.log({"x": float(i)})
        print(f"parent pid {__import__('os').getpid()}", flush=True)
        """,
        env={"TRACKIO_DIR": str(store_dir)},
    )
    assert done.returncode == 0, done.stderr
    parent_pid = int(done.stdout.split("parent pid ")[1].split()[0])
    assert done.stderr.count("TrackioWarning") == 1, done.stderr
    assert f"fork of pid {parent_pid}" in done.stderr
    child_finish_s = float(done.stdout.split("child finish took ")[1].split()[0])
    assert child_finish_s < 1.0
    reader = Reader(store_dir)
    assert reader.series("mp", "parent", "x").values == [float(i) for i in range(100)]
    assert reader.run("mp", "parent")["status"] == "finished"
