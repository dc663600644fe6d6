"""trackio's `Api`: the runs of a project as handles that read, delete, rename and move them; alerts; `delete_project`.

Example::

    api = Api()
    runs = api.runs("demo")                       # ValueError when the project has no file
    len(runs), [run.name for run in runs]
    run = runs[0]
    run.id, run.group, run.config, run.summary    # id: the run's uid, the same in every store and dataset
    run.tags = [*run.tags, "best"]; run.notes = "warmup 500"   # stored at once
    run.history(["train/loss"])                   # [{"step": 0, "timestamp": ..., "train/loss": 2.3}, ...]
    run.rename("baseline").move("archive")        # the same handle, now in archive
    api.alerts("archive", level="error")          # trackio's records, newest first
    delete_project("scratch", force=True)
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, NoReturn, overload

from .. import settings
from ..alerts.levels import parse_level
from ..errors import NoSuchProjectError, UnsupportedFeatureError
from ..store import RunRow, files
from ..store.codec import to_micros, to_seconds
from . import operations

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Run:
    """One run of a project (trackio's ``trackio.api.Run``): its identity, what it logged, and what can be done to it.

    ``group``, ``config`` and ``summary`` are read when asked, so a handle follows the run as it is written.
    """

    def __init__(self, project: str, row: RunRow, directory: str | os.PathLike | None = None):
        self.project = project
        self._row = row
        self._dir = directory

    @property
    def name(self) -> str:
        return self._row.name

    @property
    def id(self) -> str:
        """The run's uid: unique across machines, kept by renames, moves and pulls."""
        return self._row.uid

    @property
    def group(self) -> str | None:
        return self._fresh().group

    @property
    def config(self) -> dict:
        return self._fresh().config

    @property
    def summary(self) -> dict:
        return self._fresh().summary

    @property
    def status(self) -> str:
        return self._fresh().status

    @property
    def tags(self) -> list[str]:
        """The run's tags (short labels), in the order given; set the whole list with ``run.tags = [...]``."""
        return list(self._fresh().tags)

    @tags.setter
    def tags(self, tags: list[str]) -> None:
        self._row = operations.set_run_tags(self.project, self.name, tags, directory=self._dir, uid=self.id)

    @property
    def notes(self) -> str:
        """The run's notes ("" when none); settable."""
        return self._fresh().notes

    @notes.setter
    def notes(self, notes: str) -> None:
        self._row = operations.set_run_notes(self.project, self.name, notes, directory=self._dir, uid=self.id)

    def _fresh(self) -> RunRow:
        """The run's row as stored now (the last one seen if it was deleted meanwhile)."""
        if operations.project_exists(self.project, self._dir):
            with operations.open_project(self.project, self._dir) as store:
                row = store.run_by_uid(self.id)
            if row is not None:
                self._row = row
        return self._row

    def history(self, keys: str | Iterable[str] | None = None) -> list[dict[str, Any]]:
        """Every ``log()`` call's numbers, in the order logged: ``[{"step", "timestamp", <key>: value, ...}]``.

        ``keys`` (a key or several) keeps those keys, and the calls that logged one of them. Values are as
        stored (NaN where NaN was logged); ``timestamp`` is unix seconds.
        """
        wanted = None if keys is None else {keys} if isinstance(keys, str) else set(keys)
        with operations.open_project(self.project, self._dir) as store:
            points = store.points(operations.find_run(store, self.project, self.name, self.id).id)
        calls: dict[int, dict[str, Any]] = {}
        for key, data in points.items():
            if wanted is not None and key not in wanted:
                continue
            for seq, step, micros, value in zip(data.seqs, data.steps, data.micros, data.values):
                calls.setdefault(seq, {"step": step, "timestamp": to_seconds(micros)})[key] = value
        return [calls[seq] for seq in sorted(calls)]

    def alerts(self, level: str | None = None, since: str | datetime | float | None = None) -> list[dict[str, Any]]:
        """The run's alerts as trackio returns them (see `Api.alerts`)."""
        return _alerts(self.project, self._dir, self.id, level, since)

    def delete(self) -> bool:
        """Delete the run and all its data (its Hub files at the next sync). False when it was gone already."""
        try:
            operations.delete_run(self.project, self.name, directory=self._dir, uid=self.id)
        except LookupError:
            return False
        return True

    def rename(self, new_name: str) -> Run:
        """Rename the run (a valid name no other run of the project has); returns this handle."""
        self._row = operations.rename_run(self.project, self.name, new_name, directory=self._dir, uid=self.id)
        return self

    def move(self, new_project: str) -> bool:
        """Move the run (uid and every value) to ``new_project``, created if missing; this handle follows it."""
        self._row = operations.move_run(self.project, self.name, new_project, directory=self._dir, uid=self.id)
        self.project = new_project
        return True

    def __repr__(self) -> str:
        return f"<Run {self.name} in project {self.project}>"


class Runs(Sequence):
    """The runs of a project, oldest first (trackio's ``trackio.api.Runs``): iterable, sized, indexable."""

    def __init__(self, project: str, directory: str | os.PathLike | None = None):
        self.project = project
        self._dir = directory
        self._runs: list[Run] | None = None

    def _load(self) -> list[Run]:
        if self._runs is None:
            with operations.open_project(self.project, self._dir) as store:
                self._runs = [Run(self.project, row, self._dir) for row in store.runs()]
        return self._runs

    def __iter__(self) -> Iterator[Run]:
        return iter(self._load())

    @overload
    def __getitem__(self, index: int) -> Run: ...

    @overload
    def __getitem__(self, index: slice) -> list[Run]: ...

    def __getitem__(self, index: int | slice) -> Run | list[Run]:
        return self._load()[index]

    def __len__(self) -> int:
        return len(self._load())

    def __repr__(self) -> str:
        return f"<Runs project={self.project} count={len(self)}>"


class Api:
    """trackio's ``trackio.Api``: the runs and alerts of the projects in a storage directory (default: the usual)."""

    def __init__(self, dir: str | os.PathLike | None = None):  # noqa: A002 (trackio's and init's name)
        self.dir = dir

    def _check(self, project: str) -> None:
        if not operations.project_exists(project, self.dir):
            folder = settings.storage_dir(self.dir)
            raise NoSuchProjectError("project", project, files.projects(folder), f" in {folder}")

    def runs(self, project: str) -> Runs:
        """The runs of ``project``; `NoSuchProjectError` (a ValueError, as trackio's) when it has no file."""
        self._check(project)
        return Runs(project, self.dir)

    def alerts(
        self,
        project: str,
        run: str | None = None,
        level: str | None = None,
        since: str | datetime | float | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts of ``project`` (of the run named ``run``), newest first, as trackio returns them.

        ``[{"timestamp": ISO 8601 (UTC), "run", "title", "text", "level", "step"}]``; ``level`` keeps one level
        (``"info"``, ``"warn"``, ``"error"``), ``since`` the alerts after a time (ISO 8601 text, a datetime, or
        unix seconds). A run that does not exist has none.
        """
        self._check(project)
        if run is None:
            return _alerts(project, self.dir, None, level, since)
        with operations.open_project(project, self.dir) as store:
            row = store.run(run)
        return [] if row is None else _alerts(project, self.dir, row.uid, level, since)

    def create_registry(self, name: str, description: str | None = None, bucket_id: str | None = None) -> NoReturn:
        """trackio's model registry: not provided here (raises `UnsupportedFeatureError` naming the alternative)."""
        raise UnsupportedFeatureError(_NO_REGISTRY.format(call=f"create_registry({name!r})"))

    def registry(self, name: str, bucket_id: str | None = None) -> NoReturn:
        """trackio's model registry: not provided here (raises `UnsupportedFeatureError` naming the alternative)."""
        raise UnsupportedFeatureError(_NO_REGISTRY.format(call=f"registry({name!r})"))


_NO_REGISTRY = (
    "trackio.Api().{call}: model registries are not provided by trackio-callback; version models with "
    "trackio.log_artifact(path, type='model', aliases=['production']) and fetch them with "
    "trackio.use_artifact('name:production')"
)


def _alerts(
    project: str, directory: Any, uid: str | None, level: Any, since: str | datetime | float | None
) -> list[dict[str, Any]]:
    wanted = None if level is None else parse_level(level).value
    after_us = _micros(since)  # the resolution of the times given out
    found = []
    with operations.open_project(project, directory) as store:
        rows = [store.run_by_uid(uid)] if uid is not None else store.runs()
        for row in rows:
            if row is None:
                continue
            for alert in store.alerts(row.id):
                recent = after_us is None or to_micros(alert.timestamp) > after_us
                if recent and (wanted is None or alert.level == wanted):
                    found.append((alert.timestamp, row.name, alert))
    found.sort(key=lambda item: item[0], reverse=True)
    return [
        {
            "timestamp": (_EPOCH + timedelta(microseconds=to_micros(ts))).isoformat(),
            "run": name,
            "title": alert.title,
            "text": alert.text,
            "level": alert.level,
            "step": alert.step,
        }
        for ts, name, alert in found
    ]


def _micros(since: str | datetime | float | None) -> int | None:
    """``since`` as microseconds since the epoch: ISO 8601 text (a time without zone is UTC, as trackio writes
    them), a datetime, or unix seconds. Exact for the times `Api.alerts` gives out."""
    if since is None:
        return None
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"since={since!r} is not an ISO 8601 time (e.g. '2025-01-31T12:00:00+00:00')") from None
    if isinstance(since, datetime):
        aware = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
        return (aware - _EPOCH) // timedelta(microseconds=1)
    if isinstance(since, (int, float)) and not isinstance(since, bool):
        return to_micros(since)
    raise TypeError(f"since must be ISO 8601 text, a datetime or unix seconds, got {type(since).__name__}: {since!r}")


def delete_project(project: str, force: bool = False, *, dir: str | os.PathLike | None = None) -> bool:  # noqa: A002
    """Delete ``project``'s local file and its companions, as trackio's ``delete_project`` does.

    Without ``force``, asks on stdin first (``y``/``yes`` deletes). Prints what happened and returns
    whether the project was deleted; a project with a run still being written is not (the message says so).
    """
    if not operations.project_exists(project, dir):
        print(f"* Project '{project}' does not exist.")
        return False
    if not force:
        answer = input(
            f"Are you sure you want to delete project '{project}'? "
            f"This will permanently delete all runs and metrics. (y/N): "
        )
        if not operations.confirmed(answer):
            print("* Deletion cancelled.")
            return False
    try:
        operations.delete_project(project, directory=dir)
    except (OSError, RuntimeError) as error:  # RunInUseError is a RuntimeError
        print(f"* Error deleting project '{project}': {error}")
        return False
    print(f"* Project '{project}' has been deleted.")
    return True
