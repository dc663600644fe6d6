"""The MCP server: tools that let an AI assistant monitor and diagnose training, over `Reader`.

Built with the official ``mcp`` SDK. The dashboard server mounts it (streamable HTTP) at
``/gradio_api/mcp/`` — the path trackio's guide gives assistants — and at ``/mcp``; ``trackio-callback
mcp`` serves it over stdio for clients that spawn their servers. Client configuration::

    {"mcpServers": {"trackio": {"url": "http://127.0.0.1:7860/gradio_api/mcp/"}}}

Every tool answers JSON and every tool the dashboard mounts is read-only; the stdio server over a local storage
directory adds two that label runs (`WRITE_TOOL_NAMES`: ``set_run_tags``, ``set_run_notes``), validated as the CLI
validates them: an assistant spawned by its user may tag, a web page never reaches them. Answers are bounded: series
are downsampled (spikes kept) to ``max_points``, lists are cut to a stated limit, and each cut is said in the answer
(``truncated``, ``total``). An unknown project, run or metric is a tool error whose message lists the nearest names.
"""

from __future__ import annotations

import base64
import functools
import math
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ContentBlock, ImageContent, TextContent
from starlette.routing import Route

from .. import settings
from ..alerts.levels import parse_level
from ..analysis.distribution import check_percentiles, describe
from ..errors import TrackioError
from ..hub.mirror import PULL_EVERY_S, DatasetMirror
from ..media.encoding import MEDIA_TYPES
from ..store.codec import to_seconds
from ..store.downsample import even_indices, minmax_indices
from ..store.end_reasons import describe as describe_end
from ..store.files import project_path
from ..utils.jsontext import dumps
from ..version import __version__
from .readers import ThreadReaders

DEFAULT_MAX_POINTS = 500
MAX_POINTS_LIMIT = 5000
MAX_RUNS = 200
MAX_ALERTS = 100
MAX_CHECKPOINTS = 50  # get_run_summary: the newest checkpoints (a run keeps up to 500)
DEFAULT_MAX_TEXTS = 20
MAX_TEXTS_LIMIT = 1000
DEFAULT_TEXT_CHARS = 2000  # per string: a generation can be long, an answer must stay readable
MAX_TEXT_CHARS_LIMIT = 100_000
ANALYSIS_POINTS = 5000  # per metric: min/max downsampling keeps the spikes the analysis looks for
TEXT_KINDS = ("text", "markdown", "html")
DEFAULT_MAX_MEDIA = 100
MAX_MEDIA_LIMIT = 1000
# What assistants' clients show (bmp and tiff they do not).
IMAGE_MIME_TYPES = {name: MEDIA_TYPES[name] for name in ("png", "jpeg", "jpg", "gif", "webp")}
MAX_IMAGE_BYTES = 5 * 2**20  # the per-image limit of common assistant APIs (Anthropic's is 5 MB)
DEFAULT_HISTOGRAM_STEPS = 50
MAX_HISTOGRAM_STEPS = 1000
DEFAULT_MAX_TRACES = 10
MAX_TRACES_LIMIT = 200
DEFAULT_TRACE_MESSAGES = 50
MAX_TRACE_MESSAGES = 1000

INSTRUCTIONS = """\
Training runs tracked by trackio-callback (Hugging Face transformers / TRL). Start with
get_all_projects, then get_runs_for_project and get_run_summary. analyze_run gives a numeric
diagnosis of a run's loss curve (trend, plateau, spikes, NaN, divergence, overfitting, learning-rate
phase, throughput) to reason from; get_metric_values returns a downsampled curve that keeps spikes.
Metric names look like "train/loss", "eval/loss", "train/learning_rate", "train/grad_norm". Strings a
run logged (e.g. "samples/generation"), Markdown and HTML are text keys: get_texts reads them, newest
last. Images, audio and video: get_media lists them, get_media_item shows one (an image as image
content); histograms of weights or gradients: get_histogram (percentiles per step); conversation and
rollout traces: get_traces. get_metrics_for_run lists every kind of key a run has. Runs carry tags (short
labels) and notes (free text) that people set to say what a run was for."""

WRITE_INSTRUCTIONS = (
    " set_run_tags adds and removes a run's tags; set_run_notes replaces its notes (ask the user before changing"
    " notes someone wrote)."
)
MAX_BRIEF_NOTES_CHARS = 300  # get_runs_for_project: the start of each run's notes (get_run_summary: all of them)


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="seconds")


def _bounded_max_points(max_points: int) -> int:
    if isinstance(max_points, bool) or not isinstance(max_points, int) or not 4 <= max_points <= MAX_POINTS_LIMIT:
        raise ValueError(f"max_points must be an integer from 4 to {MAX_POINTS_LIMIT}, got {max_points!r}")
    return max_points


def _bounded(name: str, value: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ValueError(f"{name} must be an integer from 1 to {high}, got {value!r}")
    return value


def _text_point(text: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """A logged string for an answer: cut to ``max_chars``, saying how long it is (``chars``) and whether it was cut."""
    value = text["value"]
    return {
        "key": text["key"],
        "step": text["step"],
        "timestamp": round(text["timestamp"], 3),
        "value": value[:max_chars],
        "chars": len(value),
        "cut": len(value) > max_chars,
        "kind": text["kind"],
    }


def _cut(value: Any, max_chars: int) -> tuple[Any, int, bool]:
    """``value`` for an answer, its length in characters and whether it was cut: a string cut to ``max_chars``;
    anything else kept as it is unless its JSON text is longer, which then comes cut instead."""
    text = value if isinstance(value, str) else dumps(value)
    if len(text) <= max_chars:
        return value, len(text), False
    return text[:max_chars], len(text), True


def _trace_message(message: dict[str, Any], max_chars: int) -> dict[str, Any]:
    """A trace message for an answer: every field but its role cut to ``max_chars``; ``chars`` is its content's
    full length."""
    answer: dict[str, Any] = {}
    cut = False
    for field, value in message.items():
        if field == "role":
            answer[field] = value
            continue
        answer[field], length, field_cut = _cut(value, max_chars)
        cut = cut or field_cut
        if field == "content":
            answer["chars"] = length
    answer["cut"] = cut
    return answer


def _trace_entry(trace: dict[str, Any], item: Any, value: Any, max_messages: int, max_chars: int) -> dict[str, Any]:
    """One logged `Trace` (``value``: its messages, metadata and spans) for an answer, bounded."""
    if not isinstance(value, dict):  # not a trace's document: say what it is rather than guess
        kept, length, cut = _cut(value, max_chars)
        return {"key": trace["key"], "step": trace["step"], "timestamp": round(trace["timestamp"], 3), "item": item,
                "value": kept, "chars": length, "cut": cut}  # fmt: skip
    messages = [m if isinstance(m, dict) else {"content": m} for m in value.get("messages") or []]
    spans = value.get("spans") or []
    roles: dict[str, int] = {}
    for message in messages:
        role = str(message.get("role"))
        roles[role] = roles.get(role, 0) + 1
    metadata, _, metadata_cut = _cut(value.get("metadata") or {}, max_chars)
    return {
        "key": trace["key"],
        "step": trace["step"],
        "timestamp": round(trace["timestamp"], 3),
        "item": item,
        "roles": roles,
        "messages_total": len(messages),
        "messages": [_trace_message(m, max_chars) for m in messages[:max_messages]],
        "metadata": metadata,
        "metadata_cut": metadata_cut,
        "spans_total": len(spans),
        "spans": [_cut(span, max_chars)[0] for span in spans[:max_messages]],
    }


def _media_point(medium: dict[str, Any]) -> dict[str, Any]:
    fields = ("key", "step", "item", "kind", "caption", "format", "size", "width", "height", "duration", "digest")
    return {
        **{field: medium[field] for field in fields},
        "timestamp": round(medium["timestamp"], 3),
        "stored": medium["path"].is_file(),
    }


def _run_brief(run: dict[str, Any]) -> dict[str, Any]:
    end = run["finished_at"] if run["finished_at"] is not None else run["heartbeat_at"]
    return {
        "name": run["name"],
        "group": run["group"],
        "status": run["status"],
        "created_at": _iso(run["created_at"]),
        "finished_at": _iso(run["finished_at"]),
        "duration_s": None if end is None else round(end - run["created_at"], 1),
        "last_step": run["last_step"],
        "num_logs": run["num_logs"],
        "ended": describe_end(run["end_reason"]) or None,  # why it ended, in words (None while it runs)
        "tags": run["tags"],
        "notes": run["notes"][:MAX_BRIEF_NOTES_CHARS],
        "notes_truncated": len(run["notes"]) > MAX_BRIEF_NOTES_CHARS,
    }


def _verdict_with_end(verdict: str, run: dict[str, Any]) -> str:
    """``verdict`` saying why the run ended: first when it did not simply finish (that is the headline)."""
    reason = run["end_reason"]
    if reason is None:
        return verdict
    if isinstance(reason, dict) and reason.get("kind") == "finished":
        return f"{verdict}; run {describe_end(reason)}"
    return f"run {run['status']}: {describe_end(reason)}; {verdict}"


def _checkpoint(entry: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint record (`core.checkpoint_records`) for an answer: its time as ISO text."""
    return {
        "step": entry["step"],
        "path": entry["path"],
        "saved_at": _iso(entry.get("time")),
        "metrics": entry.get("metrics") or {},
        "best_metric": entry.get("best_metric"),
        "repo": entry.get("repo"),
        "revision": entry.get("revision"),
    }


class TrackioTools:
    """The tools, as plain methods over `ThreadReaders` (the MCP layer only registers them)."""

    def __init__(self, readers: ThreadReaders):
        self.readers = readers

    @property
    def reader(self):
        return self.readers.get()

    def get_all_projects(self) -> dict[str, Any]:
        """List every project (one SQLite file each) with its number of runs and last activity (UTC);
        "unreadable" lists the project files that cannot be read (damaged, or written by a newer
        version), each with its file and the reason."""
        reader = self.reader
        readable, errors = reader.readable_projects()
        unreadable: dict[str, str] = {name: str(error) for name, error in errors.items()}
        projects = []
        for name in readable:
            try:
                runs = reader.runs(name)
            except (TrackioError, sqlite3.DatabaseError) as error:  # damage past the header shows only now
                unreadable[name] = str(error)
                continue
            last = max((r["heartbeat_at"] or r["created_at"] for r in runs), default=None)
            projects.append({"name": name, "runs": len(runs), "last_activity": _iso(last)})
        return {
            "projects": projects,
            "unreadable": [
                {"name": name, "file": str(project_path(reader.dir, name)), "error": unreadable[name]}
                for name in sorted(unreadable)
            ],
        }

    def get_runs_for_project(self, project: str) -> dict[str, Any]:
        """List the runs of a project, newest first: name, group, status (running / finished / crashed),
        start and end time, duration in seconds, last step, number of log calls, tags, and the start of
        its notes (notes_truncated: get_run_summary has them all)."""
        runs = self.reader.runs(project)
        newest = sorted(runs, key=lambda r: r["created_at"], reverse=True)
        return {
            "project": project,
            "total": len(runs),
            "truncated": len(runs) > MAX_RUNS,
            "runs": [_run_brief(r) for r in newest[:MAX_RUNS]],
        }

    def get_metrics_for_run(self, project: str, run: str) -> dict[str, Any]:
        """List the metric names a run logged (e.g. "train/loss", "eval/loss"), with how many points
        each has and its last value; plus its system metric names (GPU/CPU), table names, text keys
        (strings, Markdown and HTML it logged, e.g. "samples/generation": read them with get_texts), media
        keys (images, audio, video, 3D objects: get_media), histogram keys (get_histogram) and trace keys
        (get_traces)."""
        summaries = self.reader.summary(project, run)["metrics"]
        return {
            "project": project,
            "run": run,
            "metrics": {
                key: {"count": s["count"], "last": s["last"], "last_step": s["last_step"]}
                for key, s in summaries.items()
            },
            "system_metrics": self.reader.system_keys(project, run),
            "tables": self.reader.table_keys(project, run),
            "texts": self.reader.text_keys(project, run),
            "media": self.reader.media_keys(project, run),
            "histograms": self.reader.histogram_keys(project, run),
            "traces": self.reader.trace_keys(project, run),
        }

    def get_metric_values(
        self,
        project: str,
        run: str,
        metric_name: str,
        min_step: int | None = None,
        max_step: int | None = None,
        max_points: int = DEFAULT_MAX_POINTS,
    ) -> dict[str, Any]:
        """The values of one metric of one run as [{"step", "timestamp" (unix seconds), "value"}],
        optionally within [min_step, max_step]. Long series are downsampled to at most max_points
        (default 500, at most 5000) keeping each bucket's first, last, lowest and highest point, so
        spikes and NaNs stay visible (on smooth stretches those coincide, so fewer points come back);
        "total_points" says how many there are in the step range. A text key (a logged string) answers
        its newest max_points strings in the step range, oldest first, each cut to 2000 characters
        ("kind": "text"; get_texts reads them with more control)."""
        max_points = _bounded_max_points(max_points)
        reader = self.reader
        if metric_name not in reader.metric_keys(project, run) and metric_name in reader.text_keys(project, run):
            low = -(2**63) if min_step is None else min_step
            high = 2**63 if max_step is None else max_step
            texts = [t for t in reader.texts(project, run, metric_name) if low <= t["step"] <= high]
            kept = texts[-max_points:]
            return {
                "project": project,
                "run": run,
                "metric": metric_name,
                "kind": "text",
                "total_points": len(texts),
                "returned_points": len(kept),
                "downsampled": len(kept) < len(texts),
                "points": [{k: v for k, v in _text_point(t, DEFAULT_TEXT_CHARS).items() if k != "key"} for t in kept],
            }
        series = self.reader.series(project, run, metric_name, min_step, max_step, max_points=max_points)
        return {
            "project": project,
            "run": run,
            "metric": metric_name,
            "total_points": series.total,
            "returned_points": len(series),
            "downsampled": series.downsampled,
            "points": [
                {"step": s, "timestamp": round(to_seconds(t), 3), "value": v}
                for s, t, v in zip(series.steps, series.timestamps_us, series.values)
            ],
        }

    def get_texts(
        self,
        project: str,
        run: str,
        key: str | None = None,
        max_texts: int = DEFAULT_MAX_TEXTS,
        max_chars: int = DEFAULT_TEXT_CHARS,
        kind: str | None = None,
    ) -> dict[str, Any]:
        """The strings a run logged (e.g. generated samples under "samples/generation", trackio.Markdown
        reports, trackio.Html panels), of one key or of every text key, as [{"key", "step", "timestamp",
        "value", "chars", "cut", "kind"}] ("kind": "text", "markdown" or "html"; only those of kind when
        given): the newest max_texts (default 20, at most 1000), oldest first; each value cut to max_chars
        characters (default 2000, at most 100000; "chars" is its full length, "cut" says whether it was
        cut). "text_keys" lists the run's text keys; "total" says how many strings there are."""
        max_texts = _bounded("max_texts", max_texts, MAX_TEXTS_LIMIT)
        max_chars = _bounded("max_chars", max_chars, MAX_TEXT_CHARS_LIMIT)
        if kind is not None and kind not in TEXT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, TEXT_KINDS))}, got {kind!r}")
        texts = [t for t in self.reader.texts(project, run, key) if kind is None or t["kind"] == kind]
        kept = texts[-max_texts:]
        return {
            "project": project,
            "run": run,
            "key": key,
            "kind": kind,
            "text_keys": self.reader.text_keys(project, run),
            "total": len(texts),
            "truncated": len(kept) < len(texts),
            "texts": [_text_point(t, max_chars) for t in kept],
        }

    def get_media(
        self, project: str, run: str, key: str | None = None, max_items: int = DEFAULT_MAX_MEDIA
    ) -> dict[str, Any]:
        """The images, audio, video and 3D objects a run logged, of one key or of every media key, as
        [{"key", "step", "item", "kind", "caption", "format", "size", "width", "height", "duration",
        "digest", "timestamp", "stored"}]: the newest max_items (default 100, at most 1000), oldest first.
        "kind" is image, audio, video or object3d; "item" the place in a list logged under one key at
        one step (0 for a single value); "size" is in bytes, width/height in pixels, "duration" in
        seconds; "digest" is the file's sha256; "stored" says whether the file is on this machine.
        "media_keys" lists the run's media keys; "total" says how many media there are. See one with
        get_media_item."""
        max_items = _bounded("max_items", max_items, MAX_MEDIA_LIMIT)
        media = self.reader.media(project, run, key)
        kept = media[-max_items:]
        return {
            "project": project,
            "run": run,
            "key": key,
            "media_keys": self.reader.media_keys(project, run),
            "total": len(media),
            "truncated": len(kept) < len(media),
            "media": [_media_point(m) for m in kept],
        }

    def get_media_item(
        self,
        project: str,
        run: str,
        key: str,
        step: int | None = None,
        item: int = 0,
        include_image: bool = True,
    ) -> tuple[dict[str, Any], list[ContentBlock]]:
        """One medium a run logged under key: its metadata as get_media lists it, and, for an image
        (PNG, JPEG, GIF or WebP of at most 5 MB), the image itself as MCP image content after the JSON,
        so that a client which takes images shows it to the model. step: the step it was logged at
        (default: the key's newest); item: its place in a list logged at that step (default 0); when a
        step was logged twice (a resumed run), the later one. A client or model that cannot take
        images passes include_image=false and gets the metadata only. "image" says "attached" or why
        not; "steps" says how many steps the key has, "items" how many media this step has."""
        if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
            raise ValueError(f"step must be an integer, got {step!r}")
        if isinstance(item, bool) or not isinstance(item, int) or item < 0:
            raise ValueError(f"item must be an integer >= 0, got {item!r}")
        media = self.reader.media(project, run, key)
        steps = sorted({m["step"] for m in media})
        chosen = steps[-1] if step is None and steps else step
        at_step = [m for m in media if m["step"] == chosen]
        if not at_step:
            nearest = sorted(steps, key=lambda s: abs(s - chosen))[:5]
            raise ValueError(
                f"no media under {key!r} at step {chosen!r} in run {run!r}; nearest steps: "
                + ", ".join(map(str, sorted(nearest)))
            )
        # rows come in the order they were logged; each logged value (a list: items 0, 1, ...) starts at item 0,
        # so a step logged again after a rewind answers its later value
        last_value = max((i for i, m in enumerate(at_step) if m["item"] == 0), default=0)
        items = {m["item"]: m for m in at_step[last_value:]}
        if item not in items:
            raise ValueError(f"no item {item} under {key!r} at step {chosen}: its items are 0 to {max(items)}")
        medium = items[item]
        answer = {"project": project, "run": run, **_media_point(medium), "steps": len(steps), "items": len(items)}
        mime = IMAGE_MIME_TYPES.get(medium["format"]) if medium["kind"] == "image" else None
        if medium["kind"] != "image":
            answer["image"] = f"not an image: a {medium['kind']} medium comes as metadata only"
        elif mime is None:
            answer["image"] = f"not attached: {medium['format']} images are not shown by MCP clients"
        elif not include_image:
            answer["image"] = "not attached: include_image is false"
        elif not answer["stored"]:
            answer["image"] = f"not attached: the file is not stored on this machine ({medium['path']})"
        elif medium["size"] > MAX_IMAGE_BYTES:
            answer["image"] = f"not attached: {medium['size']} bytes, over the {MAX_IMAGE_BYTES} an image may have"
        else:
            answer["image"] = "attached"
            data = base64.b64encode(medium["path"].read_bytes()).decode("ascii")
            return answer, [ImageContent(type="image", data=data, mime_type=mime)]
        return answer, []

    def get_histogram(
        self,
        project: str,
        run: str,
        key: str,
        min_step: int | None = None,
        max_step: int | None = None,
        max_steps: int = DEFAULT_HISTOGRAM_STEPS,
        percentiles: list[float] | None = None,
    ) -> dict[str, Any]:
        """A histogram key of a run (weights, gradients or logits logged as trackio.Histogram) over its
        steps: per step [{"step", "timestamp", "count", "mean", "std", "min", "max", "percentiles",
        "bins", "bin_width"}], oldest first, optionally within [min_step, max_step]. "percentiles" maps
        each asked percentile (default 5, 25, 50, 75, 95; 1 to 21 numbers from 0 to 100) to its value.
        The numbers are estimated from the stored bins, each within one bin width ("bin_width": the
        widest bin): percentiles interpolate the cumulative counts, mean and std take bin centers, min
        and max are the outer edges of the non-empty bins. More than max_steps steps (default 50, 2 to
        1000) are thinned to max_steps evenly spread ones, the first and last kept;
        "total_steps" says how many there are in the step range."""
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) or not 2 <= max_steps <= MAX_HISTOGRAM_STEPS:
            raise ValueError(f"max_steps must be an integer from 2 to {MAX_HISTOGRAM_STEPS}, got {max_steps!r}")
        chosen = check_percentiles(percentiles)
        low = -(2**63) if min_step is None else min_step
        high = 2**63 if max_step is None else max_step
        histograms = [h for h in self.reader.histograms(project, run, key) if low <= h["step"] <= high]
        kept = [histograms[i] for i in even_indices(len(histograms), max_steps)]
        steps = [describe(h, chosen) | {"timestamp": round(h["timestamp"], 3)} for h in kept]
        return {
            "project": project,
            "run": run,
            "key": key,
            "total_steps": len(histograms),
            "returned_steps": len(steps),
            "downsampled": len(steps) < len(histograms),
            "steps": steps,
        }

    def get_traces(
        self,
        project: str,
        run: str,
        key: str | None = None,
        max_traces: int = DEFAULT_MAX_TRACES,
        max_messages: int = DEFAULT_TRACE_MESSAGES,
        max_chars: int = DEFAULT_TEXT_CHARS,
    ) -> dict[str, Any]:
        """The traces a run logged (trackio.Trace: a conversation or an agent rollout, e.g. from TRL's
        async GRPO), of one key or of every trace key: the newest max_traces (default 10, at most 200),
        oldest first, as [{"key", "step", "timestamp", "item", "roles", "messages_total", "messages",
        "metadata", "metadata_cut", "spans_total", "spans"}]. "roles" counts the messages per role;
        "messages" are the first max_messages (default 50, at most 1000), each as logged ({"role",
        "content", ...}) with every field cut to max_chars characters (default 2000, at most 100000),
        "chars" the content's full length and "cut" whether something was cut. A list of traces logged
        under one key at one step gives one entry per trace ("item": its place). "trace_keys" lists
        the run's trace keys; "total" says how many traces there are."""
        max_traces = _bounded("max_traces", max_traces, MAX_TRACES_LIMIT)
        max_messages = _bounded("max_messages", max_messages, MAX_TRACE_MESSAGES)
        max_chars = _bounded("max_chars", max_chars, MAX_TEXT_CHARS_LIMIT)
        entries = []
        for trace in self.reader.traces(project, run, key):
            value = trace["value"]
            if isinstance(value, list):  # a list of traces logged under the key at one step
                entries.extend((trace, i, v) for i, v in enumerate(value))
            else:
                entries.append((trace, 0, value))
        kept = entries[-max_traces:]
        return {
            "project": project,
            "run": run,
            "key": key,
            "trace_keys": self.reader.trace_keys(project, run),
            "total": len(entries),
            "truncated": len(kept) < len(entries),
            "traces": [_trace_entry(t, i, v, max_messages, max_chars) for t, i, v in kept],
        }

    def get_project_summary(self, project: str) -> dict[str, Any]:
        """A project at a glance: number of runs, runs per status and per group, last activity,
        and the newest runs (up to 200)."""
        runs = self.reader.runs(project)
        statuses: dict[str, int] = {}
        groups: dict[str, int] = {}
        for r in runs:
            statuses[r["status"]] = statuses.get(r["status"], 0) + 1
            groups[r["group"] or ""] = groups.get(r["group"] or "", 0) + 1
        last = max((r["heartbeat_at"] or r["created_at"] for r in runs), default=None)
        newest = sorted(runs, key=lambda r: r["created_at"], reverse=True)
        return {
            "project": project,
            "run_count": len(runs),
            "status_counts": statuses,
            "group_counts": groups,
            "last_activity": _iso(last),
            "truncated": len(runs) > MAX_RUNS,
            "runs": [_run_brief(r) for r in newest[:MAX_RUNS]],
        }

    def get_run_summary(self, project: str, run: str) -> dict[str, Any]:
        """Everything about one run: config, status, why it ended ("ended" in words; "end_reason": kind
        finished|exception|cuda_oom|signal|health_stop|deadline_stop|heartbeat_lost, message, type, traceback,
        signal, alert, step, peak_memory_gb, total_memory_gb), times, steps, the summary it logged, per metric
        count / last / min / max / first and last step, its text keys (logged strings, Markdown, HTML:
        get_texts), media keys (get_media), histogram keys (get_histogram), trace keys (get_traces), its
        alerts (level, title, text; newest 100), and the checkpoints it saved (newest 50, oldest first: step,
        path, saved_at, the eval metrics of that moment, the Trainer's best_metric, and the Hub repo and
        revision it was pushed to, null if not pushed)."""
        summary = self.reader.summary(project, run)
        alerts = self.reader.alerts(project, run)
        brief = _run_brief(summary)
        return {
            "project": project,
            **brief,
            "notes": summary["notes"],
            "notes_truncated": False,
            "end_reason": summary["end_reason"],
            "config": summary["config"],
            "summary": summary["summary"],
            "metrics": summary["metrics"],
            "texts": self.reader.text_keys(project, run),
            "media": self.reader.media_keys(project, run),
            "histograms": self.reader.histogram_keys(project, run),
            "traces": self.reader.trace_keys(project, run),
            "alerts_total": len(alerts),
            "alerts": alerts[-MAX_ALERTS:],
            "checkpoints_total": len(summary["checkpoints"]),
            "checkpoints": [_checkpoint(c) for c in summary["checkpoints"][-MAX_CHECKPOINTS:]],
        }

    def get_system_metrics(
        self, project: str, run: str, metric_name: str | None = None, max_points: int = 200
    ) -> dict[str, Any]:
        """System metrics sampled while the run trained (GPU utilization, memory, power, temperature
        per device and node; CPU, RAM). Without metric_name: each metric's last, min, max and mean.
        With metric_name: its samples [{"timestamp", "step", "node", "value"}], oldest first; more than
        max_points (default 200, at most 5000) are downsampled to at most max_points keeping each bucket's
        first, last, lowest and highest sample, so spikes, dips and NaNs stay visible, and the last
        sample always; "total_samples" says how many there are."""
        max_points = _bounded_max_points(max_points)
        if metric_name is None:
            stats = {}
            for key in self.reader.system_keys(project, run):
                values = [s["value"] for s in self.reader.system_series(project, run, key)]
                finite = [v for v in values if math.isfinite(v)]
                stats[key] = {
                    "samples": len(values),
                    "last": values[-1] if values else None,
                    "min": min(finite, default=None),
                    "max": max(finite, default=None),
                    "mean": sum(finite) / len(finite) if finite else None,
                }
            return {"project": project, "run": run, "metrics": stats}
        samples = self.reader.system_series(project, run, metric_name)
        kept = [samples[i] for i in minmax_indices([s["value"] for s in samples], max_points)]
        return {
            "project": project,
            "run": run,
            "metric": metric_name,
            "total_samples": len(samples),
            "returned_samples": len(kept),
            "samples": kept,
        }

    def get_alerts(self, project: str, run: str | None = None, level: str | None = None) -> dict[str, Any]:
        """Alerts of one run, or of every run of the project when run is omitted: the training script's
        (trackio.alert: level, title, text) and health alerts (title nan_loss, loss_spike,
        grad_norm_explosion, storage_failure, with the value); only those of level ("info", "warn",
        "error") when given; newest 100, oldest first."""
        wanted = None if level is None else parse_level(level).value
        names = [run] if run is not None else [r["name"] for r in self.reader.runs(project)]
        alerts = [{"run": name, **a} for name in names for a in self.reader.alerts(project, name)]
        alerts = [a for a in alerts if wanted is None or a["level"] == wanted]
        alerts.sort(key=lambda a: a["timestamp"])
        truncated = len(alerts) > MAX_ALERTS
        return {"project": project, "total": len(alerts), "truncated": truncated, "alerts": alerts[-MAX_ALERTS:]}

    def compare_runs(self, project: str, runs: list[str], metric: str) -> dict[str, Any]:
        """Compare one metric across runs: per run its last, min (and step), max, count and the mean
        of its last 10% of points; runs ranked by last value (lowest first; runs whose last value is
        NaN or infinite are listed in "unranked" instead); plus the config keys whose values differ
        between the runs."""
        if not runs:
            raise ValueError("runs must name at least one run")
        rows = []
        for name in runs:
            series = self.reader.series(project, name, metric)
            values = series.values
            finite = [(v, s) for v, s in zip(values, series.steps) if math.isfinite(v)]
            tail = values[-max(1, len(values) // 10) :]
            tail_finite = [v for v in tail if math.isfinite(v)]
            best = min(finite, default=(None, None))
            rows.append(
                {
                    "run": name,
                    "count": len(values),
                    "last": values[-1] if values else None,
                    "last_step": series.steps[-1] if values else None,
                    "min": best[0],
                    "min_step": best[1],
                    "max": max((v for v, _ in finite), default=None),
                    "final_mean": sum(tail_finite) / len(tail_finite) if tail_finite else None,
                }
            )
        ranked = sorted(
            (r for r in rows if r["last"] is not None and math.isfinite(r["last"])), key=lambda r: r["last"]
        )
        return {
            "project": project,
            "metric": metric,
            "runs": rows,
            "ranking_by_last": [r["run"] for r in ranked],
            "unranked": [r["run"] for r in rows if r not in ranked],
            "config_diff": self.reader.config_diff(project, runs),
        }

    def analyze_run(self, project: str, run: str, loss_key: str | None = None) -> dict[str, Any]:
        """Diagnose a run from its curves, with the numbers behind each finding: loss trend and slope
        over recent windows, plateau, spikes, NaN/inf, divergence, eval-vs-train gap (overfitting),
        learning-rate schedule phase and throughput drops; plus a one-sentence verdict, which says why the
        run ended (a crash, CUDA out of memory, SIGTERM, a health stop, a lost heartbeat: first), with
        "run_status" (running, finished, crashed) and "end_reason". loss_key overrides which metric is the loss
        (default "train/loss")."""
        from ..analysis import Curve, analyze

        keys = self.reader.metric_keys(project, run)
        if loss_key is not None and loss_key not in keys:
            self.reader.series(project, run, loss_key)  # raises, naming the closest metrics
        curves = {}
        for key in keys:
            series = self.reader.series(project, run, key, max_points=ANALYSIS_POINTS)
            curves[key] = Curve(series.steps, series.values)
        result = analyze(curves, loss_key=loss_key)
        info = self.reader.run(project, run)
        result["verdict"] = _verdict_with_end(result["verdict"], info)
        # "status" stays the diagnosis' (healthy, warning, critical); the run's own is "run_status".
        return {
            "project": project,
            "run": run,
            **result,
            "run_status": info["status"],
            "end_reason": info["end_reason"],
        }


class TrackioWriteTools:
    """The tools that change runs (tags, notes), over a local storage directory; only `serve_stdio` registers them.

    Validated as every writer is (`store.tags`, through `management.operations`): a bad tag is a tool error
    naming it and what is accepted."""

    def __init__(self, readers: ThreadReaders):
        self.readers = readers

    @property
    def reader(self):
        return self.readers.get()

    def set_run_tags(
        self, project: str, run: str, add: list[str] | None = None, remove: list[str] | None = None
    ) -> dict[str, Any]:
        """Add tags to a run and take tags off it (short labels such as "baseline", "best", "lr-sweep": at most
        64 characters, no commas; a run holds at most 100). Answers the run's tags as stored."""
        from ..management import operations  # the write side: only loaded by a server that writes

        row = operations.edit_run_tags(project, run, add=add or [], remove=remove or [], directory=self.reader.dir)
        return {"project": project, "run": row.name, "tags": list(row.tags)}

    def set_run_notes(self, project: str, run: str, notes: str) -> dict[str, Any]:
        """Replace a run's notes (free text, at most 20,000 characters; "" clears them). Answers their length."""
        from ..management import operations

        row = operations.set_run_notes(project, run, notes, directory=self.reader.dir)
        return {"project": project, "run": row.name, "notes_chars": len(row.notes)}


WRITE_TOOL_NAMES = ("set_run_tags", "set_run_notes")


def build_mcp(readers: ThreadReaders, *, writable: bool = False) -> MCPServer:
    """The MCP server with every tool of `TrackioTools` registered under its own name; with ``writable``, those
    of `TrackioWriteTools` too (`serve_stdio` over a local directory: never the dashboard's HTTP mount)."""
    server = MCPServer(
        name="trackio",
        title="trackio-callback",
        instructions=INSTRUCTIONS + (WRITE_INSTRUCTIONS if writable else ""),
        version=__version__,
        log_level="WARNING",
    )
    tools = TrackioTools(readers)
    for name in TOOL_NAMES:
        method = getattr(tools, name)
        server.tool(name=name, description=method.__doc__, structured_output=False)(_json_tool(method))
    if writable:
        writes = TrackioWriteTools(readers)
        for name in WRITE_TOOL_NAMES:
            method = getattr(writes, name)
            server.tool(name=name, description=method.__doc__, structured_output=False)(_json_tool(method))
    return server


MCP_PATHS = ("/gradio_api/mcp/", "/gradio_api/mcp", "/mcp", "/mcp/")


def mount_points(server: MCPServer, allowed_hosts: Sequence[str] | None) -> list[Route]:
    """Routes serving ``server`` (streamable HTTP) at `MCP_PATHS`, for the dashboard app.

    The app must run ``server.session_manager.run()`` in its lifespan. ``allowed_hosts``: the ``Host``
    names the dashboard answers (`api.loopback_hosts`, when it binds to loopback): the SDK's
    DNS-rebinding protection (Host and Origin checks) is then on, for those names with any port. The
    SDK's own default for loopback knows only 127.0.0.1, localhost and [::1], so a dashboard bound to
    127.0.0.2 would refuse its own URL. None: no Host check (bound to a network address).
    """
    from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
    from mcp.server.transport_security import TransportSecuritySettings

    security = None
    if allowed_hosts is not None:
        names = [name for name in allowed_hosts if name.count(":") < 2]  # as a Host header writes them: [::1]
        security = TransportSecuritySettings(
            allowed_hosts=[form for name in names for form in (name, f"{name}:*")],
            allowed_origins=[form for name in names for form in (f"http://{name}", f"http://{name}:*")],
        )
    server.streamable_http_app(  # creates the session manager
        host="127.0.0.1" if security is not None else "0.0.0.0", transport_security=security
    )
    handler = StreamableHTTPASGIApp(server.session_manager)
    return [Route(path, endpoint=handler, methods=["GET", "POST", "DELETE"]) for path in MCP_PATHS]


TOOL_NAMES = (
    "get_all_projects",
    "get_runs_for_project",
    "get_metrics_for_run",
    "get_metric_values",
    "get_texts",
    "get_media",
    "get_media_item",
    "get_histogram",
    "get_traces",
    "get_project_summary",
    "get_run_summary",
    "get_system_metrics",
    "get_alerts",
    "compare_runs",
    "analyze_run",
)


def _json_tool(method: Callable[..., Any]) -> Callable[..., Any]:
    """The method, answering strict JSON text (NaN and infinities as strings) and timing itself.

    A method answering ``(answer, blocks)`` gets the JSON text first, then its content blocks (an image).

    Unknown names and bad arguments become tool errors with our message (which lists the nearest
    names), and so does a project file that cannot be read (naming it, and why); anything else stays a
    crash the SDK reports without details."""

    @functools.wraps(method)
    def tool(*args: Any, **kwargs: Any) -> str:
        started = time.perf_counter()
        try:
            result = method(*args, **kwargs)
        except (TrackioError, ValueError, TypeError) as error:  # bad names or arguments: say what exists
            raise ToolError(str(error)) from error
        except sqlite3.DatabaseError as error:  # a project file damaged past its header: say which and why
            project, tools = kwargs.get("project"), getattr(method, "__self__", None)
            where = f"project {project!r}"
            if isinstance(project, str) and isinstance(tools, TrackioTools):
                where = str(project_path(tools.reader.dir, project))
            raise ToolError(f"{where} cannot be read as a project: {error}") from error
        result, blocks = result if isinstance(result, tuple) else (result, [])
        result["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
        if blocks:
            return [TextContent(type="text", text=dumps(result)), *blocks]
        return dumps(result)

    tool.__annotations__ = {**method.__annotations__, "return": str | list[ContentBlock]}
    return tool


def serve_stdio(directory: Any = None, dataset_id: str | None = None, pull_every: float = PULL_EVERY_S) -> None:
    """Serve the tools over stdio (for clients that spawn the server), until stdin closes.

    ``dataset_id``: serve a Hub dataset, pulled into a local mirror first and every ``pull_every`` s (read-only:
    the next pull would undo a change); over a local directory, the write tools (`WRITE_TOOL_NAMES`) too.
    Nothing but MCP messages goes to stdout.
    """
    writable = dataset_id is None
    mirror = None
    if dataset_id is not None:
        mirror = DatasetMirror.of(dataset_id, directory, pull_every)
        directory = mirror.directory
        mirror.start()
    readers = ThreadReaders(settings.storage_dir(directory))
    try:
        build_mcp(readers, writable=writable).run("stdio")
    finally:
        readers.close()
        if mirror is not None:
            mirror.stop()
