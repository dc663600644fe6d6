"""A run's checkpoint records: one entry per checkpoint saved, kept in ``runs.checkpoints`` (a JSON list).

An entry (what `Run.record_checkpoint` stores, oldest first)::

    {"step": 120, "path": "/job/out/checkpoint-120", "time": 1718000000.5,
     "metrics": {"eval/loss": 0.41, ...}, "best_metric": 0.41, "repo": "alice/model", "revision": "4f2c..."}

``metrics``: the eval metrics last logged when the checkpoint was saved (may be ``{}``); ``best_metric``: the
Trainer's ``state.best_metric`` then; ``repo`` and ``revision``: where the checkpoint was pushed on the Hub and
that commit (None until a push is seen to land). A later record of the same ``(step, path)`` fills in the earlier
one: the fields it gives replace, the ones it leaves None are kept, and so are the first record's time and place
in the list (a push fills in ``repo``/``revision`` of the save it pushed).

The list keeps the newest `MAX_CHECKPOINT_RECORDS` entries: with ``save_steps=100``, 100,000 steps of training.
The whole list is one JSON text rewritten at each save and sent in the run's Hub runs file, so it stays small
(a few hundred bytes an entry). Standard library only: the core writes it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

MAX_CHECKPOINT_RECORDS = 500
MAX_METRICS_PER_RECORD = 100  # eval metrics kept per entry: a record stays a few kB at most


def checkpoint_record(
    step: int,
    path: str | os.PathLike,
    metrics: Mapping[str, Any] | None = None,
    best_metric: float | None = None,
    repo: str | None = None,
    revision: str | None = None,
    *,
    now: float | None = None,
) -> dict[str, Any]:
    """One entry, checked: a bad value raises a TypeError/ValueError naming it and what is accepted.

    ``metrics``: a mapping of metric names to numbers; values that are not numbers are left out. None (not
    ``{}``) and the other None fields mean "unknown": a record filling in an earlier one keeps its values.
    """
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise ValueError(f"record_checkpoint: step must be an integer >= 0, got {step!r}")
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise TypeError(f"record_checkpoint: path must be the checkpoint folder as a str or path, got {path!r}")
    if metrics is not None and not isinstance(metrics, Mapping):
        raise TypeError(f"record_checkpoint: metrics must be a dict of metric names to numbers, got {metrics!r}")
    if best_metric is not None and (isinstance(best_metric, bool) or not isinstance(best_metric, (int, float))):
        raise TypeError(f"record_checkpoint: best_metric must be a number or None, got {best_metric!r}")
    for label, value in (("repo", repo), ("revision", revision)):
        if value is not None and (not isinstance(value, str) or not value):
            raise TypeError(f"record_checkpoint: {label} must be a non-empty string or None, got {value!r}")
    return {
        "step": step,
        "path": os.fspath(path),
        "time": time.time() if now is None else now,
        "metrics": None if metrics is None else _numbers(metrics),
        "best_metric": None if best_metric is None else float(best_metric),
        "repo": repo,
        "revision": revision,
    }


def with_record(records: list[dict[str, Any]], record: dict[str, Any]) -> list[dict[str, Any]]:
    """A new list: ``records`` with ``record`` added, or filling in the entry of its ``(step, path)``; bounded.

    Neither ``records`` nor its entries are changed (the writer thread may be reading them).
    """
    key = (record["step"], record["path"])
    for index, earlier in enumerate(records):
        if (earlier["step"], earlier["path"]) == key:
            given = {name: value for name, value in record.items() if value is not None and name != "time"}
            return [*records[:index], {**earlier, **given}, *records[index + 1 :]]
    added = [*records, {**record, "metrics": record["metrics"] if record["metrics"] is not None else {}}]
    return added[-MAX_CHECKPOINT_RECORDS:]


def _numbers(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric values of ``metrics`` as floats (NaN kept: a NaN eval loss is worth seeing; stored as the
    JSON string ``"NaN"``), at most `MAX_METRICS_PER_RECORD` of them."""
    kept = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            item = getattr(value, "item", None)  # numpy and torch scalars
            if item is None:
                continue
            try:
                value = item()
            except (TypeError, ValueError):
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
        kept[str(name)] = float(value)
        if len(kept) >= MAX_METRICS_PER_RECORD:
            break
    return kept
