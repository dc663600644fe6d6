"""MCP ``get_metric_values`` on a 1M-point run: trackio-callback's MCP server beside trackio's.

Workload: one run of ``--points`` (default 1,000,000) steps of one metric ``train/loss`` with one
spike, written by each package into its own storage directory. Each package then serves its
dashboard with its MCP server in a child process (ours: ``trackio-callback show --mcp-server``,
at ``/gradio_api/mcp/``; trackio 0.43: ``trackio.show(mcp_server=True)``, at ``/mcp``), and the
same official ``mcp`` client (this interpreter's) calls ``get_metric_values(project, run,
metric_name, max_points=500)`` ``--repeats`` times on each. Reported: medians of the client's
round trip, of our tool's own time (it reports ``elapsed_ms``; the target is < 100 ms), the answer
size, and whether the spike is in the answer.

trackio needs ``mcp<2`` and this package ``mcp>=2``, so trackio runs from its own venv::

    python3 -m venv .bench-mcp-venv && .bench-mcp-venv/bin/pip install "trackio[mcp]==0.43.0"
    .venv/bin/python benchmarks/bench_mcp.py --trackio-python .bench-mcp-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import anyio
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

ROOT = Path(__file__).resolve().parents[1]
SPIKE = 1e3

WRITE_OURS = """
import sys, math, trackio_callback as trackio
directory, points = sys.argv[1], int(sys.argv[2])
run = trackio.init(project="bench", name="long", dir=directory)
for step in range(points):
    run.log({"train/loss": 1000.0 if step == points * 2 // 3 else 2.0 * math.exp(-step / points * 4)}, step=step)
run.finish()
"""

WRITE_TRACKIO = """
import sys, math
from trackio.sqlite_storage import SQLiteStorage
points = int(sys.argv[2])
chunk = 50_000
for start in range(0, points, chunk):
    steps = list(range(start, min(points, start + chunk)))
    values = [{"train/loss": 1000.0 if s == points * 2 // 3 else 2.0 * math.exp(-s / points * 4)} for s in steps]
    SQLiteStorage.bulk_log("bench", "long", values, steps=steps)
"""

SERVE_TRACKIO = """
import sys, trackio
trackio.show(project="bench", mcp_server=True, open_browser=False, block_thread=True, server_port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_child(python: str, code: str, args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([python, "-c", textwrap.dedent(code), *args], env=env, check=True)
    return time.perf_counter() - started


async def measure(url: str, arguments: dict, repeats: int) -> dict:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        rounds, server_ms, sizes, spiked, points = [], [], [], [], []
        for _ in range(repeats):
            started = time.perf_counter()
            result = await session.call_tool("get_metric_values", arguments)
            rounds.append((time.perf_counter() - started) * 1000)
            if result.is_error:
                raise RuntimeError(result.content[0].text)
            texts = [getattr(c, "text", "") for c in result.content]
            sizes.append(sum(len(t) for t in texts))
            # ours: one JSON text; trackio's (mcp 1.x, a list result): one text per element
            answer = json.loads(texts[0]) if len(texts) == 1 else [json.loads(t) for t in texts]
            rows = answer["points"] if isinstance(answer, dict) else answer
            if isinstance(answer, dict) and "elapsed_ms" in answer:
                server_ms.append(answer["elapsed_ms"])
            points.append(len(rows))
            spiked.append(any(r.get("value") == SPIKE for r in rows))
    return {
        "round_trip_ms": statistics.median(rounds),
        "server_ms": statistics.median(server_ms) if server_ms else None,
        "bytes": statistics.median(sizes),
        "points": statistics.median(points),
        "spike_kept": all(spiked),
    }


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", int(url.split(":")[2].split("/")[0])), timeout=1):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server for {url} did not start") from None
            time.sleep(0.3)


def serve_and_measure(command: list[str], env: dict[str, str], url: str, arguments: dict, repeats: int) -> dict:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(url, process)
        deadline = time.monotonic() + 60
        while True:  # up is not ready: the first call may fail while the app starts
            try:
                anyio.run(measure, url, arguments, 1)
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        return anyio.run(measure, url, arguments, repeats)
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--max-points", type=int, default=500)
    parser.add_argument("--trackio-python", default=str(ROOT / ".bench-mcp-venv/bin/python"))
    parser.add_argument("--out", default=str(ROOT / ".bench/mcp.json"))
    args = parser.parse_args()

    base_env = {**os.environ, "PYTHONPATH": str(ROOT), "TRACKIO_NO_BROWSER": "1"}
    results: dict = {"points": args.points, "repeats": args.repeats, "max_points": args.max_points}
    with tempfile.TemporaryDirectory(prefix="bench-mcp-") as tmp:
        ours, theirs = Path(tmp, "ours"), Path(tmp, "theirs")
        results["write_s"] = {
            "trackio-callback": run_child(sys.executable, WRITE_OURS, [str(ours), str(args.points)], base_env),
            "trackio": run_child(
                args.trackio_python,
                WRITE_TRACKIO,
                ["-", str(args.points)],
                {**base_env, "TRACKIO_DIR": str(theirs), "TRACKIO_CALLBACK_NO_HOOK": "1", "PYTHONPATH": ""},
            ),
        }
        call = {"project": "bench", "run": "long", "metric_name": "train/loss", "max_points": args.max_points}
        port = free_port()
        command = [sys.executable, "-m", "trackio_callback", "--dir", str(ours), "show", "--mcp-server", "--no-browser"]
        results["trackio-callback"] = serve_and_measure(
            [*command, "--port", str(port)], base_env, f"http://127.0.0.1:{port}/gradio_api/mcp/", call, args.repeats
        )
        port = free_port()
        results["trackio"] = serve_and_measure(
            [args.trackio_python, "-c", textwrap.dedent(SERVE_TRACKIO), str(port)],
            {**base_env, "TRACKIO_DIR": str(theirs), "TRACKIO_CALLBACK_NO_HOOK": "1", "PYTHONPATH": ""},
            f"http://127.0.0.1:{port}/mcp",
            call,
            args.repeats,
        )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))

    ours, theirs = results["trackio-callback"], results["trackio"]
    print(f"\nget_metric_values, {args.points:,}-point run, max_points={args.max_points}, medians of {args.repeats}\n")
    print("| measure | trackio | trackio-callback | ratio (trackio / ours) |")
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| round trip (ms) | {theirs['round_trip_ms']:.1f} | {ours['round_trip_ms']:.1f} | "
        f"{theirs['round_trip_ms'] / ours['round_trip_ms']:.1f}x |"
    )
    print(f"| server-side tool time (ms), target < 100 | n/a | {ours['server_ms']:.1f} | |")
    print(f"| points returned | {theirs['points']:.0f} | {ours['points']:.0f} | |")
    print(f"| answer size (bytes) | {theirs['bytes']:,.0f} | {ours['bytes']:,.0f} | |")
    print(f"| spike in the answer | {theirs['spike_kept']} | {ours['spike_kept']} | |")
    write = results["write_s"]
    print(f"| writing the run (s) | {write['trackio']:.1f} | {write['trackio-callback']:.1f} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
