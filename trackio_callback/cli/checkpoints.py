"""``trackio-callback list checkpoints --project P --run R``: the checkpoints a run saved, and ``get run``'s lines.

One row per checkpoint, oldest first: the step, when it was saved, its folder, the eval metrics of that moment
(without the evaluation's runtime and rates), the Trainer's best metric, and where it was pushed
(``repo@revision``, the commit shortened) or ``-``. ``--json`` prints the run's records as stored
(`core.checkpoint_records`).
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from typing import Any

from ..utils.jsontext import dumps
from .output import table

SHORT_REVISION = 8  # characters of a commit id shown, as the Hub shows them
SPEED_KEYS = ("/runtime", "_per_second")  # how fast the evaluation ran: in --json, not in the table


def print_checkpoints(checkpoints: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(dumps(checkpoints, indent=2) + "\n")
        return
    if not checkpoints:
        sys.stdout.write("no checkpoints recorded for this run\n")
        return
    table(
        [
            [c["step"], _time(c.get("time")), c["path"], _metrics(c.get("metrics")), c.get("best_metric"), pushed(c)]
            for c in checkpoints
        ],
        ["step", "saved (UTC)", "path", "metrics", "best_metric", "pushed"],
    )


def pushed(checkpoint: dict[str, Any]) -> str | None:
    """``repo@revision`` (shortened) of a pushed checkpoint, ``repo`` while its commit is not known, else None."""
    repo, revision = checkpoint.get("repo"), checkpoint.get("revision")
    if repo is None:
        return None
    return repo if revision is None else f"{repo}@{revision[:SHORT_REVISION]}"


def _metrics(metrics: dict[str, Any] | None) -> str | None:
    """The metrics as ``key=value`` pairs, the evaluation's own speed (runtime, per-second rates) left out."""
    shown = [f"{key}={_number(value)}" for key, value in (metrics or {}).items() if not key.endswith(SPEED_KEYS)]
    return " ".join(shown) or None


def _number(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
