"""Crash safety: 50 runs, each SIGKILLed at a random moment while it logs and syncs to the Hub emulator.

Acceptance item: every run opens intact (``PRAGMA integrity_check``), holds every value logged more than one flush
interval before the kill, and a later ``trackio-callback sync`` makes the dataset equal to the store, exactly once.

Each child process (``CHILD``) starts a run with ``dataset_id``, logs a few keys per call at a steady pace (NaN, -NaN,
±inf and -0.0 among them, a system sample and a table now and then) and, from a second thread, calls the run's own
``Uploader.sync()`` every 0.3 s. Before each call it writes the call's seq, step and value bits to stdout, and after
it the wall time at which ``log()`` returned, so the parent knows exactly what was logged and when. The parent kills
it with SIGKILL at a seeded random moment: ``early`` (before the first flush), ``random`` (anywhere in the first
2.5 s), ``pending`` (right after a sync recorded its commit's reach as pending, i.e. with the commit in flight) or
``sync`` (just after a sync started). The 50 runs go in waves of four, one project file for all; each wave runs
under one Hub fault: none, 30% of writes answered 503, commits applied whose answer is lost, or commits answered
0.6 s late (a ``pending`` kill then lands between the commit and its answer).

After each wave the parent checks each killed run in the store; after the last one it runs ``trackio-callback sync``
once (with one more commit whose answer is lost), compares the dataset with the store row by row, and syncs again
(no commit). One sync at the end, rather than one per kill, is the user's path after a crashed sweep and the hardest
case for exactly-once: 50 runs' leftovers at once (pending ranges whose commit had landed, pending ranges whose
commit had not, ranges never sent), several commits of up to 50 files. The figures go to
``$TRACKIO_TEST_ARTIFACTS/hardening-crash.json`` (default ``.artifacts/``) and to stdout (``pytest -s``).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.helpers import ROOT, spawn_python
from tests.hub_emulator import HubEmulator
from trackio_callback import Reader
from trackio_callback.store import Store
from trackio_callback.store.rows import NO_SYNC

pytestmark = pytest.mark.slow

PROJECT = "crash"
DATASET = "alice/crash-data"
RUNS = 50
PARALLEL = 4
FLUSH_EVERY = 0.2
SYNC_EVERY = 0.3
# What a kill may lose: the last flush interval, plus the writer's own commit and scheduling slack on a loaded
# 2-core machine (four children, the emulator and other tests share it). The figures report what was observed.
MARGIN = 1.5
SEED = 20_240_601
MODES = ("early", "random", "pending", "sync")
FAULTS = ("none", "503s", "lost answers", "slow answers")
ARTIFACTS = Path(os.environ.get("TRACKIO_TEST_ARTIFACTS", ROOT / ".artifacts"))
SHARD = re.compile(r"^(metrics|system|tables|alerts)/crash/([0-9a-f-]+)/(\d{12})-(\d{12})\.parquet$")

CHILD = r"""
import json, math, os, random, struct, threading, time
import trackio_callback as trackio
from trackio_callback.core.table import Table
from trackio_callback.store import Store

INDEX = __INDEX__


def emit(*parts):
    # One write(2) per line (under PIPE_BUF): a line reaches the pipe whole or not at all, even under SIGKILL.
    os.write(1, (" ".join(str(p) for p in parts) + "\n").encode())


def bits(values):
    return json.dumps({k: struct.pack("<d", v).hex() for k, v in values.items()}, separators=(",", ":"))


real_mark_pending = Store.mark_pending


def mark_pending(self, dataset_id, files):  # observation only: tells the parent a commit is about to be sent
    real_mark_pending(self, dataset_id, files)
    emit("P")


Store.mark_pending = mark_pending
run = trackio.init(project="crash", name=f"r{INDEX}", dataset_id="crash-data", flush_every=__FLUSH__)
emit("ready", run.uid)


def syncer():
    # sync_every cannot go below 60 s: this thread calls the run's own Uploader.sync() -- the package's sync code,
    # what its background thread runs -- every __SYNC__ s while the main thread logs.
    n = 0
    while True:
        time.sleep(__SYNC__)
        n += 1
        emit("S", n)
        try:
            emit("D", n, int(run._uploader.sync(budget=3.0).committed))
        except Exception as error:
            emit("E", n, type(error).__name__)


threading.Thread(target=syncer, daemon=True).start()
rng = random.Random(INDEX)
seq = samples = tables = 0
while True:
    step = 2 * seq
    values = {
        "train/loss": rng.random(),
        "train/lr": rng.choice([1e-3, 5e-4, -0.0]),
        "train/grad_norm": rng.expovariate(1.0),
    }
    if seq % 7 == 3:
        values["train/loss"] = math.nan
    if seq % 7 == 5:
        values["train/loss"] = math.copysign(math.nan, -1.0)
    if seq % 11 == 4:
        values["train/grad_norm"] = math.inf
    if seq % 13 == 0:
        values["eval/loss"] = -math.inf if seq % 26 == 0 else rng.random()
    emit("L", seq, step, bits(values))
    run.log(values, step=step)
    emit("T", seq, repr(time.time()))
    if seq % 6 == 1:
        node = "node0" if samples % 2 else None
        mem = math.nan if samples % 5 == 2 else math.inf if samples % 5 == 4 else rng.random()
        sample = {"system/cpu": rng.uniform(0, 100), "system/mem": mem, "system/n": float(samples)}
        emit("Y", samples, step, node or "-", bits(sample))
        run.log_system(sample, step=step, node=node)
        emit("TY", samples, repr(time.time()))
        samples += 1
    if seq % 10 == 7:
        table = Table(columns=["prompt", "completion", "reward"], data=[[f"p{tables}", f"c {seq}", rng.random()]])
        data = table.to_json()
        emit("B", tables, step, data)
        run.log({"completions": table}, step=step)
        emit("TB", tables, repr(time.time()))
        tables += 1
    seq += 1
    time.sleep(0.004)
"""


def _bits(value: float | None) -> str:
    """A float's 8 bytes (NaN payload and sign, -0.0 included); None is how SQLite hands back a NaN sample."""
    return struct.pack("<d", float("nan") if value is None else value).hex()


@dataclass
class Child:
    """One victim: its schedule, its stdout lines (complete ones only), and when the parent killed it."""

    index: int
    mode: str
    fault: str
    delay: float
    nth: int
    env: dict
    lines: list[str] = field(default_factory=list)
    stderr: str = ""
    uid: str | None = None
    killed_at: float | None = None
    trigger_missed: bool = False
    returncode: int | None = None

    def __post_init__(self):
        code = CHILD.replace("__INDEX__", str(self.index)).replace("__FLUSH__", repr(FLUSH_EVERY))
        self.process = spawn_python(code.replace("__SYNC__", repr(SYNC_EVERY)), env=self.env)
        self.ready = threading.Event()
        self.trigger = threading.Event()
        self.threads = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._kill, daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    @property
    def name(self) -> str:
        return f"r{self.index}"

    def _read_stdout(self) -> None:
        marks = 0
        watched = {"pending": "P", "sync": "S"}.get(self.mode)
        for line in self.process.stdout:
            if not line.endswith("\n"):  # cut by the kill
                break
            self.lines.append(line)
            kind = line.split(" ", 1)[0].strip()
            if kind == "ready":
                self.uid = line.split()[1]
                self.ready.set()
            elif kind == watched:
                marks += 1
                if marks == self.nth:
                    self.trigger.set()

    def _read_stderr(self) -> None:
        self.stderr = self.process.stderr.read()

    def _wait(self, event: threading.Event, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not event.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                return False
        return True

    def _kill(self) -> None:
        if not self._wait(self.ready, 90):  # never started: its returncode and stderr tell why
            if self.process.poll() is None:
                self.process.kill()
            return
        if self.mode in ("pending", "sync") and not self._wait(self.trigger, 30):
            self.trigger_missed = True
        time.sleep(self.delay)
        self.killed_at = time.time()
        self.process.send_signal(signal.SIGKILL)

    def join(self) -> None:
        self.returncode = self.process.wait(120)
        for thread in self.threads:
            thread.join(30)


@dataclass
class Logged:
    """What a child logged, as it said on stdout: by seq (calls) or by sample/table number, with the time."""

    calls: dict[int, tuple[int, dict[str, str]]] = field(default_factory=dict)
    call_times: dict[int, float] = field(default_factory=dict)
    samples: list[tuple[int, str | None, dict[str, str]]] = field(default_factory=list)
    sample_times: dict[int, float] = field(default_factory=dict)
    tables: list[tuple[int, str]] = field(default_factory=list)
    table_times: dict[int, float] = field(default_factory=dict)
    syncs: dict[str, int] = field(default_factory=lambda: {"S": 0, "P": 0, "D": 0, "E": 0})


def parse(lines: list[str]) -> Logged:
    logged = Logged()
    for line in lines:
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "L":
            seq, step, values = rest.split(" ", 2)
            logged.calls[int(seq)] = (int(step), json.loads(values))
        elif kind == "T":
            seq, at = rest.split()
            logged.call_times[int(seq)] = float(at)
        elif kind == "Y":
            number, step, node, values = rest.split(" ", 3)
            assert int(number) == len(logged.samples)
            logged.samples.append((int(step), None if node == "-" else node, json.loads(values)))
        elif kind == "TY":
            number, at = rest.split()
            logged.sample_times[int(number)] = float(at)
        elif kind == "B":
            number, step, data = rest.split(" ", 2)
            assert int(number) == len(logged.tables)
            logged.tables.append((int(step), data))
        elif kind == "TB":
            number, at = rest.split()
            logged.table_times[int(number)] = float(at)
        elif kind in logged.syncs:
            logged.syncs[kind] += 1
    return logged


def _stored_calls(store: Store, run_id: int) -> dict[int, tuple[int, int, dict[str, str]]]:
    """seq -> (step, timestamp µs, {key: value bits}) of a run's stored log() calls."""
    calls: dict[int, tuple[int, int, dict[str, str]]] = {}
    for key, data in store.points(run_id).items():
        for seq, step, micros, value in zip(data.seqs, data.steps, data.micros, data.values):
            entry = calls.setdefault(seq, (step, micros, {}))
            assert entry[:2] == (step, micros), f"seq {seq}: the keys of one call disagree on step/time"
            entry[2][key] = _bits(value)
    return calls


def _stored_samples(store: Store, run_id: int) -> list[tuple[int, str | None, dict[str, str], float]]:
    """The run's system samples in log order: (step, node, {key: bits}, time); a sample's rows share its time."""
    samples: dict[float, tuple[int, str | None, dict[str, str], float]] = {}
    for row in store.system_rows(run_id, -1, 2**62):
        samples.setdefault(row.timestamp, (row.step, row.node, {}, row.timestamp))[2][row.key] = _bits(row.value)
    return list(samples.values())


def _first_unstored_age(times: dict[int, float], stored: int, killed_at: float) -> float:
    """How long before the kill the oldest item that is not in the store was logged (0 when none was lost)."""
    lost = [at for number, at in times.items() if number >= stored]
    return max(0.0, killed_at - min(lost)) if lost else 0.0


def check_killed(child: Child, store: Store, reader: Reader) -> tuple[dict, list[str]]:
    """Everything the acceptance item asks of one killed run, in the store; returns (figures, problems)."""
    problems: list[str] = []
    where = f"{child.name} ({child.mode}, {child.fault})"
    if child.returncode != -signal.SIGKILL or child.killed_at is None:
        said = "ready" if child.ready.is_set() else "never ready"
        return {}, [f"{where}: exit {child.returncode} ({said}), not our SIGKILL: {child.stderr[-2000:]}"]
    logged = parse(child.lines)
    row = store.run(child.name)
    if row is None:
        return {}, [f"{where}: no run row"]
    calls = _stored_calls(store, row.id)
    stored = len(calls)
    if sorted(calls) != list(range(row.next_seq)):
        problems.append(f"{where}: stored seqs are not 0..{row.next_seq - 1}: {sorted(calls)[:5]}...")
    for seq, (step, micros, values) in sorted(calls.items()):
        if logged.calls.get(seq) != (step, values):
            problems.append(f"{where}: seq {seq} stored as {(step, values)}, logged as {logged.calls.get(seq)}")
            break
        if seq in logged.call_times and micros > logged.call_times[seq] * 1e6 + 1:
            problems.append(f"{where}: seq {seq} stored with a time after log() returned")
            break
    samples = _stored_samples(store, row.id)
    if [s[:3] for s in samples] != logged.samples[: len(samples)]:
        problems.append(f"{where}: stored system samples are not a prefix of the logged ones")
    tables = [(table.step, table.data) for table in store.table_rows(row.id, -1, 2**62)]
    if tables != logged.tables[: len(tables)]:
        problems.append(f"{where}: stored tables are not a prefix of the logged ones")
    deadline = child.killed_at - FLUSH_EVERY - MARGIN
    for what, times, count in (
        ("calls", logged.call_times, stored),
        ("system samples", logged.sample_times, len(samples)),
        ("tables", logged.table_times, len(tables)),
    ):
        lost = sorted(n for n, at in times.items() if at < deadline and n >= count)
        if lost:
            ages = [round(child.killed_at - times[n], 3) for n in lost[:3]]
            problems.append(f"{where}: {len(lost)} {what} logged {ages}... s before the kill are not stored")
    status = reader.run(PROJECT, child.name)["status"]
    if status != "crashed":
        problems.append(f"{where}: status {status!r}, expected 'crashed'")
    last_stored = logged.call_times.get(stored - 1)
    figures = {
        "run": child.name,
        "mode": child.mode,
        "fault": child.fault,
        "trigger_missed": child.trigger_missed,
        "calls_logged": len(logged.call_times),
        "calls_stored": stored,
        "samples_logged": len(logged.samples),
        "samples_stored": len(samples),
        "tables_logged": len(logged.tables),
        "tables_stored": len(tables),
        # time between the last stored call and the kill (None: nothing stored yet)
        "last_stored_to_kill_s": None if last_stored is None else round(child.killed_at - last_stored, 4),
        # how long before the kill the oldest lost call was logged: what the flush interval bounds
        "oldest_lost_age_s": round(_first_unstored_age(logged.call_times, stored, child.killed_at), 4),
        "syncs": dict(logged.syncs),
    }
    return figures, problems


def _inject(hub: HubEmulator, fault: str, wave: int) -> None:
    if fault == "503s":
        hub.fail_ratio(0.3, seed=wave, endpoint="write")
    elif fault == "lost answers":  # applied, then the connection closes without an answer
        hub.drop_connection(before_apply=False, n=3, endpoint="commit")
    elif fault == "slow answers":  # applied at once, answered 0.6 s later
        hub.slow(0.6, endpoint="commit")


def _cli_sync(hub: HubEmulator, store_dir: Path, hf_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **hub.env(hf_home=hf_home)}
    command = [sys.executable, "-m", "trackio_callback", "--dir", str(store_dir), "sync", "--project", PROJECT]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def _dataset_rows(files: dict[str, bytes], kind: str) -> list[dict]:
    rows = []
    for path, content in sorted(files.items()):
        if path.startswith(f"{kind}/") and path.endswith(".parquet"):
            table = pq.read_table(io.BytesIO(content))
            if "timestamp" in table.column_names:
                index = table.column_names.index("timestamp")
                table = table.set_column(index, "timestamp", table["timestamp"].cast(pa.int64()))
            for row in table.to_pylist():
                rows.append({**row, "_path": path})
    return rows


def _store_rows(store: Store) -> dict[str, list[tuple]]:
    """What the dataset must hold, from the store: one tuple per row, value bits for floats."""
    expected: dict[str, list[tuple]] = {"metrics": [], "system": [], "tables": [], "alerts": []}
    for run in store.runs():
        for key, data in store.points(run.id).items():
            expected["metrics"] += [
                (run.uid, seq, key, step, micros, _bits(value))
                for seq, step, micros, value in zip(data.seqs, data.steps, data.micros, data.values)
            ]
        expected["system"] += [
            (run.uid, v.seq, v.key, v.step, v.node, round(v.timestamp * 1e6), _bits(v.value))
            for v in store.system_rows(run.id, -1, 2**62)
        ]
        expected["tables"] += [
            (run.uid, t.seq, t.key, t.step, round(t.timestamp * 1e6), t.data)
            for t in store.table_rows(run.id, -1, 2**62)
        ]
        expected["alerts"] += [(run.uid, a.seq, a.step) for a in store.alert_rows(run.id, -1, 2**62)]
    return {kind: sorted(rows) for kind, rows in expected.items()}


def _as_tuple(kind: str, row: dict) -> tuple:
    """A dataset row in `_store_rows`' shape."""
    head = (row["run_id"], row["seq"])
    if kind == "metrics":
        return (*head, row["key"], row["step"], row["timestamp"], _bits(row["value"]))
    if kind == "system":
        return (*head, row["key"], row["step"], row["node"], row["timestamp"], _bits(row["value"]))
    if kind == "tables":
        return (*head, row["key"], row["step"], row["timestamp"], row["data"])
    return (*head, row["step"])


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """Kill 50 runs, check each in the store, then sync once and twice; returns what the tests assert on."""
    began = time.monotonic()
    tmp = tmp_path_factory.mktemp("crash")
    store_dir, hf_home = tmp / "store", tmp / "hf"
    db_path = store_dir / f"{PROJECT}.db"
    rng = random.Random(SEED)
    result: dict = {"problems": [], "runs": [], "uids": {}}
    with HubEmulator() as hub:
        env = {"TRACKIO_DIR": str(store_dir), **hub.env(hf_home=hf_home)}
        for wave, first in enumerate(range(0, RUNS, PARALLEL)):
            fault = FAULTS[wave % len(FAULTS)]
            _inject(hub, fault, wave)
            children = []
            for index in range(first, min(first + PARALLEL, RUNS)):
                mode = MODES[index % len(MODES)]
                delay = {
                    "early": rng.uniform(0.0, 0.12),
                    "random": rng.uniform(0.25, 2.5),
                    "pending": rng.uniform(0.0, 0.05),
                    "sync": rng.uniform(0.0, 0.15),
                }[mode]
                children.append(Child(index, mode, fault, delay, nth=rng.randint(1, 3), env=env))
            for child in children:
                child.join()
            hub.reset_faults()
            store, reader = Store(db_path), Reader(store_dir)  # a killed run's file must open...
            try:
                integrity = store.integrity_check()  # ...intact
                if integrity != "ok":
                    result["problems"].append(f"wave {wave}: integrity_check says {integrity!r}")
                for child in children:
                    figures, problems = check_killed(child, store, reader)
                    result["problems"] += problems
                    if figures:
                        result["runs"].append(figures)
                        result["uids"][child.uid] = child.name
            finally:
                store.close()
                reader.close()

        store = Store(db_path)
        try:
            pending = store.pending_files(DATASET)
        finally:
            store.close()
        files = hub.repo_files(DATASET)
        landed = sum(1 for file in pending if file.path in files)
        result["pending_before_sync"] = {"ranges": len(pending), "runs": len({f.run_uid for f in pending})}
        result["pending_landed_before_sync"] = landed
        result["commits_before_sync"] = hub.commit_count(DATASET)
        result["faulted_requests"] = sum(1 for r in hub.requests() if r.fault)

        lost_before = sum(1 for r in hub.requests("commit") if r.fault == "drop_after")
        hub.drop_connection(before_apply=False, n=1, endpoint="commit")  # the final sync's first answer is lost too
        started = time.monotonic()
        first_sync = _cli_sync(hub, store_dir, hf_home)
        result["sync_s"] = round(time.monotonic() - started, 2)
        result["first_sync"] = (first_sync.returncode, first_sync.stdout + first_sync.stderr[-3000:])
        result["final_sync_lost_answer"] = (
            sum(1 for r in hub.requests("commit") if r.fault == "drop_after") - lost_before
        )
        hub.reset_faults()
        result["files"] = hub.repo_files(DATASET)
        result["commits"] = hub.commit_count(DATASET)
        second_sync = _cli_sync(hub, store_dir, hf_home)
        result["second_sync"] = (second_sync.returncode, second_sync.stdout + second_sync.stderr[-3000:])
        result["commits_after_second_sync"] = hub.commit_count(DATASET)
        result["emulator_errors"] = hub.internal_errors()
    store = Store(db_path)
    try:
        result["expected"] = _store_rows(store)
        result["store_runs"] = {run.uid: run for run in store.runs()}
        state = store.sync_state(DATASET)
        result["pending_after_sync"] = len(store.pending_files(DATASET))
        result["watermarks_behind"] = [  # every watermark is at the run's last seq of its kind
            (run.name, kind)
            for run in store.runs()
            for kind, last in store.last_seqs(run.id).items()
            if last >= 0 and state.get((run.uid, kind), NO_SYNC).synced_seq != last
        ]
    finally:
        store.close()
    result["campaign_s"] = round(time.monotonic() - began, 1)
    yield result
    _report(result)


def _report(result: dict) -> None:
    runs = result["runs"]
    lost_ages = [r["oldest_lost_age_s"] for r in runs]
    windows = [r["last_stored_to_kill_s"] for r in runs if r["last_stored_to_kill_s"] is not None]
    summary = {
        "kills": len(runs),
        "modes": {mode: sum(1 for r in runs if r["mode"] == mode) for mode in MODES},
        "faults": {fault: sum(1 for r in runs if r["fault"] == fault) for fault in FAULTS},
        "flush_every_s": FLUSH_EVERY,
        "margin_s": MARGIN,
        "median_calls_logged_before_kill": statistics.median(r["calls_logged"] for r in runs) if runs else None,
        "median_calls_stored": statistics.median(r["calls_stored"] for r in runs) if runs else None,
        "runs_killed_before_first_flush": sum(1 for r in runs if r["calls_stored"] == 0),
        "sync_triggers_missed": sum(1 for r in runs if r["trigger_missed"]),
        "max_last_stored_to_kill_s": max(windows, default=None),
        "median_last_stored_to_kill_s": statistics.median(windows) if windows else None,
        "max_oldest_lost_age_s": max(lost_ages, default=None),
        "child_syncs": {k: sum(r["syncs"][k] for r in runs) for k in ("S", "P", "D", "E")},
        "faulted_requests_during_kills": result.get("faulted_requests"),
        "pending_before_final_sync": result.get("pending_before_sync"),
        "pending_ranges_already_landed": result.get("pending_landed_before_sync"),
        "pending_after_final_sync": result.get("pending_after_sync"),
        "commits_before_final_sync": result.get("commits_before_sync"),
        "final_sync_s": result.get("sync_s"),
        "dataset_files": len(result.get("files", {})),
        "dataset_commits": result.get("commits"),
        "commits_after_second_sync": result.get("commits_after_second_sync"),
        "duplicates": result.get("duplicates"),
        "campaign_s": result.get("campaign_s"),
        "problems": result["problems"][:20],
        "runs": runs,
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "hardening-crash.json").write_text(json.dumps(summary, indent=1))
    short = {k: v for k, v in summary.items() if k != "runs"}
    print("\nhardening-crash:", json.dumps(short, indent=1))


def test_every_killed_run_opens_intact_and_keeps_all_but_the_last_flush_interval(campaign):
    assert campaign["problems"] == []
    runs = campaign["runs"]
    assert len(runs) == RUNS
    assert sum(r["calls_stored"] for r in runs) > 10 * RUNS  # the runs did log (and flush) for a while
    assert any(r["calls_stored"] == 0 or r["oldest_lost_age_s"] > 0 for r in runs)  # and some kills did lose a tail


def test_a_later_sync_makes_the_dataset_equal_to_the_store_exactly_once(campaign):
    code, output = campaign["first_sync"]
    assert code == 0, output
    assert campaign["final_sync_lost_answer"] == 1  # its first commit landed but the answer was lost: retried
    files = campaign["files"]
    duplicates = 0
    for kind, expected in campaign["expected"].items():
        rows = _dataset_rows(files, kind)
        got = sorted(_as_tuple(kind, row) for row in rows)
        identities = [(row["run_id"], row["seq"], row.get("key")) for row in rows]
        duplicates += len(identities) - len(set(identities))
        assert got == expected, f"{kind}: {len(got)} rows in the dataset, {len(expected)} in the store"
        for row in rows:  # each row is in the file its path names (the path is derived from the seq range)
            match = SHARD.match(row["_path"])
            assert match and match[2] == row["run_id"] and int(match[3]) <= row["seq"] <= int(match[4]), row["_path"]
    campaign["duplicates"] = duplicates
    assert duplicates == 0
    assert len(campaign["expected"]["metrics"]) > 10 * RUNS and campaign["expected"]["system"]
    assert campaign["expected"]["tables"]
    runs = {row["run_id"]: row for row in _dataset_rows(files, "runs")}
    assert sorted(runs) == sorted(campaign["store_runs"]) == sorted(campaign["uids"])
    for uid, run in campaign["store_runs"].items():
        meta = runs[uid]
        assert (meta["run_name"], meta["num_logs"], meta["last_step"]) == (run.name, run.next_seq, run.last_step)
    assert campaign["emulator_errors"] == []


def test_the_killed_commits_left_pending_ranges_that_the_sync_resolved(campaign):
    # kills between a commit's pending mark and its answer: the watermark path the final sync had to resolve
    assert campaign["pending_before_sync"]["ranges"] >= 1
    assert campaign["pending_landed_before_sync"] >= 1  # some of those commits had landed: re-sent, not doubled
    assert campaign["pending_after_sync"] == 0 and campaign["watermarks_behind"] == []


def test_a_second_sync_makes_no_commit(campaign):
    code, output = campaign["second_sync"]
    assert code == 0 and "up to date" in output, output
    assert campaign["commits_after_second_sync"] == campaign["commits"]


def test_the_dataset_says_the_killed_runs_crashed(campaign):
    statuses = {row["run_name"]: row["status"] for row in _dataset_rows(campaign["files"], "runs")}
    assert len(statuses) == RUNS
    assert set(statuses.values()) == {"crashed"}, statuses
