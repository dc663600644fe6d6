"""Side-by-side benchmark of trackio-callback's dashboard against trackio's (the package it replaces).

Workload: one project of ``--runs`` (default 10) runs x ``--steps`` (default 200,000) steps x
``--metrics`` (default 10) float metrics, the same values for both packages; trackio's copy is
written with its own ``SQLiteStorage.bulk_log`` (its fastest ingest path), trackio-callback's with
``init(dir=...)`` / ``run.log``. Measured for each package, with a fresh dashboard server per
package and repetition, alternating which package goes first:

1. the time until all charts are drawn with data, in a fresh headless Chromium page (a pixel probe
   the same for both; for trackio-callback also the page's own ``state().timings.chartsDrawn``);
2. the HTTP answer time for one metric of one run (warm server, ``--api-pairs`` run/key pairs);
3. the bytes the open page fetches per live poll while a run logs at two fixed rates, the new
   points each poll brings, and so the bytes per new point.

Usage (see benchmarks/README.md)::

    bash benchmarks/setup_dashboard.sh && /work/bench-venv/bin/python benchmarks/bench_dashboard.py

The driver uses only the standard library; the children run under ``--python`` (default: the
interpreter running the driver), which needs trackio 0.43, trackio_callback with its ``dashboard``
extra, and playwright (Chromium itself is ``--chromium``, default /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from machine import machine_info, write_results

PACKAGES = ("trackio", "trackio-callback")
PROJECT = "bench"
SEED = 20240917
VIEWPORT = {"width": 1920, "height": 1400}  # every chart of both pages on screen (trackio draws only those)
PROBE_EVERY_MS = 50
REPO_ROOT = Path(__file__).resolve().parent.parent
SCRUBBED_ENV = (  # inherited variables that would change what a tracker or a dashboard does
    "TRACKIO_DIR",
    "TRACKIO_PROJECT",
    "TRACKIO_SPACE_ID",
    "TRACKIO_DATASET_ID",
    "TRACKIO_SERVER_URL",
    "TRACKIO_SYSTEM_METRICS",
    "TRACKIO_FRONTEND_DIR",
    "TRACKIO_COLOR_PALETTE",
    "TRACKIO_NO_BROWSER",
    "GRADIO_SERVER_PORT",
    "GRADIO_SHARE",
    "GRADIO_MCP_SERVER",
    "SPACE_ID",
    "SYSTEM",
)

# Runs in the page before its own scripts: every PROBE_EVERY_MS it looks for the charts and, in each
# one's canvas, for coloured pixels (the run lines; axes, grid and text are grey). `drawn` is the
# `performance.now()` (ms since navigation start) of the first check that finds `keys` charts with
# coloured lines. trackio draws a chart only once all of its data has come (one request for every
# run), trackio-callback draws all charts once all runs' series have come.
# Whether a chart's canvas holds drawn run lines (30+ saturated pixels), remembered once true: both dashboard
# probes (this one and bench_dashboard_scale.py's) judge "drawn" by the same pixels. JS; defines colored(canvas).
COLORED_CANVAS_JS = """
  const seen = new WeakSet();
  function colored(canvas) {
    if (seen.has(canvas)) return true;
    if (!canvas || !canvas.width || !canvas.height) return false;
    const ctx = canvas.getContext("2d");
    if (!ctx) return false;
    const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 8) {
      const r = px[i], g = px[i + 1], b = px[i + 2];
      if (px[i + 3] > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 30 && ++n >= 30) {
        seen.add(canvas);
        return true;
      }
    }
    return false;
  }
"""
PROBE_JS = """
(() => {
  const cfg = %s;
  const B = (window.__bench = { drawn: null, colored: 0, charts: 0, checks: 0 });
%s  function check() {
    B.checks++;
    const keys = new Set(), charts = new Set();
    for (const el of document.querySelectorAll(cfg.chart)) {
      const key = el.getAttribute(cfg.attr);
      charts.add(key);
      if (colored(el.querySelector(cfg.canvas))) keys.add(key);
    }
    B.charts = charts.size;
    B.colored = keys.size;
    if (keys.size >= cfg.keys) {
      B.drawn = performance.now();
      clearInterval(timer);
    }
  }
  const timer = setInterval(check, %d);
})();
"""
PAGE_SELECTORS = {
    "trackio": {"chart": ".plot-container[data-metric]", "attr": "data-metric", "canvas": ".plot canvas"},
    "trackio-callback": {"chart": ".chart[data-key]", "attr": "data-key", "canvas": "canvas"},
}
DATA_POLL = {"trackio": "/api/get_logs_batch", "trackio-callback": "/api/poll"}
INITIAL_DATA = {"trackio": "/api/get_logs_batch", "trackio-callback": "/api/series"}


# -- helpers shared by the driver and the children ---------------------------------------------------


def metric_keys(metrics: int) -> list[str]:
    return [f"train/m{i}" for i in range(metrics)]


def run_names(runs: int) -> list[str]:
    return [f"run-{i:02d}" for i in range(runs)]


def make_rows(run: int, start: int, stop: int, metrics: int) -> list[dict[str, float]]:
    """Steps ``start``..``stop - 1`` of run number ``run``: the same values for both packages."""
    rng = random.Random(SEED * 1000 + run * 7919 + start)
    keys = metric_keys(metrics)
    scale = 1.0 + 0.05 * run
    rows = []
    for step in range(start, stop):
        decay = scale / (1.0 + step * 1e-4)
        rows.append({key: decay * (1.0 + i) + rng.random() * 0.01 for i, key in enumerate(keys)})
    return rows


def _write_json(path: str | Path, data: Any) -> None:
    Path(path).write_text(json.dumps(data, indent=2))


def _progress(message: str) -> None:
    print(f"... {message}", file=sys.stderr, flush=True)


# -- child: data generation -------------------------------------------------------------------------


def child_generate(args: argparse.Namespace) -> None:
    """Write ``--runs`` x ``--steps`` x ``--metrics`` into project ``bench``; read one series back."""
    names, keys = run_names(args.runs), metric_keys(args.metrics)
    write_s = 0.0
    if args.package == "trackio":
        from trackio.sqlite_storage import SQLiteStorage  # TRACKIO_DIR is set by the driver

        for i, name in enumerate(names):
            rows = make_rows(i, 0, args.steps, args.metrics)
            t0 = time.perf_counter()
            SQLiteStorage.bulk_log(PROJECT, name, rows, steps=list(range(args.steps)))
            write_s += time.perf_counter() - t0
        points = SQLiteStorage.get_metric_values(PROJECT, names[0], keys[0])
        values = [p["value"] for p in points]
        steps = [p["step"] for p in points]
    else:
        import trackio_callback as tc

        for i, name in enumerate(names):
            rows = make_rows(i, 0, args.steps, args.metrics)
            t0 = time.perf_counter()
            run = tc.init(project=PROJECT, name=name, dir=args.dir, auto_log_cpu=False)
            for step, row in enumerate(rows):
                run.log(row, step=step)
            run.finish()
            write_s += time.perf_counter() - t0
        reader = tc.Reader(args.dir)
        try:
            series = reader.series(PROJECT, names[0], keys[0])
            values, steps = list(series.values), list(series.steps)
        finally:
            reader.close()
    _write_json(
        args.child_out,
        {
            "write_s": write_s,
            "count": len(values),
            "steps_ok": steps == list(range(args.steps)),
            "fsum": math.fsum(values),
        },
    )


# -- child: dashboard server ------------------------------------------------------------------------


def child_serve(args: argparse.Namespace) -> None:
    """Start the package's dashboard, write its URL to ``--child-out``, serve until stdin closes."""
    t0 = time.perf_counter()
    if args.package == "trackio":
        import trackio

        server, url, _share, _full = trackio.show(
            project=PROJECT, open_browser=False, block_thread=False, server_port=args.port, share=False
        )
        close = server.close
    else:
        from trackio_callback.server.show import show

        dashboard = show(project=PROJECT, dir=args.dir, open_browser=False, block=False, port=0)
        url, close = dashboard.url, dashboard.close
    _write_json(args.child_out, {"url": url, "start_s": time.perf_counter() - t0, "pid": os.getpid()})
    sys.stdin.read()  # the driver closes our stdin to stop us
    close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # trackio leaves non-daemon threads behind (its inbox poller)


# -- child: a run that keeps logging ----------------------------------------------------------------


def child_logger(args: argparse.Namespace) -> None:
    """Log ``--history`` steps at once, then keep logging at the rate the stdin commands set.

    Commands (one per line): ``rate R`` (calls per second, 0 pauses), ``count`` (answers
    ``count N`` with the calls logged so far), ``stop`` (finishes the run and exits). Every line
    of ours on stdout starts with ``BENCH `` (trackio prints its own).
    """
    project, name = args.project, "live"
    if args.package == "trackio":
        import trackio

        trackio.init(project=project, name=name, auto_log_cpu=False, auto_log_gpu=False)
        log, finish = trackio.log, trackio.finish
    else:
        import trackio_callback as tc

        run = tc.init(project=project, name=name, dir=args.dir, auto_log_cpu=False)
        log, finish = run.log, run.finish
    for step, row in enumerate(make_rows(99, 0, args.history, args.metrics)):
        log(row, step=step)
    time.sleep(2.0)  # both flush in the background (trackio every 0.5 s, trackio-callback every 1 s)
    state = {"rate": 0.0, "calls": 0, "stop": False}
    lock = threading.Lock()

    def commands() -> None:
        for line in sys.stdin:
            word, _, value = line.strip().partition(" ")
            with lock:
                if word == "rate":
                    state["rate"] = float(value)
                    answer = "ok"
                elif word == "count":
                    answer = f"count {state['calls']}"
                else:
                    state["stop"] = True
                    answer = "bye"
            print(f"BENCH {answer}", flush=True)
            if state["stop"]:
                return
        state["stop"] = True

    print("BENCH ready", flush=True)
    threading.Thread(target=commands, daemon=True).start()
    step = args.history
    pending: list[dict[str, float]] = []
    next_at = time.monotonic()
    while not state["stop"]:
        rate = state["rate"]
        if rate <= 0:
            time.sleep(0.01)
            next_at = time.monotonic()
            continue
        if not pending:
            pending = make_rows(99, step, step + 1000, args.metrics)[::-1]
        log(pending.pop(), step=step)
        step += 1
        with lock:
            state["calls"] += 1
        next_at += 1.0 / rate
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    finish()
    sys.stdout.flush()
    os._exit(0)


# -- children: the browser --------------------------------------------------------------------------


def _launch(playwright: Any, chromium: str) -> Any:
    return playwright.chromium.launch(executable_path=chromium, headless=True)


def _sizes(request: Any) -> tuple[int, int]:
    """(bytes on the wire, decoded bytes) of a finished request's response body."""
    try:
        wire = max(0, int(request.sizes()["responseBodySize"]))
    except Exception:
        wire = 0
    try:
        response = request.response()
        decoded = len(response.body()) if response is not None else 0
    except Exception:
        decoded = 0
    return wire, decoded


def _is_api(package: str, url: str) -> bool:
    path = urlsplit(url).path
    return path.startswith("/api/") or (package == "trackio" and path in ("/version", "/__trackio/frontend_version"))


def _count(counts: dict[str, int], what: str, url: str, path: str) -> None:
    if urlsplit(url).path == path:
        counts[what] += 1


def child_pageload(args: argparse.Namespace) -> None:
    """Open the dashboard in a fresh browser; time until every chart shows data."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    cfg = {**PAGE_SELECTORS[args.package], "keys": args.metrics}
    url = args.url + (f"?project={PROJECT}" if args.package == "trackio" else "")
    result: dict[str, Any] = {"url": url}
    with sync_playwright() as p:
        browser = _launch(p, args.chromium)
        result["chromium"] = browser.version
        page = browser.new_context(viewport=VIEWPORT).new_page()
        page.add_init_script(PROBE_JS % (json.dumps(cfg), COLORED_CANVAS_JS, PROBE_EVERY_MS))
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        data_path = INITIAL_DATA[args.package]
        data_requests = {"sent": 0, "failed": 0}
        page.on("request", lambda r: _count(data_requests, "sent", r.url, data_path))
        page.on("requestfailed", lambda r: _count(data_requests, "failed", r.url, data_path))
        t0 = time.perf_counter()
        page.goto(url)
        try:
            page.wait_for_function(
                "() => window.__bench && window.__bench.drawn !== null", timeout=args.timeout * 1000, polling=20
            )
            result["wall_s"] = time.perf_counter() - t0
        except PlaywrightTimeout:
            result["wall_s"] = None
        result["data_requests"] = dict(data_requests)  # until the charts were drawn (or the timeout)
        probe = page.evaluate("() => ({...window.__bench, origin: performance.timeOrigin})")
        result["probe"] = probe
        result["drawn_ms"] = probe["drawn"]
        if args.package == "trackio-callback" and probe["drawn"] is not None:
            state = page.evaluate("() => window.trackioDashboard.state()")
            result["charts_drawn_ms"] = state["timings"].get("chartsDrawn")
            result["project_ms"] = state["timings"].get("projectMs")
            result["runs_per_chart"] = sorted({len(c["runs"]) for c in state["charts"].values()})
            result["points_per_line"] = sorted({n for c in state["charts"].values() for n in c["points"].values()})
        # Everything fetched until the charts were drawn (by the response's end in the page's clock).
        limit = probe["drawn"] if probe["drawn"] is not None else float("inf")
        fetched = {"requests": 0, "wire": 0, "decoded": 0, "api_requests": 0, "api_wire": 0, "api_decoded": 0}
        for request in finished:
            timing = request.timing
            if timing["responseEnd"] < 0 or timing["startTime"] + timing["responseEnd"] - probe["origin"] > limit:
                continue
            wire, decoded = _sizes(request)
            fetched["requests"] += 1
            fetched["wire"] += wire
            fetched["decoded"] += decoded
            if _is_api(args.package, request.url):
                fetched["api_requests"] += 1
                fetched["api_wire"] += wire
                fetched["api_decoded"] += decoded
            if args.package == "trackio" and urlsplit(request.url).path == DATA_POLL["trackio"]:
                logs = json.loads(request.response().body())["data"]
                result.setdefault("batches", []).append(sorted({len(r["logs"]) for r in logs}) + [len(logs)])
        result["fetched"] = fetched
        if args.shot:
            page.screenshot(path=args.shot)
        browser.close()
    _write_json(args.child_out, result)


def _data_poll_points(package: str, body: bytes, metrics: int) -> tuple[int, int]:
    """(new points in a trackio-callback poll, last step in a trackio get_logs_batch answer)."""
    data = json.loads(body)
    if package == "trackio-callback":
        return sum(len(s["values"]) for r in data["runs"] for s in r["series"].values()), -1
    steps = [row["step"] for run in data["data"] for row in run["logs"]]
    return 0, max(steps, default=-1)


def child_live(args: argparse.Namespace) -> None:
    """A logger child writes a run while the page is open; measure each rate's polls."""
    from playwright.sync_api import sync_playwright

    logger = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            "logger",
            "--package",
            args.package,
            "--dir",
            args.dir,
            "--project",
            args.project,
            "--history",
            str(args.history),
            "--metrics",
            str(args.metrics),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
    )

    def ask(command: str | None = None) -> str:
        if command is not None:
            logger.stdin.write(command + "\n")
            logger.stdin.flush()
        while True:  # trackio prints its own lines to stdout: skip them
            line = logger.stdout.readline()
            if not line:
                raise RuntimeError(f"the logger child exited ({logger.wait()})")
            if line.startswith("BENCH "):
                return line[len("BENCH ") :].strip()

    result: dict[str, Any] = {"windows": []}
    try:
        if ask() != "ready":
            raise RuntimeError("the logger child did not start")
        cfg = {**PAGE_SELECTORS[args.package], "keys": args.metrics}
        url = args.url + (f"?project={args.project}" if args.package == "trackio" else f"#project={args.project}")
        with sync_playwright() as p:
            browser = _launch(p, args.chromium)
            page = browser.new_context(viewport=VIEWPORT).new_page()
            page.add_init_script(PROBE_JS % (json.dumps(cfg), COLORED_CANVAS_JS, PROBE_EVERY_MS))
            finished: list[Any] = []
            page.on("requestfinished", lambda request: finished.append(request))
            page.goto(url)
            page.wait_for_function("() => window.__bench && window.__bench.drawn !== null", timeout=120_000)
            marks = []
            for rate in args.rates:
                ask(f"rate {rate}")
                page.wait_for_timeout(args.settle * 1000)
                before = (len(finished), int(ask("count").split()[1]), time.perf_counter())
                page.wait_for_timeout(args.window * 1000)
                after = (len(finished), int(ask("count").split()[1]), time.perf_counter())
                marks.append({"rate": rate, "before": before, "after": after})
            ask("rate 0")
            if args.package == "trackio-callback":  # the page's own count, to check against the network's
                result["state_poll_bytes"] = page.evaluate("() => window.trackioDashboard.state().pollBytes")
            # Sizes and bodies, read while the page is still open.
            requests = []
            for request in finished:
                path = urlsplit(request.url).path
                wire, decoded = _sizes(request)
                entry = {"path": path, "wire": wire, "decoded": decoded, "api": _is_api(args.package, request.url)}
                if path == DATA_POLL[args.package]:
                    entry["new_points"], entry["last_step"] = _data_poll_points(
                        args.package, request.response().body(), args.metrics
                    )
                requests.append(entry)
            browser.close()
        result["poll_decoded"] = [r["decoded"] for r in requests if r["path"] == DATA_POLL[args.package]]
        for mark in marks:
            (i0, c0, t0), (i1, c1, t1) = mark["before"], mark["after"]
            window = requests[i0:i1]
            polls = [r for r in window if r["path"] == DATA_POLL[args.package]]
            if args.package == "trackio":  # new points of a poll: steps since the previous poll's last step
                previous = [r["last_step"] for r in requests[:i0] if r["path"] == DATA_POLL["trackio"]]
                last = previous[-1] if previous else -1
                for poll in polls:
                    poll["new_points"] = max(0, poll["last_step"] - last) * args.metrics if last >= 0 else 0
                    last = max(last, poll["last_step"])
            api = [r for r in window if r["api"]]
            seconds = t1 - t0
            result["windows"].append(
                {
                    "rate": mark["rate"],
                    "seconds": seconds,
                    "calls_logged": c1 - c0,
                    "values_logged": (c1 - c0) * args.metrics,
                    "polls": len(polls),
                    "polls_per_s": len(polls) / seconds,
                    "poll_decoded": [r["decoded"] for r in polls],
                    "poll_wire": [r["wire"] for r in polls],
                    "poll_new_points": [r["new_points"] for r in polls],
                    "api_requests_per_s": len(api) / seconds,
                    "api_decoded_per_s": sum(r["decoded"] for r in api) / seconds,
                    "api_wire_per_s": sum(r["wire"] for r in api) / seconds,
                    "api_paths": sorted({r["path"] for r in api}),
                }
            )
        ask("stop")
    finally:
        if logger.poll() is None:
            try:
                logger.stdin.close()  # the logger finishes its run and exits when its stdin ends
                logger.wait(timeout=60)
            except subprocess.TimeoutExpired:
                logger.kill()
    _write_json(args.child_out, result)


# -- driver -----------------------------------------------------------------------------------------


def _child_env(package: str, directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(HF_HUB_OFFLINE="1", HF_HUB_DISABLE_TELEMETRY="1", TRACKIO_NO_BROWSER="1", PYTHONDONTWRITEBYTECODE="1")
    if package == "trackio":
        # trackio-callback's start-up hook answers `import trackio` itself; the peer must be the real package.
        env["TRACKIO_CALLBACK_NO_HOOK"] = "1"
        env["TRACKIO_DIR"] = str(directory)
        env["TRACKIO_STORAGE_MODE"] = "sqlite"  # what "auto" picks on a local disk; made explicit
    return env


def _child_command(args: argparse.Namespace, mode: str, package: str, directory: Path, out: Path) -> list[str]:
    return [
        args.python,
        str(Path(__file__).resolve()),
        "--child",
        mode,
        "--package",
        package,
        "--dir",
        str(directory),
        "--child-out",
        str(out),
        "--runs",
        str(args.runs),
        "--steps",
        str(args.steps),
        "--metrics",
        str(args.metrics),
        "--chromium",
        args.chromium,
    ]


def run_child(
    args: argparse.Namespace, mode: str, package: str, directory: Path, extra: list[str], timeout: float
) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        done = subprocess.run(
            _child_command(args, mode, package, directory, out) + extra,
            env=_child_env(package, directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{mode} child for {package} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


class Server:
    """A dashboard server child: started on enter, stopped (stdin closed) on exit."""

    def __init__(self, args: argparse.Namespace, package: str, directory: Path, log: Path):
        self.args, self.package, self.directory, self.log = args, package, directory, log
        self.out = log.with_suffix(".json")

    def __enter__(self) -> Server:
        extra = ["--port", str(_free_port())]
        self.out.unlink(missing_ok=True)
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                _child_command(self.args, "serve", self.package, self.directory, self.out) + extra,
                env=_child_env(self.package, self.directory),
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 120
        while not self.out.exists() or not self.out.read_text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the {self.package} dashboard did not start:\n{self.log.read_text()[-4000:]}")
            time.sleep(0.05)
        time.sleep(0.05)  # the file is written in one go; let it land
        self.info = json.loads(self.out.read_text())
        self.url = self.info["url"]
        parts = urlsplit(self.url)
        self.host, self.port = parts.hostname, parts.port
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def wait_idle(self) -> float:
        """Block until a cheap request answers within 50 ms (a closed page may leave work queued)."""
        path = "/version" if self.package == "trackio" else "/api/info"
        elapsed = 0.0
        for _ in range(100):
            connection = http.client.HTTPConnection(self.host, self.port, timeout=300)
            t0 = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            elapsed = time.perf_counter() - t0
            connection.close()
            if elapsed < 0.05:
                break
        return elapsed


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api_pairs(args: argparse.Namespace) -> list[tuple[str, str]]:
    pairs = [(run, key) for run in run_names(args.runs) for key in metric_keys(args.metrics)]
    stride = max(1, len(pairs) // args.api_pairs)
    chosen = pairs[::stride][: args.api_pairs]
    random.Random(SEED).shuffle(chosen)
    return chosen


def _request(connection: http.client.HTTPConnection, package: str, what: str, run: str, keys: list[str]) -> Any:
    """One API call, as the package's dashboard answers it; returns the parsed JSON."""
    if package == "trackio-callback":
        query = [("project", PROJECT), ("run", run)] + [("key", k) for k in keys] + [("max_points", "1000")]
        connection.request("GET", "/api/series?" + urlencode(query))
    else:
        if what == "series":
            body = {"project": PROJECT, "run": run, "metric_name": keys[0], "max_points": 1000}
            path = "/api/get_metric_values"
        else:  # what the page posts, for one run (max_points: the server's default, 3000)
            body = {"project": PROJECT, "runs": [{"run": run, "run_id": None}], "scalar_only": True}
            path = "/api/get_logs_batch"
        connection.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{package} {what} {run}: HTTP {response.status}: {data[:300]!r}")
    return data


def time_api(args: argparse.Namespace, server: Server) -> dict[str, Any]:
    """Median answer time of one metric of one run, and of one run's every metric, over keep-alive HTTP."""
    package, keys = server.package, metric_keys(args.metrics)
    connection = http.client.HTTPConnection(server.host, server.port, timeout=300)
    result: dict[str, Any] = {"series_s": [], "run_s": [], "series_points": set(), "series_bytes": []}
    _request(connection, package, "series", run_names(args.runs)[0], keys[:1])  # warm-up, untimed
    for run, key in api_pairs(args):
        t0 = time.perf_counter()
        data = _request(connection, package, "series", run, [key])
        result["series_s"].append(time.perf_counter() - t0)
        parsed = json.loads(data)
        points = len(parsed["data"]) if package == "trackio" else len(parsed["series"][0]["values"])
        result["series_points"].add(points)
        result["series_bytes"].append(len(data))
    for run in run_names(args.runs):
        t0 = time.perf_counter()
        data = _request(connection, package, "run", run, keys)
        result["run_s"].append(time.perf_counter() - t0)
    connection.close()
    result["series_points"] = sorted(result["series_points"])
    result["series_median_s"] = statistics.median(result["series_s"])
    result["series_max_s"] = max(result["series_s"])
    result["run_median_s"] = statistics.median(result["run_s"])
    return result


def run_benchmark(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    dirs = {p: base / p.replace("-", "_") for p in PACKAGES}
    generation: dict[str, Any] = {}
    for package in PACKAGES:
        dirs[package].mkdir(parents=True, exist_ok=True)
        _progress(f"{package}: writing {args.runs} runs x {args.steps:,} steps x {args.metrics} metrics")
        t0 = time.perf_counter()
        generation[package] = run_child(args, "generate", package, dirs[package], [], timeout=3600)
        generation[package]["child_s"] = time.perf_counter() - t0
    reps: list[dict[str, Any]] = []
    for rep in range(args.repeats):
        order = PACKAGES if rep % 2 == 0 else PACKAGES[::-1]
        result: dict[str, dict[str, Any]] = {}
        for package in order:
            label = f"rep {rep + 1}/{args.repeats}: {package}"
            log = base / f"serve-{package}-r{rep}.log"
            with Server(args, package, dirs[package], log) as server:
                r = result[package] = {"server_start_s": server.info["start_s"]}
                _progress(f"{label}: opening the page (fresh browser)")
                shot = ["--shot", str(base / f"page-{package}-r{rep}.png")] if args.keep else []
                r["page"] = run_child(
                    args,
                    "pageload",
                    package,
                    dirs[package],
                    ["--url", server.url, "--timeout", str(args.timeout), *shot],
                    timeout=args.timeout + 120,
                )
                r["idle_wait_s"] = server.wait_idle()
                _progress(f"{label}: API, {len(api_pairs(args))} series + {args.runs} whole runs")
                r["api"] = time_api(args, server)
                _progress(f"{label}: live polls at {', '.join(map(str, args.rates))} calls/s")
                live = [
                    "--url",
                    server.url,
                    "--project",
                    f"live-r{rep}",
                    "--history",
                    str(args.history),
                    "--window",
                    str(args.window),
                    "--settle",
                    str(args.settle),
                    "--rates",
                    ",".join(map(str, args.rates)),
                ]
                r["live"] = run_child(args, "live", package, dirs[package], live, timeout=600)
        reps.append(result)
    return {"generation": generation, "reps": reps}


# -- summary ------------------------------------------------------------------------------------------


def _median(values: list[float | None]) -> float | None:
    """Median, where ``None`` (a timeout) counts as larger than any number; None if the median is one."""
    ordered = sorted(values, key=lambda v: math.inf if v is None else v)
    middle = ordered[(len(ordered) - 1) // 2 : len(ordered) // 2 + 1]
    if any(v is None for v in middle):
        return None
    return statistics.mean(middle)  # type: ignore[arg-type]


def _window(rep: dict[str, Any], package: str, rate: float) -> dict[str, Any]:
    return next(w for w in rep[package]["live"]["windows"] if w["rate"] == rate)


def _per_poll(window: dict[str, Any], field: str) -> float | None:
    values = window[field]
    return sum(values) / len(values) if values else None


def _per_point(window: dict[str, Any], field: str) -> float | None:
    points = sum(window["poll_new_points"])
    return sum(window[field]) / points if points else None


def summarize(raw: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Table rows: medians over repetitions, and how many times better trackio-callback is."""
    reps, t, o = raw["reps"], "trackio", "trackio-callback"
    rows: list[dict[str, Any]] = []

    def row(
        name: str,
        values: dict[str, list[float | None]],
        unit: str,
        target: float | None = None,
        target_text: str = "info",
        higher_better: bool = False,
        absolute: bool = False,
        compare: bool = True,
    ) -> None:
        tv, ov = _median(values.get(t, [])) if t in values else "–", _median(values[o])
        factor = None
        if not compare:
            pass
        elif isinstance(tv, float | int) and isinstance(ov, float | int) and tv and ov:
            factor = ov / tv if higher_better else tv / ov
        elif tv is None and isinstance(ov, float | int):
            factor = "timeout"
        met = None
        if target is not None:
            met = ov is not None and (ov < target if absolute else factor is not None and factor >= target)
        rows.append(
            {
                "metric": name,
                "trackio": tv,
                "trackio-callback": ov,
                "unit": unit,
                "factor": factor,
                "target": target,
                "target_text": target_text,
                "met": met,
            }
        )

    def per_rep(fn: Any, packages: tuple[str, ...] = PACKAGES) -> dict[str, list[Any]]:
        return {p: [fn(rep[p]) for rep in reps] for p in packages}

    n = f"{args.runs} runs x {args.steps:,} steps"
    row(
        f"all {args.metrics} charts drawn with data ({n}): pixel probe, since navigation start",
        per_rep(lambda r: r["page"]["drawn_ms"]),
        "ms",
    )
    row(
        "same, the page's own mark `state().timings.chartsDrawn`",
        per_rep(lambda r: r["page"].get("charts_drawn_ms"), (o,)),
        "ms",
        target=1500,
        target_text="< 1.5 s",
        absolute=True,
    )
    row("`page.goto()` → charts drawn, wall time", per_rep(lambda r: r["page"]["wall_s"]), "s")
    row(
        "API bytes fetched until then, on the wire",
        per_rep(lambda r: r["page"]["fetched"]["api_wire"] / 1e6),
        "MB",
    )
    row(
        "API bytes fetched until then, decoded JSON",
        per_rep(lambda r: r["page"]["fetched"]["api_decoded"] / 1e6),
        "MB",
    )
    row(
        f"API: one metric of one run ({args.steps:,} points → ≤ 1,000), median of {len(api_pairs(args))} pairs",
        per_rep(lambda r: r["api"]["series_median_s"] * 1e3),
        "ms",
        target=50,
        target_text="< 50 ms",
        absolute=True,
    )
    row(
        f"API: one run, all {args.metrics} metrics, as the page asks for it, median of {args.runs} runs",
        per_rep(lambda r: r["api"]["run_median_s"] * 1e3),
        "ms",
    )
    for rate in args.rates:
        per_s = rate * args.metrics
        label = f"live, {rate:g} calls/s ({per_s:g} new points/s)"
        row(
            f"{label}: data polls per second",
            {p: [_window(rep, p, rate)["polls_per_s"] for rep in reps] for p in PACKAGES},
            "/s",
            compare=False,
        )
        row(
            f"{label}: new points per data poll",
            {p: [_per_poll(_window(rep, p, rate), "poll_new_points") for rep in reps] for p in PACKAGES},
            "points",
            compare=False,
        )
        row(
            f"{label}: bytes per data poll, decoded JSON",
            {p: [_per_poll(_window(rep, p, rate), "poll_decoded") for rep in reps] for p in PACKAGES},
            "B",
        )
        row(
            f"{label}: bytes per data poll, on the wire",
            {p: [_per_poll(_window(rep, p, rate), "poll_wire") for rep in reps] for p in PACKAGES},
            "B",
        )
        row(
            f"{label}: decoded bytes per new point",
            {p: [_per_point(_window(rep, p, rate), "poll_decoded") for rep in reps] for p in PACKAGES},
            "B",
        )
        row(
            f"{label}: all API traffic of the page, on the wire",
            {p: [_window(rep, p, rate)["api_wire_per_s"] / 1e3 for rep in reps] for p in PACKAGES},
            "kB/s",
        )
    return rows


def _fmt(value: Any, unit: str) -> str:
    if value is None:
        return "> timeout"
    if isinstance(value, str):
        return value
    if unit == "ms":
        return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit in ("B", "points"):
        return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"
    if unit == "MB":
        return f"{value:.2f} MB"
    if unit == "kB/s":
        return f"{value:,.1f} kB/s"
    if unit == "/s":
        return f"{value:.2f}/s"
    return f"{value:.3f} {unit}"


def render(rows: list[dict[str, Any]], machine: dict[str, Any], args: argparse.Namespace, raw: dict[str, Any]) -> str:
    lines = [
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
        f"Python {machine['python']}, SQLite {machine['sqlite']}, {machine['platform']}",
        f"Packages: trackio {machine['trackio']}, trackio-callback {machine['trackio_callback']}; "
        f"Chromium {machine.get('chromium', '?')} (headless, {VIEWPORT['width']}x{VIEWPORT['height']}), "
        f"playwright {machine['playwright']}",
        f"Workload: {args.runs} runs x {args.steps:,} steps x {args.metrics} float metrics in one project; "
        f"repeats={args.repeats} (medians over repeats), fresh server per package and repeat; live run: "
        f"{args.history:,} steps of history, then {args.window:g} s windows at "
        f"{' and '.join(f'{r:g}' for r in args.rates)} calls/s",
        "",
        "| metric | trackio | trackio-callback | ratio | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        factor = r["factor"]
        if factor == "timeout":
            ratio = "trackio timed out"
        elif factor is None:
            ratio = ""
        elif factor >= 1:
            ratio = f"{factor:,.1f}× better"
        else:
            ratio = f"{1 / factor:,.1f}× worse"
        verdict = {None: "", True: ": met", False: ": NOT met"}[r["met"]]
        lines.append(
            f"| {r['metric']} | {_fmt(r['trackio'], r['unit'])} | {_fmt(r['trackio-callback'], r['unit'])} "
            f"| {ratio} | {r['target_text']}{verdict} |"
        )
    lines.append("")
    lines.extend(check_lines(raw, args))
    return "\n".join(lines)


def check_lines(raw: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """Correctness checks and the proportionality of the live polls, as lines under the table."""
    notes = []
    gen = raw["generation"]
    for package, g in gen.items():
        if g["count"] != args.steps or not g["steps_ok"]:
            notes.append(
                f"WARNING {package}: reading run-00 back gave {g['count']:,} points (steps ok: {g['steps_ok']})"
            )
    if gen["trackio"]["fsum"] != gen["trackio-callback"]["fsum"]:
        notes.append(
            f"WARNING the two packages read back different values (fsum {gen['trackio']['fsum']!r} vs "
            f"{gen['trackio-callback']['fsum']!r})"
        )
    for i, rep in enumerate(raw["reps"]):
        for package in PACKAGES:
            page = rep[package]["page"]
            if page["drawn_ms"] is None:
                p = page["probe"]
                notes.append(
                    f"rep {i + 1} {package}: timed out after {args.timeout} s with {p['colored']} of {p['charts']} "
                    f"charts drawn ({args.metrics} wanted)"
                )
            if package == "trackio-callback" and page["drawn_ms"] is not None and page["runs_per_chart"] != [args.runs]:
                notes.append(f"WARNING rep {i + 1} {package}: runs per chart {page['runs_per_chart']}")
            if package == "trackio" and page["drawn_ms"] is not None:
                runs = {b[-1] for b in page.get("batches", [])}
                if runs != {args.runs}:
                    notes.append(
                        f"WARNING rep {i + 1} trackio: get_logs_batch answers before drawing: {page.get('batches')}"
                    )
            for w in rep[package]["live"]["windows"]:
                if not w["polls"]:
                    notes.append(f"WARNING rep {i + 1} {package}: no data poll while logging {w['rate']:g} calls/s")
            live = rep[package]["live"]
            if package == "trackio-callback":  # the page may have counted one more poll, in flight at the end
                mine, seen = live["state_poll_bytes"], live["poll_decoded"]
                common = min(len(mine), len(seen))
                if mine[:common] != seen[:common] or abs(len(mine) - len(seen)) > 1:
                    notes.append(
                        f"WARNING rep {i + 1} {package}: state().pollBytes {mine} differ from the sizes of the "
                        f"/api/poll bodies {seen}"
                    )
            points = rep[package]["api"]["series_points"]
            if points and (max(points) > 1000 or min(points) < 2):
                notes.append(f"WARNING rep {i + 1} {package}: one-series answers held {points} points")
    first = raw["reps"][0]
    o = first["trackio-callback"]["page"]
    t = first["trackio"]["page"]
    if not any(note.startswith("WARNING") for note in notes):
        notes.append(
            f"Checks: both packages read back {args.steps:,} points of run-00/train/m0 with the same values; "
            f"trackio-callback's charts held {o.get('runs_per_chart')} runs each with "
            f"{o.get('points_per_line', [])[:1]}..{o.get('points_per_line', [])[-1:]} points per line; trackio drew "
            f"after get_logs_batch answers of [rows per run..., runs] = {t.get('batches')}; trackio-callback's "
            "`state().pollBytes` equal the sizes of the /api/poll bodies the browser received."
        )
    for package in PACKAGES:
        sent = [rep[package]["page"]["data_requests"] for rep in raw["reps"]]
        notes.append(
            f"Page load, {package}: {INITIAL_DATA[package]} requests sent before the charts were drawn, per repeat: "
            + ", ".join(f"{d['sent']} ({d['failed']} aborted by the page)" for d in sent)
            + "."
        )
    if len(args.rates) >= 2:
        low, high = args.rates[0], args.rates[-1]
        for package in PACKAGES:
            windows = [(_window(rep, package, low), _window(rep, package, high)) for rep in raw["reps"]]
            b = [(_per_poll(lo, "poll_decoded"), _per_poll(hi, "poll_decoded")) for lo, hi in windows]
            p = [(_per_poll(lo, "poll_new_points"), _per_poll(hi, "poll_new_points")) for lo, hi in windows]
            b_lo, b_hi = _median([x for x, _ in b]), _median([y for _, y in b])
            p_lo, p_hi = _median([x for x, _ in p]), _median([y for _, y in p])
            if None in (b_lo, b_hi, p_lo, p_hi) or not p_lo or p_hi == p_lo:
                continue
            slope = (b_hi - b_lo) / (p_hi - p_lo)
            notes.append(
                f"Live, {package}: from {low:g} to {high:g} calls/s the new points per data poll grew "
                f"{p_hi / p_lo:.1f}x and the decoded bytes per data poll {b_hi / b_lo:.2f}x: a straight line "
                f"through the two is {b_lo - slope * p_lo:,.0f} B + {slope:,.1f} B per new point."
            )
    return notes


def _rates(text: str) -> list[float]:
    return [float(v) for v in text.split(",") if v.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=10, help="runs in the project")
    parser.add_argument("--steps", type=int, default=200_000, help="steps per run (one log() call each)")
    parser.add_argument("--metrics", type=int, default=10, help="float metrics per step")
    parser.add_argument("--repeats", type=int, default=3, help="repetitions (fresh server and browser each)")
    parser.add_argument("--api-pairs", type=int, default=30, help="run/metric pairs timed per package and repeat")
    parser.add_argument("--timeout", type=float, default=180, help="seconds to wait for a page's charts")
    parser.add_argument("--rates", type=_rates, default=[10.0, 100.0], help="live log() calls per second, e.g. 10,100")
    parser.add_argument("--window", type=float, default=12, help="seconds measured per live rate")
    parser.add_argument("--settle", type=float, default=4, help="seconds after a rate change before measuring")
    parser.add_argument("--history", type=int, default=10_000, help="steps the live run logs before the page opens")
    parser.add_argument("--out", default=str(REPO_ROOT / ".bench" / "dashboard.json"), help="JSON results file")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the children")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable for playwright")
    parser.add_argument("--workdir", help="where the storage directories go (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the storage dirs, server logs and screenshots")
    hidden = argparse.SUPPRESS
    parser.add_argument("--child", choices=["generate", "serve", "pageload", "live", "logger"], help=hidden)
    parser.add_argument("--package", choices=PACKAGES, help=hidden)
    parser.add_argument("--dir", help=hidden)
    parser.add_argument("--child-out", help=hidden)
    parser.add_argument("--port", type=int, help=hidden)
    parser.add_argument("--url", help=hidden)
    parser.add_argument("--project", help=hidden)
    parser.add_argument("--shot", help=hidden)
    args = parser.parse_args(argv)
    if min(args.runs, args.steps, args.metrics, args.repeats, args.api_pairs) < 1 or not args.rates:
        parser.error("--runs, --steps, --metrics, --repeats, --api-pairs must be >= 1 and --rates not empty")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with the hidden ``--child``, one child's part of it)."""
    args = parse_args(argv)
    children = {
        "generate": child_generate,
        "serve": child_serve,
        "pageload": child_pageload,
        "live": child_live,
        "logger": child_logger,
    }
    if args.child:
        children[args.child](args)
        return 0

    machine = machine_info(args.python, ("trackio", "trackio-callback", "playwright"))
    started = time.time()
    root = Path(args.workdir) if args.workdir else Path(tempfile.gettempdir())
    root.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="bench-dashboard-", dir=root))
    try:
        raw = run_benchmark(args, base)
    finally:
        if args.keep:
            print(f"kept: {base}", file=sys.stderr)
        else:
            shutil.rmtree(base, ignore_errors=True)
    machine["chromium"] = raw["reps"][0]["trackio-callback"]["page"].get("chromium")
    rows = summarize(raw, args)
    print(render(rows, machine, args, raw))
    hidden = ("child", "package", "dir", "child_out", "port", "url", "project", "shot")
    config = {k: v for k, v in vars(args).items() if k not in hidden}
    write_results(args.out, machine, config, started, rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
