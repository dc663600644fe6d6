"""Resume from the Hub: ``init(resume="allow")`` to the first ``log()`` on a fresh disk, for a run of 1M values.

The situation: a job logged run ``job-1`` to a Hub dataset, syncing every few minutes, and was killed
(preempted); a new job on a fresh machine (empty storage directory, empty Hugging Face cache) continues it. Measured:
the wall time from just before ``init(name="job-1", resume="allow", dataset_id=...)`` to just after the first
``log()`` returned, the bytes the client fetched from the Hub (response bodies) in that window and its requests.
Target: ≤ 5 s against the in-process Hub emulator (``tests/hub_emulator.py``).

Seed (once, not timed): a project of ``--small-runs`` (20) finished runs of ``--small-calls`` (200) calls, synced in
one commit, then ``job-1``: ``--calls`` (100,000) ``log()`` calls of 10 float32 metrics (1,000,000 values, the
curves of ``bench_sync.py``), synced in ``--shards`` (10) periodic syncs while it runs; then the job is gone (the
runs file still says "running", as after a SIGKILL). Each repetition restores that dataset exactly and runs every
variant in a fresh child process (fresh storage directory, fresh ``HF_HOME``, the timer starts after ``import``):

* ``ours``: ``trackio_callback.init(..., resume="allow", dataset_id=...)`` (reads the listing and the project's runs
  files only), then ``run.log(...)``;
* ``ours-preimported``: the same with ``huggingface_hub`` and ``pyarrow`` imported before the timer, as in a
  ``Trainer`` job where transformers/datasets have imported them (informational);
* ``ours-history``: the same with ``pull_history=True`` (all earlier values pulled into the local store);
* ``trackio``: trackio 0.43.0 has no client-side resume from a dataset. The nearest thing it has: a process with
  ``TRACKIO_DATASET_ID`` and ``SPACE_REPO_NAME`` set (how trackio's Space runs) downloads every Parquet file of the
  dataset and imports it on its first storage access (``SQLiteStorage._load_from_dataset_impl``), after which
  ``trackio.init(..., resume="allow")`` finds the run locally. Its dataset holds the same runs and values, as
  trackio's own export (``SQLiteStorage.export_to_parquet``) writes them.

Usage (see benchmarks/README.md)::

    .venv/bin/python benchmarks/bench_resume.py [--repeats 5] [--out .bench/resume.json]

The driver and trackio-callback's children run under the driver's interpreter (trackio_callback, huggingface_hub,
pyarrow, and pytest for the emulator module); trackio's under ``--trackio-python`` (default
``/work/bench-venv/bin/python``, else ``.bench-venv/bin/python``), with ``TRACKIO_CALLBACK_NO_HOOK=1``.
"""

from __future__ import annotations

import os
import sys

if "--child" not in sys.argv:
    # The driver seeds the emulator with huggingface_hub: set what it reads once, at import, before anything does.
    # (A child gets the emulator's variables from the driver.)
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse  # noqa: E402 (after the environment above, on purpose)
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from array import array  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from bench_sync import DROPPED_ENV, KEYS, NUM_KEYS, checksum, default_trackio_python, make_values, rows_of  # noqa: E402
from machine import cpu_model, usable_cores  # noqa: E402

PROJECT = "bench"
RUN = "job-1"
DATASET_ID = "alice/bench-resume"
PEER_DATASET_ID = "alice/bench-resume-trackio"
PEER_SPACE = "alice/bench-resume-space"  # SPACE_REPO_NAME of the trackio child: only its presence matters
TOKEN = "hf_test_token"  # the emulator's default token, user "alice"
TARGET_S = 5.0
REPO_ROOT = Path(__file__).resolve().parent.parent
MARK = "@@bench_resume "  # prefix of the child's protocol lines on stdout (trackio prints there too)
CHILD_TIMEOUT_S = 600.0
OURS_VARIANTS = ("ours", "ours-preimported", "ours-history")
VARIANT_TEXT = {
    "ours": 'trackio-callback: `init(resume="allow", dataset_id=...)` → first `log()`',
    "ours-preimported": "same, huggingface_hub + pyarrow imported before the timer (informational)",
    "ours-history": "same with `pull_history=True` (every earlier value pulled into the local store)",
    "trackio": 'trackio 0.43: dataset restore (`TRACKIO_DATASET_ID` + `SPACE_REPO_NAME`) + `init(resume="allow")` '
    "→ first `log()`",
}


# -- children: the protocol -----------------------------------------------------------------------------------------


def _say(event: str, **data: Any) -> None:
    """One protocol line to the driver; then, except for ``done``, wait for its go-ahead on stdin."""
    print(MARK + json.dumps({"event": event, **data}), flush=True)
    if event != "done" and sys.stdin.readline() == "":
        raise SystemExit("the driver went away")


def _load_values(path: str) -> array:
    values = array("f")
    values.frombytes(Path(path).read_bytes())
    return values


def _first_log_row(values: array, calls: int) -> dict[str, float]:
    """The values of the resumed job's first call: the curves' next point (the workload has calls + 1 of them)."""
    return rows_of(values, calls, 1)[0]


# -- trackio-callback's child (the driver's interpreter; env from HubEmulator.env, TRACKIO_DIR set) ---------------


def child_ours(args: argparse.Namespace) -> None:
    import trackio_callback as tc

    if args.variant == "ours-preimported":
        import huggingface_hub  # noqa: F401 (what a Trainer job has imported before it calls init)
        import pyarrow.parquet  # noqa: F401
    values = _load_values(args.values_file)
    row = _first_log_row(values, args.calls)
    directory = Path(args.dir)
    preloaded = sorted(m for m in ("huggingface_hub", "pyarrow") if m in sys.modules)
    _say("ready")
    start = time.perf_counter()
    run = tc.init(
        project=PROJECT,
        name=RUN,
        resume="allow",
        dataset_id=args.dataset_id,
        dir=directory,
        auto_log_cpu=False,
        auto_log_gpu=False,
        pull_history=args.variant == "ours-history",
    )
    step_before = run.step
    run.log(row)
    wall = time.perf_counter() - start
    _say(
        "measured",
        wall_s=wall,
        uid=run.uid,
        resumed=bool(run.resumed),
        step_before_log=step_before,
        preloaded=preloaded,
        loaded_in_window=sorted(m for m in ("huggingface_hub", "pyarrow") if m in sys.modules and m not in preloaded),
    )
    start = time.perf_counter()
    run.finish()
    finish_s = time.perf_counter() - start
    with tc.Reader(directory) as reader:
        runs = [r["name"] for r in reader.runs(PROJECT)]
        points, sums, last_steps = {}, {}, {}
        for key in KEYS:
            series = reader.series(PROJECT, RUN, key)
            points[key] = len(series)
            last_steps[key] = series.steps[-1] if series.steps else None
            sums[key] = checksum([v for s, v in zip(series.steps, series.values) if s < args.calls])
    _say(
        "done",
        finish_s=finish_s,
        local_runs=runs,
        points=points,
        earlier_sums=sums,
        last_steps=last_steps,
        store_bytes=sum(p.stat().st_size for p in directory.iterdir() if p.is_file()),
    )


# -- trackio's children (--trackio-python; TRACKIO_CALLBACK_NO_HOOK=1, TRACKIO_DIR set) -------------------------------


def _real_trackio():
    import trackio

    if "trackio_callback" in (getattr(trackio, "__file__", None) or "") or not hasattr(trackio, "__version__"):
        raise SystemExit(f"`import trackio` did not load the real trackio: {trackio!r}")
    return trackio


def child_trackio_seed(args: argparse.Namespace) -> None:
    """Log the seed project with trackio (offline), then write the Parquet files its dataset scheduler uploads."""
    trackio = _real_trackio()
    from trackio.sqlite_storage import SQLiteStorage
    from trackio.utils import TRACKIO_DIR

    values = _load_values(args.values_file)
    ids = {}
    quiet = {"auto_log_cpu": False, "auto_log_gpu": False}
    for i in range(args.small_runs):
        run = trackio.init(project=PROJECT, name=f"sweep-{i:02d}", config={"lr": 1e-4 * (i + 1), "seed": i}, **quiet)
        for step, row in enumerate(rows_of(values, 0, args.small_calls)):
            trackio.log(row, step=step)
        trackio.finish()
        ids[run.name] = run.id
    run = trackio.init(project=PROJECT, name=RUN, config={"lr": 3e-4, "model": "tiny-gpt2", "batch_size": 8}, **quiet)
    for step, row in enumerate(rows_of(values, 0, args.calls)):
        trackio.log(row, step=step)
    trackio.finish()
    ids[RUN] = run.id
    # What the dataset CommitScheduler runs before each commit (`on_before_commit`); the flag is set once the
    # process has pulled its dataset at start-up, and the export does nothing without it.
    SQLiteStorage._dataset_import_attempted = True
    SQLiteStorage.export_to_parquet()
    files = sorted(p.name for p in Path(TRACKIO_DIR).glob("*.parquet"))
    _say("done", ids=ids, files=files, trackio_version=trackio.__version__)


def _time_trackio_restore(storage: Any) -> dict[str, float]:
    """Wrap the two parts of trackio's dataset restore (its file downloads, its Parquet import into SQLite) with
    timers, to say where its time goes; the calls themselves are unchanged. Returns the dict they add to."""
    import huggingface_hub

    phases = {"download_s": 0.0, "import_s": 0.0}

    def timed(function: Any, phase: str) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                phases[phase] += time.perf_counter() - start

        return wrapper

    # sqlite_storage calls `hf.hf_hub_download` (hf = huggingface_hub) and `SQLiteStorage.import_from_parquet()`
    huggingface_hub.hf_hub_download = timed(huggingface_hub.hf_hub_download, "download_s")
    storage.import_from_parquet = staticmethod(timed(storage.import_from_parquet, "import_s"))
    return phases


def child_trackio_resume(args: argparse.Namespace) -> None:
    trackio = _real_trackio()
    import sqlite3

    from trackio.sqlite_storage import SQLiteStorage

    values = _load_values(args.values_file)
    row = _first_log_row(values, args.calls)
    phases = _time_trackio_restore(SQLiteStorage)
    _say("ready")
    start = time.perf_counter()
    run = trackio.init(project=PROJECT, name=RUN, resume="allow", auto_log_cpu=False, auto_log_gpu=False)
    trackio.log(row)
    wall = time.perf_counter() - start
    _say("measured", wall_s=wall, uid=run.id, resumed=run.id == args.expect_uid, phases=phases)
    # The dataset CommitScheduler trackio started re-uploads the restored files from its thread and at exit: stop it,
    # the measurement is over (nothing of the run depends on it).
    scheduler = SQLiteStorage._current_scheduler
    if scheduler is not None and hasattr(scheduler, "stop"):
        scheduler.stop()
    start = time.perf_counter()
    trackio.finish()
    finish_s = time.perf_counter() - start
    db_path = SQLiteStorage.get_project_db_path(PROJECT)
    with sqlite3.connect(db_path) as conn:
        runs = sorted({name for (name,) in conn.execute("SELECT DISTINCT run_name FROM metrics")})
        rows = conn.execute("SELECT step, metrics FROM metrics WHERE run_id = ? ORDER BY step", (run.id,)).fetchall()
    points = {key: 0 for key in KEYS}
    earlier: dict[str, list[float]] = {key: [] for key in KEYS}
    for step, text in rows:
        metrics = json.loads(text)
        for key in KEYS:
            if key in metrics:
                points[key] += 1
                if step < args.calls:
                    earlier[key].append(metrics[key])
    _say(
        "done",
        finish_s=finish_s,
        local_runs=runs,
        points=points,
        earlier_sums={key: checksum(v) for key, v in earlier.items()},
        last_steps={key: rows[-1][0] if rows else None for key in KEYS},
        scheduler=type(scheduler).__name__,
        store_bytes=sum(p.stat().st_size for p in db_path.parent.iterdir() if p.is_file()),
    )


# -- the driver: talking to a child ----------------------------------------------------------------------------------


class Child:
    """A child process speaking the ``MARK`` protocol on stdout/stdin; its stderr goes to a file."""

    def __init__(self, command: list[str], env: dict[str, str], stderr_path: Path):
        self.stderr_path = stderr_path
        self._stderr = stderr_path.open("w")
        self.proc = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, text=True
        )
        self._watchdog = threading.Timer(CHILD_TIMEOUT_S, self.proc.kill)
        self._watchdog.daemon = True
        self._watchdog.start()

    def expect(self, event: str) -> dict[str, Any]:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith(MARK):
                message = json.loads(line[len(MARK) :])
                if message["event"] != event:
                    raise RuntimeError(f"child said {message['event']!r}, expected {event!r}")
                return message
        self.proc.wait()
        raise RuntimeError(f"child exited ({self.proc.returncode}) before {event!r}:\n{self.stderr_tail()}")

    def go(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> int:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        code = self.proc.wait()
        self._watchdog.cancel()
        self._stderr.close()
        return code

    def stderr_tail(self) -> str:
        return self.stderr_path.read_text(errors="replace")[-4000:]


def _command(python: str, child: str, args: argparse.Namespace, **extra: Any) -> list[str]:
    options = {"values_file": args.values_file, "calls": args.calls, "small_runs": args.small_runs}
    options |= {"small_calls": args.small_calls, **extra}
    command = [python, str(Path(__file__).resolve()), "--child", child]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV and not k.startswith("TRACKIO_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    for name in ("HF_HUB_OFFLINE", "HF_HUB_DISABLE_XET", "HF_HOME", "HF_HUB_CACHE"):
        env.pop(name, None)
    return env


def _window(records: list[Any]) -> dict[str, Any]:
    """What a list of emulator request records says about the client: bytes fetched, requests, per endpoint."""
    per_endpoint: dict[str, list[int]] = {}
    for record in records:
        entry = per_endpoint.setdefault(record.endpoint, [0, 0, 0])
        entry[0] += 1
        entry[1] += record.bytes_sent
        entry[2] += record.bytes_received
    return {
        "bytes_fetched": sum(r.bytes_sent for r in records),
        "bytes_sent_to_hub": sum(r.bytes_received for r in records),
        "requests": len(records),
        "endpoints": {name: {"requests": n, "fetched": f, "sent": s} for name, (n, f, s) in per_endpoint.items()},
        # create_repo(exist_ok=True) answered 409 is the client's "it exists", not a failure
        "errors": sorted({f"{r.endpoint} {r.status}" for r in records if _failed(r)}),
    }


def _failed(record: Any) -> bool:
    return record.status is None or (record.status >= 400 and (record.endpoint, record.status) != ("create_repo", 409))


def measure(hub: Any, seed: dict[str, bytes], dataset_id: str, child: Child) -> dict[str, Any]:
    """Restore ``dataset_id`` to ``seed``, then walk ``child`` through ready / measured / done; its numbers."""
    try:
        child.expect("ready")
        restore(hub, dataset_id, seed)
        hub.clear_log()
        child.go()
        measured = child.expect("measured")
        window = _window(hub.requests())
        count = len(hub.requests())
        child.go()
        done = child.expect("done")
    except BaseException:
        child.proc.kill()
        child.close()
        raise
    code = child.close()
    if code != 0:
        raise RuntimeError(f"child exited with {code}:\n{child.stderr_tail()}")
    after = hub.requests()[count:]
    stderr = child.stderr_tail().strip()
    return {
        **{k: v for k, v in measured.items() if k != "event"},
        **window,
        "done": {k: v for k, v in done.items() if k != "event"},
        "after_window": _window(after),
        "unhandled": [f"{r.method} {r.path}" for r in hub.unhandled()],
        **({"stderr": stderr[-2000:]} if stderr else {}),
    }


def restore(hub: Any, dataset_id: str, seed: dict[str, bytes]) -> None:
    """Make ``dataset_id`` hold exactly ``seed`` (a previous child's finish() synced one more call to it)."""
    if hub.has_repo(dataset_id):
        hub.api().delete_repo(dataset_id, repo_type="dataset")
    hub.create_repo(dataset_id, private=True, files={p: d for p, d in seed.items() if p != ".gitattributes"})


# -- the driver: seeding ----------------------------------------------------------------------------------------------


def seed_ours(hub: Any, values: array, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    """The dataset of a killed job: 20 finished runs, then job-1 synced in ``--shards`` periodic syncs, never finished
    there. Returns its files and job-1's uid."""
    import trackio_callback as tc
    from trackio_callback.hub.uploader import Uploader
    from trackio_callback.store import files

    quiet = {"auto_log_cpu": False, "auto_log_gpu": False}
    for i in range(args.small_runs):
        run = tc.init(project=PROJECT, name=f"sweep-{i:02d}", dir=directory, config={"lr": 1e-4 * (i + 1), "seed": i},
                      **quiet)  # fmt: skip
        for step, row in enumerate(rows_of(values, 0, args.small_calls)):
            run.log(row, step=step)
        run.finish()
    uploader = Uploader(files.project_path(directory, PROJECT), PROJECT, DATASET_ID, token=TOKEN, endpoint=hub.url)
    uploader.sync()
    run = tc.init(project=PROJECT, name=RUN, dir=directory, config={"lr": 3e-4, "model": "tiny-gpt2", "batch_size": 8},
                  **quiet)  # fmt: skip
    bounds = [round(args.calls * k / args.shards) for k in range(args.shards + 1)]
    for low, high in zip(bounds, bounds[1:]):
        for j, row in enumerate(rows_of(values, low, high - low)):
            run.log(row, step=low + j)
        run.flush()
        uploader.sync()  # the run's periodic sync, while it runs
    uid = run.uid
    run.finish()  # locally only (the run has no dataset): the dataset keeps the job's last sync, "running"
    seed = hub.repo_files(DATASET_ID)
    return {"uid": uid, "files": seed, "commits": hub.commit_count(DATASET_ID)}


def seed_trackio(hub: Any, args: argparse.Namespace, python: str, workdir: Path) -> dict[str, Any]:
    directory = workdir / "trackio-seed"
    directory.mkdir()
    env = _clean_env() | {
        "TRACKIO_CALLBACK_NO_HOOK": "1",
        "TRACKIO_DIR": str(directory),
        "TRACKIO_STORAGE_MODE": "sqlite",
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(workdir / "trackio-seed-hf"),
    }
    child = Child(_command(python, "trackio", args, variant="seed"), env, workdir / "trackio-seed.stderr")
    try:
        done = child.expect("done")
    finally:
        code = child.close()
    if code != 0:
        raise RuntimeError(f"trackio seed child exited with {code}:\n{child.stderr_tail()}")
    seed = {name: (directory / name).read_bytes() for name in done["files"]}
    hub.create_repo(PEER_DATASET_ID, private=True, files=seed)
    return {"uid": done["ids"][RUN], "files": hub.repo_files(PEER_DATASET_ID), "version": done["trackio_version"]}


# -- the driver: repetitions -------------------------------------------------------------------------------------------


def run_variant(hub: Any, variant: str, seeds: dict[str, Any], args: argparse.Namespace, workdir: Path) -> dict:
    directory = workdir / variant
    directory.mkdir()
    hf_home = workdir / f"{variant}-hf"
    env = _clean_env() | hub.env(TOKEN, hf_home=hf_home) | {"TRACKIO_DIR": str(directory)}
    if variant == "trackio":
        seed = seeds["trackio"]
        env |= {
            "TRACKIO_CALLBACK_NO_HOOK": "1",
            "TRACKIO_STORAGE_MODE": "sqlite",
            "TRACKIO_DATASET_ID": PEER_DATASET_ID,
            "SPACE_REPO_NAME": PEER_SPACE,
        }
        command = _command(args.trackio_python, "trackio", args, variant="resume", expect_uid=seed["uid"])
        dataset_id = PEER_DATASET_ID
    else:
        seed = seeds["ours"]
        env["TRACKIO_SYSTEM_METRICS"] = "off"
        command = _command(sys.executable, "ours", args, variant=variant, dataset_id=DATASET_ID, dir=directory)
        dataset_id = DATASET_ID
    child = Child(command, env, workdir / f"{variant}.stderr")
    result = measure(hub, seed["files"], dataset_id, child)
    result["expected_uid"] = seed["uid"]
    if variant != "trackio":
        result["dataset_after"] = dataset_after(hub, seed["uid"])
    return result


def dataset_after(hub: Any, uid: str) -> dict[str, Any]:
    """What the child's finish() left in our dataset: job-1's runs files and every metrics row of its uid."""
    import io

    import pyarrow.parquet as pq

    from trackio_callback.hub import layout

    files = hub.repo_files(DATASET_ID)
    runs_rows = []
    seqs: Counter[tuple[int, str]] = Counter()
    for path, data in files.items():
        parsed = layout.parse(path)
        if parsed is None or parsed.project != PROJECT:
            continue
        if parsed.kind == "runs":
            runs_rows += [r for r in pq.read_table(io.BytesIO(data)).to_pylist() if r["run_name"] == RUN]
        elif parsed.kind == "metrics" and parsed.run_uid == uid:
            table = pq.read_table(io.BytesIO(data), columns=["seq", "key"])
            seqs.update(zip(table.column("seq").to_pylist(), table.column("key").to_pylist()))
    return {
        "job_runs": [
            {"run_id": r["run_id"], "num_logs": r["num_logs"], "last_step": r["last_step"]} for r in runs_rows
        ],
        "metrics_rows": sum(seqs.values()),
        "duplicated_rows": sum(n - 1 for n in seqs.values() if n > 1),
        "seqs": len({seq for seq, _ in seqs}),
    }


def run_benchmark(args: argparse.Namespace, workroot: Path) -> dict[str, Any]:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.hub_emulator import HubEmulator

    values = make_values(args.calls, 1)  # the job's calls, then the resumed job's first
    args.values_file = workroot / "values.f32"
    args.values_file.write_bytes(values.tobytes())
    expected = {
        "sums": {key: checksum(values[i : args.calls * NUM_KEYS : NUM_KEYS].tolist()) for i, key in enumerate(KEYS)},
        "values": args.calls * NUM_KEYS,
    }
    variants = [*OURS_VARIANTS, *(("trackio",) if args.trackio_python else ())]
    raw: dict[str, Any] = {variant: [] for variant in variants} | {"expected": expected}
    with HubEmulator() as hub:
        _progress("seeding trackio-callback's dataset")
        start = time.perf_counter()
        seeds = {"ours": seed_ours(hub, values, args, workroot / "ours-seed")}
        raw["seed_ours_s"] = time.perf_counter() - start
        if args.trackio_python:
            _progress("seeding trackio's dataset (trackio logs the same values, then its Parquet export)")
            start = time.perf_counter()
            seeds["trackio"] = seed_trackio(hub, args, args.trackio_python, workroot)
            raw["seed_trackio_s"] = time.perf_counter() - start
            raw["trackio_version"] = seeds["trackio"]["version"]
        raw["datasets"] = {
            name: {
                "uid": seed["uid"],
                "job_metrics_bytes": sum(  # trackio's dataset has one file for all runs: None
                    len(d) for p, d in seed["files"].items() if p.startswith(f"metrics/{PROJECT}/{seed['uid']}/")
                )
                if name == "ours"
                else None,
                "files": len(seed["files"]),
                "bytes": sum(len(d) for d in seed["files"].values()),
                "sizes": {p: len(d) for p, d in sorted(seed["files"].items())},
            }
            for name, seed in seeds.items()
        }
        for rep in range(args.repeats):
            order = variants if rep % 2 == 0 else variants[::-1]
            for variant in order:
                _progress(f"repetition {rep + 1}/{args.repeats}: {variant}")
                workdir = Path(tempfile.mkdtemp(prefix=f"rep{rep}-{variant}-", dir=workroot))
                raw[variant].append(run_variant(hub, variant, seeds, args, workdir))
                if not args.keep:
                    shutil.rmtree(workdir, ignore_errors=True)
        raw["emulator_errors"] = hub.internal_errors()
    return raw


def _progress(message: str) -> None:
    print(f"[bench_resume] {message}", file=sys.stderr, flush=True)


# -- summary, table, checks --------------------------------------------------------------------------------------------


def summarize(raw: dict[str, Any]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for variant in (*OURS_VARIANTS, "trackio"):
        reports = raw.get(variant) or []
        if not reports:
            continue
        walls = [r["wall_s"] for r in reports]
        summary[variant] = {
            "wall_s": statistics.median(walls),
            "wall_s_range": [min(walls), max(walls)],
            "bytes_fetched": statistics.median(r["bytes_fetched"] for r in reports),
            "requests": statistics.median(r["requests"] for r in reports),
            "finish_s": statistics.median(r["done"]["finish_s"] for r in reports),
            "store_bytes": statistics.median(r["done"]["store_bytes"] for r in reports),
        }
    if "trackio" in summary:
        for phase in ("download_s", "import_s"):
            summary["trackio"][phase] = statistics.median(r["phases"][phase] for r in raw["trackio"])
        for variant in OURS_VARIANTS:
            summary[variant]["time_ratio"] = summary["trackio"]["wall_s"] / summary[variant]["wall_s"]
            summary[variant]["bytes_ratio"] = summary["trackio"]["bytes_fetched"] / summary[variant]["bytes_fetched"]
    summary["target_met"] = summary["ours"]["wall_s"] <= TARGET_S
    return summary


def _b(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def _times(ratio: float, better: str, worse: str) -> str:
    """``ratio`` = trackio / ours, as words: "4.5× faster", or "1.2× slower" below 1."""
    value, word = (ratio, better) if ratio >= 1 else (1 / ratio, worse)
    return f"{value:.2f}× {word}" if value < 2 else f"{value:.1f}× {word}"


def _endpoints(report: dict[str, Any]) -> str:
    parts = sorted(report["endpoints"].items(), key=lambda item: -item[1]["fetched"])
    return ", ".join(f"{name} ×{e['requests']} ({_b(e['fetched'])})" for name, e in parts)


def render(raw: dict[str, Any], summary: dict[str, Any], machine: dict[str, Any], args: argparse.Namespace) -> str:
    datasets = raw["datasets"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['usable_cores']} usable cores, {machine['platform']}",
        f"Driver: Python {machine['python']}, huggingface_hub {machine['huggingface_hub']}, pyarrow "
        f"{machine['pyarrow']}; trackio {raw.get('trackio_version', 'not run')}",
        f"Dataset: run {RUN!r} = {args.calls:,} log() calls × {NUM_KEYS} float32 metrics = "
        f"{args.calls * NUM_KEYS:,} values in {args.shards} syncs, plus {args.small_runs} runs × "
        f"{args.small_calls} calls; "
        f"trackio-callback's dataset {datasets['ours']['files']} files, {_b(datasets['ours']['bytes'])}"
        + (
            f"; trackio's {datasets['trackio']['files']} files, {_b(datasets['trackio']['bytes'])}"
            if "trackio" in datasets
            else ""
        ),
        f"Medians of {args.repeats} repetitions, each variant in a fresh process on a fresh disk and HF cache; "
        f"load average (1 min) before / after: {raw['load_average_1min'][0]:.2f} / {raw['load_average_1min'][1]:.2f}",
        "",
        "| variant | init → first log() | bytes fetched | requests | vs trackio (time, bytes) |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for variant in (*OURS_VARIANTS, "trackio"):
        s = summary.get(variant)
        if s is None:
            continue
        wall = f"{s['wall_s']:.2f} s ({s['wall_s_range'][0]:.2f}–{s['wall_s_range'][1]:.2f})"
        if variant == "ours":
            wall += f"; target ≤ {TARGET_S:.0f} s: {'met' if summary['target_met'] else 'NOT met'}"
        ratio = (
            f"{_times(s['time_ratio'], 'faster', 'slower')}, {_times(s['bytes_ratio'], 'fewer', 'more')} bytes"
            if "time_ratio" in s
            else ("—" if variant == "trackio" else "trackio not run")
        )
        lines.append(f"| {VARIANT_TEXT[variant]} | {wall} | {_b(s['bytes_fetched'])} | {s['requests']:.0f} | {ratio} |")
    lines.append("")
    for variant in (*OURS_VARIANTS, "trackio"):
        reports = raw.get(variant) or []
        if reports:
            lines.append(f"requests of {variant} (repetition 1): {_endpoints(reports[0])}")
    if "trackio" in summary:
        t = summary["trackio"]
        lines.append(
            f"where trackio's time goes: its hf_hub_download calls {t['download_s']:.2f} s, "
            f"import_from_parquet (Parquet → SQLite) {t['import_s']:.2f} s, the rest of init() and log() "
            f"{t['wall_s'] - t['download_s'] - t['import_s']:.2f} s"
        )
    lines.append(
        f"pull_history=True adds {summary['ours-history']['wall_s'] - summary['ours']['wall_s']:.2f} s "
        f"and {_b(summary['ours-history']['bytes_fetched'] - summary['ours']['bytes_fetched'])} "
        f"(job-1's metrics shards: {_b(raw['datasets']['ours']['job_metrics_bytes'])} in the dataset)"
    )
    lines.append(
        "then (not timed): finish() "
        + ", ".join(f"{v} {summary[v]['finish_s']:.2f} s" for v in (*OURS_VARIANTS, "trackio") if v in summary)
        + "; local store after it: "
        + ", ".join(f"{v} {_b(summary[v]['store_bytes'])}" for v in (*OURS_VARIANTS, "trackio") if v in summary)
    )
    return "\n".join(lines)


def check_lines(raw: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Correctness checks, each over every repetition of a variant; a line starts with ``ok`` or ``PROBLEM``."""
    expected = raw["expected"]
    lines: list[str] = []
    new_calls = args.calls + 1

    def check(variant: str, text: str, results: list[bool]) -> None:
        failed = [str(i + 1) for i, ok in enumerate(results) if not ok]
        where = (
            f"{variant}, all {len(results)} repetitions" if not failed else f"{variant}, repetition {', '.join(failed)}"
        )
        lines.append(("ok      " if not failed else "PROBLEM ") + f"{where}: {text}")

    for variant in (*OURS_VARIANTS, "trackio"):
        reports = raw.get(variant) or []
        if not reports:
            continue
        done = [r["done"] for r in reports]
        check(variant, "continued the seeded run (same uid)", [r["uid"] == r["expected_uid"] for r in reports])
        if variant != "trackio":
            check(
                variant,
                f"run.resumed and run.step == {args.calls:,} after init()",
                [r["resumed"] and r["step_before_log"] == args.calls for r in reports],
            )
        check(
            variant,
            f"the first log() landed at step {args.calls:,}",
            [all(step == args.calls for step in d["last_steps"].values()) for d in done],
        )
        if variant in ("ours-history", "trackio"):
            check(
                variant,
                f"the local store holds all {expected['values']:,} earlier values, equal to the logged ones",
                [
                    all(d["points"][k] == new_calls for k in KEYS) and d["earlier_sums"] == expected["sums"]
                    for d in done
                ],
            )
        else:
            check(
                variant,
                "nothing was pulled: the local store holds the run with only its new call",
                [all(d["points"][k] == 1 for k in KEYS) and d["local_runs"] == [RUN] for d in done],
            )
        if variant != "trackio":
            check(
                variant,
                f"after finish() the dataset holds one {RUN!r} (seeded uid) with {new_calls:,} calls, every seq once",
                [
                    [(j["run_id"], j["num_logs"]) for j in r["dataset_after"]["job_runs"]]
                    == [(r["expected_uid"], new_calls)]
                    and r["dataset_after"]["metrics_rows"] == new_calls * NUM_KEYS
                    and r["dataset_after"]["duplicated_rows"] == 0
                    for r in reports
                ],
            )
        check(
            variant,
            "no failed or unhandled request in the window",
            [not r["unhandled"] and not r["errors"] for r in reports],
        )
    lines.append(("ok      " if not raw.get("emulator_errors") else "PROBLEM ") + "no emulator error")
    return lines


# -- main --------------------------------------------------------------------------------------------------------------


def machine_info(trackio_python: str | None) -> dict[str, Any]:
    import huggingface_hub
    import pyarrow

    return {
        "cpu": cpu_model(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "trackio_python": trackio_python,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="repetitions of every variant (medians reported)")
    parser.add_argument("--calls", type=int, default=100_000, help="log() calls of job-1, 10 metrics each")
    parser.add_argument("--shards", type=int, default=10, help="periodic syncs job-1 made before it was killed")
    parser.add_argument("--small-runs", type=int, default=20, help="other runs in the project")
    parser.add_argument("--small-calls", type=int, default=200, help="log() calls of each other run")
    parser.add_argument("--out", default=".bench/resume.json", help="every raw number, the summary and the machine")
    parser.add_argument("--trackio-python", default=None, help="interpreter with trackio 0.43.0 (the peer)")
    parser.add_argument("--no-trackio", action="store_true", help="skip the trackio peer")
    parser.add_argument("--workdir", default=None, help="where the temporary directories go")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    # trackio's children are all "--child trackio" (with --variant seed|resume): bench_sync, imported above, then
    # leaves their environment alone, as it does for its own trackio child.
    parser.add_argument("--child", choices=["ours", "trackio"], help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--values-file", help=argparse.SUPPRESS)
    parser.add_argument("--dataset-id", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--expect-uid", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        if args.child == "ours":
            child_ours(args)
        else:
            (child_trackio_seed if args.variant == "seed" else child_trackio_resume)(args)
        return 0
    if args.calls < args.shards or args.shards < 1 or args.repeats < 1:
        raise SystemExit("--calls must be ≥ --shards ≥ 1 and --repeats ≥ 1")
    args.trackio_python = None if args.no_trackio else (args.trackio_python or default_trackio_python())
    if not args.no_trackio and args.trackio_python is None:
        raise SystemExit("no interpreter with trackio 0.43.0: pass --trackio-python, or --no-trackio")
    machine = machine_info(args.trackio_python)
    load_before = os.getloadavg()[0]  # other processes on the machine disturb the timings: say how busy it was
    started = time.perf_counter()
    workroot = Path(tempfile.mkdtemp(prefix="bench-resume-", dir=args.workdir))
    try:
        raw = run_benchmark(args, workroot)
    finally:
        if args.keep:
            _progress(f"kept {workroot}")
        else:
            shutil.rmtree(workroot, ignore_errors=True)
    raw["load_average_1min"] = [load_before, os.getloadavg()[0]]
    summary = summarize(raw)
    checks = check_lines(raw, args)
    print(render(raw, summary, machine, args))
    print()
    print("\n".join(checks))
    elapsed = time.perf_counter() - started
    print(f"\n(total {elapsed:.0f} s; raw numbers in {args.out})")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    options = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"}
    document = {"machine": machine, "args": options, "summary": summary, "checks": checks, "raw": raw}
    out.write_text(json.dumps(document | {"total_s": elapsed}, indent=2, sort_keys=True) + "\n")
    return 1 if any(line.startswith("PROBLEM") for line in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
