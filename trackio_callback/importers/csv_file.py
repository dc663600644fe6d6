"""`import_csv`: a CSV file of steps and metric columns as one run (trackio's ``import_csv``).

The file has a header row; one column is named ``step`` (any case); a column named ``timestamp``
(any case) gives each row's wall time, as Unix seconds (``1700000000.25``) or ISO 8601
(``2024-05-01T12:00:00+00:00``; without an offset, UTC, as trackio writes them); every other column is a
metric, keeping its name. Each row becomes one logged call at its step::

    step,timestamp,train/loss,eval/loss
    0,1700000000.0,2.31,
    1,1700000001.5,2.05,
    2,1700000003.0,1.87,1.95

An empty cell is a value the row does not have (``eval/loss`` above is logged at step 2 only); ``nan``
and ``inf`` are kept as such. A cell that is not a number is left out with one warning naming its column
(a column with no number at all, such as a text column, is left out whole); a row without any value
is skipped. A row without a timestamp gets the time of the import.
"""

from __future__ import annotations

import csv
import math
import os
import time
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ..core.run import MAX_STEP
from ..core.values import key_problem
from ..errors import ImportSourceError, TrackioWarning
from .writing import Call, check_new_runs, destination, resolve_sync, write_run


def import_csv(
    csv_path: str | os.PathLike,
    project: str,
    name: str | None = None,
    space_id: str | None = None,
    dataset_id: str | None = None,
    private: bool | None = None,
    force: bool = False,
    *,
    dir: str | os.PathLike | None = None,  # noqa: A002 - the name init() uses
) -> str:
    """Import the CSV file ``csv_path`` into ``project`` as a new run, named ``name`` (default: the file's stem).

    ``space_id`` / ``dataset_id`` sync the run to the Hub as ``init`` does (``private`` defaults to True);
    ``force`` is accepted for trackio's signature and has no effect (the sync sends each row once, never
    overwriting). ``dir``: the storage directory, as in ``init``. Returns the run's name.

    Raises FileNotFoundError for a missing file, `ImportSourceError` (a ValueError) for a file without a
    header, a step column or any numeric value, or a bad step or timestamp (naming its line), and when the
    project already has a run of that name.
    """
    where = destination(project, space_id, dataset_id, private, force, dir)
    path = Path(csv_path)
    if not path.is_file():
        raise FileNotFoundError(f"CSV file not found: {str(path)!r}")
    run_name = path.stem if name is None else name
    calls, metrics = read_csv(path)
    check_new_runs(where, [run_name])
    where = resolve_sync(where)
    created = write_run(where, run_name, calls)
    print(f"* Imported {len(calls)} rows from {path} into project {project!r} as run {created!r}")
    print(f"* Metrics: {', '.join(metrics)}")
    return created


def read_csv(path: Path) -> tuple[list[Call], list[str]]:
    """The calls of the CSV file at ``path``, in file order, and the metric columns they hold."""
    with path.open(newline="", encoding="utf-8-sig") as file:  # -sig: a byte-order mark is not a column name
        rows = csv.reader(file)
        header = next(rows, None)
        if not header:
            raise ImportSourceError(f"{path} is empty: a CSV import needs a header row and a 'step' column")
        step_column, timestamp_column = _special_columns(path, header)
        metric_columns = _metric_columns(path, header, {step_column, timestamp_column})
        now = time.time()
        calls: list[Call] = []
        bad: dict[int, tuple[int, str]] = {}  # column -> (cells that are not numbers, the first of them)
        numeric: set[int] = set()
        for line_number, row in enumerate(rows, 2):
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) > len(header):
                raise ImportSourceError(
                    f"{path}, line {line_number}: {len(row)} cells but the header has {len(header)} columns"
                )
            values: dict[str, float] = {}
            for column in metric_columns:
                cell = row[column].strip() if column < len(row) else ""
                if not cell:
                    continue  # the row has no value there
                try:
                    values[header[column]] = float(cell)
                except ValueError:
                    count, first = bad.get(column, (0, cell))
                    bad[column] = (count + 1, first)
                    continue
                numeric.add(column)
            if not values:
                continue
            step = _step(path, line_number, row[step_column] if step_column < len(row) else "")
            cell = row[timestamp_column].strip() if timestamp_column is not None and timestamp_column < len(row) else ""
            timestamp = _timestamp(path, line_number, cell) if cell else now
            calls.append(Call(step, timestamp, values))
    for column, (count, first) in bad.items():
        if column in numeric:
            message = f"{count} cells that are not numbers (such as {first!r}) were skipped"
        else:
            message = f"it holds no numbers (such as {first!r}) and was skipped"
        warnings.warn(f"{path}: column {header[column]!r}: {message}", TrackioWarning, stacklevel=3)
    if not calls:
        raise ImportSourceError(
            f"{path} has no numeric metric values: columns other than the step and timestamp must hold numbers"
        )
    return calls, [header[column] for column in metric_columns if column in numeric]


def _special_columns(path: Path, header: Sequence[str]) -> tuple[int, int | None]:
    """The positions of the step column and of the timestamp column (None when there is none)."""
    names = [cell.strip() for cell in header]
    steps = [i for i, cell in enumerate(names) if cell.lower() == "step"]
    timestamps = [i for i, cell in enumerate(names) if cell.lower() == "timestamp"]
    if not steps:
        raise ImportSourceError(
            f"{path} has no 'step' column (its columns: {', '.join(map(repr, header))}): a CSV import needs a "
            "column named 'step' (any case) holding each row's integer step"
        )
    for label, found in (("step", steps), ("timestamp", timestamps)):
        if len(found) > 1:
            raise ImportSourceError(f"{path} has {len(found)} {label} columns: {[header[i] for i in found]}")
    return steps[0], timestamps[0] if timestamps else None


def _metric_columns(path: Path, header: Sequence[str], special: set[int | None]) -> list[int]:
    columns = []
    seen: set[str] = set()
    for column, key in enumerate(header):
        if column in special:
            continue
        problem = key_problem(key) if key.strip() else "it has no name"
        if problem is not None:
            warnings.warn(f"{path}: column {column + 1} ({key!r}) skipped: {problem}", TrackioWarning, stacklevel=4)
            continue
        if key in seen:
            raise ImportSourceError(f"{path}: the column {key!r} appears twice in the header")
        seen.add(key)
        columns.append(column)
    return columns


def _step(path: Path, line_number: int, cell: str) -> int:
    text = cell.strip()
    step = None
    if text.isdigit():
        step = int(text)  # exact past 2**53, where a float is not
    else:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if number.is_integer():  # "3.0", "1e3"; False for NaN and infinities
            step = int(number)
    if step is None or not 0 <= step <= MAX_STEP:
        raise ImportSourceError(f"{path}, line {line_number}: step {cell!r} is not an integer in [0, 2**62]")
    return step


def _timestamp(path: Path, line_number: int, cell: str) -> float:
    try:
        seconds = float(cell)
    except ValueError:
        try:
            moment = datetime.fromisoformat(cell)
        except ValueError:
            raise ImportSourceError(
                f"{path}, line {line_number}: timestamp {cell!r} is neither Unix seconds (1700000000.5) nor "
                "ISO 8601 (2024-05-01T12:00:00+00:00)"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)  # trackio writes UTC times
        seconds = moment.timestamp()
    if not math.isfinite(seconds):
        raise ImportSourceError(f"{path}, line {line_number}: timestamp {cell!r} is not a finite number")
    return seconds
