"""``trackio-callback``: a thin command line over `Reader` (and the demo job).

    trackio-callback list projects
    trackio-callback list runs --project P [--group G] [--name REGEX] [--tag T]
    trackio-callback list metrics --project P --run R
    trackio-callback list texts|media|histograms|traces --project P --run R
    trackio-callback list checkpoints --project P --run R [--json]     (see `checkpoints`)
    trackio-callback get metric --project P --run R --metric M [--json] [--min-step N] [--max-step N]
                                [--max-points N] [--latest-per-step]      (M may be a text key: prints its strings)
    trackio-callback get metric --project P [--run R ...] --metric M --plot [--width W] [--height H]   (see `plot`)
    trackio-callback get run --project P --run R [--json]
    trackio-callback get media --project P --run R [--key K] [--json] [--export DIR]    (see `media`)
    trackio-callback get histogram --project P --run R --key K [--json] [--percentiles 5,50,95] [--max-points N]
    trackio-callback get traces --project P --run R [--key K] [--json] [--max-points N]
    trackio-callback sync [--project P] [--dataset-id D]
    trackio-callback pull --dataset-id D [--project P]
    trackio-callback runs delete|rename|move P R [NEW_NAME|NEW_PROJECT] [--yes]     (see `manage`)
    trackio-callback runs tag P R [--add T ...] [--remove T ...] | runs note P R TEXT
    trackio-callback projects delete P [--yes]
    trackio-callback watch [--project P] [--run R] [--metric REGEX] [--interval S] [--exit-when-done]  (see `watch`)
    trackio-callback show [--project P] [--host 127.0.0.1] [--port 7860] [--dataset-id D] [--no-browser] [--mcp-server]
    trackio-callback mcp [--dataset-id D]
    trackio-callback demo [--steps N] [--synthetic]

JSON output is strict JSON: NaN and infinities are written as the strings "NaN", "Infinity" and
"-Infinity"; timestamps are unix seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sqlite3
import sys
from datetime import datetime, timezone
from typing import Any

from ..errors import TrackioError
from ..store import files
from ..store.end_reasons import describe
from ..store.reader import Reader
from ..utils.jsontext import dumps
from ..utils.jsontext import number as _number
from .manage import add_commands as add_management_commands
from .output import table as _table
from .points import write_points_json


def _print_json(value: Any) -> None:
    sys.stdout.write(dumps(value, indent=2) + "\n")


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _ended(run: dict[str, Any]) -> str | None:
    """Why ``run`` ended, in words (None, printed ``-``, while it runs)."""
    return describe(run["end_reason"]) or None


def _tags(run: dict[str, Any]) -> str | None:
    """A run's tags on one line (None, printed ``-``, when it has none)."""
    return ", ".join(run["tags"]) or None


def cmd_list(args: argparse.Namespace, reader: Reader) -> None:
    result: Any
    if args.what == "projects":
        result, unreadable = reader.readable_projects()
        for project, error in unreadable.items():  # named, not fatal: the good projects are the answer
            sys.stderr.write(f"trackio-callback: skipped project {project!r}: {error}\n")
    elif args.what == "runs":
        result = reader.runs(_need(args, "project"), group=args.group, name=args.name, tag=args.tag)
    elif args.what == "texts":
        result = reader.text_keys(_need(args, "project"), _need(args, "run"))
    elif args.what == "media":
        result = reader.media_keys(_need(args, "project"), _need(args, "run"))
    elif args.what == "histograms":
        result = reader.histogram_keys(_need(args, "project"), _need(args, "run"))
    elif args.what == "traces":
        result = reader.trace_keys(_need(args, "project"), _need(args, "run"))
    elif args.what == "system":
        result = reader.system_keys(_need(args, "project"), _need(args, "run"))
    elif args.what == "checkpoints":
        from .checkpoints import print_checkpoints

        print_checkpoints(reader.run(_need(args, "project"), _need(args, "run"))["checkpoints"], args.json)
        return
    elif args.what == "alerts":
        project = _need(args, "project")
        names = [args.run] if args.run else [r["name"] for r in reader.runs(project)]
        result = sorted(
            ({"run": name, **alert} for name in names for alert in reader.alerts(project, name)),
            key=lambda alert: alert["timestamp"],
        )
    else:
        result = reader.metric_keys(_need(args, "project"), _need(args, "run"))
    if args.json:
        _print_json(result)
    elif args.what == "runs":
        _table(
            [
                [r["name"], r["group"], r["status"], r["last_step"], _time(r["created_at"]), _ended(r), _tags(r)]
                for r in result
            ],
            ["name", "group", "status", "last_step", "created (UTC)", "ended", "tags"],
        )
    elif args.what == "alerts":
        _table(
            [[_time(a["timestamp"]), a["run"], a["step"], a["level"], a["title"], a["text"]] for a in result],
            ["time (UTC)", "run", "step", "level", "title", "text"],
        )
    else:
        for line in result:
            sys.stdout.write(line + "\n")


def cmd_get(args: argparse.Namespace, reader: Reader) -> int | None:
    if args.plot:
        if args.what != "metric" or args.json:
            raise ValueError("--plot draws a metric: use it with `get metric` and without --json")
        from .plot import plot_metric

        return plot_metric(args, reader, _need(args, "project"), args.run or [], _need(args, "metric"))
    project, run = _need(args, "project"), _one_run(args)
    if args.what in ("media", "histogram", "traces"):
        from . import media

        if args.what == "media":
            return media.get_media(args, reader, project, run)
        if args.what == "histogram":
            return media.get_histogram(args, reader, project, run, _need(args, "key"))
        return media.get_traces(args, reader, project, run)
    if args.what == "run":
        summary = reader.summary(project, run)
        summary["texts"] = reader.text_keys(project, run)
        if args.json:
            _print_json(summary)
            return
        for field in ("name", "group", "status", "last_step", "num_logs"):
            sys.stdout.write(f"{field}: {summary[field]}\n")
        sys.stdout.write(f"created: {_time(summary['created_at'])}  finished: {_time(summary['finished_at'])}\n")
        if summary["end_reason"] is not None:
            sys.stdout.write(f"ended: {describe(summary['end_reason'])}\n")
        sys.stdout.write(f"tags: {_tags(summary) or '-'}\n")
        if summary["notes"]:
            sys.stdout.write("notes:\n" + "".join(f"  {line}\n" for line in summary["notes"].splitlines()))
        _table(
            [
                [k, m["count"], _number(m["last"]), _number(m["min"]), _number(m["max"]), m["last_step"]]
                for k, m in summary["metrics"].items()
            ],
            ["metric", "count", "last", "min", "max", "last_step"],
        )
        if summary["texts"]:
            sys.stdout.write(f"texts: {', '.join(summary['texts'])}\n")
        if summary["checkpoints"]:
            from .checkpoints import print_checkpoints

            sys.stdout.write("checkpoints:\n")
            print_checkpoints(summary["checkpoints"], as_json=False)
        return
    key = _need(args, "metric")
    if args.what == "system":
        samples = reader.system_series(project, run, key)
        if args.json:
            _print_json(samples)
        else:
            _table([[_time(p["timestamp"]), p["step"], p["node"], _number(p["value"])] for p in samples],
                   ["time (UTC)", "step", "node", "value"])  # fmt: skip
        return
    if key not in reader.metric_keys(project, run) and key in reader.text_keys(project, run):
        _print_texts(reader.texts(project, run, key), args)
        return
    series = reader.series(
        project,
        run,
        key,
        min_step=args.min_step,
        max_step=args.max_step,
        max_points=args.max_points,
        latest_per_step=args.latest_per_step,
    )
    if args.json:
        sys.stdout.flush()
        write_points_json(sys.stdout.buffer, series.steps, series.timestamps_us, series.values)
    else:
        sys.stdout.write("step\ttimestamp\tvalue\n")
        sys.stdout.write(
            "".join(f"{s}\t{t / 1e6!r}\t{v!r}\n" for s, t, v in zip(series.steps, series.timestamps_us, series.values))
        )


def _print_texts(texts: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """A text key's strings, oldest first, narrowed as `get metric`'s options narrow a series.

    ``--max-points N`` keeps the newest N (strings cannot be downsampled); ``--latest-per-step`` the
    last string logged at each step, sorted by step.
    """
    low = args.min_step if args.min_step is not None else -(2**63)
    high = args.max_step if args.max_step is not None else 2**63
    texts = [t for t in texts if low <= t["step"] <= high]
    if args.latest_per_step:
        texts = sorted({t["step"]: t for t in texts}.values(), key=lambda t: t["step"])
    if args.max_points is not None:
        texts = texts[-args.max_points :] if args.max_points > 0 else []
    if args.json:
        _print_json([{"step": t["step"], "timestamp": t["timestamp"], "value": t["value"]} for t in texts])
        return
    for t in texts:
        sys.stdout.write(f"--- step {t['step']} ({_time(t['timestamp'])} UTC)\n{t['value']}\n")


def cmd_sync(args: argparse.Namespace, reader: Reader) -> None:
    from ..hub.commands import sync

    if args.project is None:
        for project, error in reader.readable_projects()[1].items():  # the others still sync
            sys.stderr.write(f"trackio-callback: skipped project {project!r}: {error}\n")
    results = sync(args.dir, project=args.project, dataset_id=args.dataset_id)
    if not results:
        sys.stdout.write("no run has a dataset to sync to (init with space_id or dataset_id, or pass --dataset-id)\n")
    for target, result in results.items():
        if result.removed:
            sys.stdout.write(f"{target}: {len(result.removed)} files of deleted or moved runs removed\n")
        if result.files:
            sys.stdout.write(f"{target}: {len(result.files)} files, {result.rows} rows, {result.bytes_sent} bytes\n")
        elif not result.removed:
            sys.stdout.write(f"{target}: up to date\n")


def cmd_pull(args: argparse.Namespace, reader: Reader) -> None:
    from ..hub.pull import pull

    counts = pull(args.dataset_id, args.dir, project=args.project)
    sys.stdout.write(", ".join(f"{count} {kind}" for kind, count in counts.items()) + f" imported into {reader.dir}\n")


def cmd_demo(args: argparse.Namespace, reader: Reader) -> None:
    from ..demos.demo import main as demo

    demo(project=args.project or "demo", steps=args.steps, directory=args.dir, synthetic=args.synthetic)


def _dashboard_extra(error: ImportError) -> TrackioError:
    from ..server import missing_extra  # the package itself needs no extra

    return missing_extra(error, "this")


def cmd_show(args: argparse.Namespace, reader: Reader) -> None:
    from .. import show  # names the 'dashboard' extra when it is missing

    show(
        args.project,
        host=args.host,
        server_port=args.port,
        dataset_id=args.dataset_id,
        dir=args.dir,
        open_browser=not args.no_browser,
        mcp_server=True if args.mcp_server else None,
        block_thread=True,
    )


def cmd_mcp(args: argparse.Namespace, reader: Reader) -> None:
    try:
        from ..server.mcp_server import serve_stdio
    except ImportError as error:
        raise _dashboard_extra(error) from None
    serve_stdio(args.dir, dataset_id=args.dataset_id)


def cmd_watch(args: argparse.Namespace, reader: Reader) -> int:
    from .watch import watch

    return watch(reader, args.project, args.run, args.metric, args.interval, exit_when_done=args.exit_when_done)


def _one_run(args: argparse.Namespace) -> str:
    """The one ``--run`` of `get` (only ``get metric --plot`` takes several)."""
    runs: list[str] = args.run or []
    if not runs:
        raise SystemExit("trackio-callback: error: --run is required here")
    if len(runs) > 1:
        raise SystemExit(f"trackio-callback: error: --run is given {len(runs)} times; only --plot draws several runs")
    return runs[0]


def _need(args: argparse.Namespace, name: str) -> str:
    value = getattr(args, name, None)
    if value is None:
        raise SystemExit(f"trackio-callback: error: --{name} is required here")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trackio-callback",
        description="Read experiments tracked by trackio-callback (stored as SQLite, one file per project).",
    )
    parser.add_argument("--dir", help="storage directory (default: $TRACKIO_DIR, else the HF cache)")
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser(
        "list",
        help="list projects, runs of a project, a run's metric, text, media, histogram, trace or system keys, "
        "alerts, or the checkpoints a run saved",
    )
    listing.add_argument(
        "what",
        choices=[
            "projects", "runs", "metrics", "texts", "media", "histograms", "traces", "system", "alerts", "checkpoints"
        ],
    )  # fmt: skip
    listing.add_argument("--project")
    listing.add_argument("--run")
    listing.add_argument("--group", help="only runs of this group")
    listing.add_argument("--name", help="only runs whose name matches this regex")
    listing.add_argument("--tag", help="only runs that carry this tag")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_list)

    getting = commands.add_parser(
        "get",
        help="print a metric's values (a text key's strings), a system metric's samples, a run's summary, its media "
        "(or export them), a histogram's percentiles per step, or its traces",
    )
    getting.add_argument("what", choices=["metric", "system", "run", "media", "histogram", "traces"])
    getting.add_argument("--project")
    getting.add_argument("--run", action="append", help="the run (--plot: repeat it for several; none: every run)")
    getting.add_argument("--metric")
    getting.add_argument("--key", help="media, histogram or traces: the key (media and traces: default every key)")
    getting.add_argument(
        "--export",
        metavar="DIR",
        help="media: copy the files into DIR/<key>/<step>[-<item>].<format>, index in media.json",
    )
    getting.add_argument("--percentiles", help="histogram: comma-separated, from 0 to 100 (default 5,25,50,75,95)")
    getting.add_argument("--min-step", type=int)
    getting.add_argument("--max-step", type=int)
    getting.add_argument(
        "--max-points",
        type=int,
        help="downsample to at most N points, keeping spikes (histogram: N evenly spread steps; traces: the newest N)",
    )
    getting.add_argument("--latest-per-step", action="store_true", help="after rewinds, keep the last value per step")
    getting.add_argument("--json", action="store_true", help='print JSON: [{"step", "timestamp", "value"}, ...]')
    getting.add_argument("--plot", action="store_true", help="metric: draw it in the terminal, one line per run")
    getting.add_argument("--width", type=int, help="--plot: columns (default: the terminal's)")
    getting.add_argument("--height", type=int, help="--plot: lines, the legend included (default: the terminal's)")
    getting.set_defaults(handler=cmd_get)

    watching = commands.add_parser(
        "watch", help="a live view of a run in the terminal: step rate, ETA, and a sparkline per metric"
    )
    watching.add_argument("--project", help="default: the project with the most recent run")
    watching.add_argument("--run", help="default: the project's latest running run, else its latest run")
    watching.add_argument("--metric", help="only metrics matching this regex (default: every metric)")
    watching.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes (default 1)")
    watching.add_argument("--exit-when-done", action="store_true", help="exit once the run has ended")
    watching.set_defaults(handler=cmd_watch)

    syncing = commands.add_parser("sync", help="send what a Hub dataset lacks (runs trained offline or cut off)")
    syncing.add_argument("--project", help="only this project (default: every project)")
    syncing.add_argument("--dataset-id", help="sync to this dataset instead of each run's own")
    syncing.set_defaults(handler=cmd_sync)

    pulling = commands.add_parser("pull", help="import a Hub dataset into the local store (idempotent)")
    pulling.add_argument("--dataset-id", required=True)
    pulling.add_argument("--project", help="only this project")
    pulling.set_defaults(handler=cmd_pull)

    showing = commands.add_parser("show", help="serve the dashboard (http://127.0.0.1:7860/)")
    showing.add_argument("--project", help="the project the page opens (default: the latest)")
    showing.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    showing.add_argument("--port", type=int, help="port (default: the first free one from 7860)")
    showing.add_argument("--dataset-id", help="show this Hub dataset: pulled into a local mirror, and kept pulled")
    showing.add_argument("--no-browser", action="store_true", help="do not open a browser")
    showing.add_argument(
        "--mcp-server",
        action="store_true",
        help="also serve the MCP tools at /gradio_api/mcp/ (or: GRADIO_MCP_SERVER=1)",
    )
    showing.set_defaults(handler=cmd_show)

    serving = commands.add_parser("mcp", help="serve the MCP tools over stdio (for clients that spawn servers)")
    serving.add_argument("--dataset-id", help="serve this Hub dataset: pulled into a local mirror, and kept pulled")
    serving.set_defaults(handler=cmd_mcp)

    demo = commands.add_parser("demo", help="train a tiny model offline with TRL's SFTTrainer, tracked locally")
    demo.add_argument("--project", help="project name (default: demo)")
    demo.add_argument("--steps", type=int, default=200)
    demo.add_argument("--synthetic", action="store_true", help="log a made-up curve instead (no training)")
    demo.set_defaults(handler=cmd_demo)
    add_management_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    reader = Reader(args.dir)
    try:
        code = args.handler(args, reader)
    except (TrackioError, ValueError, TypeError) as error:
        sys.stderr.write(f"trackio-callback: error: {error}\n")
        return 2
    except sqlite3.DatabaseError as error:  # damage past the header only shows when a page is read
        project = getattr(args, "project", None)
        where = files.project_path(reader.dir, project) if project else reader.dir
        sys.stderr.write(f"trackio-callback: error: {where} cannot be read as a project: {error}\n")
        return 2
    except BrokenPipeError:  # e.g. piped into `head`
        return 0
    finally:
        reader.close()
    return code or 0


def entry() -> None:
    """The ``trackio-callback`` command: `main`, then exit without tearing the interpreter down.

    Finalizing every module costs more than a typical command (about 17 ms); there is nothing to
    clean up that the OS does not, once the output is flushed.
    """
    code = main()
    with contextlib.suppress(BrokenPipeError):  # e.g. piped into `head`
        sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry()
