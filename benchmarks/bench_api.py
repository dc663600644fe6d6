"""Side-by-side benchmark of trackio's API beyond numbers: trackio 0.43 against trackio-callback.

Each case runs in a child process per package, alternating which goes first, ``--repeats`` times;
the table reports the median of the repeats and the ratio of medians (trackio / trackio-callback).

1. ``log()`` of a call with a string (a text value) and two numbers: per-call latency (median of
   ``--calls`` calls) and the time to ``finish()`` with everything stored;
2. ``alert()`` with a webhook whose receiver answers after ``--receiver-delay`` seconds (a slow
   Slack): how long the training thread is held per alert (median of ``--alerts`` alerts), and that
   every alert reached the receiver by the time ``finish()`` returned;
3. ``log_artifact()`` of a folder of ``--artifact-mb`` MB (ten files), then of the same content
   again (a new version of identical content), then ``use_artifact(...).download()``;
4. ``import_csv()`` of a file of ``--csv-rows`` rows and five metric columns.

Usage (see benchmarks/README.md)::

    bash benchmarks/setup.sh && .bench-venv/bin/python benchmarks/bench_api.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from machine import machine_info, write_results

PACKAGES = ("trackio", "trackio-callback")
PROJECT = "bench-api"


# -- children ------------------------------------------------------------------------------------------


def _module(package: str, directory: str):
    if package == "trackio":
        import trackio  # TRACKIO_DIR is set by the driver

        return trackio, {"auto_log_cpu": False, "auto_log_gpu": False}
    import trackio_callback

    return trackio_callback, {"auto_log_cpu": False, "auto_log_gpu": False, "dir": directory}


def child_text(package: str, directory: str, args: argparse.Namespace) -> dict[str, Any]:
    trackio, options = _module(package, directory)
    trackio.init(project=PROJECT, name="text", **options)
    rows = [{"train/loss": 1.0 / (i + 1), "train/lr": 1e-4, "samples/generation": f"sample {i}: " + "x" * 200}
            for i in range(args.calls)]  # fmt: skip
    latencies = []
    clock = time.perf_counter_ns
    start = clock()
    for row in rows:
        t0 = clock()
        trackio.log(row)
        latencies.append(clock() - t0)
    logged = clock()
    trackio.finish()
    end = clock()
    return {
        "log_us": statistics.median(latencies) / 1e3,
        "finish_s": (end - logged) / 1e9,
        "total_s": (end - start) / 1e9,
    }


def child_alert(package: str, directory: str, args: argparse.Namespace) -> dict[str, Any]:
    trackio, options = _module(package, directory)
    trackio.init(project=PROJECT, name="alert", webhook_url=args.receiver, **options)
    trackio.log({"loss": 1.0})
    held = []
    for i in range(args.alerts):
        t0 = time.perf_counter_ns()
        trackio.alert(f"alert {i}", text="loss spike", level=trackio.AlertLevel.WARN)
        held.append(time.perf_counter_ns() - t0)
        trackio.log({"loss": 1.0 + i})
    t0 = time.perf_counter()
    trackio.finish()
    return {"alert_ms": statistics.median(held) / 1e6, "finish_s": time.perf_counter() - t0}


def child_artifact(package: str, directory: str, args: argparse.Namespace) -> dict[str, Any]:
    trackio, options = _module(package, directory)
    source = Path(directory) / "model"
    source.mkdir()
    rng = random.Random(7)
    for i in range(10):
        (source / f"shard-{i}.bin").write_bytes(rng.randbytes(args.artifact_mb * 2**20 // 10))
    trackio.init(project=PROJECT, name="artifact", **options)
    t0 = time.perf_counter()
    trackio.log_artifact(str(source), name="model", type="model")
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    trackio.log_artifact(str(source), name="model", type="model")
    again = time.perf_counter() - t0
    t0 = time.perf_counter()
    folder = trackio.use_artifact("model:latest").download(root=str(Path(directory) / "restored"))
    download = time.perf_counter() - t0
    trackio.finish()
    same = all((Path(folder) / p.name).read_bytes() == p.read_bytes() for p in source.iterdir())
    return {"log_s": first, "again_s": again, "download_s": download, "identical": same}


def child_csv(package: str, directory: str, args: argparse.Namespace) -> dict[str, Any]:
    trackio, _ = _module(package, directory)
    path = Path(directory) / "log.csv"
    rng = random.Random(11)
    lines = ["step,loss,accuracy,lr,grad_norm,tokens"]
    lines += [f"{i},{rng.random()},{rng.random()},{1e-4},{rng.random() * 3},{i * 4096}" for i in range(args.csv_rows)]
    path.write_text("\n".join(lines) + "\n")
    extra = {} if package == "trackio" else {"dir": directory}
    t0 = time.perf_counter()
    trackio.import_csv(str(path), project=PROJECT, name="csv", **extra)
    return {"import_s": time.perf_counter() - t0}


CHILDREN = {"text": child_text, "alert": child_alert, "artifact": child_artifact, "csv": child_csv}


# -- the driver ----------------------------------------------------------------------------------------


class SlowReceiver:
    """A webhook receiver that answers after ``delay`` seconds and counts what it got."""

    def __init__(self, delay: float):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                received.append(self.rfile.read(int(self.headers["Content-Length"])))
                time.sleep(delay)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"


def _env(package: str, directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TRACKIO_DIR"}
    if package == "trackio":
        env.update(TRACKIO_CALLBACK_NO_HOOK="1", TRACKIO_DIR=str(directory), TRACKIO_STORAGE_MODE="sqlite")
    return env


def run_case(python: str, case: str, package: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-api-{case}-{package}-"))
    out = directory / "result.json"
    try:
        command = [python, __file__, "--child", case, "--package", package, "--dir", str(directory),
                   "--child-out", str(out), *extra]  # fmt: skip
        done = subprocess.run(command, env=_env(package, directory), capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"{case} / {package} failed:\n{done.stderr[-3000:]}")
        return json.loads(out.read_text())
    finally:
        shutil.rmtree(directory, ignore_errors=True)


ROWS = [  # (case, field, label, unit)
    ("text", "log_us", "log() with a string and 2 numbers, median per call", "µs"),
    ("text", "total_s", "… that many calls, first log() to finish() returned", "s"),
    ("alert", "alert_ms", "alert() with a webhook answering in {delay} s, time held", "ms"),
    ("alert", "finish_s", "finish() after those alerts", "s"),
    ("artifact", "log_s", "log_artifact() of a {mb} MB folder", "s"),
    ("artifact", "again_s", "log_artifact() of the same content again", "s"),
    ("artifact", "download_s", "use_artifact().download()", "s"),
    ("csv", "import_s", "import_csv() of {rows} rows × 5 metrics", "s"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--alerts", type=int, default=20)
    parser.add_argument("--receiver-delay", type=float, default=0.2)
    parser.add_argument("--artifact-mb", type=int, default=100)
    parser.add_argument("--csv-rows", type=int, default=100_000)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / ".bench" / "api.json"))
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--package", choices=PACKAGES)
    parser.add_argument("--dir")
    parser.add_argument("--child-out")
    parser.add_argument("--receiver")
    args = parser.parse_args(argv)
    if args.child:
        Path(args.child_out).write_text(json.dumps(CHILDREN[args.child](args.package, args.dir, args)))
        return 0

    started = time.time()
    receiver = SlowReceiver(args.receiver_delay)
    sizes = ["--calls", str(args.calls), "--alerts", str(args.alerts), "--artifact-mb", str(args.artifact_mb),
             "--csv-rows", str(args.csv_rows), "--receiver", receiver.url]  # fmt: skip
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {case: {p: [] for p in PACKAGES} for case in CHILDREN}
    for rep in range(args.repeats):
        for case in CHILDREN:
            for package in PACKAGES if rep % 2 == 0 else PACKAGES[::-1]:
                before = len(receiver.received)
                result = run_case(args.python, case, package, args, sizes)
                if case == "alert":
                    result["delivered"] = len(receiver.received) - before
                raw[case][package].append(result)
                print(f"rep {rep + 1} {case:8s} {package:16s} {result}", file=sys.stderr)

    rows = []
    for case, field, label, unit in ROWS:
        medians = {p: statistics.median(r[field] for r in raw[case][p]) for p in PACKAGES}
        ratio = medians["trackio"] / medians["trackio-callback"] if medians["trackio-callback"] else None
        text = label.format(delay=args.receiver_delay, mb=args.artifact_mb, rows=f"{args.csv_rows:,}")
        rows.append({"case": text, "unit": unit, **medians, "ratio": ratio})
    delivered = {p: [r["delivered"] for r in raw["alert"][p]] for p in PACKAGES}
    identical = {p: all(r["identical"] for r in raw["artifact"][p]) for p in PACKAGES}

    print(f"\n| case | trackio 0.43 | trackio-callback | ratio (median, {args.repeats} repeats) |")
    print("|---|---|---|---|")
    for row in rows:
        ratio = "–" if row["ratio"] is None else f"{row['ratio']:.1f}×"
        theirs, ours = (f"{row[p]:.3g} {row['unit']}" for p in PACKAGES)
        print(f"| {row['case']} | {theirs} | {ours} | {ratio} |")
    print(f"\nalerts delivered per run ({args.alerts} sent): {delivered}")
    print(f"downloaded artifact identical to the source: {identical}")
    machine = machine_info(args.python)
    write_results(args.out, machine, vars(args), started, rows, {"raw": raw, "delivered": delivered})
    return 0


if __name__ == "__main__":
    sys.exit(main())
