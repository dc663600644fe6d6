"""trackio's ``context_vars``: ``current_run``, ``current_project`` and ``current_space_id``, read from the run.

transformers' ``TrackioCallback`` reads ``trackio.context_vars.current_space_id.get()`` after ``init``,
and TRL reads ``current_run``; here each ``.get()`` reads the current run of `core.run`, which is the one
source of truth (``.set()`` is accepted and has no effect: `init` and `finish` set the current run).

Example::

    trackio.init(project="p", space_id="alice/dash")
    trackio.context_vars.current_project.get()   # "p"
    trackio.context_vars.current_space_id.get()  # "alice/dash"
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import run as _run


class CurrentValue:
    """One of trackio's context variables: ``.get(default=None)`` reads the current run."""

    def __init__(self, name: str, read: Callable[[_run.Run], Any]):
        self.name = name
        self._read = read

    def get(self, default: Any = None) -> Any:
        run = _run.current_run()
        return default if run is None else self._read(run)

    def set(self, value: Any) -> None:
        """Accepted for trackio code that sets it; `init` and `finish` decide the current run."""

    def __repr__(self) -> str:
        return f"<trackio context variable {self.name}: {self.get()!r}>"


current_run = CurrentValue("current_run", lambda run: run)
current_project = CurrentValue("current_project", lambda run: run.project)
current_space_id = CurrentValue("current_space_id", lambda run: run.space_id)
