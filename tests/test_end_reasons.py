"""Why a run ended: each end reason recorded by a real process that ends that way, then shown everywhere.

Every ending runs ``tests/scripts/end_reasons.py`` in its own interpreter: a normal finish, an uncaught
ValueError (plain and leaving ``with init()``), a raised ``torch.OutOfMemoryError``, a health stop, SIGTERM
and SIGINT (Python's KeyboardInterrupt path, plain and inside ``with``) sent to a process logging in a loop,
and SIGKILL (no reason written: readers derive ``heartbeat_lost``). The reasons are then read back from
SQLite, ``Reader``, ``list runs``, the MCP tools (the real client), the dashboard and the static Space (headless
Chromium), the webhook (a local receiver) and the Hub runs file after a sync and a pull (the Hub emulator).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.browser import open_dashboard
from tests.helpers import ROOT, run_python
from tests.space_host import SpaceHost
from tests.test_alerts import Receiver
from tests.test_mcp import call_http, one
from trackio_callback import Reader, TrackioWarning
from trackio_callback.cli.main import main
from trackio_callback.core import end_reason
from trackio_callback.core import run as run_module
from trackio_callback.server.show import show
from trackio_callback.store import Store

SCRIPT = ROOT / "tests" / "scripts" / "end_reasons.py"
PROJECT = "ends"
STEPS = 5  # the script's steps before its ending
OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB"
DATASET = "alice/ends"


def _environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("TRACKIO_WEBHOOK")}
    return {**inherited, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **(extra or {})}


def _default_sigint() -> None:
    # A child of a shell's background job starts with SIGINT ignored; Python then keeps it ignored and never
    # raises KeyboardInterrupt. The signal's default disposition is what an interactive job has.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def end_with(
    ending: str, directory: Path, name: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run the script to its ending (one that ends by itself), as run ``name``."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), ending, str(directory), name, *args],
        env=_environment(env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def kill_with(
    signum: int, directory: Path, name: str, *args: str, ending: str = "loop", env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Start the script's logging loop as run ``name``, send ``signum`` once it has committed steps.

    Returns (exit status, stderr).
    """
    child = subprocess.Popen(
        [sys.executable, str(SCRIPT), ending, str(directory), name, *args],
        env=_environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_default_sigint,
    )
    try:
        line = child.stdout.readline().strip()
        assert line == "ready", f"the child said {line!r}: {child.stderr.read()}"
        time.sleep(0.5)  # logging on, with commits every 0.2 s
        child.send_signal(signum)
        code = child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
    return code, child.stderr.read()


def stored_row(directory: Path, name: str):
    store = Store(directory / f"{PROJECT}.db", create=False)
    try:
        return store.run(name)
    finally:
        store.close()


def check_time(reason: dict, started: float) -> None:
    assert started <= reason["at"] <= time.time()


# -- every ending, from real processes ------------------------------------------------------------------


@pytest.fixture(scope="module")
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def ended(tmp_path_factory, receiver) -> dict:
    """One project whose runs ended in every way; {"dir", "started", "codes", "stderr"}."""
    directory = tmp_path_factory.mktemp("ends")
    started = time.time()
    codes, stderr = {}, {}
    for ending in ("finish", "value_error", "with_error", "cuda_oom", "health_stop"):
        hook = {"TRACKIO_WEBHOOK_URL": receiver.url(f"/{ending}")}
        result = end_with(ending, directory, ending, env=hook)
        codes[ending], stderr[ending] = result.returncode, result.stderr
    for name, signum, ending in (
        ("sigterm", signal.SIGTERM, "loop"),
        ("sigint", signal.SIGINT, "loop"),  # KeyboardInterrupt reaches the excepthook
        ("with_sigint", signal.SIGINT, "with_loop"),  # KeyboardInterrupt leaves `with init()`
        ("sigkill", signal.SIGKILL, "loop"),
    ):
        hook = {"TRACKIO_WEBHOOK_URL": receiver.url(f"/{name}")}
        codes[name], stderr[name] = kill_with(signum, directory, name, ending=ending, env=hook)
    return {"dir": directory, "started": started, "codes": codes, "stderr": stderr}


def reason_of(ended: dict, name: str) -> dict:
    return Reader(ended["dir"]).run(PROJECT, name)["end_reason"]


def test_a_normal_finish_is_finished(ended):
    assert ended["codes"]["finish"] == 0
    info = Reader(ended["dir"]).run(PROJECT, "finish")
    reason = info["end_reason"]
    check_time(reason, ended["started"])
    assert info["status"] == "finished" and reason == {
        "kind": "finished", "message": "finished", "step": STEPS - 1, "at": reason["at"],
    }  # fmt: skip
    assert stored_row(ended["dir"], "finish").end_reason == reason  # the column itself, as SQLite has it
    assert end_reason.describe(reason) == "finished at step 4"


@pytest.mark.parametrize("name", ["value_error", "with_error"])
def test_an_uncaught_exception_keeps_its_type_message_and_last_traceback_lines(ended, name):
    assert ended["codes"][name] == 1 and "ValueError: bad batch 5" in ended["stderr"][name]
    info = Reader(ended["dir"]).run(PROJECT, name)
    reason = info["end_reason"]
    assert info["status"] == "crashed"
    assert (reason["kind"], reason["type"], reason["message"], reason["step"]) == (
        "exception", "ValueError", "ValueError: bad batch 5", STEPS - 1,
    )  # fmt: skip
    check_time(reason, ended["started"])
    lines = reason["traceback"]
    assert 4 <= len(lines) <= end_reason.TRACEBACK_LINES
    # The innermost frames, innermost last: where it was raised, and the call before it.
    assert lines[-2].endswith(", in load_batch") and lines[-1].strip() == 'raise ValueError(f"bad batch {index}")'
    assert lines[-4].endswith(", in training_step") and str(SCRIPT) in lines[-2]
    assert end_reason.describe(reason) == "ValueError: bad batch 5 at step 4"


def test_cuda_out_of_memory_is_its_own_kind_without_memory_numbers_on_a_machine_without_gpu(ended):
    assert ended["codes"]["cuda_oom"] == 1
    reason = reason_of(ended, "cuda_oom")
    assert (reason["kind"], reason["type"], reason["message"], reason["step"]) == (
        "cuda_oom", "torch.OutOfMemoryError", f"OutOfMemoryError: {OOM_TEXT}", STEPS - 1,
    )  # fmt: skip
    assert "peak_memory_gb" not in reason and "total_memory_gb" not in reason  # CUDA never initialized here
    assert reason["traceback"][-1].strip() == "raise torch.OutOfMemoryError(OOM_TEXT)"


def test_a_health_stop_set_before_finish_is_recorded(ended):
    assert ended["codes"]["health_stop"] == 0
    info = Reader(ended["dir"]).run(PROJECT, "health_stop")
    reason = info["end_reason"]
    assert info["status"] == "finished" and reason == {
        "kind": "health_stop", "message": "NaN loss: training stopped", "alert": "nan_loss", "step": STEPS - 1,
        "at": reason["at"],
    }  # fmt: skip


def test_sigterm_records_the_signal_and_keeps_the_signals_exit_status(ended):
    assert ended["codes"]["sigterm"] == -signal.SIGTERM
    reader = Reader(ended["dir"])
    info = reader.run(PROJECT, "sigterm")
    reason = info["end_reason"]
    assert info["status"] == "crashed"
    assert (reason["kind"], reason["signal"], reason["message"]) == (
        "signal", "SIGTERM", "SIGTERM (preempted or timed out)",
    )  # fmt: skip
    # Everything logged before the signal was written, and the reason names the last step.
    steps = reader.series(PROJECT, "sigterm", "train/loss").steps
    assert reason["step"] == info["last_step"] == steps[-1] and steps == list(range(len(steps))) and len(steps) > STEPS


@pytest.mark.parametrize("name", ["sigint", "with_sigint"])
def test_sigint_is_recorded_as_the_signal_not_as_a_keyboard_interrupt_exception(ended, name):
    assert ended["codes"][name] == -signal.SIGINT and "KeyboardInterrupt" in ended["stderr"][name]
    info = Reader(ended["dir"]).run(PROJECT, name)
    reason = info["end_reason"]
    assert info["status"] == "crashed"
    assert (reason["kind"], reason["signal"], reason["message"], reason["step"]) == (
        "signal", "SIGINT", "SIGINT (interrupted)", info["last_step"],
    )  # fmt: skip
    assert "type" not in reason and "traceback" not in reason


def test_sigkill_leaves_no_reason_and_readers_derive_heartbeat_lost(ended):
    assert ended["codes"]["sigkill"] == -signal.SIGKILL
    row = stored_row(ended["dir"], "sigkill")
    assert row.status == "running" and row.end_reason is None  # the process could write nothing
    info = Reader(ended["dir"]).run(PROJECT, "sigkill")
    reason = info["end_reason"]
    assert info["status"] == "crashed"
    assert (reason["kind"], reason["step"], reason["last_heartbeat"], reason["at"]) == (
        "heartbeat_lost", row.last_step, row.heartbeat_at, row.heartbeat_at,
    )  # fmt: skip
    assert reason["message"].startswith("heartbeat lost: the process was killed")
    assert row.last_step >= STEPS


def test_list_runs_shows_why_each_run_ended(ended, capsys):
    assert main(["--dir", str(ended["dir"]), "list", "runs", "--project", PROJECT]) == 0
    lines = capsys.readouterr().out.splitlines()
    column, after = lines[0].index("ended"), lines[0].index("tags")  # the column after it: the run's tags
    ends = {line.split()[0]: line[column:after].strip() for line in lines[1:]}
    signalled = ("sigterm", "sigint", "with_sigint", "sigkill")
    last = {name: Reader(ended["dir"]).run(PROJECT, name)["last_step"] for name in signalled}
    assert {name: text for name, text in ends.items() if name != "sigkill"} == {
        "finish": "finished at step 4",
        "value_error": "ValueError: bad batch 5 at step 4",
        "with_error": "ValueError: bad batch 5 at step 4",
        "cuda_oom": f"OutOfMemoryError: {OOM_TEXT} at step 4",
        "health_stop": "NaN loss: training stopped at step 4",
        "sigterm": f"SIGTERM (preempted or timed out) at step {last['sigterm']}",
        "with_sigint": f"SIGINT (interrupted) at step {last['with_sigint']}",
        "sigint": f"SIGINT (interrupted) at step {last['sigint']}",
    }
    assert ends["sigkill"].startswith("heartbeat lost:") and ends["sigkill"].endswith(f"at step {last['sigkill']}")
    assert main(["--dir", str(ended["dir"]), "get", "run", "--project", PROJECT, "--run", "cuda_oom"]) == 0
    assert f"ended: OutOfMemoryError: {OOM_TEXT} at step 4\n" in capsys.readouterr().out


def test_the_webhook_says_why_the_run_ended(ended, receiver):
    last = Reader(ended["dir"]).run(PROJECT, "sigterm")["last_step"]

    def end_message(path: str) -> tuple:
        (body,) = receiver.wait(1, path)
        return body["level"], body["title"], body["text"], body["step"]

    assert end_message("/sigterm") == ("error", "Run crashed", "SIGTERM (preempted or timed out)", last)
    assert end_message("/cuda_oom") == ("error", "Run crashed", f"OutOfMemoryError: {OOM_TEXT}", STEPS - 1)
    assert end_message("/value_error") == ("error", "Run crashed", "ValueError: bad batch 5", STEPS - 1)
    assert end_message("/health_stop") == ("warn", "Run stopped", "NaN loss: training stopped", STEPS - 1)
    assert end_message("/finish") == ("info", "Run finished", None, STEPS - 1)
    assert receiver.bodies("/sigkill") == []  # SIGKILL: nothing could be sent


# -- the MCP tools and the dashboard ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dashboard(ended):
    with show(dir=ended["dir"], open_browser=False, block=False, port=0, mcp_server=True) as server:
        yield server


def test_mcp_summary_has_the_reason_and_analyze_run_says_it(ended, dashboard):
    url = dashboard.url + "gradio_api/mcp/"
    summary, oom, finished, killed = call_http(
        url,
        [
            ("get_run_summary", {"project": PROJECT, "run": "sigterm"}),
            ("analyze_run", {"project": PROJECT, "run": "cuda_oom"}),
            ("analyze_run", {"project": PROJECT, "run": "finish"}),
            ("analyze_run", {"project": PROJECT, "run": "sigkill"}),
        ],
    )
    reader = Reader(ended["dir"])
    assert summary["end_reason"] == reader.run(PROJECT, "sigterm")["end_reason"]
    assert summary["ended"] == f"SIGTERM (preempted or timed out) at step {summary['last_step']}"
    assert oom["verdict"].startswith(f"run crashed: OutOfMemoryError: {OOM_TEXT} at step 4; ")
    assert oom["end_reason"]["kind"] == "cuda_oom" and oom["run_status"] == "crashed"
    assert finished["verdict"].endswith("; run finished at step 4") and finished["run_status"] == "finished"
    assert finished["status"] in ("healthy", "warning", "critical", "unknown")  # "status" stays the diagnosis'
    assert killed["verdict"].startswith("run crashed: heartbeat lost: the process was killed")
    project = one(call_http(url, [("get_project_summary", {"project": PROJECT})]))
    briefs = {r["name"]: r["ended"] for r in project["runs"]}
    assert briefs["health_stop"] == "NaN loss: training stopped at step 4"


def ended_cells(page, names: tuple[str, ...]) -> dict[str, str]:
    """The Runs view's "ended" cell of each run in ``names``."""
    page.click("#tabs button[data-tab=runs]")
    page.wait_for_selector(".runs-table")
    headers = page.eval_on_selector_all(".runs-table th", "ths => ths.map(t => t.textContent)")
    column = headers.index("ended") + 1
    return {name: page.text_content(f".runs-table tr[data-run='{name}'] td:nth-child({column})") for name in names}


def test_the_dashboard_shows_why_each_run_ended(ended, dashboard, page):
    last = Reader(ended["dir"]).run(PROJECT, "sigterm")["last_step"]
    open_dashboard(page, dashboard.url)
    tooltip = page.get_attribute("label.run[data-run=sigterm]", "title")
    assert tooltip == f"sigterm: crashed, SIGTERM (preempted or timed out) at step {last}"
    assert ended_cells(page, ("finish", "value_error", "cuda_oom", "health_stop", "sigterm")) == {
        "finish": "finished at step 4",
        "value_error": "ValueError: bad batch 5 at step 4",
        "cuda_oom": f"OutOfMemoryError: {OOM_TEXT} at step 4",
        "health_stop": "NaN loss: training stopped at step 4",
        "sigterm": f"SIGTERM (preempted or timed out) at step {last}",
    }


def test_the_static_space_shows_why_a_run_ended(page, hub):
    run = trackio.init(project="hubends", name="stopped", space_id="alice/endboard", private=False)
    for step in range(10):
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)
    run.flush()
    assert run._uploader.deploy_space()
    run.set_end_reason("health_stop", "NaN loss: training stopped", alert="nan_loss")
    run.finish()  # the last sync sends the runs file with the reason
    with SpaceHost(hub, "alice/endboard") as host:
        assert open_dashboard(page, host.url)["mode"] == "hub"
        assert page.get_attribute("label.run[data-run=stopped]", "title") == (
            "stopped: finished, NaN loss: training stopped at step 9"
        )
        assert ended_cells(page, ("stopped",)) == {"stopped": "NaN loss: training stopped at step 9"}


# -- synced: the Hub runs file -------------------------------------------------------------------------------


def runs_file_reasons(hub) -> dict[str, dict | None]:
    reasons = {}
    for path, content in hub.repo_files(DATASET).items():
        if path.startswith("runs/") and path.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(content))
            for name, text in zip(table["run_name"].to_pylist(), table["end_reason"].to_pylist()):
                reasons[name] = None if text is None else json.loads(text)
    return reasons


def test_the_reason_is_synced_in_the_runs_file_and_pulled_back(store_dir, hub, tmp_path):
    env = hub.env(hf_home=tmp_path / "hf")
    crashed = end_with("value_error", store_dir, "value_error", DATASET, env=env)  # the exit's last sync sends it
    assert crashed.returncode == 1, crashed.stderr
    code, _ = kill_with(signal.SIGTERM, store_dir, "sigterm", DATASET, env=env)
    assert code == -signal.SIGTERM
    reader = Reader(store_dir)
    synced = runs_file_reasons(hub)
    assert synced == {name: reader.run(PROJECT, name)["end_reason"] for name in ("value_error", "sigterm")}
    assert synced["sigterm"]["signal"] == "SIGTERM" and synced["value_error"]["type"] == "ValueError"
    # A fresh machine pulls the dataset: the same reasons.
    fresh = tmp_path / "fresh"
    pulled = run_python(
        f"""
        from trackio_callback.cli.main import main
        raise SystemExit(main(["--dir", {str(fresh)!r}, "pull", "--dataset-id", {DATASET!r}]))
        """,
        env=env,
    )
    assert pulled.returncode == 0, pulled.stderr
    assert {name: Reader(fresh).run(PROJECT, name)["end_reason"] for name in synced} == synced


def test_a_killed_run_is_synced_with_heartbeat_lost(store_dir, hub, tmp_path):
    env = hub.env(hf_home=tmp_path / "hf")
    code, _ = kill_with(signal.SIGKILL, store_dir, "sigkill", DATASET, env=env)
    assert code == -signal.SIGKILL
    assert main(["--dir", str(store_dir), "sync"]) == 0  # from this process: the dead one's run is crashed
    info = Reader(store_dir).run(PROJECT, "sigkill")
    synced = runs_file_reasons(hub)["sigkill"]
    assert synced == info["end_reason"] and synced["kind"] == "heartbeat_lost"


# -- the reason's parts, with values given --------------------------------------------------------------------


def test_cuda_oom_reports_the_peak_memory_against_the_total():
    reason = end_reason.cuda_oom(
        "torch.OutOfMemoryError", OOM_TEXT, ["  File x.py"], peak_bytes=78 * 2**30 + 2**29, total_bytes=80 * 2**30
    )
    assert reason == {
        "kind": "cuda_oom",
        "message": f"OutOfMemoryError: {OOM_TEXT} (peak 78.50 GiB of 80.00 GiB)",
        "type": "torch.OutOfMemoryError",
        "traceback": ["  File x.py"],
        "peak_memory_gb": 78.5,
        "total_memory_gb": 80.0,
    }
    bare = end_reason.cuda_oom("torch.OutOfMemoryError", "", peak_bytes=2**30, total_bytes=4 * 2**30)
    assert bare["message"] == "CUDA out of memory: OutOfMemoryError (peak 1.00 GiB of 4.00 GiB)"
    long = end_reason.cuda_oom("RuntimeError", "CUDA out of memory. " + "x" * 900, peak_bytes=1, total_bytes=2**30)
    assert len(long["message"]) == end_reason.MAX_MESSAGE_CHARS and long["message"].endswith("of 1.00 GiB)")


def test_cuda_oom_is_recognised_by_class_or_by_message():
    import torch

    def reason(error: BaseException) -> dict:
        try:
            raise error
        except BaseException as caught:
            return end_reason.from_exception(type(caught), caught, caught.__traceback__, step=3)

    assert reason(torch.cuda.OutOfMemoryError("out of memory"))["kind"] == "cuda_oom"
    plain = reason(RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB"))
    assert (plain["kind"], plain["type"], plain["step"]) == ("cuda_oom", "RuntimeError", 3)
    assert reason(RuntimeError("CUDA error: device-side assert"))["kind"] == "exception"
    assert reason(MemoryError())["kind"] == "exception"
    interrupted = reason(KeyboardInterrupt())
    assert (interrupted["kind"], interrupted["signal"]) == ("signal", "SIGINT")


def test_a_traceback_keeps_its_last_lines_and_each_line_is_bounded():
    def deep(n: int) -> None:
        if n == 0:
            raise ValueError("x" * 5000 + "\nsecond line")
        deep(n - 1)

    try:
        deep(50)
    except ValueError as error:
        reason = end_reason.from_exception(ValueError, error, error.__traceback__)
    assert len(reason["traceback"]) == end_reason.TRACEBACK_LINES
    assert reason["traceback"][-1].strip().startswith('raise ValueError("x" * 5000')
    assert all(len(line) <= end_reason.MAX_TRACEBACK_LINE_CHARS for line in reason["traceback"])
    assert len(reason["message"]) == end_reason.MAX_MESSAGE_CHARS and "second line" not in reason["message"]


def test_describe_reads_any_stored_value():
    assert end_reason.describe(None) == ""
    assert end_reason.describe({"kind": "deadline_stop", "message": "stopped 10 min before the limit", "step": 7}) == (
        "stopped 10 min before the limit at step 7"
    )
    assert end_reason.describe({"kind": "signal", "message": "SIGTERM (preempted or timed out)", "step": 7}, False) == (
        "SIGTERM (preempted or timed out)"
    )
    assert end_reason.describe({"kind": "from_a_later_version"}) == "from_a_later_version"
    assert end_reason.describe({"message": "m", "step": True}) == "m"  # a bool is no step
    assert end_reason.describe("text") == "text" and end_reason.describe({}) == "unknown"


def test_the_constructors_give_the_contracts_fields():
    assert end_reason.finished() == {"kind": "finished", "message": "finished"}
    assert end_reason.health_stop("NaN loss", alert="nan_loss", step=3) == {
        "kind": "health_stop", "message": "NaN loss", "alert": "nan_loss", "step": 3,
    }  # fmt: skip
    assert end_reason.deadline_stop("10 min left", deadline=99.0) == {
        "kind": "deadline_stop", "message": "10 min left", "deadline": 99.0,
    }  # fmt: skip
    assert end_reason.from_signal(signal.SIGTERM, step=41) == {
        "kind": "signal", "message": "SIGTERM (preempted or timed out)", "signal": "SIGTERM", "step": 41,
    }  # fmt: skip
    assert end_reason.from_signal(signal.SIGHUP)["message"] == "SIGHUP"
    assert end_reason.stamped({"kind": "finished", "message": "finished", "step": 2}, 9, at=5.0) == {
        "kind": "finished", "message": "finished", "step": 2, "at": 5.0,
    }  # fmt: skip


def test_bad_kinds_and_messages_are_named():
    with pytest.raises(ValueError, match=r"end reason kind 'crash' is not one of 'finished', 'exception'"):
        end_reason.make("crash", "boom")
    with pytest.raises(ValueError, match="non-empty string, got ''"):
        end_reason.make("health_stop", "")


def test_set_end_reason_warns_once_on_bad_input_and_a_later_exception_overrides_it(store_dir):
    run = run_module.Run("p", name="r")
    with pytest.warns(TrackioWarning, match=r"set_end_reason\(\) ignored: end reason kind 'stopped'"):
        run.set_end_reason("stopped", "on NaN")
    run.set_end_reason("deadline_stop", "10 minutes left", deadline=1234.0)
    with pytest.raises(ZeroDivisionError), run:
        run.log({"loss": 1.0})
        1 / 0  # noqa: B018
    reason = Reader(store_dir).run("p", "r")["end_reason"]
    assert (reason["kind"], reason["type"], reason["step"]) == ("exception", "ZeroDivisionError", 0)
    # Without the exception, the reason set is the one recorded; resuming clears it while the run runs.
    run = run_module.Run("p", name="s")
    run.set_end_reason("deadline_stop", "10 minutes left", deadline=1234.0)
    run.finish()
    reason = Reader(store_dir).run("p", "s")["end_reason"]
    assert (reason["kind"], reason["message"], reason["deadline"]) == ("deadline_stop", "10 minutes left", 1234.0)
    resumed = run_module.Run("p", name="s", resume="allow")
    assert Reader(store_dir).run("p", "s")["end_reason"] is None
    resumed.finish(status="crashed", reason="lost the data loader")  # the text parameter still works
    reason = Reader(store_dir).run("p", "s")["end_reason"]
    assert (reason["kind"], reason["message"]) == ("exception", "lost the data loader")
