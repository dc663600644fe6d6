"""Hub dataset sync benchmark: trackio-callback's incremental Parquet sync against trackio 0.43.0's Parquet export.

Workload: one run, ``--calls`` (default 100,000) ``log()`` calls of 10 metrics (``train/m0`` .. ``train/m9``) at
steps 0 .. calls-1, i.e. 1,000,000 logged values. The values are float32 numbers (what ``tensor.item()`` of a float32
tensor returns) following training-like curves with noise: loss and perplexity decays, a warm-up + cosine learning
rate, a noisy gradient norm, a rising accuracy, the epoch, throughput and memory. Then ``--warm-calls`` (default
calls / 100) more calls continue the same run. Measured ``--repeats`` times, each package in a fresh child process
with fresh directories (trackio-callback's with a fresh in-process Hub emulator, ``tests/hub_emulator.py``), medians
reported:

1. trackio-callback, cold sync: the first ``Uploader.sync()`` of the whole run (wall time, peak memory growth,
   ``SyncResult.bytes_sent``, request-body bytes the emulator's commit endpoint received, metrics Parquet bytes per
   logged value, and the same file rebuilt with training-cadence timestamps);
2. warm sync: the run resumed (``init(..., resume="allow")``), the extra calls logged, synced again: wall time and
   bytes, which must scale with the new values, not with the history;
3. a third sync with nothing new: its wall time, and that it makes no commit; then (informational) the sync that
   ``finish()`` runs through ``Uploader.stop`` (``compact_finished=True``), which merges the run's shards;
4. trackio 0.43.0, in a child process (``TRACKIO_CALLBACK_NO_HOOK=1``): the same values logged through
   ``trackio.init`` / ``log`` / ``finish``, then ``SQLiteStorage.export_to_parquet()``, the export trackio's dataset
   ``CommitScheduler`` runs before every commit; its metrics Parquet bytes per logged value, and the file after the
   extra calls (the scheduler re-uploads a changed file whole); its table re-stamped like ours.

Usage (see benchmarks/README.md)::

    .venv/bin/python benchmarks/bench_sync.py [--repeats 3] [--calls 100000] [--out .bench/sync.json]

The driver and trackio-callback's child (same interpreter) need trackio_callback, huggingface_hub, pyarrow and pytest
(imported by the emulator module); the trackio child runs under ``--trackio-python``
(default ``/work/bench-venv/bin/python``, else ``.bench-venv/bin/python``), which needs ``trackio==0.43.0``.
"""

from __future__ import annotations

import os
import sys

_CHILD = sys.argv[sys.argv.index("--child") + 1 :][:1] if "--child" in sys.argv else []
if _CHILD != ["trackio"]:  # the trackio-callback child talks to the local Hub emulator; trackio's stays offline
    # huggingface_hub reads these once, at import: set them before anything can import it.
    os.environ["HF_HUB_DISABLE_XET"] = "1"
    os.environ["HF_HUB_OFFLINE"] = "0"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import argparse  # noqa: E402 (after the environment above, on purpose)
import gc  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from array import array  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from machine import cpu_model, usable_cores  # noqa: E402

PROJECT = "bench"
RUN = "bench-run"
DATASET_ID = "alice/trackio-bench"
TOKEN = "hf_test_token"  # the emulator's default token, user "alice"
NUM_KEYS = 10
KEYS = [f"train/m{i}" for i in range(NUM_KEYS)]
SEED = 20250611
# Re-stamped timestamps (informational row): one log() call every CADENCE_S seconds plus an exponential jitter of
# mean JITTER_S, from START_TIME.
CADENCE_S = 0.25
JITTER_S = 0.02
START_TIME = 1.75e9
TRACKIO_BATCH_S = 0.5  # trackio.run.BATCH_SEND_INTERVAL
REPO_ROOT = Path(__file__).resolve().parent.parent
TRACKIO_PYTHONS = (Path("/work/bench-venv/bin/python"), REPO_ROOT / ".bench-venv" / "bin" / "python")
# Inherited variables that would make either tracker do something else than log locally.
DROPPED_ENV = (
    "TRACKIO_DIR",
    "TRACKIO_SPACE_ID",
    "TRACKIO_DATASET_ID",
    "TRACKIO_BUCKET_ID",
    "TRACKIO_SERVER_URL",
    "TRACKIO_PROJECT",
    "SPACE_REPO_NAME",
    "SPACE_ID",
    "HF_TOKEN",
    "HF_ENDPOINT",
)


# -- the workload ------------------------------------------------------------------------------------


def make_values(calls: int, warm_calls: int) -> array:
    """``(calls + warm_calls) * 10`` float32 values, row-major (call, metric): training-like curves with noise.

    The curves are shaped by ``calls`` (the cold part); the warm calls continue them. Stored as ``array("f")`` so
    that every value is a float32, as ``tensor.item()`` of a float32 tensor gives.
    """
    rng = random.Random(SEED)
    total = calls + warm_calls
    warmup = max(1, calls // 50)
    values = array("f", bytes(4 * total * NUM_KEYS))
    i = 0
    for step in range(total):
        progress = step / calls
        loss = 0.35 + 2.2 * math.exp(-progress / 0.15) + rng.gauss(0.0, 0.04) * (0.3 + math.exp(-progress / 0.3))
        if step < warmup:
            lr = 3e-4 * (step + 1) / warmup
        else:
            lr = 3e-5 + (3e-4 - 3e-5) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / (calls - warmup))))
        row = (
            loss,  # train/loss
            0.40 + 2.0 * math.exp(-progress / 0.2) + rng.gauss(0.0, 0.005),  # a smoothed loss
            lr,  # learning rate: warm-up, then cosine decay (no noise)
            (0.4 + 3.0 * math.exp(-progress / 0.05)) * rng.lognormvariate(0.0, 0.25),  # gradient norm
            0.95 - 0.7 * math.exp(-progress / 0.2) + rng.gauss(0.0, 0.01),  # accuracy
            3.0 * progress,  # epoch
            52_000.0 + rng.gauss(0.0, 900.0),  # tokens per second
            math.exp(loss),  # perplexity
            0.05 * math.exp(-progress) + abs(rng.gauss(0.0, 0.004)),  # an auxiliary loss
            17.25 + 0.4 * math.sin(step / 500.0) + rng.gauss(0.0, 0.02),  # memory, GB
        )
        values[i : i + NUM_KEYS] = array("f", row)
        i += NUM_KEYS
    return values


def rows_of(values: array, first: int, count: int) -> list[dict[str, float]]:
    """The ``log()`` dicts of calls ``first .. first+count-1`` (Python floats holding float32 values)."""
    flat = values[first * NUM_KEYS : (first + count) * NUM_KEYS].tolist()
    return [dict(zip(KEYS, flat[j * NUM_KEYS : (j + 1) * NUM_KEYS], strict=True)) for j in range(count)]


def cadence_timestamps(count: int) -> list[float]:
    """Wall-clock seconds of ``count`` log() calls at a training-like cadence (see CADENCE_S, JITTER_S).

    The benchmark logs as fast as it can, so the timestamps the trackers record are nearly constant and compress
    to almost nothing; these re-stamp the exported tables to show what a real run's timestamps cost.
    """
    rng = random.Random(SEED + 1)
    stamps, now = [], START_TIME
    for _ in range(count):
        now += CADENCE_S + rng.expovariate(1.0 / JITTER_S)
        stamps.append(now)
    return stamps


def trackio_batch_stamps(stamps: list[float]) -> list[float]:
    """What trackio 0.43 records for calls made at ``stamps``: its sender thread stamps every record of a flush with
    the flush's time (``Run._stamped_records``), one flush every ``BATCH_SEND_INTERVAL`` (0.5 s) plus wake-up jitter."""
    rng = random.Random(SEED + 2)
    out, flush = [], START_TIME
    for stamp in stamps:
        while flush < stamp:
            flush += TRACKIO_BATCH_S + rng.expovariate(1.0 / 0.001)
        out.append(flush)
    return out


def checksum(values: list[float]) -> float:
    return math.fsum(values)


def _write_json(path: str | Path, data: dict[str, Any]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


# -- trackio child (runs under --trackio-python, with TRACKIO_CALLBACK_NO_HOOK=1 and TRACKIO_DIR set) ---------------


def child_trackio(values_file: str, calls: int, warm_calls: int, out: str) -> None:
    """Log the workload with trackio, run its Parquet export, log the warm calls, export again; write a report."""
    import pyarrow.parquet as pq
    import trackio
    from trackio.sqlite_storage import SQLiteStorage
    from trackio.utils import TRACKIO_DIR

    if "trackio_callback" in (getattr(trackio, "__file__", None) or "") or not hasattr(trackio, "__version__"):
        raise SystemExit(f"`import trackio` did not load the real trackio: {trackio!r}")
    values = array("f")
    with open(values_file, "rb") as handle:
        values.frombytes(handle.read())
    parquet = Path(TRACKIO_DIR) / f"{PROJECT}.parquet"
    report: dict[str, Any] = {"trackio_version": trackio.__version__, "trackio_dir": str(TRACKIO_DIR)}

    def log_and_export(first: int, count: int, resume: str) -> dict[str, Any]:
        rows = rows_of(values, first, count)
        trackio.init(project=PROJECT, name=RUN, resume=resume, auto_log_cpu=False, auto_log_gpu=False)
        start = time.perf_counter()
        for j, row in enumerate(rows):
            trackio.log(row, step=first + j)
        trackio.finish()
        logged = time.perf_counter()
        # What trackio's dataset CommitScheduler runs before each commit (`on_before_commit`), and what
        # `trackio.server.force_sync` runs; the flag is normally set once the dataset was pulled at start-up.
        SQLiteStorage._dataset_import_attempted = True
        SQLiteStorage.export_to_parquet()
        exported = time.perf_counter()
        table = pq.read_table(parquet)
        metadata = pq.read_metadata(parquet)
        return {
            "log_and_finish_s": logged - start,
            "export_s": exported - logged,
            "parquet_bytes": parquet.stat().st_size,
            "parquet_rows": table.num_rows,
            "parquet_columns": table.column_names,
            "row_groups": metadata.num_row_groups,
            "checksum": checksum([v for key in KEYS for v in table.column(key).to_pylist()]),
            # Every Parquet file of the directory: the scheduler uploads those whose mtime changed, whole.
            "files": {p.name: [p.stat().st_size, p.stat().st_mtime_ns] for p in Path(TRACKIO_DIR).glob("*.parquet")},
        }

    report["cold"] = cold = log_and_export(0, calls, "never")
    cold["upload_bytes"] = sum(size for size, _ in cold["files"].values())
    # The same exported table with training-cadence timestamps (trackio stores ISO strings), written by the same
    # trackio function; outside TRACKIO_DIR so that the export below does not see it.
    restamped = Path(out).parent / "trackio-restamped.parquet"
    rows = pq.read_table(parquet).to_pylist()
    stamps = trackio_batch_stamps(cadence_timestamps(calls))
    for row in rows:
        row["timestamp"] = datetime.fromtimestamp(stamps[row["step"]], timezone.utc).isoformat()
    SQLiteStorage._write_parquet_rows(restamped, rows)
    cold["restamped_bytes"] = restamped.stat().st_size
    del rows
    report["warm"] = warm = log_and_export(calls, warm_calls, "allow")
    changed = [name for name, stat in warm["files"].items() if cold["files"].get(name) != stat]
    warm["changed_files"] = changed
    warm["rewritten"] = parquet.name in changed
    warm["upload_bytes"] = sum(warm["files"][name][0] for name in changed)
    _write_json(out, report)


def run_child(package: str, python: str, values: Path, calls: int, warm_calls: int, workdir: Path) -> dict[str, Any]:
    """Run one package's measurements in a fresh process (its own heap, imports and, for ours, emulator)."""
    directory = workdir / package
    directory.mkdir()
    out = workdir / f"{package}-report.json"
    env = {k: v for k, v in os.environ.items() if k not in DROPPED_ENV}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if package == "trackio":
        env.update(
            {
                "TRACKIO_CALLBACK_NO_HOOK": "1",  # the peer must be the real trackio, not trackio-callback's compat
                "TRACKIO_DIR": str(directory),
                "TRACKIO_STORAGE_MODE": "sqlite",  # what "auto" picks on a local disk; made explicit
                "HF_HUB_OFFLINE": "1",
            }
        )
    command = [python, str(Path(__file__).resolve()), "--child", package, "--values-file", str(values)]
    command += ["--calls", str(calls), "--warm-calls", str(warm_calls), "--child-out", str(out)]
    command += ["--dir", str(directory)]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{package} child failed ({done.returncode}):\n{done.stderr[-4000:]}")
    report = json.loads(out.read_text())
    report["child_wall_s"] = time.perf_counter() - start
    if done.stderr.strip():
        report["stderr"] = done.stderr[-2000:]
    return report


# -- trackio-callback child (runs under the driver's interpreter, against an in-process Hub emulator) --------------


def _metrics_files(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in files.items() if path.startswith("metrics/")}


def _read_metrics(blobs: list[bytes]) -> tuple[int, float]:
    import io

    import pyarrow.parquet as pq

    rows, values = 0, []
    for blob in blobs:
        table = pq.read_table(io.BytesIO(blob), columns=["value"])
        rows += table.num_rows
        values += table.column("value").to_pylist()
    return rows, checksum(values)


def _rss_kib() -> tuple[int | None, int | None]:
    """(current, peak) resident set size in KiB, from /proc (None elsewhere)."""
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
    except (OSError, KeyError, ValueError):
        return None, None


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def child_ours(values_file: str, calls: int, warm_calls: int, directory: str, out: str) -> None:
    values = array("f")
    values.frombytes(Path(values_file).read_bytes())
    _write_json(out, measure_ours(values, calls, warm_calls, Path(directory)))


def measure_ours(values: array, calls: int, warm_calls: int, directory: Path) -> dict[str, Any]:
    """Log, then cold / warm / no-op / compacting sync against a fresh Hub emulator; one repetition's numbers."""
    import trackio_callback as tc
    from trackio_callback.hub.uploader import Uploader

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.hub_emulator import HubEmulator

    store_path = directory / f"{PROJECT}.db"
    result: dict[str, Any] = {}

    rows = rows_of(values, 0, calls)
    start = time.perf_counter()
    run = tc.init(project=PROJECT, name=RUN, dir=directory, auto_log_cpu=False)
    for step, row in enumerate(rows):
        run.log(row, step=step)
    run.finish()
    result["log_and_finish_s"] = time.perf_counter() - start
    del rows
    gc.collect()

    with HubEmulator() as hub:
        uploader = Uploader(store_path, PROJECT, DATASET_ID, token=TOKEN, endpoint=hub.url)

        def one_sync(label: str, compact: bool = False) -> dict[str, Any]:
            commits = hub.commit_count(DATASET_ID) if hub.has_repo(DATASET_ID) else 0
            requests, commit_bytes, any_bytes = len(hub.requests()), hub.bytes_received("commit"), hub.bytes_received()
            before = _metrics_files(hub.repo_files(DATASET_ID)) if hub.has_repo(DATASET_ID) else {}
            gc.collect()
            rss_before, _ = _rss_kib()
            peak_reset = _reset_peak_rss()
            start = time.perf_counter()
            synced = uploader.sync(compact_finished=compact)
            wall = time.perf_counter() - start
            _, peak = _rss_kib()
            # The process' peak resident memory during the sync minus its memory before: what the sync (and the
            # emulator thread receiving it) added at most. None where /proc cannot tell.
            growth = peak - rss_before if peak_reset and peak is not None and rss_before is not None else None
            files = hub.repo_files(DATASET_ID)
            sizes = {path: len(files[path]) for path in [*synced.files, "README.md"] if synced.committed}
            new_metrics = {p: d for p, d in _metrics_files(files).items() if before.get(p) != d}
            new_rows, new_sum = _read_metrics(list(new_metrics.values()))
            all_rows, all_sum = _read_metrics(list(_metrics_files(files).values()))
            return {
                "label": label,
                "wall_s": wall,
                "peak_rss_growth_kib": growth,
                "committed": synced.committed,
                "file_bytes": sizes,
                "bytes_sent": synced.bytes_sent,
                "rows": synced.rows,
                "commit_bytes_received": hub.bytes_received("commit") - commit_bytes,
                "all_bytes_received": hub.bytes_received() - any_bytes,
                "requests": len(hub.requests()) - requests,
                "new_commits": hub.commit_count(DATASET_ID) - commits,
                "new_metrics_parquet_bytes": sum(len(d) for d in new_metrics.values()),
                "new_metrics_rows": new_rows,
                "new_metrics_checksum": new_sum,
                "repo_metrics_rows": all_rows,
                "repo_metrics_checksum": all_sum,
                "repo_metrics_files": len(_metrics_files(files)),
                "repo_files": len(files),
            }

        result["cold"] = one_sync("cold")

        rows = rows_of(values, calls, warm_calls)
        start = time.perf_counter()
        run = tc.init(project=PROJECT, name=RUN, resume="allow", dir=directory, auto_log_cpu=False)
        result["warm_resumed"] = bool(run.resumed)
        for j, row in enumerate(rows):
            run.log(row, step=calls + j)
        run.finish()
        result["warm_log_and_finish_s"] = time.perf_counter() - start

        result["warm"] = one_sync("warm")
        result["noop"] = one_sync("noop")
        # What `finish()` (through `Uploader.stop`) and `trackio-callback sync` run: a sync that also merges the
        # finished run's shards into one file per kind.
        result["compact"] = one_sync("compact", compact=True)
        result["unhandled_requests"] = len(hub.unhandled())
        result["emulator_errors"] = hub.internal_errors()
    result["cold"]["restamped_bytes"] = restamped_metrics_bytes(store_path, calls)
    result["store_bytes"] = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    return result


def restamped_metrics_bytes(store_path: Path, calls: int) -> int:
    """Size of the cold metrics file rebuilt with `cadence_timestamps` (same export code, other timestamps)."""
    import pyarrow as pa

    from trackio_callback.hub import export
    from trackio_callback.store import Store

    store = Store(store_path, create=False)
    try:
        run = next(r for r in store.runs() if r.name == RUN)
        table = export.kind_table(store, PROJECT, run, "metrics", -1, calls - 1)
    finally:
        store.close()
    stamps = cadence_timestamps(calls)
    micros = [round(stamps[seq] * 1e6) for seq in table.column("seq").to_pylist()]
    index = table.schema.get_field_index("timestamp")
    table = table.set_column(index, table.schema.field(index), pa.array(micros, type=table.schema.field(index).type))
    return len(export.parquet_bytes(table))


# -- driver -----------------------------------------------------------------------------------------------------------


def default_trackio_python() -> str | None:
    for candidate in TRACKIO_PYTHONS:
        if candidate.exists():
            return str(candidate)
    return None


def machine_info(trackio_python: str) -> dict[str, Any]:
    import huggingface_hub
    import pyarrow

    probe = "import json, pyarrow, trackio; print(json.dumps([trackio.__version__, pyarrow.__version__]))"
    env = {**os.environ, "TRACKIO_CALLBACK_NO_HOOK": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([trackio_python, "-c", probe], env=env, capture_output=True, text=True)
    trackio_version, child_pyarrow = json.loads(done.stdout) if done.returncode == 0 else ("?", "?")
    return {
        "cpu": cpu_model(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "huggingface_hub": huggingface_hub.__version__,
        "trackio": trackio_version,
        "trackio_python": trackio_python,
        "trackio_pyarrow": child_pyarrow,
    }


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    values = make_values(args.calls, args.warm_calls)
    raw: dict[str, Any] = {"trackio": [], "trackio-callback": []}
    base = Path(args.workdir) if args.workdir else None
    for rep in range(args.repeats):
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-sync-{rep}-", dir=base))
        try:
            values_file = workdir / "values.f32"
            values_file.write_bytes(values.tobytes())
            order = ("trackio", "trackio-callback") if rep % 2 == 0 else ("trackio-callback", "trackio")
            for package in order:
                _progress(f"repetition {rep + 1}/{args.repeats}: {package}")
                python = args.trackio_python if package == "trackio" else sys.executable
                raw[package].append(run_child(package, python, values_file, args.calls, args.warm_calls, workdir))
        finally:
            if args.keep:
                _progress(f"kept {workdir}")
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    cold = values[: args.calls * NUM_KEYS].tolist()
    raw["expected"] = {
        "cold_values": len(cold),
        "cold_checksum": checksum(cold),
        "all_values": len(values),
        "all_checksum": checksum(values.tolist()),
    }
    return raw


def _progress(message: str) -> None:
    print(f"[bench_sync] {message}", file=sys.stderr, flush=True)


def _med(reports: list[dict[str, Any]], *path: str) -> float:
    def get(report: dict[str, Any]) -> float:
        for part in path:
            report = report[part]
        return float(report)  # type: ignore[arg-type]

    return statistics.median(get(r) for r in reports)


def _med_or_none(reports: list[dict[str, Any]], step: str) -> float | None:
    growths = [r[step]["peak_rss_growth_kib"] for r in reports]
    return None if None in growths else statistics.median(growths) / 1024


def summarize(raw: dict[str, Any], calls: int, warm_calls: int) -> dict[str, Any]:
    """The medians over repetitions that the table shows."""
    ours, theirs = raw["trackio-callback"], raw["trackio"]
    cold_values, warm_values = calls * NUM_KEYS, warm_calls * NUM_KEYS
    s: dict[str, Any] = {
        "cold_values": cold_values,
        "warm_values": warm_values,
        "ours_bpv": _med(ours, "cold", "new_metrics_parquet_bytes") / cold_values,
        "theirs_bpv": _med(theirs, "cold", "parquet_bytes") / cold_values,
        "ours_cold_s": _med(ours, "cold", "wall_s"),
        "ours_cold_s_range": [min(r["cold"]["wall_s"] for r in ours), max(r["cold"]["wall_s"] for r in ours)],
        "ours_cold_rss_mib": _med_or_none(ours, "cold"),
        "ours_compact_rss_mib": _med_or_none(ours, "compact"),
        "ours_cold_sent": _med(ours, "cold", "bytes_sent"),
        "ours_cold_commit": _med(ours, "cold", "commit_bytes_received"),
        "ours_cold_all": _med(ours, "cold", "all_bytes_received"),
        "ours_warm_s": _med(ours, "warm", "wall_s"),
        "ours_warm_sent": _med(ours, "warm", "bytes_sent"),
        "ours_warm_commit": _med(ours, "warm", "commit_bytes_received"),
        "ours_warm_metrics": _med(ours, "warm", "new_metrics_parquet_bytes"),
        "ours_noop_s": _med(ours, "noop", "wall_s"),
        "ours_noop_commits": max(r["noop"]["new_commits"] for r in ours),
        "ours_noop_requests": max(r["noop"]["requests"] for r in ours),
        "ours_compact_s": _med(ours, "compact", "wall_s"),
        "ours_compact_commit": _med(ours, "compact", "commit_bytes_received"),
        "ours_compact_metrics": _med(ours, "compact", "new_metrics_parquet_bytes"),
        "ours_compact_commits": max(r["compact"]["new_commits"] for r in ours),
        "ours_log_s": _med(ours, "log_and_finish_s"),
        "ours_store_bytes": _med(ours, "store_bytes"),
        "theirs_export_s": _med(theirs, "cold", "export_s"),
        "theirs_warm_export_s": _med(theirs, "warm", "export_s"),
        "theirs_cold_file": _med(theirs, "cold", "upload_bytes"),
        "theirs_warm_file": _med(theirs, "warm", "upload_bytes"),
        "theirs_log_s": _med(theirs, "cold", "log_and_finish_s"),
    }
    s["ours_bpv_restamped"] = _med(ours, "cold", "restamped_bytes") / cold_values
    s["theirs_bpv_restamped"] = _med(theirs, "cold", "restamped_bytes") / cold_values
    s["bpv_ratio_restamped"] = s["ours_bpv_restamped"] / s["theirs_bpv_restamped"]
    s["bpv_ratio"] = s["ours_bpv"] / s["theirs_bpv"]
    s["warm_cold_ratio"] = s["ours_warm_sent"] / s["ours_cold_sent"]
    s["warm_cold_commit_ratio"] = s["ours_warm_commit"] / s["ours_cold_commit"]
    s["theirs_warm_cold_ratio"] = s["theirs_warm_file"] / s["theirs_cold_file"]
    s["new_share"] = warm_values / cold_values
    return s


def _b(n: float) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.2f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n:.0f} B"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} MiB"


def _mark(ok: bool) -> str:
    return "met" if ok else "NOT met"


def render(s: dict[str, Any], machine: dict[str, Any], args: argparse.Namespace) -> str:
    cold, warm = f"{s['cold_values']:,}", f"{s['warm_values']:,}"
    share = s["new_share"]
    rows = [
        (
            f"metrics Parquet bytes per logged value ({cold} values)",
            f"{s['theirs_bpv']:.3f} B",
            f"{s['ours_bpv']:.3f} B",
            f"ours/theirs = {s['bpv_ratio']:.3f} (target ≤ 0.333: {_mark(s['bpv_ratio'] <= 1 / 3)})",
        ),
        (
            f"same, timestamps re-stamped at a training cadence (a call every {CADENCE_S} s + ~{JITTER_S * 1e3:.0f} "
            f"ms jitter; trackio: one stamp per {TRACKIO_BATCH_S} s flush; informational)",
            f"{s['theirs_bpv_restamped']:.3f} B",
            f"{s['ours_bpv_restamped']:.3f} B",
            f"ours/theirs = {s['bpv_ratio_restamped']:.3f} (≤ 0.333: {_mark(s['bpv_ratio_restamped'] <= 1 / 3)})",
        ),
        (
            "cold sync: wall time",
            f"(export alone, no upload: {s['theirs_export_s']:.2f} s)",
            f"{s['ours_cold_s']:.2f} s (range {s['ours_cold_s_range'][0]:.2f}–{s['ours_cold_s_range'][1]:.2f} s)",
            "—",
        ),
        (
            "cold sync: peak memory growth of the syncing process (informational)",
            "—",
            _mib(s["ours_cold_rss_mib"]),
            "—"
            if s["ours_cold_rss_mib"] is None
            else f"{s['ours_cold_rss_mib'] * 2**20 / s['cold_values']:.0f} B per synced value",
        ),
        (
            "cold sync: bytes sent (`SyncResult.bytes_sent`; trackio: its exported Parquet files)",
            _b(s["theirs_cold_file"]),
            _b(s["ours_cold_sent"]),
            f"ours/theirs = {s['ours_cold_sent'] / s['theirs_cold_file']:.3f}",
        ),
        (
            "cold sync: commit request bodies received by the emulator",
            "—",
            _b(s["ours_cold_commit"]),
            f"{s['ours_cold_commit'] / s['ours_cold_sent']:.3f} × bytes_sent (base64 NDJSON)",
        ),
        (
            f"warm sync (+{warm} values): wall time",
            f"(re-export alone: {s['theirs_warm_export_s']:.2f} s)",
            f"{s['ours_warm_s']:.3f} s",
            f"{s['ours_warm_s'] / s['ours_cold_s']:.3f} × cold",
        ),
        (
            "warm sync: bytes sent (trackio: the rewritten files its scheduler re-uploads whole)",
            _b(s["theirs_warm_file"]),
            f"{_b(s['ours_warm_sent'])} (new metrics shard {_b(s['ours_warm_metrics'])} = "
            f"{s['ours_warm_metrics'] / s['warm_values']:.2f} B/value; the rest: card + runs file)",
            f"warm/cold = {s['warm_cold_ratio']:.2%} vs new/old values {share:.2%} "
            f"(trackio {s['theirs_warm_cold_ratio']:.1%}); scales with new data: "
            f"{_mark(s['warm_cold_ratio'] <= 2 * share)}",
        ),
        (
            "warm sync: commit request bodies received by the emulator",
            "—",
            _b(s["ours_warm_commit"]),
            f"warm/cold = {s['warm_cold_commit_ratio']:.2%}",
        ),
        (
            "no-op sync (nothing new): wall time",
            "—",
            f"{s['ours_noop_s'] * 1e3:.1f} ms",
            f"new commits: {s['ours_noop_commits']}, HTTP requests: {s['ours_noop_requests']} "
            f"(target 0: {_mark(s['ours_noop_commits'] == 0)})",
        ),
        (
            "then the sync `finish()` runs (`compact_finished=True`): wall time, commit bodies received "
            "(informational)",
            "—",
            f"{s['ours_compact_s']:.2f} s, {_b(s['ours_compact_commit'])} "
            f"(merged metrics file {_b(s['ours_compact_metrics'])}; peak memory growth "
            f"{_mib(s['ours_compact_rss_mib'])})",
            f"{s['ours_compact_commit'] / s['ours_cold_commit']:.2f} × the cold commit; "
            f"{s['ours_compact_commits']} commit(s)",
        ),
        (
            f"log() × {args.calls:,} + finish() (informational)",
            f"{s['theirs_log_s']:.2f} s",
            f"{s['ours_log_s']:.2f} s",
            "—",
        ),
    ]
    lines = [
        f"Machine: {machine['cpu']}, {machine['usable_cores']} usable cores, {machine['platform']}",
        f"Driver: Python {machine['python']}, pyarrow {machine['pyarrow']}, huggingface_hub "
        f"{machine['huggingface_hub']}; trackio {machine['trackio']} (pyarrow {machine['trackio_pyarrow']}) "
        f"under {machine['trackio_python']}",
        f"Workload: 1 run, {args.calls:,} log() calls × {NUM_KEYS} float32 metrics = {s['cold_values']:,} values, "
        f"then {args.warm_calls:,} more calls; medians of {args.repeats} repetitions",
        "",
        "| metric | trackio | trackio-callback | ratio / target |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows),
    ]
    return "\n".join(lines)


def check_lines(raw: dict[str, Any], calls: int, warm_calls: int) -> list[str]:
    """Correctness checks; each line starts with ``ok`` or ``PROBLEM``."""
    expected = raw["expected"]
    cold_n, all_n, warm_n = calls * NUM_KEYS, (calls + warm_calls) * NUM_KEYS, warm_calls * NUM_KEYS
    lines = []

    def check(ok: bool, text: str) -> None:
        lines.append(("ok      " if ok else "PROBLEM ") + text)

    for i, r in enumerate(raw["trackio-callback"]):
        c, w, n = r["cold"], r["warm"], r["noop"]
        check(c["committed"] and c["new_metrics_rows"] == cold_n, f"rep {i}: cold sync committed {cold_n:,} rows")
        check(
            c["new_metrics_checksum"] == expected["cold_checksum"], f"rep {i}: the cold metrics equal the logged values"
        )
        check(r["warm_resumed"], f"rep {i}: init(resume='allow') continued the run")
        check(
            w["committed"] and w["new_metrics_rows"] == warm_n and w["rows"] == warm_n,
            f"rep {i}: warm sync sent only the {warm_n:,} new values (new metrics rows {w['new_metrics_rows']:,}, "
            f"SyncResult.rows {w['rows']:,})",
        )
        check(
            w["repo_metrics_rows"] == all_n and w["repo_metrics_checksum"] == expected["all_checksum"],
            f"rep {i}: after the warm sync the dataset holds all {all_n:,} values, equal to the logged ones",
        )
        check(
            not n["committed"] and n["new_commits"] == 0,
            f"rep {i}: no-op sync made no commit ({n['requests']} HTTP requests)",
        )
        k = r["compact"]
        # Compaction merges into files of at most MAX_SEQS_PER_FILE calls (the uploader's memory bound).
        from trackio_callback.hub.uploader import MAX_SEQS_PER_FILE

        files = math.ceil((calls + warm_calls) / MAX_SEQS_PER_FILE)
        check(
            k["repo_metrics_files"] == files and k["repo_metrics_rows"] == all_n,
            f"rep {i}: the compacting sync left {files} metrics file(s) of at most {MAX_SEQS_PER_FILE:,} calls "
            f"with all {all_n:,} values (found {k['repo_metrics_files']})",
        )
        check(
            not r["unhandled_requests"] and not r["emulator_errors"], f"rep {i}: no unhandled route, no emulator error"
        )
    for i, r in enumerate(raw["trackio"]):
        check(
            r["cold"]["parquet_rows"] == calls and r["cold"]["checksum"] == expected["cold_checksum"],
            f"rep {i}: trackio's export holds {calls:,} rows with the logged values",
        )
        check(
            r["warm"]["rewritten"] and r["warm"]["parquet_rows"] == calls + warm_calls,
            f"rep {i}: trackio's re-export after the warm calls holds {calls + warm_calls:,} rows",
        )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (fresh dirs and emulator each)")
    parser.add_argument("--calls", type=int, default=100_000, help="log() calls of the cold run, 10 metrics each")
    parser.add_argument("--warm-calls", type=int, default=None, help="extra calls before the warm sync (calls/100)")
    parser.add_argument("--out", default=".bench/sync.json", help="every raw number, the summary and the machine")
    parser.add_argument("--trackio-python", default=None, help="interpreter with trackio 0.43.0 for the child")
    parser.add_argument("--workdir", default=None, help="where the per-repetition directories go")
    parser.add_argument("--keep", action="store_true", help="keep the per-repetition directories")
    parser.add_argument("--child", choices=["trackio", "trackio-callback"], help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--values-file", help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.warm_calls is None:
        args.warm_calls = max(1, args.calls // 100)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child == "trackio":
        child_trackio(args.values_file, args.calls, args.warm_calls, args.child_out)
        return 0
    if args.child == "trackio-callback":
        child_ours(args.values_file, args.calls, args.warm_calls, args.dir, args.child_out)
        return 0
    if args.calls < 2 or args.repeats < 1:
        raise SystemExit("--calls must be ≥ 2 and --repeats ≥ 1")
    args.trackio_python = args.trackio_python or default_trackio_python()
    if args.trackio_python is None:
        raise SystemExit("no interpreter with trackio 0.43.0: pass --trackio-python")
    machine = machine_info(args.trackio_python)
    start = time.perf_counter()
    raw = run_benchmark(args)
    summary = summarize(raw, args.calls, args.warm_calls)
    checks = check_lines(raw, args.calls, args.warm_calls)
    print(render(summary, machine, args))
    print()
    print("\n".join(checks))
    elapsed = time.perf_counter() - start
    print(f"\n(total {elapsed:.0f} s; raw numbers in {args.out})")
    _write_json(
        args.out,
        {"machine": machine, "args": {k: v for k, v in vars(args).items() if not k.startswith("child")}}
        | {"summary": summary, "checks": checks, "raw": raw, "total_s": elapsed},
    )
    return 1 if any(line.startswith("PROBLEM") for line in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
