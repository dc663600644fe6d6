"""What the start-up hook costs every Python process: interpreter start with and without it.

The ``.pth`` hook runs in every interpreter of the environment, so its cost must be negligible.
This times ``python -c pass`` with the hook active and with ``TRACKIO_CALLBACK_NO_HOOK=1``,
alternating, and reads the hook module's own import time from ``-X importtime``::

    .venv/bin/python benchmarks/bench_startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def start_time(python: str, env: dict[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run([python, "-c", "pass"], env=env, check=True)
    return time.perf_counter() - began


def hook_import_us(python: str) -> int:
    done = subprocess.run([python, "-X", "importtime", "-c", "pass"], capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        if line.rstrip().endswith("_trackio_callback_hook"):
            return int(line.split("|")[1])
    raise SystemExit("the hook was not imported: is trackio-callback installed in this interpreter?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    with_hook = {k: v for k, v in os.environ.items() if k != "TRACKIO_CALLBACK_NO_HOOK"}
    without = {**with_hook, "TRACKIO_CALLBACK_NO_HOOK": "1"}
    times: dict[str, list[float]] = {"hook": [], "no hook": []}
    for _ in range(args.runs):
        times["hook"].append(start_time(args.python, with_hook))
        times["no hook"].append(start_time(args.python, without))
    imports = sorted(hook_import_us(args.python) for _ in range(9))
    median = {k: statistics.median(v) * 1000 for k, v in times.items()}
    print(f"python -c pass, median of {args.runs} alternating runs each:")
    print(f"  with the hook:    {median['hook']:.2f} ms")
    print(f"  without the hook: {median['no hook']:.2f} ms   (TRACKIO_CALLBACK_NO_HOOK=1)")
    print(f"  difference:       {median['hook'] - median['no hook']:+.2f} ms")
    print(f"  import of _trackio_callback_hook (-X importtime, median of 9): {imports[4]} us")


if __name__ == "__main__":
    main()
