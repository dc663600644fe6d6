"""``get media`` (listing and ``--export DIR``), ``get histogram`` and ``get traces``: a run's rich values.

An export writes each stored file, byte for byte, as ``DIR/<key>/<step>[-<item>].<format>`` plus an index
``DIR/media.json`` that maps every file back to its key, step, caption and digest. ``-<item>`` marks a value
of a list logged under the key at one step; a step logged again after a rewind gets ``-seq<N>`` (the
row's number, `Reader.media`'s ``seq``). Key folders are named so that every OS can hold them (`folder_names`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ..analysis.distribution import check_percentiles, describe, percentile_name
from ..store.downsample import even_indices
from ..store.reader import Reader
from ..utils.jsontext import dumps
from ..utils.jsontext import number as _number
from .output import table as _table

INDEX = "media.json"
MAX_FOLDER_BYTES = 120  # well under every file system's 255 per name, leaving room for the digest suffix
# Characters Windows refuses in a name ("/" and "\\" separate folders; the rest are reserved), and controls.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}
MEDIA_FIELDS = ("key", "step", "item", "kind", "caption", "format", "size", "width", "height", "duration", "digest")


def _safe(key: str) -> str:
    name = _UNSAFE.sub("_", key).rstrip(". ")  # Windows drops trailing dots and spaces: two keys would meet
    encoded = name.encode()
    if len(encoded) > MAX_FOLDER_BYTES:
        name = encoded[:MAX_FOLDER_BYTES].decode(errors="ignore")
    if name in ("", ".", ".."):
        name = "_" + name
    if name.split(".")[0].upper() in _WINDOWS_DEVICES or name.casefold() == INDEX:
        name = "_" + name
    return name


def folder_names(keys: list[str]) -> dict[str, str]:
    """A folder name for each key, distinct even where the file system ignores case, safe on every OS.

    Characters a name cannot hold become ``_`` (``"train/samples"`` -> ``"train_samples"``); keys that
    would then share a folder (``"a/b"`` and ``"a_b"``, ``"Img"`` and ``"img"``), or were cut for length,
    each get the first 8 hex digits of their sha256, so the same key gets the same folder in every export.
    """
    safe = {key: _safe(key) for key in keys}
    shared = Counter(name.casefold() for name in safe.values())
    return {
        key: f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        if shared[name.casefold()] > 1 or len(key.encode()) > MAX_FOLDER_BYTES
        else name
        for key, name in safe.items()
    }


def _logged_values(media: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """For each of `Reader.media`'s rows (in the order logged), which logged value it belongs to: a list logged
    under a key is one value of items 0, 1, ..., so each item 0 starts the key's next value."""
    counters: Counter[str] = Counter()
    values = []
    for medium in media:
        if medium["item"] == 0:
            counters[medium["key"]] += 1
        values.append((medium["key"], counters[medium["key"]]))
    return values


def export_media(media: list[dict[str, Any]], directory: Path) -> tuple[list[dict[str, Any]], int]:
    """Copy each of `Reader.media`'s files into ``directory`` (see the module) and write its index.

    Returns the index entries (``"file"``: the path under ``directory``, None for a file not stored on
    this machine) and how many files are missing.
    """
    folders = folder_names(sorted({m["key"] for m in media}))
    values = _logged_values(media)
    items_per_value = Counter(values)
    taken: set[str] = set()
    entries, missing = [], 0
    for medium, value in zip(media, values):
        stem = str(medium["step"])
        if items_per_value[value] > 1:  # one of a list
            stem += f"-{medium['item']}"
        name = f"{folders[medium['key']]}/{stem}.{medium['format']}"
        if name.casefold() in taken:  # the same step and item logged again (a resumed run)
            name = f"{folders[medium['key']]}/{stem}-seq{medium['seq']}.{medium['format']}"
        taken.add(name.casefold())
        entry = {"file": name, **{f: medium[f] for f in MEDIA_FIELDS}, "timestamp": medium["timestamp"]}
        entry["seq"] = medium["seq"]
        source: Path = medium["path"]
        if source.is_file():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        else:
            entry["file"], missing = None, missing + 1
        entries.append(entry)
    (directory / INDEX).write_text(dumps(entries, indent=2) + "\n", encoding="utf-8")
    return entries, missing


def _in_steps(rows: list[dict[str, Any]], low: int | None, high: int | None) -> list[dict[str, Any]]:
    low = -(2**63) if low is None else low
    high = 2**63 if high is None else high
    return [row for row in rows if low <= row["step"] <= high]


def get_media(args: Any, reader: Reader, project: str, run: str) -> int:
    """``get media``: list a run's media (``--json``), or copy them into ``--export DIR``."""
    media = _in_steps(reader.media(project, run, args.key), args.min_step, args.max_step)
    if args.export is not None:
        directory = Path(args.export)
        directory.mkdir(parents=True, exist_ok=True)
        entries, missing = export_media(media, directory)
        sys.stdout.write(f"{len(entries) - missing} files written to {directory} (index: {directory / INDEX})\n")
        if missing:
            sys.stderr.write(
                f"trackio-callback: {missing} files are not stored on this machine (pulled without their bytes); "
                f'{INDEX} lists them with "file": null\n'
            )
            return 1
        return 0
    if args.json:
        listed = [{**m, "path": str(m["path"]), "stored": m["path"].is_file()} for m in media]
        sys.stdout.write(dumps(listed, indent=2) + "\n")
        return 0
    _table(
        [
            [m["step"], m["key"], m["item"], m["kind"], m["format"], m["size"],
             f"{m['width']}x{m['height']}" if m["width"] is not None else None,
             None if m["duration"] is None else f"{m['duration']:g}", m["digest"][:12], m["caption"]]
            for m in media
        ],
        ["step", "key", "item", "kind", "format", "bytes", "size", "seconds", "digest", "caption"],
    )  # fmt: skip
    return 0


def _percentiles(text: str | None) -> tuple[float, ...]:
    if text is None:
        return check_percentiles(None)
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--percentiles must be numbers from 0 to 100 separated by commas, got {text!r}") from None
    return check_percentiles(values)


def _short(value: float | None) -> str | None:
    """A number for the table: 6 significant digits (``--json`` has them all)."""
    return None if value is None else _number(float(f"{value:.6g}"))


def get_histogram(args: Any, reader: Reader, project: str, run: str, key: str) -> int:
    """``get histogram``: per step the count, mean, std, min, max and percentiles of a histogram key."""
    percentiles = _percentiles(args.percentiles)
    histograms = _in_steps(reader.histograms(project, run, key), args.min_step, args.max_step)
    if args.max_points is not None:
        histograms = [histograms[i] for i in even_indices(len(histograms), args.max_points)]
    steps = [describe(h, percentiles) for h in histograms]
    if args.json:
        sys.stdout.write(dumps(steps, indent=2) + "\n")
        return 0
    names = [percentile_name(p) for p in percentiles]
    _table(
        [
            [s["step"], _short(s["count"]), _short(s["mean"]), _short(s["std"]), _short(s["min"]),
             *(_short(s["percentiles"][n]) for n in names), _short(s["max"])]
            for s in steps
        ],
        ["step", "count", "mean", "std", "min", *(f"p{n}" for n in names), "max"],
    )  # fmt: skip
    return 0


def get_traces(args: Any, reader: Reader, project: str, run: str) -> int:
    """``get traces``: a run's traces (of ``--key``), oldest first; ``--max-points N`` keeps the newest N."""
    traces = _in_steps(reader.traces(project, run, args.key), args.min_step, args.max_step)
    if args.max_points is not None:
        traces = traces[-args.max_points :] if args.max_points > 0 else []
    if args.json:
        sys.stdout.write(dumps(traces, indent=2) + "\n")
        return 0
    for trace in traces:
        values = trace["value"] if isinstance(trace["value"], list) else [trace["value"]]
        for item, value in enumerate(values):
            where = f"{trace['key']}[{item}]" if len(values) > 1 else trace["key"]
            sys.stdout.write(f"--- step {trace['step']}  {where}\n")
            if not isinstance(value, dict):
                sys.stdout.write(dumps(value) + "\n")
                continue
            if value.get("metadata"):
                sys.stdout.write(f"metadata: {dumps(value['metadata'])}\n")
            for message in value.get("messages") or []:
                content = message.get("content") if isinstance(message, dict) else message
                role = message.get("role") if isinstance(message, dict) else None
                sys.stdout.write(f"[{role}] {content if isinstance(content, str) else dumps(content)}\n")
            if value.get("spans"):
                sys.stdout.write(f"spans: {dumps(value['spans'])}\n")
    return 0
