"""The dashboard at scale, beside trackio 0.43's: opening a big project, and listing a project of many runs.

Two scenarios (``--scenario``), each on one project written once for both packages and cached under
``--cache`` (``.bench/dashboard-scale/``), with the data generator of ``bench_dashboard.py``:

* ``scale``: 100 runs x 100,000 steps x 20 float metrics. Measured: the time until every chart is
  drawn with all its runs' data and then stays unchanged for 500 ms ("charts stable"), in a fresh
  headless Chromium per page: trackio's page (``/?project=bench``, every run selected, its default)
  and trackio-callback's page in its default view (the latest 20 runs) and with all 100 runs shown
  (``?latest=100``). Target: <= 2 s.
* ``many-runs``: 1,000 runs x 100 steps x 5 metrics. Measured: the time until the sidebar shows the
  project's run count and its run entries ("listed"), and charts stable as above. Target: listed <= 0.5 s.

Every page load starts a fresh server (order alternating per repetition) and a fresh browser. A page
that does not get there within ``--cap`` seconds counts as "> cap" (never a number). Usage::

    bash benchmarks/setup_dashboard.sh
    /work/bench-venv/bin/python benchmarks/bench_dashboard_scale.py --scenario scale
    /work/bench-venv/bin/python benchmarks/bench_dashboard_scale.py --scenario many-runs

The driver uses only the standard library; children run under ``--python``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench_dashboard import (
    COLORED_CANVAS_JS,
    PACKAGES,
    PROJECT,
    SEED,
    Server,
    _child_env,
    _launch,
    _median,
    _progress,
    _sizes,
    _write_json,
)
from bench_dashboard import run_child as dashboard_child
from machine import machine_info, write_results

REPO_ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "scale": {"runs": 100, "steps": 100_000, "metrics": 20},
    "many-runs": {"runs": 1000, "steps": 100, "metrics": 5},
}
TARGETS_MS = {"scale": ("stable", 2000), "many-runs": ("listed", 500)}
# Bump a package's number when bench_dashboard.make_rows, the generator or that package's stored format changes:
# its cached copy is written again (trackio-callback 2: schema v11, the chunks' extremes).
DATA_VERSION = {"trackio": 1, "trackio-callback": 2}
STABLE_MS = 500  # no pixel of any chart changes for this long: the charts are stable
CHECK_EVERY_MS = 50
VIEWPORT_WIDTH = 1920
# The views measured per package: (name, package, what the URL adds).
VIEWS = {
    "trackio": [("trackio", "trackio", "?project=" + PROJECT)],
    "trackio-callback": [("ours-default", "trackio-callback", ""), ("ours-all", "trackio-callback", "?latest={runs}")],
}

# Runs in the page before its own scripts. Every CHECK_EVERY_MS it looks at the charts (cfg.chart
# elements, keyed by cfg.attr, with a cfg.canvas); on every DOM change (and every check) at the sidebar
# (cfg.count's text matching cfg.countText, and cfg.items entries cfg.item): `listed` is the first time
# both hold. A chart is drawn when its canvas holds coloured pixels (run lines; axes, grid and text are
# grey). Each check takes a fingerprint of every chart (its canvas element and a quarter-size copy of
# its pixels); `changed` is the time of the last check whose fingerprints differ from the previous
# one's. `stable` is set once all cfg.keys charts are drawn and nothing has changed for cfg.stableMs:
# it is then the time of that last change (ms since navigation start). `busyMs` / `longestMs`: the
# probe's own main-thread time, in all and its longest check.
PROBE_JS = """
(() => {
  const cfg = %s;
  const B = (window.__bench = { stable: null, changed: null, drawnAll: null, listed: null, checks: 0,
                                colored: 0, charts: 0, changes: [], busyMs: 0, longestMs: 0 });
  const ids = new WeakMap();
  let nextId = 1, last = "";
  const thumb = document.createElement("canvas");
  const tctx = thumb.getContext("2d", { willReadFrequently: true });
%s  function fingerprint(canvas) {
    if (!ids.has(canvas)) ids.set(canvas, nextId++);
    const w = Math.max(1, canvas.width >> 2), h = Math.max(1, canvas.height >> 2);
    thumb.width = w; thumb.height = h;
    tctx.clearRect(0, 0, w, h);
    tctx.drawImage(canvas, 0, 0, w, h);
    const px = tctx.getImageData(0, 0, w, h).data;
    let hash = 2166136261;
    for (let i = 0; i < px.length; i++) hash = Math.imul(hash ^ px[i], 16777619);
    return ids.get(canvas) + ":" + (hash >>> 0);
  }
  function check() {
    const started = performance.now();
    look(started);
    const took = performance.now() - started;
    B.busyMs += took;
    B.longestMs = Math.max(B.longestMs, took);
  }
  function listed(now) {
    if (B.listed !== null || !cfg.count) return;
    const count = document.querySelector(cfg.count);
    const items = document.querySelectorAll(cfg.item).length;
    if (count && new RegExp(cfg.countText).test(count.textContent) && items >= cfg.items) {
      B.listed = now;
      watcher.disconnect();
    }
  }
  // The sidebar is checked on every change of the page's DOM too: its time is exact, not rounded up to a check.
  const watcher = new MutationObserver(() => listed(performance.now()));
  watcher.observe(document, { subtree: true, childList: true, characterData: true });
  function look(now) {
    B.checks++;
    listed(now);
    const keys = new Set(), prints = [];
    let charts = 0;
    for (const el of document.querySelectorAll(cfg.chart)) {
      const canvas = el.querySelector(cfg.canvas);
      charts++;
      if (!canvas || !canvas.width || !canvas.height) continue;
      if (colored(canvas)) keys.add(el.getAttribute(cfg.attr));
      prints.push(el.getAttribute(cfg.attr) + "=" + fingerprint(canvas));
    }
    B.charts = charts;
    B.colored = keys.size;
    const print = prints.sort().join("|");
    if (print !== last) {
      last = print;
      B.changed = now;
      if (B.changes.length < 200) B.changes.push([Math.round(now), keys.size]);
    }
    if (keys.size >= cfg.keys && B.drawnAll === null) B.drawnAll = now;
    if (keys.size < cfg.keys) B.drawnAll = null;
    if (B.drawnAll !== null && now - B.changed >= cfg.stableMs && (!cfg.count || B.listed !== null)) {
      B.stable = B.changed;
      clearInterval(timer);
    }
  }
  const timer = setInterval(check, %d);
})();
"""
PAGE_SELECTORS = {
    "trackio": {
        "chart": ".plot-container[data-metric]",
        "attr": "data-metric",
        "canvas": ".plot canvas",
        "count": ".runs-header .section-label",
        "countText": r"Runs \({runs}\)",
        "item": ".checkbox-list .checkbox-item",
    },
    "trackio-callback": {
        "chart": ".chart[data-key]",
        "attr": "data-key",
        "canvas": "canvas",
        "count": "#run-count",
        "countText": r"of {runs} runs",
        "item": "#run-groups label.run",
    },
}


# -- data: written once, cached ---------------------------------------------------------------------


def data_dir(args: argparse.Namespace) -> Path:
    s = SCENARIOS[args.scenario]
    return Path(args.cache) / f"{args.scenario}-{s['runs']}x{s['steps']}x{s['metrics']}"


def ensure_data(args: argparse.Namespace) -> dict[str, Any]:
    """Each package's copy of the scenario's project (bench_dashboard's generator), built unless cached."""
    s = SCENARIOS[args.scenario]
    base = data_dir(args)
    generation = {}
    for package in PACKAGES:
        directory = base / package.replace("-", "_")
        marker = base / f"{package}.json"
        wanted = {"version": DATA_VERSION[package], "seed": SEED, **s}
        if marker.exists():
            done = json.loads(marker.read_text())
            if done.get("spec") == wanted:
                generation[package] = done["result"] | {"cached": True}
                continue
        if directory.exists():
            subprocess.run(["rm", "-rf", str(directory)], check=True)
        directory.mkdir(parents=True)
        _progress(f"{package}: writing {s['runs']} runs x {s['steps']:,} steps x {s['metrics']} metrics to {directory}")
        t0 = time.perf_counter()
        gen_args = argparse.Namespace(python=args.python, chromium=args.chromium, **s)
        result = dashboard_child(gen_args, "generate", package, directory, [], timeout=4 * 3600)
        result["child_s"] = time.perf_counter() - t0
        result["bytes"] = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
        marker.write_text(json.dumps({"spec": wanted, "result": result}, indent=2))
        generation[package] = result | {"cached": False}
    return generation


# -- child: one page load ---------------------------------------------------------------------------


def child_page(args: argparse.Namespace) -> None:
    """Open ``--url`` in a fresh browser; wait for stable charts (and the listed sidebar), at most ``--cap`` s."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    s = SCENARIOS[args.scenario]
    selectors = {k: v.replace("{runs}", str(s["runs"])) for k, v in PAGE_SELECTORS[args.package].items()}
    expected_items = s["runs"] if args.package == "trackio" else min(s["runs"], args.shown)
    cfg = {**selectors, "keys": s["metrics"], "stableMs": STABLE_MS, "items": expected_items}
    result: dict[str, Any] = {"url": args.url}
    with sync_playwright() as p:
        browser = _launch(p, args.chromium)
        result["chromium"] = browser.version
        page = browser.new_context(viewport={"width": VIEWPORT_WIDTH, "height": args.height}).new_page()
        page.add_init_script(PROBE_JS % (json.dumps(cfg), COLORED_CANVAS_JS, CHECK_EVERY_MS))
        finished: list[Any] = []
        page.on("requestfinished", lambda request: finished.append(request))
        failed: list[str] = []
        page.on("requestfailed", lambda request: failed.append(urlsplit(request.url).path))
        t0 = time.perf_counter()
        page.goto(args.url, timeout=args.cap * 1000)
        try:
            page.wait_for_function(
                "() => window.__bench && window.__bench.stable !== null", timeout=args.cap * 1000, polling=50
            )
            result["wall_s"] = time.perf_counter() - t0
        except PlaywrightTimeout:
            result["wall_s"] = None
        probe = page.evaluate("() => ({...window.__bench, origin: performance.timeOrigin})")
        result["probe"] = probe
        result["stable_ms"] = probe["stable"]
        result["listed_ms"] = probe["listed"]
        if args.package == "trackio-callback":
            state = page.evaluate(
                """() => { const s = window.trackioDashboard.state();
                   return {timings: s.timings, draws: s.draws, shown: s.shownRuns.length, error: s.error,
                           runs: Object.values(s.charts).map((c) => c.runs.length),
                           points: Object.values(s.charts).flatMap((c) => Object.values(c.points))}; }"""
            )
            result["state"] = {
                "timings": state["timings"],
                "draws": state["draws"],
                "shown": state["shown"],
                "error": state["error"],
                "runs_per_chart": sorted(set(state["runs"])),
                "points_per_line": [min(state["points"], default=0), max(state["points"], default=0)],
            }
        requests = []
        drawn_runs: set[str] = set()  # trackio: the runs whose data had come when its charts were stable
        for request in finished:
            path = urlsplit(request.url).path
            timing = request.timing
            start = timing["startTime"] - probe["origin"]
            wire, decoded = _sizes(request)
            entry = {
                "path": path,
                "start_ms": round(start, 1),
                "end_ms": round(start + timing["responseEnd"], 1) if timing["responseEnd"] >= 0 else None,
                "wire": wire,
                "decoded": decoded,
            }
            if args.package == "trackio" and path == "/api/get_logs_batch":
                try:
                    logs = json.loads(request.response().body())["data"]
                    entry["runs"] = len(logs)
                    if (
                        probe["stable"] is not None
                        and entry["end_ms"] is not None
                        and entry["end_ms"] <= probe["stable"]
                    ):
                        drawn_runs.update(r["run"] for r in logs if r["logs"])
                    rows = sorted({len(r["logs"]) for r in logs})
                    entry["rows"] = [rows[0], rows[-1]] if rows else []
                except Exception as error:  # an answer the page aborted has no body
                    entry["error"] = str(error)[:200]
            requests.append(entry)
        result["requests"] = requests
        if args.package == "trackio":
            result["runs_with_data_when_stable"] = len(drawn_runs)
        result["failed"] = failed
        if args.shot:
            page.screenshot(path=args.shot, full_page=True)
        browser.close()
    _write_json(args.child_out, result)


# -- driver -----------------------------------------------------------------------------------------


def _page_child(args: argparse.Namespace, package: str, directory: Path, url: str, shot: Path | None) -> dict:
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    command = [
        args.python,
        str(Path(__file__).resolve()),
        "--child",
        "--scenario",
        args.scenario,
        "--package",
        package,
        "--url",
        url,
        "--child-out",
        str(out),
        "--cap",
        str(args.cap),
        "--height",
        str(args.height),
        "--shown",
        str(args.shown),
        "--chromium",
        args.chromium,
    ] + (["--shot", str(shot)] if shot else [])
    try:
        done = subprocess.run(
            command,
            env=_child_env(package, directory),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            timeout=args.cap + 180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"page child for {package} failed ({done.returncode}):\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


def warm(directory: Path) -> float:
    """Read every file under ``directory`` once (the OS page cache then holds it, as right after it was written);
    returns the seconds it took."""
    t0 = time.perf_counter()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                while handle.read(8 << 20):
                    pass
    return time.perf_counter() - t0


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    s = SCENARIOS[args.scenario]
    generation = ensure_data(args)
    base = data_dir(args)
    logs = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    views = [v for package in PACKAGES for v in VIEWS[package] if v[0] in args.views]
    reps = []
    for rep in range(args.repeats):
        order = views if rep % 2 == 0 else views[::-1]
        result = {}
        for name, package, suffix in order:
            directory = base / package.replace("-", "_")
            warm_s = warm(directory)  # both packages' files read just before their page: a warm page cache
            server_args = argparse.Namespace(python=args.python, chromium=args.chromium, **s)
            with Server(server_args, package, directory, logs / f"serve-{name}-r{rep}.log") as server:
                _progress(f"rep {rep + 1}/{args.repeats}: {name}: opening the page (fresh server and browser)")
                url = server.url.rstrip("/") + "/" + suffix.replace("{runs}", str(s["runs"]))
                shot = Path(args.shots) / f"{args.scenario}-{name}-r{rep}.png" if args.shots else None
                page = _page_child(args, package, directory, url, shot)
                page["server_start_s"] = server.info["start_s"]
                page["warm_s"] = warm_s
                result[name] = page
                _progress(
                    f"   stable {page['stable_ms']} ms, listed {page['listed_ms']} ms"
                    + (f", state {page.get('state', {}).get('timings')}" if "state" in page else "")
                )
        reps.append(result)
    return {"generation": generation, "reps": reps, "logs": str(logs)}


MEASURES = {
    "stable_ms": "charts stable: every chart drawn with its runs' lines, then unchanged for 500 ms",
    "listed_ms": "sidebar listed: the run count shown, with its run entries",
}
VIEW_TEXT = {
    "trackio": "trackio 0.43 `show` (every run selected, its default)",
    "ours-default": "trackio-callback, default view (latest {shown} runs)",
    "ours-all": "trackio-callback, all {runs} runs (`?latest={runs}`)",
}


def summarize(raw: dict[str, Any], args: argparse.Namespace) -> list[dict[str, Any]]:
    """One row per measure and view: the median and each repetition, trackio's median / this one, the target."""
    rows = []
    names = [v[0] for package in PACKAGES for v in VIEWS[package] if v[0] in args.views]
    target_measure, target_ms = TARGETS_MS[args.scenario]
    for measure in MEASURES:
        per_view = {name: [rep[name][measure] for rep in raw["reps"]] for name in names}
        trackio = _median(per_view["trackio"]) if "trackio" in per_view else None
        for name in names:
            median = _median(per_view[name])
            ratio: Any = None
            if name != "trackio" and median and "trackio" in per_view:
                # trackio past the cap: a lower bound (it took longer than the cap).
                ratio = trackio / median if trackio is not None else f"> {args.cap * 1000 / median:,.0f}x"
            target = None
            if measure == f"{target_measure}_ms" and name != "trackio":
                target = f"<= {target_ms / 1000:g} s: " + (
                    "met" if median is not None and median <= target_ms else "NOT met"
                )
            rows.append(
                {
                    "measure": measure,
                    "view": name,
                    "median_ms": median,
                    "reps_ms": per_view[name],
                    "ratio": ratio,
                    "target": target,
                }
            )
    return rows


def check_lines(raw: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """What each page showed (runs per chart, points per line, trackio's data answers) and the probe's own cost."""
    s = SCENARIOS[args.scenario]
    notes = []
    for i, rep in enumerate(raw["reps"]):
        for name, page in rep.items():
            probe = page["probe"]
            state = page.get("state")
            if state is not None:
                expected = s["runs"] if name == "ours-all" else min(s["runs"], args.shown)
                if state["error"] or (page["stable_ms"] is not None and state["runs_per_chart"] != [expected]):
                    notes.append(
                        f"WARNING rep {i + 1} {name}: runs per chart {state['runs_per_chart']}, error {state['error']}"
                    )
            with_data = page.get("runs_with_data_when_stable")
            if page["stable_ms"] is not None and with_data is not None and with_data < s["runs"]:
                notes.append(
                    f"WARNING rep {i + 1} {name}: stable with the data of {with_data} of {s['runs']} runs only"
                )
            if page["stable_ms"] is None:
                notes.append(
                    f"rep {i + 1} {name}: not stable within {args.cap:g} s: {probe['colored']} of {probe['charts']} "
                    f"charts drawn ({s['metrics']} wanted), sidebar listed: {page['listed_ms'] is not None}"
                )
    first = raw["reps"][0]
    for name, page in first.items():
        probe = page["probe"]
        line = f"{name}, rep 1: the probe's own main-thread time {probe['busyMs']:.0f} ms in {probe['checks']} checks"
        line += f" (longest {probe['longestMs']:.0f} ms)"
        if "state" in page:
            st = page["state"]
            line += (
                f"; the page's own marks: chartsDrawn {st['timings'].get('chartsDrawn', 0):,.0f} ms, projectMs "
                f"{st['timings'].get('projectMs', 0):,.0f} ms, {st['draws']} draw(s); runs per chart "
                f"{st['runs_per_chart']}, points per line {st['points_per_line'][0]}..{st['points_per_line'][1]}"
            )
        batches = [r for r in page["requests"] if r["path"] == "/api/get_logs_batch" and "runs" in r]
        if batches:
            line += "; get_logs_batch answers (runs, rows per run): " + ", ".join(
                f"({r['runs']}, {r['rows']})" for r in batches[:4]
            )
        api = [r for r in page["requests"] if r["path"].startswith("/api/") and r["end_ms"] is not None]
        if api:
            line += (
                f"; {len(api)} API answers, {sum(r['decoded'] for r in api) / 1e6:,.1f} MB, the last ended at "
                f"{max(r['end_ms'] for r in api):,.0f} ms"
            )
        notes.append(line + ".")
    return notes


def render(rows: list[dict[str, Any]], raw: dict[str, Any], args: argparse.Namespace, machine: dict[str, Any]) -> str:
    s = SCENARIOS[args.scenario]
    cap = f"> {args.cap:g} s (cap)"

    def ms(v: float | None) -> str:
        return cap if v is None else f"{v:,.0f} ms"

    lines = [
        f"Machine: {machine['cpu_model']}, {machine['cores']} cores, Python {machine['python']}, "
        f"SQLite {machine['sqlite']}; trackio {machine['trackio']}, trackio-callback {machine['trackio_callback']}, "
        f"Chromium {machine.get('chromium', '?')} (headless, {VIEWPORT_WIDTH}x{args.height}), "
        f"playwright {machine['playwright']}",
        f"Scenario {args.scenario}: {s['runs']:,} runs x {s['steps']:,} steps x {s['metrics']} float metrics in one "
        f"project; {args.repeats} repetitions, each a fresh server and a fresh browser per page, order alternating",
        "",
        "| measure | view | median | repetitions | trackio / this | target |",
        "| --- | --- | ---: | --- | ---: | --- |",
    ]
    for r in rows:
        ratio = r["ratio"]
        ratio = "" if ratio is None else ratio if isinstance(ratio, str) else f"{ratio:,.1f}x"
        reps = ", ".join(ms(v) for v in r["reps_ms"])
        view = VIEW_TEXT[r["view"]].format(runs=s["runs"], shown=min(args.shown, s["runs"]))
        lines.append(
            f"| {MEASURES[r['measure']]} | {view} | {ms(r['median_ms'])} | {reps} | {ratio} | {r['target'] or ''} |"
        )
    lines += ["", *check_lines(raw, args)]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="scale")
    parser.add_argument("--repeats", type=int, default=3, help="page loads per view (fresh server and browser each)")
    parser.add_argument("--cap", type=float, default=120, help="seconds a page may take before it counts as '> cap'")
    parser.add_argument("--views", default="trackio,ours-default,ours-all", help="which views to measure")
    parser.add_argument("--height", type=int, default=2400, help="viewport height: every chart on screen")
    parser.add_argument("--shown", type=int, default=20, help="runs our sidebar lists by default (its 'Latest N')")
    parser.add_argument("--cache", default=str(REPO_ROOT / ".bench" / "dashboard-scale"), help="the data's cache")
    parser.add_argument("--generate-only", action="store_true", help="build (or check) the cached data and stop")
    parser.add_argument("--out", help="JSON results (default .bench/dashboard-scale-<scenario>.json)")
    parser.add_argument("--shots", help="folder for a full-page screenshot of each page once stable")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the children")
    parser.add_argument("--chromium", default="/usr/bin/chromium", help="Chromium executable for playwright")
    hidden = argparse.SUPPRESS
    parser.add_argument("--child", action="store_true", help=hidden)
    parser.add_argument("--package", choices=PACKAGES, help=hidden)
    parser.add_argument("--url", help=hidden)
    parser.add_argument("--child-out", help=hidden)
    parser.add_argument("--shot", help=hidden)
    args = parser.parse_args(argv)
    args.views = [v.strip() for v in args.views.split(",") if v.strip()]
    known = {v[0] for views in VIEWS.values() for v in views}
    if not set(args.views) <= known:
        parser.error(f"--views: unknown {sorted(set(args.views) - known)}; known: {sorted(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child_page(args)
        return 0
    if args.generate_only:
        print(json.dumps(ensure_data(args), indent=2))
        return 0
    if args.shots:
        Path(args.shots).mkdir(parents=True, exist_ok=True)
    machine = machine_info(args.python, ("trackio", "trackio-callback", "playwright"))
    started = time.time()
    raw = run_benchmark(args)
    first = next(iter(raw["reps"][0].values()))
    machine["chromium"] = first.get("chromium")
    rows = summarize(raw, args)
    print(render(rows, raw, args, machine))
    config = {k: v for k, v in vars(args).items() if k not in ("child", "package", "url", "child_out", "shot")}
    out = args.out or str(REPO_ROOT / ".bench" / f"dashboard-scale-{args.scenario}.json")
    write_results(out, machine, config, started, rows, raw)
    return 0


if __name__ == "__main__":
    sys.exit(main())
