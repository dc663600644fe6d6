"""A checkpoint names its run: ``trainer.train(resume_from_checkpoint=...)`` on any machine continues it.

Two records of the run's identity (project, name, uid, dataset, Space) travel with each checkpoint:

- ``trackio_run.json`` in the checkpoint folder (`write_identity`), for people and tools;
- the callback's entry in ``trainer_state.json``'s ``stateful_callbacks`` (`TrackioCallback` is an
  ``ExportableState``), which the Trainer loads back into ``state.stateful_callbacks`` on resume,
  wherever the checkpoint was copied to and however it was named (``resume_from_checkpoint=True`` too).

`identity_on_resume` reads the second, else the first from ``<output_dir>/checkpoint-<global_step>``.
The run then opens with ``resume="allow"`` and that uid: locally, or from the Hub on a fresh disk.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

from ..utils.jsontext import dumps
from .checkpoints import checkpoint_folder

logger = logging.getLogger(__name__)

IDENTITY_FILE = "trackio_run.json"
STATE_ATTRIBUTE = "_checkpoint_run"  # the attribute under which the callback's state carries the identity


class RunIdentity(NamedTuple):
    project: str
    name: str
    uid: str
    dataset_id: str | None = None
    space_id: str | None = None

    @classmethod
    def of(cls, run: Any) -> RunIdentity:
        return cls(run.project, run.name, run.uid, run.settings.get("dataset_id"), run.space_id)

    @classmethod
    def parse(cls, data: Any) -> RunIdentity | None:
        """An identity read back (a JSON object), or None for anything that is not one."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("project", "name", "uid")):
            return None
        optional = {k: data.get(k) if isinstance(data.get(k), str) else None for k in ("dataset_id", "space_id")}
        return cls(data["project"], data["name"], data["uid"], **optional)


def write_identity(folder: str | os.PathLike, run: Any) -> Path | None:
    """Write the run's identity into the checkpoint ``folder`` (which the Trainer just wrote); None if it is gone."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    path = folder / IDENTITY_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(dumps(RunIdentity.of(run)._asdict(), indent=2) + "\n")
    os.replace(temporary, path)  # a checkpoint copied while this runs has the whole file or none
    return path


def read_identity(folder: str | os.PathLike) -> RunIdentity | None:
    """The identity a checkpoint folder holds, or None (no file, or not readable as one)."""
    try:
        return RunIdentity.parse(json.loads((Path(folder) / IDENTITY_FILE).read_text()))
    except (OSError, ValueError):
        return None


def identity_on_resume(args: Any, state: Any, callback_name: str) -> RunIdentity | None:
    """The run the checkpoint being resumed from belongs to; None when training starts afresh.

    ``state`` is the Trainer's state at ``on_train_begin``: loaded from the checkpoint on a resume.
    """
    if not getattr(state, "global_step", 0):
        return None
    stored = (getattr(state, "stateful_callbacks", None) or {}).get(callback_name)
    for entry in stored if isinstance(stored, list) else [stored]:
        if isinstance(entry, dict):
            found = RunIdentity.parse((entry.get("attributes") or {}).get(STATE_ATTRIBUTE))
            if found is not None:
                return found
    step_folder = checkpoint_folder(args, state.global_step) if getattr(args, "output_dir", None) else None
    for folder in (getattr(args, "resume_from_checkpoint", None), step_folder):
        if isinstance(folder, (str, os.PathLike)):
            found = read_identity(folder)
            if found is not None:
                return found
    return None
