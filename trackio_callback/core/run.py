"""`Run` and the module-level API (`init`, `log`, `finish`, `current_run`), trackio-compatible.

Example::

    import trackio_callback as trackio

    run = trackio.init(project="qwen-capybara-sft", name="baseline-run", config={"lr": 2e-5})
    for step in range(100):
        trackio.log({"train/loss": 1 / (step + 1)})
    trackio.config["epochs"] = 3
    trackio.finish()

``log()`` does no I/O: it validates, converts and appends to the run's buffer, which the run's
`Writer` thread commits to the project's SQLite file every ``flush_every`` seconds.
"""

from __future__ import annotations

import logging
import operator
import os
import sqlite3
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .. import settings
from ..errors import RejectedValue, TrackioWarning
from ..store import RESUME_MODES, AlertRow, Store, SystemSample, TableRow, files
from ..store.files import validate_project
from ..utils.warn import WarnOnce
from .config import Config, storable_config
from .lifecycle import ExitHooks, process_exit_hooks
from .names import validate_run_name, validate_space_sdk
from .table import Table
from .values import coerce, key_problem
from .writer import Writer

logger = logging.getLogger(__name__)

MIN_SYNC_EVERY_S = 60  # the Hub rate-limits commits per repo
MAX_SYNC_EVERY_S = 7 * 24 * 3600  # a week: longer would never sync before the final one anyway
MAX_FLUSH_EVERY_S = 3600  # a writer that sleeps longer would hold an hour of data in memory
DEFAULT_FINISH_TIMEOUT_S = 60.0
MAX_STEP = 2**62


class Run:
    """One training run: what `init` returns. Use `log`, `config`, `finish`, or ``with init(...) as run``.

    A run built directly is finished at interpreter exit like one from `init` (``exit_hooks``
    defaults to the process's), but is not made the current run.
    """

    def __init__(
        self,
        project: str,
        *,
        name: str | None = None,
        group: str | None = None,
        config: Mapping[str, Any] | None = None,
        resume: str = "never",
        directory: str | os.PathLike | None = None,
        flush_every: float = 1.0,
        run_settings: Mapping[str, Any] | None = None,
        exit_hooks: ExitHooks | None = None,
        observer: bool = False,
        uid: str | None = None,
    ):
        self.project = validate_project(project)
        if name is not None:
            validate_run_name(name)
        if group is not None and not isinstance(group, str):
            raise TypeError(f"group must be a string or None, got {type(group).__name__}: {group!r}")
        if config is not None and not isinstance(config, Mapping):
            raise TypeError(f"config must be a dict, got {type(config).__name__}")
        if resume not in RESUME_MODES:
            raise ValueError(f"resume={resume!r} is not one of {', '.join(map(repr, RESUME_MODES))}")
        if (
            isinstance(flush_every, bool)
            or not isinstance(flush_every, (int, float))
            or not 0 < flush_every <= MAX_FLUSH_EVERY_S
        ):
            raise ValueError(
                f"flush_every must be a number of seconds > 0 and <= {MAX_FLUSH_EVERY_S}, got {flush_every!r}"
            )
        self.dir = settings.storage_dir(directory)
        self.path: Path = files.project_path(self.dir, self.project)
        try:
            self._store = Store(self.path)
        except (OSError, sqlite3.Error) as error:  # fail before training starts, saying where
            raise OSError(
                f"cannot open the project file {self.path} ({error}); pass dir= or set TRACKIO_DIR "
                "to a writable directory"
            ) from error
        try:
            opened = self._store.open_run(
                name,
                group=group,
                config=storable_config(config),
                settings=dict(run_settings or {}),
                resume=resume,
                hostname=settings.hostname(),
                pid=os.getpid(),
                observer=observer,
                uid=uid,
            )
        except BaseException:
            self._store.close()
            raise
        row = opened.row
        if opened.requested_name is not None:
            warnings.warn(
                f"project {self.project!r} already has a run named {opened.requested_name!r}; this run is "
                f"named {row.name!r} (pass resume='allow' to continue the existing run)",
                TrackioWarning,
                stacklevel=3,
            )
        self.id = row.id
        self.uid = row.uid
        self.name = row.name
        self.group = row.group
        self.resumed = opened.resumed
        self.observer = observer  # writes system metrics only, never the run's status
        self.settings = row.settings
        self.space_id: str | None = row.settings.get("space_id")
        self.owner_pid = os.getpid()
        self._next_step = 0 if row.last_step is None else row.last_step + 1
        self._known_keys: set[str] = set()
        self._warn = WarnOnce()
        self._last_tables: dict[str, tuple[int, str]] = {}
        self._finished = False
        # Why log() records nothing (finished, or this process is a fork of the owner); None while it records.
        # One attribute, so that the hot path pays a single check for both.
        self._not_recording: str | None = None
        self.config = Config(row.config, on_change=lambda: self._writer.changed("config"))
        # End-of-training values (train_runtime, total_flos, ...): one number each, not a series.
        self.summary = Config(row.summary, on_change=lambda: self._writer.changed("summary"))
        self._writer = Writer(
            self._store,
            row.id,
            row.next_seq,
            interval=float(flush_every),
            snapshots={"config": self.config.to_json, "summary": self.summary.to_json},
        )
        self._calls = self._writer.calls
        self._uploader = None
        self._writer.start()
        # Every run, not only init()'s: a Run built directly must not lose its buffer at exit either.
        self._exit_hooks = exit_hooks if exit_hooks is not None else process_exit_hooks
        self._exit_hooks.register(self)

    def __repr__(self) -> str:
        return f"Run(project={self.project!r}, name={self.name!r}, path={str(self.path)!r})"

    @property
    def step(self) -> int:
        """The step the next ``log()`` without an explicit step gets."""
        return self._next_step

    @property
    def _space_id(self) -> str | None:  # read by TRL (trl.trainer.utils.get_trackio_space_url)
        return self.space_id

    # -- logging (the training thread's hot path: no I/O, no locks) -----------------------------

    def log(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Record ``metrics`` at ``step`` (default: the previous step + 1; the first is 0).

        Numbers only (see `values`). A value that is not a number is dropped with a warning naming
        its key and type, once per key; the other values of the call are kept. An explicit step may
        go back (after a checkpoint restore): both the old and the new points are kept.
        """
        if self._not_recording is not None:
            self._warn_once("", "not recording", self._not_recording)
            return
        try:
            if type(metrics) is dict:  # the fast path: known keys, float values, one C-level copy
                known = self._known_keys
                for key, value in metrics.items():
                    if type(value) is not float or key not in known:
                        record = self._convert(metrics, step)
                        break
                else:
                    record = metrics.copy()
            else:  # any other Mapping: its copy() may be missing, or return something other than a dict
                record = self._convert(metrics, step)
            if not record:
                return
            if step is None:
                step = self._next_step
            elif type(step) is not int or not 0 <= step <= MAX_STEP:
                step = self._check_step(step)
            self._next_step = step + 1
            self._calls.append((step, time.time(), record))
        except Exception as error:  # the tracker never stops training
            if not isinstance(metrics, Mapping):
                self._warn_once("", "log", f"log() takes a dict of numbers, not {type(metrics).__name__}: dropped")
            else:
                self._warn_once("", "log", f"log() failed and dropped one call: {type(error).__name__}: {error}")

    def log_system(self, metrics: Mapping[str, Any], step: int | None = None, node: str | None = None) -> None:
        """Record system metrics (GPU, CPU, memory), timestamped, optionally with a step and a node."""
        if self._not_recording is not None:
            return
        try:
            record = self._convert(metrics, step)
            if record:
                self._writer.system.append(SystemSample(time.time(), step, node, record))
        except Exception as error:
            self._warn_once("", "log_system", f"log_system() failed: {type(error).__name__}: {error}")

    def alert(self, kind: str, message: str, step: int | None = None, value: float | None = None) -> None:
        """Record a health alert (e.g. ``"nan_loss"``) with the run; readers list them with `Reader.alerts`."""
        if self._not_recording is None:
            self._writer.alerts.append(AlertRow(time.time(), step, str(kind), str(message), value))

    def _convert(self, metrics: Mapping[str, Any], step: int | None) -> dict[str, float]:
        """The numbers of ``metrics`` as floats; tables are queued on the side; the rest warns."""
        record = {}
        for key, value in metrics.items():
            problem = key_problem(key)
            if problem is not None:
                self._warn_once(repr(key), "key", f"metric key {key!r} dropped: {problem}")
                continue
            if isinstance(value, Table):
                # A table logged without a step belongs to the step logged last (TRL logs its
                # completions right after the metrics of the same step).
                at = max(self._next_step - 1, 0) if step is None else self._check_step(step)
                data = value.to_json()
                if self._last_tables.get(key) != (at, data):  # TRL logs the same table again with its summary
                    self._last_tables[key] = (at, data)
                    self._writer.tables.append(TableRow(time.time(), at, key, data))
                continue
            try:
                record[key] = coerce(value)
            except RejectedValue as rejected:
                self._warn_once(
                    key,
                    "value",
                    f"metric {key!r} dropped: {rejected} is not a number (log int, float, bool, "
                    "numpy scalars or 0-d tensors)",
                )
                continue
            except Exception as error:  # e.g. .item() of a tensor on a failed device
                self._warn_once(key, "value", f"metric {key!r} dropped: {type(error).__name__}: {error}")
                continue
            self._known_keys.add(key)
        return record

    def _check_step(self, step: object) -> int:
        try:
            if not isinstance(step, bool):
                value = operator.index(step)  # int, numpy integers, 0-d integer tensors
                if 0 <= value <= MAX_STEP:
                    return value
        except TypeError:
            pass
        self._warn_once(
            "", "step", f"step={step!r} is not an integer in [0, 2**62]; using the next step, {self._next_step}"
        )
        return self._next_step

    def _warn_once(self, key: str, what: str, message: str) -> None:
        self._warn((key, what), message, stacklevel=4)

    # -- lifecycle ------------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Commit everything logged so far; False when ``timeout`` seconds passed first."""
        if self._in_forked_child():
            return True  # this process recorded nothing; what is buffered is the owner's to write
        return self._writer.flush(timeout)

    def start_sync(
        self,
        dataset_id: str,
        token: str,
        *,
        private: bool,
        interval: float,
        endpoint=None,
        node: str | None = None,
        own_node: str | None = None,
        space: tuple[str, str] | None = None,
    ) -> None:
        """Sync this run to the Hub dataset ``dataset_id`` every ``interval`` seconds and at `finish`.

        ``space``: ``(space_id, sdk)`` of the dashboard Space, set up by the uploader's thread first.

        ``node``: this process samples another node's system metrics into the run (an observer); it
        sends only those, under the node's own folder, and never the run's metadata.
        """
        from ..hub.uploader import Uploader

        self._uploader = Uploader(
            self.path, self.project, dataset_id, token=token, private=private, interval=interval,
            endpoint=endpoint, run_uids=[self.uid], node=node, own_node=own_node, space=space,
        )  # fmt: skip
        self._uploader.start()

    def sync_only_node(self, node: str) -> None:
        """In a multi-node job, sync only this node's (and untagged) system samples: other nodes send theirs."""
        if self._uploader is not None:
            self._uploader.own_node = node

    def finish(self, status: str = "finished", timeout: float | None = DEFAULT_FINISH_TIMEOUT_S) -> None:
        """Write what is buffered, mark the run ``status``, sync it a last time, and stop. Idempotent.

        ``timeout`` bounds the whole: what is not written or synced by then stays buffered or local
        (``trackio-callback sync`` sends it later).
        """
        if self._finished or self._in_forked_child():  # in a fork, the run is the owner's to finish
            return
        self._finished = True
        self._not_recording = f"log() on the finished run {self.name!r} is ignored"
        deadline = None if timeout is None else time.monotonic() + timeout
        self._exit_hooks.unregister(self)
        if not self._writer.close(None if self.observer else status, timeout):
            warnings.warn(
                f"run {self.name!r}: {self._writer.unwritten} logged calls could not be written to {self.path} "
                f"within {timeout} s",
                TrackioWarning,
                stacklevel=2,
            )
            return
        self._store.close()
        if self._uploader is not None:
            self._uploader.stop(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))

    @property
    def finished(self) -> bool:
        return self._finished

    def disown_after_fork(self) -> None:
        """This process is a fork of the run's owner (called by `ExitHooks` in the child): record nothing here.

        The child shares the parent's buffer and database file but not its writer thread: writing from
        both would duplicate or corrupt the parent's data, so the run stays the parent's alone.
        """
        self._not_recording = (
            f"this process ({os.getpid()}) is a fork of pid {self.owner_pid}, which owns run {self.name!r}: "
            "log() here records nothing; log from the parent (send the values back to it), or call "
            "trackio_callback.init() in this process to start a run of its own"
        )

    def _in_forked_child(self) -> bool:
        if os.getpid() == self.owner_pid:
            return False
        if self._not_recording is None:  # a fork that skipped the at-fork hooks: disown here
            self.disown_after_fork()
        return True

    def __enter__(self) -> Run:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        self.finish(status="finished" if kind is None else "crashed")
        if _current is self:
            _set_current(None)


# -- module-level API -------------------------------------------------------------------------------

_current: Run | None = None
exit_hooks = process_exit_hooks  # the name `TrackioCallback` uses


def _set_current(run: Run | None) -> None:
    global _current
    _current = run


def init(
    project: str | None = None,
    name: str | None = None,
    group: str | None = None,
    space_id: str | None = None,
    dataset_id: str | None = None,
    config: Mapping[str, Any] | None = None,
    resume: str = "never",
    private: bool = True,
    sync_every: float = 300,
    *,
    dir: str | os.PathLike | None = None,  # noqa: A002 - the name users expect
    flush_every: float = 1.0,
    uid: str | None = None,
    space_sdk: str = "static",
) -> Run:
    """Start (or resume) a run and make it the current one.

    ``project`` defaults to ``$TRACKIO_PROJECT``, then ``"huggingface"``; ``space_id`` and
    ``dataset_id`` to ``$TRACKIO_SPACE_ID`` / ``$TRACKIO_DATASET_ID``; ``dir`` to ``$TRACKIO_DIR``,
    then ``trackio-callback/`` in the Hugging Face cache. A run already active is finished first.
    ``uid`` fixes a new run's uid (`TrackioCallback` sets it in multi-node jobs); default: random.

    ``resume``: ``"never"`` starts a new run (a taken name gets a ``-2``, ``-3``, ... suffix, with a
    warning), ``"allow"`` continues the named run if it exists, ``"must"`` raises if it does not.

    With a ``space_id``, the dashboard Space is created if missing (``private`` like the dataset)
    and its files kept current: ``space_sdk="static"`` (free: the page reads the dataset in the
    browser), or ``"gradio"`` / ``"docker"`` (runs the dashboard server; paid hardware).
    """
    validate_space_sdk(space_sdk)
    if not isinstance(private, bool):
        raise TypeError(f"private must be True or False, got {private!r}")
    if (
        isinstance(sync_every, bool)
        or not isinstance(sync_every, (int, float))
        or not MIN_SYNC_EVERY_S <= sync_every <= MAX_SYNC_EVERY_S
    ):
        raise ValueError(
            f"sync_every={sync_every!r}: use a number of seconds from {MIN_SYNC_EVERY_S} to {MAX_SYNC_EVERY_S} "
            "(the Hub limits how often a repo can be committed to)"
        )
    space_id = settings.space_id(space_id)
    dataset_id = settings.dataset_id(dataset_id)
    for label, value in (("space_id", space_id), ("dataset_id", dataset_id)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{label} must be a string like 'username/trackio', got {value!r}")
    # In a forked child the current run is the parent's: replaced here, never finished (nor warned about).
    if _current is not None and not _current.finished and _current.owner_pid == os.getpid():
        warnings.warn(f"init() while run {_current.name!r} is active: finishing it first", TrackioWarning, stacklevel=2)
        _current.finish()
    target = None
    if space_id is not None or dataset_id is not None:
        from ..hub import repo

        target = repo.resolve(space_id, dataset_id)  # a missing or rejected HF_TOKEN stops here
        space_id, dataset_id = target.space_id, target.dataset_id
    run = Run(
        settings.project(project),
        name=name,
        group=group,
        config=config,
        resume=resume,
        directory=dir,
        flush_every=flush_every,
        run_settings={
            "space_id": space_id,
            "space_sdk": space_sdk if space_id is not None else None,
            "dataset_id": dataset_id,
            "private": private,
            "sync_every": sync_every,
        },
        exit_hooks=exit_hooks,
        uid=uid,
    )
    if target is not None:
        space = (target.space_id, space_sdk) if target.space_id is not None else None
        run.start_sync(target.dataset_id, target.token, private=private, interval=sync_every, space=space)
    _set_current(run)
    return run


def current_run() -> Run | None:
    """The run `init` last started, unless it has finished."""
    return _current if _current is not None and not _current.finished else None


_warn_no_run = WarnOnce()


def warn_no_run(what: str) -> None:
    """Warn once per caller that ``what`` had no run to write to (trackio-compatible calls never raise)."""
    _warn_no_run(what, f"{what} without an active run: dropped (call init() first)", stacklevel=3)


def require_run(what: str) -> Run:
    """The current run, or a RuntimeError saying that ``trackio_callback.<what>()`` needs one."""
    run = current_run()
    if run is None:
        raise RuntimeError(f"trackio_callback.{what}() needs an active run: call trackio_callback.init() first")
    return run


def log(metrics: Mapping[str, Any], step: int | None = None) -> None:
    """Log to the current run (see `Run.log`)."""
    run = _current
    if run is None or run._finished:
        run = require_run("log")
    run.log(metrics, step)


def finish(timeout: float | None = DEFAULT_FINISH_TIMEOUT_S) -> None:
    """Finish the current run: write everything buffered and mark it finished. No-op without a run."""
    run = _current
    if run is not None:
        run.finish(timeout=timeout)
        _set_current(None)
