"""What the benchmarks print about the machine they ran on, and how they save results (shared by the scripts)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int | None:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def machine_info(python: str, packages: tuple[str, ...] = ("trackio", "trackio-callback")) -> dict[str, Any]:
    """The CPU, the platform, and ``python``'s Python, SQLite and package versions (``trackio_callback``-style keys).

    The probe runs without the start-up hook, so ``trackio`` is the real package's version.
    """
    probe = (
        "import json, platform, sqlite3, sys\n"
        "from importlib.metadata import version\n"
        "print(json.dumps({'python': platform.python_version(), 'sqlite': sqlite3.sqlite_version,"
        " **{n.replace('-', '_'): version(n) for n in sys.argv[1:]}}))"
    )
    env = {**os.environ, "TRACKIO_CALLBACK_NO_HOOK": "1"}
    done = subprocess.run([python, "-c", probe, *packages], capture_output=True, text=True, check=True, env=env)
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        **json.loads(done.stdout),
    }


def write_results(
    out: str | Path, machine: dict, config: dict, started: float, rows: list[dict], raw: dict[str, Any]
) -> Path:
    """Every raw number of a benchmark run, with its summary rows, the machine and the options, as JSON."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "config": config,
        "started": started,
        "duration_s": time.time() - started,
        "summary": rows,
        **raw,
    }
    out.write_text(json.dumps(document, indent=2))
    print(f"\nResults: {out}", file=sys.stderr)
    return out
