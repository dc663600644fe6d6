"""`import_tf_events`: TensorBoard event files as runs, one per directory (trackio's ``import_tf_events``).

Event files (``events.out.tfevents.*``, as written by ``torch.utils.tensorboard.SummaryWriter``,
TensorFlow or tensorboardX) are read with the ``tensorboard`` package's own reader (the ``imports`` extra:
``pip install 'trackio-callback[imports]'``). Every directory under ``log_dir`` that holds event files
becomes one run, named after its path relative to ``log_dir`` (``log_dir`` itself: ``"main"``), with
``name`` as a prefix when given (``"<name>_<directory>"``), as trackio names them::

    logs/                       import_tf_events("logs", project="p")
      events.out.tfevents...    -> run "main"
      lr_0.01/events...         -> run "lr_0.01"
      lr_0.1/events...          -> run "lr_0.1"

Each scalar keeps its tag as the metric key, its step, and its wall time; values come back as the float32
the file holds. Both scalar forms are read: ``simple_value`` summaries and the scalar plugin's tensors.
Points are imported in wall-time order; a point logged again at an earlier step (training resumed from a
checkpoint) is kept beside the old one, as ``log()`` keeps it, where TensorBoard's view hides the old one.
Images, histograms and other summaries are not imported.
"""

from __future__ import annotations

import math
import os
import warnings
from pathlib import Path
from typing import Any, NamedTuple

from ..core.run import MAX_STEP
from ..errors import ImportSourceError, MissingExtraError, TrackioWarning
from .writing import Call, check_new_runs, destination, resolve_sync, write_run

ROOT_RUN_NAME = "main"  # the run of the event files directly in log_dir (trackio's name)


class Scalar(NamedTuple):
    wall_time: float
    step: int
    tag: str
    value: float


def import_tf_events(
    log_dir: str | os.PathLike,
    project: str,
    name: str | None = None,
    space_id: str | None = None,
    dataset_id: str | None = None,
    private: bool | None = None,
    force: bool = False,
    *,
    dir: str | os.PathLike | None = None,  # noqa: A002 - the name init() uses
) -> list[str]:
    """Import the TensorBoard event files under ``log_dir`` into ``project``, one new run per directory.

    ``name`` prefixes the run names (see the module docstring). ``space_id`` / ``dataset_id`` sync the runs
    to the Hub as ``init`` does (``private`` defaults to True); ``force`` is accepted for trackio's
    signature and has no effect. ``dir``: the storage directory, as in ``init``. Returns the runs' names.

    Raises FileNotFoundError for a missing ``log_dir``, `ImportSourceError` (a ValueError) when it holds no
    event file or no scalar, or when the project already has a run of one of those names, and
    `MissingExtraError` (an ImportError) without the ``tensorboard`` package.
    """
    where = destination(project, space_id, dataset_id, private, force, dir)
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string or None, got {type(name).__name__}: {name!r}")
    path = Path(log_dir)
    if not path.exists():
        raise FileNotFoundError(f"TensorBoard log directory not found: {str(path)!r}")
    if not path.is_dir():
        raise ImportSourceError(f"{str(path)!r} is a file: pass the directory that holds the event files")
    runs = read_event_dirs(path)
    named = {(relative if name is None else f"{name}_{relative}"): scalars for relative, scalars in runs.items()}
    check_new_runs(where, named)
    where = resolve_sync(where)
    created = []
    for run_name, scalars in named.items():
        created.append(write_run(where, run_name, calls(scalars)))
        tags = sorted({scalar.tag for scalar in scalars})
        print(f"* Imported {len(scalars)} scalars as run {created[-1]!r}: {', '.join(tags)}")
    return created


def read_event_dirs(log_dir: Path) -> dict[str, list[Scalar]]:
    """``{run name: scalars}`` of each directory under ``log_dir`` with event files, by name; none empty."""
    accumulator_module = _tensorboard()
    from tensorboard.backend.event_processing import io_wrapper

    directories = sorted(io_wrapper.GetLogdirSubdirectories(str(log_dir)))
    if not directories:
        raise ImportSourceError(
            f"no TensorBoard event files (events.out.tfevents.*) under {str(log_dir)!r}; pass the log_dir "
            "given to SummaryWriter"
        )
    runs: dict[str, list[Scalar]] = {}
    for directory in directories:
        relative = Path(os.path.relpath(directory, log_dir)).as_posix()
        scalars = read_scalars(accumulator_module, directory)
        if scalars:
            runs[ROOT_RUN_NAME if relative == "." else relative] = scalars
        else:
            print(f"* Skipped {directory}: no scalar values")
    if not runs:
        raise ImportSourceError(
            f"the event files under {str(log_dir)!r} hold no scalar values (add_scalar); nothing to import"
        )
    return runs


def read_scalars(accumulator_module: Any, directory: str) -> list[Scalar]:
    """Every scalar of the event files directly in ``directory``, in wall-time order."""
    accumulator = accumulator_module.EventAccumulator(
        directory,
        size_guidance={accumulator_module.SCALARS: 0, accumulator_module.TENSORS: 0},  # 0: keep all, not a sample
        purge_orphaned_data=False,  # keep points a resumed run logs again at earlier steps
    )
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = [
        (event.wall_time, event.step, tag, event.value) for tag in tags["scalars"] for event in accumulator.Scalars(tag)
    ]
    from tensorboard.util import tensor_util

    for tag in tags["tensors"]:  # the scalar plugin's tensor form (add_scalar(..., new_style=True), TF 2)
        if accumulator.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        for event in accumulator.Tensors(tag):
            array = tensor_util.make_ndarray(event.tensor_proto)
            if array.size == 1:
                scalars.append((event.wall_time, event.step, tag, float(array.reshape(()).item())))
    kept, dropped = [], 0
    for wall_time, step, tag, value in scalars:
        if 0 <= step <= MAX_STEP and math.isfinite(wall_time):
            kept.append(Scalar(float(wall_time), int(step), tag, float(value)))
        else:
            dropped += 1
    if dropped:
        warnings.warn(
            f"{directory}: {dropped} scalars with a negative step or no wall time were skipped",
            TrackioWarning,
            stacklevel=4,
        )
    kept.sort(key=lambda scalar: (scalar.wall_time, scalar.step))  # stable: a tag's own order stays
    return kept


def calls(scalars: list[Scalar]) -> list[Call]:
    """One call per wall time and step: the tags written together (one ``Summary``) stay one call."""
    result: list[Call] = []
    for scalar in scalars:
        last = result[-1] if result else None
        if (
            last is not None
            and (last.timestamp, last.step) == (scalar.wall_time, scalar.step)
            and scalar.tag not in last.values
        ):
            last.values[scalar.tag] = scalar.value
        else:
            result.append(Call(scalar.step, scalar.wall_time, {scalar.tag: scalar.value}))
    return result


def _tensorboard() -> Any:
    """The ``tensorboard`` event reader module, or `MissingExtraError` naming the extra to install."""
    try:
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError as error:
        raise MissingExtraError(
            f"import_tf_events reads event files with the 'tensorboard' package ({error.name} is missing): "
            "pip install 'trackio-callback[imports]'"
        ) from error
    return event_accumulator
