"""Hardening under load: many writers, one project, live readers; and a "24-hour" run of 10M values.

1. Load: 16 processes log 50,000 calls each (keys ``a``, ``b = 2a``, ``c = -a`` at ``step = a``) into ONE
   project at the same time, while the dashboard server (`show`, with the MCP server) is read the whole
   time: ``/api/runs``, ``/api/series`` (several runs and keys, full and downsampled), ``/api/poll`` with
   cursors, and the MCP tools ``get_metric_values`` / ``get_run_summary`` over the official client.
   Every answer a reader gets must be a consistent snapshot: for one run, the three keys have exactly the
   same steps and ``b == 2a``, ``c == -a`` (no half-written step), and the polls continue the first series
   without gaps or duplicates up to the last step.
2. Memory: a child logs 1,000,000 calls x 10 keys (10M values) and samples its RSS every 100k calls: it
   stays flat. Then the uploader syncs a 1M-value store and the 10M-value store to the Hub emulator, each
   in its own process: its peak memory growth must not scale with the backlog (it holds one commit of
   about `MAX_ROWS_PER_COMMIT` rows at a time, so the 10M sync needs what the 1M sync needs).
   The dataset must equal the store (rows, seq coverage, extremes and last value per key).

No wall-clock speed is asserted (the machine is shared); the figures go to
``$TRACKIO_TEST_ARTIFACTS/hardening-load.json`` (default ``.artifacts/``).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

import anyio
import httpx2 as httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import ROOT, run_python, spawn_python
from trackio_callback import Reader
from trackio_callback.server.api import MAX_POINTS_LIMIT
from trackio_callback.server.show import show
from trackio_callback.store import Store

pytestmark = pytest.mark.slow

ARTIFACTS = Path(os.environ.get("TRACKIO_TEST_ARTIFACTS", ROOT / ".artifacts"))
MIB = 2**20


def record(section: str, figures: dict) -> None:
    """Merge ``figures`` under ``section`` into the artifacts' ``hardening-load.json``, and print them."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "hardening-load.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[section] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"\n{section}: {json.dumps(figures, indent=1, sort_keys=True)}")


# -- 1. load ----------------------------------------------------------------------------------------

PROJECT = "load"
WRITERS = 16
CALLS = 50_000
KEYS = ("a", "b", "c")
FACTORS = {"a": 1, "b": 2, "c": -1}

LOAD_WRITER = """
import os, time, trackio_callback as t
run = t.init(project="{project}", name="{name}", flush_every=0.1)
print("ready", flush=True)
while not os.path.exists({go!r}):  # all sixteen start logging together
    time.sleep(0.005)
for i in range({calls}):
    run.log({{"a": i, "b": 2 * i, "c": -i}}, step=i)
    if i % 250 == 249:
        time.sleep(0.1)  # stretch each run over seconds, so that readers see it being written
run.finish()
print("done", flush=True)
"""


class Observations:
    """What the reader threads saw: request counts, errors, violations of consistency, lag."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.http_errors: list[str] = []
        self.mcp_errors: list[str] = []
        self.violations: list[str] = []
        self.max_lag_s = 0.0
        self.increments = 0  # poll answers that brought new points
        self.mid_write_snapshots = 0  # full /api/series snapshots of a run taken while it was being written
        self.cursors: dict[str, int] = {}  # newest cursor per run seen in /api/runs (for the MCP thread)

    def violation(self, message: str) -> None:
        with self.lock:
            if len(self.violations) < 50:
                self.violations.append(message)

    def count(self, what: str) -> None:
        with self.lock:
            self.requests[what] += 1


def check_points(obs: Observations, where: str, columns: dict[str, dict], expected_steps: list[int] | None) -> bool:
    """One run's columns of a, b, c in one answer: the same steps, b == 2a, c == -a (and the steps expected)."""
    if set(columns) != set(KEYS):
        obs.violation(f"{where}: keys {sorted(columns)} instead of {list(KEYS)}")
        return False
    steps = columns["a"]["steps"]
    for key in KEYS:
        if columns[key]["steps"] != steps:
            obs.violation(f"{where}: {key} has steps {_brief(columns[key]['steps'])} but a has {_brief(steps)}")
            return False
        wanted = [float(FACTORS[key] * s) for s in steps]
        if columns[key]["values"] != wanted:
            obs.violation(f"{where}: {key} values {_brief(columns[key]['values'])} != {_brief(wanted)}")
            return False
    if expected_steps is not None and steps != expected_steps:
        obs.violation(f"{where}: steps {_brief(steps)} instead of {_brief(expected_steps)}")
        return False
    return True


def _brief(items: list) -> str:
    return f"[{len(items)}: {items[:3]}...{items[-3:]}]" if len(items) > 6 else str(items)


def _get(client: httpx.Client, obs: Observations, endpoint: str, params: list[tuple[str, object]]) -> dict | None:
    obs.count(endpoint)
    try:
        response = client.get(f"/api/{endpoint}", params=params)
    except Exception as error:  # a dropped connection, a timeout
        obs.http_errors.append(f"{endpoint}: {type(error).__name__}: {error}")
        return None
    if response.status_code != 200:
        obs.http_errors.append(f"{endpoint} {params}: HTTP {response.status_code}: {response.text[:300]}")
        return None
    return response.json()


def _guarded(obs: Observations, body):
    def run() -> None:
        try:
            body()
        except Exception:
            obs.violation("reader thread crashed:\n" + traceback.format_exc())

    return run


def poll_runs(client: httpx.Client, obs: Observations, stop: threading.Event) -> None:
    """/api/runs: cursors never go back; a run row's last step is its last call's step."""
    while not stop.is_set():
        answer = _get(client, obs, "runs", [("project", PROJECT)])
        for run in answer["runs"] if answer else []:
            name, cursor, logs = run["name"], run["cursor"], run["num_logs"]
            if cursor < logs - 1:  # the cursor is read after the rows: never older
                obs.violation(f"/api/runs {name}: cursor {cursor} older than num_logs {logs}")
            if logs and run["last_step"] != logs - 1:
                obs.violation(f"/api/runs {name}: last_step {run['last_step']} with {logs} calls")
            with obs.lock:
                if cursor < obs.cursors.get(name, -1):
                    obs.violations.append(f"/api/runs {name}: cursor went back to {cursor}")
                obs.cursors[name] = max(cursor, obs.cursors.get(name, -1))
        time.sleep(0.05)


def snapshot_series(client: httpx.Client, obs: Observations, stop: threading.Event, runs: list[str]) -> None:
    """/api/series over two runs at a time: full (undownsampled) and downsampled answers are consistent."""
    rng = random.Random(1)
    full = True
    while not stop.is_set():
        chosen = rng.sample(runs, 2)
        params = [("project", PROJECT), *[("run", r) for r in chosen], *[("key", k) for k in KEYS]]
        if full:
            params.append(("max_points", MAX_POINTS_LIMIT))
        answer = _get(client, obs, "series", params)
        if answer:
            for run in chosen:
                cursor = answer["cursors"][run]
                columns = {s["key"]: s for s in answer["series"] if s["run"] == run}
                if cursor < 0:
                    if columns:
                        obs.violation(f"/api/series {run}: points before any call: {sorted(columns)}")
                    continue
                where = f"/api/series {run} at cursor {cursor} (max_points={'full' if full else 'default'})"
                totals = {k: c["total"] for k, c in columns.items()}
                if totals != {k: cursor + 1 for k in KEYS}:
                    obs.violation(f"{where}: totals {totals}")
                    continue
                expected = list(range(cursor + 1)) if full else None
                if check_points(obs, where, columns, expected) and not full and columns["a"]["steps"][-1] != cursor:
                    obs.violation(f"{where}: the downsampled series lost its last point")
                if full and 0 < cursor < CALLS - 1:
                    with obs.lock:
                        obs.mid_write_snapshots += 1
        full = not full
        time.sleep(0.1)


def follow(
    client: httpx.Client, obs: Observations, stop: threading.Event, runs: list[str], seen: dict[str, dict]
) -> None:
    """A live page: one full /api/series, then /api/poll from its cursors until every run is complete."""
    params = [("project", PROJECT), *[("run", r) for r in runs], *[("key", k) for k in KEYS]]
    answer = None
    while answer is None:
        answer = _get(client, obs, "series", [*params, ("max_points", MAX_POINTS_LIMIT)])
        if answer is None:
            if stop.is_set():
                return
            time.sleep(0.5)
    cursors = {}
    for run in runs:
        cursor = cursors[run] = answer["cursors"][run]
        columns = {s["key"]: s for s in answer["series"] if s["run"] == run}
        seen[run] = {k: {"steps": [], "values": []} for k in KEYS}
        if cursor >= 0 and check_points(obs, f"first /api/series {run}", columns, list(range(cursor + 1))):
            for key in KEYS:
                seen[run][key]["steps"] += columns[key]["steps"]
                seen[run][key]["values"] += columns[key]["values"]
    keys = [("key", k) for k in KEYS]
    while True:
        final = stop.is_set()  # set once every writer exited: this poll must bring the rest
        afters = [pair for run in runs for pair in (("run", run), ("after", cursors[run]))]
        answer = _get(client, obs, "poll", [("project", PROJECT), *afters, *keys, ("max_points", MAX_POINTS_LIMIT)])
        received = time.time()
        for entry in answer["runs"] if answer else []:
            run, cursor, new = entry["run"], entry["cursor"], entry["series"]
            before = cursors[run]
            if cursor < before:
                obs.violation(f"/api/poll {run}: cursor went back from {before} to {cursor}")
                continue
            if cursor == before:
                if new:
                    obs.violation(f"/api/poll {run}: points {sorted(new)} without a new cursor ({cursor})")
                continue
            where = f"/api/poll {run} after {before} up to {cursor}"
            if check_points(obs, where, new, list(range(before + 1, cursor + 1))):
                for key in KEYS:
                    seen[run][key]["steps"] += new[key]["steps"]
                    seen[run][key]["values"] += new[key]["values"]
                lag = received - min(new["a"]["timestamps"])  # the oldest new point waited this long
                with obs.lock:
                    obs.max_lag_s = max(obs.max_lag_s, lag)
                    obs.increments += 1
            cursors[run] = cursor
        if final:
            incomplete = {r: c for r, c in cursors.items() if c != CALLS - 1}
            if incomplete or answer is None:
                obs.violation(f"/api/poll after every writer finished: cursors {incomplete}")
            return
        time.sleep(0.1)


def mcp_tools(url: str, obs: Observations, stop: threading.Event) -> None:
    """The MCP tools over streamable HTTP, one session: summaries and values are consistent snapshots."""
    rng = random.Random(2)

    def check_summary(run: str, summary: dict) -> None:
        metrics = summary["metrics"]
        if not set(KEYS) <= set(metrics):
            obs.violation(f"get_run_summary {run}: metrics {sorted(metrics)}")
            return
        count = metrics["a"]["count"]
        for key in KEYS:
            m, factor = metrics[key], FACTORS[key]
            expected = (count, count - 1, float(factor * (count - 1)))
            if (m["count"], m["last_step"], m["last"]) != expected:
                obs.violation(f"get_run_summary {run}: {key} {m} but a has {count} points")
            if sorted((m["min"], m["max"])) != sorted((0.0, float(factor * (count - 1)))):
                obs.violation(f"get_run_summary {run}: {key} min/max {m['min']}/{m['max']} with {count} points")

    def check_values(run: str, key: str, answer: dict) -> None:
        points = answer["points"]
        steps = [p["step"] for p in points]
        total = answer["total_points"]
        if not points or steps[0] != 0 or steps[-1] != total - 1 or steps != sorted(set(steps)):
            obs.violation(f"get_metric_values {run} {key}: steps {_brief(steps)} of {total}")
        if answer["returned_points"] > 5000 or [p["value"] for p in points] != [float(FACTORS[key] * s) for s in steps]:
            obs.violation(f"get_metric_values {run} {key}: {answer['returned_points']} points, wrong values")

    async def session_loop() -> None:
        async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            while not stop.is_set():
                with obs.lock:
                    started = [r for r, c in obs.cursors.items() if c >= 0]
                if not started:
                    await anyio.sleep(0.1)
                    continue
                run = rng.choice(started)
                key = rng.choice(KEYS)
                calls = [
                    ("get_run_summary", {"project": PROJECT, "run": run}),
                    ("get_metric_values", {"project": PROJECT, "run": run, "metric_name": key, "max_points": 5000}),
                ]
                for name, arguments in calls:
                    obs.count(f"mcp:{name}")
                    result = await session.call_tool(name, arguments)
                    text = result.content[0].text
                    if result.is_error:
                        obs.mcp_errors.append(f"{name} {arguments}: {text[:300]}")
                    elif name == "get_run_summary":
                        check_summary(run, json.loads(text))
                    else:
                        check_values(run, key, json.loads(text))
                await anyio.sleep(0.05)

    try:
        anyio.run(session_loop)
    except Exception:
        obs.mcp_errors.append("MCP session failed:\n" + traceback.format_exc())


def test_sixteen_writers_one_project_while_the_dashboard_and_mcp_read(store_dir, tmp_path):
    assert CALLS <= MAX_POINTS_LIMIT  # one /api/series answer holds a whole run undownsampled
    go = tmp_path / "go"
    names = [f"w{n:02d}" for n in range(WRITERS)]
    writers = [spawn_python(LOAD_WRITER.format(project=PROJECT, name=n, go=str(go), calls=CALLS)) for n in names]
    for writer in writers:
        line = writer.stdout.readline()
        assert line.strip() == "ready", line + writer.stderr.read()

    obs = Observations()
    stop = threading.Event()
    seen: dict[str, dict] = {}
    with show(dir=store_dir, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        clients = []

        def client() -> httpx.Client:
            clients.append(httpx.Client(base_url=dashboard.url.rstrip("/"), timeout=120))
            return clients[-1]

        groups = [names[i::4] for i in range(4)]
        threads = [
            threading.Thread(target=_guarded(obs, lambda: poll_runs(client(), obs, stop))),
            threading.Thread(target=_guarded(obs, lambda: snapshot_series(client(), obs, stop, names))),
            threading.Thread(target=lambda: mcp_tools(dashboard.url + "gradio_api/mcp/", obs, stop)),
            *[threading.Thread(target=_guarded(obs, lambda g=g: follow(client(), obs, stop, g, seen))) for g in groups],
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5)  # readers first: they see the runs before their first call, then throughout
        started = time.monotonic()
        go.touch()
        outputs = []
        for writer in writers:
            code = writer.wait(600)
            out, err = writer.communicate()
            outputs.append((code, out, err))
        write_s = time.monotonic() - started
        stop.set()
        for thread in threads:
            thread.join(300)
        for c in clients:
            c.close()
        alive = [t.name for t in threads if t.is_alive()]

    for code, out, err in outputs:
        assert code == 0 and out.strip() == "done" and err == "", (code, out, err)
    assert not alive, alive
    assert obs.http_errors == [], obs.http_errors[:5]
    assert obs.mcp_errors == [], obs.mcp_errors[:5]
    assert obs.violations == [], "\n".join(obs.violations[:5])

    # Every run complete and exact, in the store and in what each live page put together.
    reader = Reader(store_dir)
    runs = reader.runs(PROJECT)
    assert sorted(r["name"] for r in runs) == names
    assert max(r["created_at"] for r in runs) < min(r["finished_at"] for r in runs)  # all wrote at once
    steps = list(range(CALLS))
    for run in runs:
        assert run["status"] == "finished" and run["num_logs"] == CALLS and run["last_step"] == CALLS - 1
        for key in KEYS:
            series = reader.series(PROJECT, run["name"], key)
            assert series.steps == steps and series.values == [float(FACTORS[key] * s) for s in steps]
            assert seen[run["name"]][key]["steps"] == steps, f"{run['name']} {key}: the polls left gaps"
            assert seen[run["name"]][key]["values"] == series.values
    reader.close()
    store = Store(store_dir / f"{PROJECT}.db", create=False)
    assert store.integrity_check() == "ok"
    store.close()

    # The readers read throughout the write, not only before or after it.
    assert obs.mid_write_snapshots >= 1 and obs.increments >= 2 * WRITERS, (obs.mid_write_snapshots, obs.increments)
    assert all(obs.requests[k] >= 5 for k in ("runs", "series", "poll", "mcp:get_run_summary")), obs.requests
    record(
        "load",
        {
            "writers": WRITERS,
            "calls_per_writer": CALLS,
            "keys": len(KEYS),
            "values_written": WRITERS * CALLS * len(KEYS),
            "write_phase_s": round(write_s, 1),
            "reader_requests": dict(obs.requests),
            "reader_requests_total": sum(obs.requests.values()),
            "poll_increments_with_points": obs.increments,
            "full_series_snapshots_mid_write": obs.mid_write_snapshots,
            "max_lag_s": round(obs.max_lag_s, 3),
            "http_errors": len(obs.http_errors),
            "mcp_errors": len(obs.mcp_errors),
        },
    )


# -- 2. memory --------------------------------------------------------------------------------------

MEM_KEYS = 10
DAY_CALLS = 1_000_000  # x 10 keys: 10M values, a day of logging every 100 ms
HOUR_CALLS = 100_000  # the 1M-value store the uploader's memory is compared with
SAMPLE_EVERY = 100_000
_STATUS = """
def status():
    fields = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
"""
_ROW = "{" + ", ".join(f'"m{j}": rnd()' for j in range(MEM_KEYS)) + "}"

GENERATE = (
    _STATUS
    + f"""
import json, random
import trackio_callback as t

rnd = random.Random(0).random  # noisy values, like real losses: they compress as badly as real ones
hour = t.init(project="hour", name="hour")
for i in range({HOUR_CALLS}):
    hour.log({_ROW}, step=i)
hour.finish()

run = t.init(project="day", name="day")
samples = []
for first in range(0, {DAY_CALLS}, {SAMPLE_EVERY}):
    for i in range(first, first + {SAMPLE_EVERY}):
        run.log({_ROW}, step=i)
    logged_rss, _ = status()  # with the calls the writer has not taken yet
    run.flush()
    rss, hwm = status()
    samples.append({{"values": (first + {SAMPLE_EVERY}) * {MEM_KEYS}, "rss_logged": logged_rss, "rss": rss,
                    "hwm": hwm}})
run.finish()
print(json.dumps({{"samples": samples, "final": status()}}))
"""
)

SYNC = (
    _STATUS
    + """
import gc, json, sys, time
from pathlib import Path
from trackio_callback.hub import uploader as uploader_module
from trackio_callback.hub.uploader import Uploader

path, project, dataset, endpoint, files_per_commit = sys.argv[1:6]
if files_per_commit:
    uploader_module.MAX_FILES_PER_COMMIT = int(files_per_commit)
uploader = Uploader(Path(path), project, dataset, token="hf_test_token", endpoint=endpoint)
gc.collect()
rss_before, hwm_before = status()
try:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    reset = True
except OSError:
    reset = False
start = time.perf_counter()
result = uploader.sync(compact_finished=True)
seconds = time.perf_counter() - start
rss_after, hwm_after = status()
print(json.dumps({"rss_before": rss_before, "hwm_before": hwm_before, "hwm_reset": reset, "rss_after": rss_after,
                  "hwm_after": hwm_after, "peak_growth": hwm_after - rss_before, "sync_s": seconds,
                  "committed": result.committed, "files": len(result.files), "rows": result.rows,
                  "bytes_sent": result.bytes_sent}))
"""
)


def _child(code: str, *args: str, env: dict | None = None) -> dict:
    """Run ``code`` (with ``sys.argv[1:] = args``) in a fresh interpreter; its last stdout line is JSON."""
    done = run_python(f"import sys\nsys.argv[1:] = {list(args)!r}\n{code}", env=env, timeout=600)
    assert done.returncode == 0 and done.stderr == "", done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def dataset_stats(files: dict[str, bytes]) -> tuple[dict[str, dict], int]:
    """Per key of the dataset's metrics files: rows, seq min / max / sum, value min / max, last value."""
    stats: dict[str, dict] = {}
    shards = 0
    for path, content in files.items():
        if not path.startswith("metrics/"):
            continue
        shards += 1
        table = pq.read_table(pa.BufferReader(content), columns=["seq", "key", "value"])
        grouped = table.group_by("key").aggregate(
            [("seq", "count"), ("seq", "min"), ("seq", "max"), ("seq", "sum"), ("value", "min"), ("value", "max")]
        )
        for row in grouped.to_pylist():
            s = stats.setdefault(row["key"], {"rows": 0, "seq_min": None, "seq_max": -1, "seq_sum": 0})
            s["rows"] += row["seq_count"]
            s["seq_sum"] += row["seq_sum"]
            s["seq_min"] = row["seq_min"] if s["seq_min"] is None else min(s["seq_min"], row["seq_min"])
            s["min"] = min(s.get("min", row["value_min"]), row["value_min"])
            s["max"] = max(s.get("max", row["value_max"]), row["value_max"])
            if row["seq_max"] > s["seq_max"]:
                s["seq_max"] = row["seq_max"]
                last = table.filter(pc.and_(pc.equal(table["key"], row["key"]), pc.equal(table["seq"], row["seq_max"])))
                s["last"] = last["value"][0].as_py()
    return stats, shards


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc (Linux)")
def test_ten_million_values_keep_memory_flat_and_the_uploader_bounded(store_dir, hub):
    generated = _child(GENERATE)
    samples = generated["samples"]
    assert [s["values"] for s in samples] == [SAMPLE_EVERY * MEM_KEYS * (n + 1) for n in range(10)]
    first, last = samples[0], samples[-1]  # after 1M and after 10M values
    peak_hwm = max(generated["final"][1], last["hwm"])

    # (label, project, dataset, calls, files per commit: the default MAX_FILES_PER_COMMIT, or fewer)
    cases = [
        ("1M", "hour", "alice/hour", HOUR_CALLS, ""),
        ("10M", "day", "alice/day", DAY_CALLS, ""),
    ]
    syncs = {}
    reader = Reader(store_dir)
    for label, project, dataset, calls, per_commit in cases:
        path = str(store_dir / f"{project}.db")
        synced = syncs[label] = _child(SYNC, path, project, dataset, hub.url, per_commit, env=hub.env())
        assert synced["committed"] and synced["rows"] == calls * MEM_KEYS
        # The dataset equals the store: every key's rows, seqs 0..n-1 once each, extremes and last value.
        stats, synced["shards"] = dataset_stats(hub.repo_files(dataset))
        synced["commits"] = hub.commit_count(dataset) - 1  # less the repo's initial commit
        summary = reader.summary(project, project)
        assert summary["num_logs"] == calls and summary["status"] == "finished"
        assert set(stats) == set(summary["metrics"]) == {f"m{j}" for j in range(MEM_KEYS)}
        for key, s in stats.items():
            m = summary["metrics"][key]
            assert m["count"] == calls
            seqs = (s["rows"], s["seq_min"], s["seq_max"], s["seq_sum"])
            assert seqs == (calls, 0, calls - 1, calls * (calls - 1) // 2), (label, key)
            assert (s["min"], s["max"], s["last"]) == (m["min"], m["max"], m["last"]), (label, key)
    reader.close()
    assert syncs["10M"]["commits"] >= 10 * MEM_KEYS * DAY_CALLS // 10**8  # about a million rows per commit

    one, ten = (syncs[label]["peak_growth"] for label in ("1M", "10M"))
    figures = {
        "rss_mib_after_values": {f"{s['values'] // 10**6}M": round(s["rss"] / MIB, 1) for s in samples},
        "rss_mib_with_backlog": {f"{s['values'] // 10**6}M": round(s["rss_logged"] / MIB, 1) for s in samples},
        "rss_growth_1M_to_10M_mib": round((last["rss"] - first["rss"]) / MIB, 1),
        "peak_rss_vmhwm_mib": round(peak_hwm / MIB, 1),
        "uploader": {
            label: {
                "values": calls * MEM_KEYS,
                "peak_growth_mib": round(syncs[label]["peak_growth"] / MIB, 1),
                "rss_before_mib": round(syncs[label]["rss_before"] / MIB, 1),
                "hwm_after_mib": round(syncs[label]["hwm_after"] / MIB, 1),
                "hwm_reset": syncs[label]["hwm_reset"],
                "sync_s": round(syncs[label]["sync_s"], 2),
                "files": syncs[label]["files"],
                "metrics_shards": syncs[label]["shards"],
                "commits": syncs[label]["commits"],
                "bytes_sent_mib": round(syncs[label]["bytes_sent"] / MIB, 2),
            }
            for label, _, _, calls, _ in cases
        },
        "uploader_peak_ratio_10M_over_1M": round(ten / one, 2),
    }
    record("memory", figures)

    # A day of logging holds no more memory than its first hour (what is logged goes to SQLite).
    assert last["rss"] - first["rss"] < 50 * MIB, figures
    assert peak_hwm < 400 * MIB, figures
    # The uploader holds one commit (about MAX_ROWS_PER_COMMIT rows) in memory, not the backlog: the 10M
    # sync needs what the 1M sync needs.
    assert ten < one + 50 * MIB, figures
