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

import json
import logging
import operator
import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .. import settings
from .. import settings as settings_module  # init() has a parameter named `settings` (trackio's)
from ..alerts.announcer import Announcer
from ..alerts.levels import AlertLevel, parse_level
from ..errors import InvalidAnnotationError, RejectedValue, RunNotFoundError, TrackioWarning, UnsupportedFeatureError
from ..media import Histogram, Media, TextValue, Trace
from ..store import RESUME_MODES, AlertRow, Store, SystemSample, TableRow, TextRow, TraceRow, files
from ..store.files import validate_project
from ..store.runs import UNRECONCILED
from ..store.tags import clean_notes, clean_tags, tags_json
from ..utils.jsontext import dumps
from ..utils.warn import WarnOnce
from .checkpoint_records import checkpoint_record, with_record
from .config import Config, storable_config
from .end_reason import describe, from_exception, from_status, make, stamped
from .lifecycle import ExitHooks, process_exit_hooks
from .media_queue import QueuedValue
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
FINISH_HOOKS_MAX_S = 20.0  # what `add_finish_hook`'s hooks may add to a finish


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
        webhook_url: str | None = None,
        webhook_min_level: AlertLevel | str | None = None,
        tags: Iterable[str] | None = None,
        notes: str | None = None,
    ):
        self.project = validate_project(project)
        given_tags, given_notes = clean_tags(tags), None if notes is None else clean_notes(notes)
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
        # The webhook (a secret: held in memory only) is checked before the run exists; named once it does.
        self._announcer = Announcer(self.project, name or "", webhook_url, webhook_min_level)
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
                tags=given_tags,
                notes=given_notes,
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
        self.name = self._announcer.run = row.name
        self.group = row.group
        self.resumed = opened.resumed
        self.observer = observer  # writes system metrics only, never the run's status
        self.settings = row.settings
        self.space_id: str | None = row.settings.get("space_id")
        self.owner_pid = os.getpid()
        self._next_step = 0 if row.last_step is None else row.last_step + 1
        self._known_keys: set[str] = set()
        self._warn = WarnOnce()
        self._max_text_chars = settings.max_text_chars()  # read once: a bad value fails here, before training
        self._finished = False
        self._finishing = False  # finish() began and has not closed the writer yet: record_checkpoint still works
        self._end_reason: dict[str, Any] | None = None  # `set_end_reason`: what a normal finish records
        # Why log() records nothing (finished, or this process is a fork of the owner); None while it records.
        # One attribute, so that the hot path pays a single check for both.
        self._not_recording: str | None = None
        self.config = Config(row.config, on_change=lambda: self._writer.changed("config"))
        # End-of-training values (train_runtime, total_flos, ...): one number each, not a series.
        self.summary = Config(row.summary, on_change=lambda: self._writer.changed("summary"))
        # `record_checkpoint`: replaced, never changed in place, so the writer thread reads it without a lock.
        self._checkpoints: list[dict[str, Any]] = list(row.checkpoints)
        self._checkpoints_lock = threading.Lock()
        self._finish_hooks: list[Any] = []  # `add_finish_hook`
        # `tags` / `notes`: replaced, never changed in place, so the writer thread reads them without a lock.
        self._tags: tuple[str, ...] = row.tags
        self._notes: str = row.notes
        self._writer = Writer(
            self._store,
            row.id,
            row.next_seq,
            interval=float(flush_every),
            snapshots={
                "config": self.config.to_json,
                "summary": self.summary.to_json,
                "checkpoints": lambda: dumps(self._checkpoints),
                "tags": lambda: tags_json(self._tags),
                "notes": lambda: self._notes,
            },
            warn=self._warn,
        )
        self._calls = self._writer.calls
        self._uploader = None
        self._system_sampler = None  # `sample_system`: init(auto_log_cpu=..., auto_log_gpu=...)
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

        Numbers (see `values`), strings (a text series: `Reader.texts`; of a string longer than
        ``$TRACKIO_MAX_TEXT_CHARS``, default 100,000 characters, only that many are kept, with a
        warning), tables (`Table`, images in cells too), `Markdown`/`Html` (texts), `Trace` (or a list
        of them), `Image`/`Audio`/`Video`/`Object3D` (or a list of them) and `Histogram`: media are
        queued as they are and encoded by the writer thread. Any other value is dropped with a
        warning naming its key and type, once per key; the other values of the call are kept. Every call
        that records something advances the step, a call of strings only too. An explicit step may go back (after a
        checkpoint restore): both the old and the new points are kept.
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

    def _log_at(self, metrics: Mapping[str, Any], step: int, timestamp: float) -> None:
        """`log` with the call's wall time given: importers keep each value's step and time from the file.

        Not the training hot path (that is `log`, which stamps ``time.time()`` itself); ``step`` is an
        integer in [0, 2**62] and ``timestamp`` finite Unix seconds, checked by the caller.
        """
        if self._not_recording is not None:
            self._warn_once("", "not recording", self._not_recording)
            return
        record = self._convert(metrics, step)
        if record:
            self._next_step = step + 1
            self._calls.append((step, timestamp, record))

    def log_system(self, metrics: Mapping[str, Any], step: int | None = None, node: str | None = None) -> None:
        """Record system metrics (GPU, CPU, memory), timestamped (as trackio: no step unless given).

        ``node``: the machine of a multi-node job they were read on.
        """
        if self._not_recording is not None:
            return
        try:
            record = self._convert(metrics, step, texts=False)
            if record:
                self._writer.system.append(SystemSample(time.time(), step, node, record))
        except Exception as error:
            self._warn_once("", "log_system", f"log_system() failed: {type(error).__name__}: {error}")

    # -- alerts -----------------------------------------------------------------------------------

    def alert(
        self,
        title: str,
        text: str | None = None,
        level: AlertLevel | str = AlertLevel.WARN,
        step: int | None = None,
        webhook_url: str | None = None,
    ) -> None:
        """Fire an alert now (trackio's): recorded with the run, printed to stderr, posted to the webhook.

        ``step`` defaults to the step logged last. ``level``: an `AlertLevel` or its text (``"info"``,
        ``"warn"``, ``"error"``); anything else is recorded as ``"warn"``, with a warning (trackio raises).
        The webhook (``webhook_url``, else the run's) gets the alert when its level reaches the run's
        ``webhook_min_level``, from a background thread: a slow or failing receiver never holds up or
        fails the caller.
        """
        try:
            level = parse_level(level)
        except ValueError as error:  # the tracker never stops training: said once, kept as a warning
            self._warn_once(repr(level), "alert level", f"alert({title!r}): {error}; recorded as 'warn'")
            level = AlertLevel.WARN
        if self._not_recording is not None:
            self._warn_once("", "not recording", self._not_recording)
            return
        try:
            at = max(self._next_step - 1, 0) if step is None else self._check_step(step)
            title, text = str(title), None if text is None else str(text)
            now = time.time()
            self._writer.alerts.append(AlertRow(now, at, level.value, title, text, None))
            self._announcer.alert(level, title, text, at, now, webhook_url)
        except Exception as error:  # the tracker never stops training
            self._warn_once("", "alert", f"alert() failed: {type(error).__name__}: {error}")

    def record_health_alert(self, kind: str, message: str, step: int | None = None, value: float | None = None) -> None:
        """Record a health alert (level warn, title ``kind``: ``"nan_loss"``, ``"loss_spike"``, ...) and its value.

        The webhook gets the first alert of each kind: a NaN loss repeats at every step, one message says it.
        """
        if self._not_recording is not None:
            return
        try:
            now = time.time()
            self._writer.alerts.append(AlertRow(now, step, AlertLevel.WARN.value, str(kind), str(message), value))
            self._announcer.health(str(kind), str(message), step, now)
        except Exception as error:
            self._warn_once("", "health alert", f"recording a health alert failed: {type(error).__name__}: {error}")

    # -- checkpoints ----------------------------------------------------------------------------

    def record_checkpoint(
        self,
        step: int,
        path: str | os.PathLike,
        metrics: Mapping[str, Any] | None = None,
        best_metric: float | None = None,
        repo: str | None = None,
        revision: str | None = None,
    ) -> bool:
        """Record with the run a checkpoint saved at ``step`` in the folder ``path`` (`RunRow.checkpoints`).

        ``metrics``: the eval metrics of that moment; ``best_metric``: the Trainer's best so far; ``repo`` and
        ``revision``: the Hub repo and commit it was pushed to. A record of a ``(step, path)`` already recorded
        fills in that entry: the values given replace, those left None are kept (see `checkpoint_records`).
        No I/O: the run's writer thread stores it with its next write, and the sync sends it in the runs file.
        Any thread may call it until `finish` writes the run a last time; False after (nothing recorded), and
        in a forked child. A bad value raises here, naming it.
        """
        record = checkpoint_record(step, path, metrics, best_metric, repo, revision)
        if self._writer_closed() or self._in_forked_child():
            return False
        with self._checkpoints_lock:
            self._checkpoints = with_record(self._checkpoints, record)
        self._writer.changed("checkpoints")
        return True

    @property
    def checkpoints(self) -> list[dict[str, Any]]:
        """The checkpoints recorded with this run, oldest first (copies)."""
        return [dict(entry) for entry in self._checkpoints]

    # -- tags and notes (W&B's ``run.tags`` and ``run.notes``) ------------------------------------

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags (short labels, shown and filtered on in the dashboard), in the order given.

        Set the whole list (``run.tags = [*run.tags, "best"]``): no I/O here, the writer thread stores it with
        its next write (after `finish`: at once). Tags that are not acceptable (`store.tags`) leave the run's
        tags as they were, with a warning naming them: a bad label never stops training.
        """
        return self._tags

    @tags.setter
    def tags(self, value: Any) -> None:
        self._annotate("tags", value)

    @property
    def notes(self) -> str:
        """The run's notes: free text ("" when none), set like `tags`."""
        return self._notes

    @notes.setter
    def notes(self, value: str | None) -> None:
        self._annotate("notes", value)

    def _annotate(self, field: str, value: Any) -> None:
        try:
            cleaned = clean_tags(value) if field == "tags" else clean_notes(value)
        except InvalidAnnotationError as error:
            self._warn_once(repr(value)[:200], field, f"run {self.name!r}: {error}; its {field} are unchanged")
            return
        if self._in_forked_child():
            self._warn_once("", "not recording", self._not_recording or "")
            return
        if field == "tags":
            self._tags = cleaned
        else:
            self._notes = cleaned
        if not self._writer_closed():
            self._writer.changed(field)
            return
        try:  # finished: the writer is gone; write the row itself (no lease is needed for these two columns)
            store = Store(self.path)
            try:
                store.annotate_run(self.id, **{field: cleaned})
            finally:
                store.close()
        except Exception as error:
            self._warn_once("", field, f"run {self.name!r}: storing its {field} failed: {error}")

    def add_finish_hook(self, hook: Any) -> None:
        """Have `finish` call ``hook(seconds)`` first, while the run still records: a helper with something still
        to record (a Hub push whose commit it awaits) records it then, within ``seconds`` (None: no limit)."""
        self._finish_hooks.append(hook)

    def sync_now(self, timeout: float | None = 30.0) -> bool:
        """Write what is buffered and send what the run's Hub dataset lacks now, waiting at most ``timeout`` s.

        True once that sync is done; False for a run that does not sync, when the time ran out (the sync goes on
        in the background) or when the sync failed (the data stays local; later syncs send it).
        """
        if self._uploader is None or self._writer_closed() or self._in_forked_child():
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._writer.flush(timeout):
            return False
        return self._uploader.sync_now(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _writer_closed(self) -> bool:
        return self._finished and not self._finishing

    def _run_finish_hooks(self, timeout: float | None) -> None:
        hooks, self._finish_hooks = self._finish_hooks, []
        for hook in hooks:
            try:
                hook(timeout)
            except Exception as error:  # finishing goes on
                self._warn_once("", "finish hook", f"run {self.name!r}: a finish step failed: {error}")

    def _convert(self, metrics: Mapping[str, Any], step: int | None, texts: bool = True) -> dict[str, float]:
        """The numbers of ``metrics`` as floats; tables and (with ``texts``) strings and rich values are queued
        on the side (rich values: a snapshot each, encoded by the writer thread).

        The rest warns. Strings and rich values are queued at the step the call's numbers get (`log`
        resolves the same step from the same arguments); a call without numbers advances the step here,
        since `log` returns early on an empty record. So the numeric fast path of `log` pays nothing for them.
        """
        record = {}
        rich = []  # strings, media, histograms, texts, traces
        tables = []
        for key, value in metrics.items():
            problem = key_problem(key)
            if problem is not None:
                self._warn_once(repr(key), "key", f"metric key {key!r} dropped: {problem}")
                continue
            if isinstance(value, Table):
                tables.append((key, value))
                continue
            if texts and (type(value) is str or _is_rich(value)):
                rich.append((key, value))
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
        if rich:
            self._queue_rich(rich, step, advance=not record)
        for key, table in tables:  # after the rich values: a call without numbers has stepped on to its own step
            self._queue_table(key, table, step, with_numbers=bool(record))
        return record

    def _queue_table(self, key: str, table: Table, step: int | None, with_numbers: bool) -> None:
        # A table logged without a step belongs to its call's step, and in a call of tables only to the step
        # logged last (TRL logs its completions right after the metrics of the same step).
        if step is not None:
            at = self._check_step(step)
        else:
            at = self._next_step if with_numbers else max(self._next_step - 1, 0)
        # The writer keeps one of identical tables logged at one step (TRL logs its completions again with its summary).
        if table.media:  # images in cells: the writer stores them, then the table
            self._put_media([QueuedValue(time.time(), at, key, 0, table)])
        else:
            self._writer.tables.append(TableRow(time.time(), at, key, table.to_json()))

    def _queue_rich(self, values: list[tuple[str, Any]], step: int | None, advance: bool) -> None:
        """Queue a call's strings and rich values at its step; ``advance``: the call has no numbers, step on here."""
        if step is None:
            at = self._next_step
        elif type(step) is not int or not 0 <= step <= MAX_STEP:
            at = self._check_step(step)
        else:
            at = step
        now = time.time()
        queued = []
        for key, value in values:
            if type(value) is str:
                self._writer.texts.append(TextRow(now, at, key, self._storable_text(key, value)))
            elif isinstance(value, (Media, Histogram)):
                queued.append(QueuedValue(now, at, key, 0, value))
            elif isinstance(value, Trace):
                self._writer.traces.append(TraceRow(now, at, key, value.text))
            elif isinstance(value, TextValue):
                self._writer.texts.append(TextRow(now, at, key, self._storable_text(key, value.text), kind=value.kind))
            elif isinstance(value[0], Trace):  # TRL's async GRPO logs a list of traces under one key
                self._writer.traces.append(TraceRow(now, at, key, dumps([json.loads(t.text) for t in value])))
            else:  # a list of media: one row each, in order
                queued += [QueuedValue(now, at, key, i, media) for i, media in enumerate(value)]
        if queued:
            self._put_media(queued)
        if advance:
            self._next_step = at + 1

    def _put_media(self, queued: list[QueuedValue]) -> None:
        dropped = self._writer.queue_media(queued)
        if dropped:
            self._warn(
                ("", "media thinned"),
                f"media are logged faster than they can be encoded and stored: {dropped} waiting values were "
                f"dropped to keep them within {self._writer.media.budget:,} bytes (TRACKIO_MEDIA_BUFFER_BYTES); "
                "the run's media_dropped alert counts them",
                stacklevel=5,
            )

    def _storable_text(self, key: str, value: str) -> str:
        """``value`` cut to the text limit, with lone surrogates (not UTF-8, so not storable) replaced; warns once."""
        limit = self._max_text_chars
        if len(value) > limit:
            self._warn(
                (key, "text length"),
                f"text {key!r} has {len(value)} characters: only the first {limit} are kept "
                "(set TRACKIO_MAX_TEXT_CHARS to keep more)",
                stacklevel=5,  # the user's log() call
            )
            value = value[:limit]
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                message = f"text {key!r} is not valid Unicode (lone surrogates): they are stored as '?'"
                self._warn((key, "text encoding"), message, stacklevel=5)
                value = value.encode("utf-8", "replace").decode("utf-8")
        return value

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

    # -- artifacts (trackio's; the work is `artifacts.operations`) --------------------------------

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: str | None = None,
        type: str | None = None,  # noqa: A002 - trackio's name
        aliases: list[str] | None = None,
        overwrite: bool = False,
    ) -> Any:
        """Log an `Artifact`, or a file or folder, as an output of this run; returns the logged `Artifact`.

        Its files' bytes are stored once each in the project's blob store and synced to the run's
        dataset. ``aliases`` move to the version along with ``latest``; identical content logged
        again is the same version. ``overwrite=True`` removes the artifact's other versions.
        """
        from ..artifacts import operations

        return operations.log_artifact(
            self._artifact_context("log_artifact"), artifact_or_path, name, type, aliases, overwrite
        )

    def use_artifact(self, artifact_or_name: Any, type: str | None = None) -> Any:  # noqa: A002 - trackio's name
        """The artifact version ``"name"`` (latest), ``"name:v3"`` or ``"name:alias"`` names, recorded as an input.

        Found in the project's store, else in the run's Hub dataset; `Artifact.download` writes its files.
        """
        from ..artifacts import operations

        return operations.use_artifact(self._artifact_context("use_artifact"), artifact_or_name, type)

    def _artifact_context(self, what: str) -> Any:
        if self._finished or self._in_forked_child():
            raise RuntimeError(f"{what}() on run {self.name!r}: the run is finished (or owned by another process)")
        from ..artifacts.operations import RunContext

        return RunContext(self._store, self.dir, self.project, self.uid, self.settings.get("dataset_id"))

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
        self._uploader.renumber_own_run = self._renumber
        self._uploader.start()

    def _renumber(self, change: Any, timeout: float = 30.0) -> Any:
        """Apply ``change(store) -> RunRow`` to this run in its writer thread, between two writes (`Writer.renumber`):
        the run started offline is joined to the Hub's run of its name. The row after it, or None (not done)."""
        outcome = {}

        def apply(store: Store) -> Any:
            outcome["row"] = row = change(store)
            # Here, not after the wait: a change the waiter gave up on (a slow write) still takes effect whole.
            self.uid, self.settings = row.uid, row.settings  # a checkpoint saved from now on names the Hub's run
            if self._uploader is not None and self._uploader.run_uids is not None:
                self._uploader.run_uids = [row.uid]
            return row

        if self._writer_closed() or not self._writer.renumber(apply, timeout) or "row" not in outcome:
            return None
        return outcome["row"]

    def sample_system(self, interval: float, gpus: bool = True, host: bool = True) -> None:
        """Record system metrics (`telemetry.system` keys) every ``interval`` seconds until `finish`."""
        from ..telemetry.system import SystemSampler

        if self._system_sampler is None:
            record = lambda metrics, node: self.log_system(metrics, step=max(self._next_step - 1, 0))  # noqa: E731
            self._system_sampler = SystemSampler(record, interval=interval, gpus=gpus, host=host).start()

    def sync_only_node(self, node: str) -> None:
        """In a multi-node job, sync only this node's (and untagged) system samples: other nodes send theirs."""
        if self._uploader is not None:
            self._uploader.own_node = node

    def set_end_reason(self, kind: str, message: str, **details: Any) -> None:
        """Say why the run will end, for `finish` to record: e.g. ``set_end_reason("health_stop", "NaN loss",
        alert="nan_loss", step=120)`` when training is stopped on an alert.

        ``kind``: one of `end_reason.KINDS`; ``message``: one line a person reads; ``details``: JSON values.
        An uncaught exception or a signal ending the run overrides it. A bad kind or message is warned
        about once and ignored (the tracker never stops training).
        """
        try:
            self._end_reason = make(kind, message, **details)
        except ValueError as error:
            self._warn_once("", "end reason", f"set_end_reason() ignored: {error}")

    def finish(
        self,
        status: str = "finished",
        timeout: float | None = DEFAULT_FINISH_TIMEOUT_S,
        *,
        reason: str | None = None,
        end_reason: dict[str, Any] | None = None,
    ) -> None:
        """Write what is buffered, mark the run ``status`` and why it ended, sync it a last time, and stop. Idempotent.

        Why it ended (``runs.end_reason``, see `core.end_reason`): ``end_reason`` (the exit hooks pass the
        uncaught exception or the signal), else for ``finished`` the reason `set_end_reason` set, else
        ``reason`` (a line of text), else ``finished`` or, for another status, the exception being handled.

        ``timeout`` bounds the whole: what is not written or synced by then stays buffered or local
        (``trackio-callback sync`` sends it later). With a webhook, it gets ``Run finished`` (info),
        ``Run stopped`` (warn: stopped early, e.g. on a health alert) or ``Run crashed`` (error), with why,
        within a few seconds at most.
        """
        if self._finished or self._in_forked_child():  # in a fork, the run is the owner's to finish
            return
        self._finished = self._finishing = True
        if self._finish_hooks:  # before the last write, which stores what they record
            self._run_finish_hooks(None if timeout is None else min(timeout, FINISH_HOOKS_MAX_S))
        self._not_recording = f"log() on the finished run {self.name!r} is ignored"
        deadline = None if timeout is None else time.monotonic() + timeout
        self._exit_hooks.unregister(self)
        ended = self._ending(status, reason, end_reason)
        self._announce_end(status, reason, ended)  # sent while the rest finishes
        if self._system_sampler is not None:
            self._system_sampler.stop()
        self._finishing = False  # what is recorded from here on is not written: refused
        if not self._writer.close(None if self.observer else status, timeout, None if self.observer else ended):
            warnings.warn(
                f"run {self.name!r}: {self._writer.unwritten} logged calls could not be written to {self.path} "
                f"within {timeout} s",
                TrackioWarning,
                stacklevel=2,
            )
            self._announcer.close(None if deadline is None else deadline - time.monotonic())
            return
        self._store.close()
        if self._uploader is not None:
            self._uploader.stop(timeout=None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._announcer.close(None if deadline is None else deadline - time.monotonic())

    def _ending(self, status: str, reason: str | None, end_reason: dict[str, Any] | None) -> dict[str, Any] | None:
        """The end reason `finish` records (see there), with the last step logged and the time."""
        try:
            if end_reason is None and status == "finished" and self._end_reason is not None:
                end_reason = self._end_reason
            if end_reason is None:
                end_reason = from_status(status, reason)
            return stamped(end_reason, self._next_step - 1 if self._next_step > 0 else None)
        except Exception as error:  # finishing must go on: the status is still written
            self._warn_once("", "end reason", f"could not record why run {self.name!r} ended: {error}")
            return None

    def _announce_end(self, status: str, reason: str | None, ended: dict[str, Any] | None) -> None:
        if self.observer:  # another node's sampler: the run's own process reports its end
            return
        try:
            kind = ended.get("kind") if ended is not None else None
            if reason is None and kind is not None and kind != "finished":
                reason = describe(ended, with_step=False)  # the notice carries the step in its own field
            early = status == "finished" and kind in ("health_stop", "deadline_stop")
            step = self._next_step - 1 if self._next_step > 0 else None
            self._announcer.end(status, reason, step, time.time(), stopped_early=early)
        except Exception as error:  # finishing must go on (the type only: a message could quote the URL)
            logger.debug("queueing the end-of-run webhook message failed (%s)", type(error).__name__)

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
        if kind is None:
            self.finish(status="finished")
        else:
            self.finish(status="crashed", end_reason=from_exception(kind, value, traceback))
        if _current is self:
            _set_current(None)


# -- module-level API -------------------------------------------------------------------------------

_current: Run | None = None
exit_hooks = process_exit_hooks  # the name `TrackioCallback` uses


def _is_rich(value: object) -> bool:
    """A value of `media` (text, file or histogram), or a non-empty list of traces or of media files."""
    if isinstance(value, (TextValue, Media, Histogram)):
        return True
    if isinstance(value, list) and value:
        kind = Trace if isinstance(value[0], Trace) else Media
        return all(isinstance(item, kind) for item in value)
    return False


def _set_current(run: Run | None) -> None:
    global _current
    _current = run


def init(
    project: str | None = None,
    name: str | None = None,
    group: str | None = None,
    space_id: str | None = None,
    server_url: str | None = None,
    dataset_id: str | None = None,
    bucket_id: str | None = None,
    config: Mapping[str, Any] | None = None,
    resume: str = "never",
    settings: Any = None,  # noqa: ARG001 - trackio's (for wandb.init compatibility): not used, as in trackio
    private: bool | None = None,
    embed: bool = True,  # noqa: ARG001 - trackio embeds its dashboard in notebooks; here show() serves it
    auto_log_gpu: bool | None = None,
    gpu_log_interval: float = 10.0,
    auto_log_cpu: bool | None = None,
    cpu_log_interval: float = 10.0,
    webhook_url: str | None = None,
    webhook_min_level: Any = None,
    *,
    sync_every: float = 300,
    dir: str | os.PathLike | None = None,  # noqa: A002 - the name users expect
    flush_every: float = 1.0,
    uid: str | None = None,
    space_sdk: str = "static",
    pull_history: bool = False,
    tags: Iterable[str] | None = None,
    notes: str | None = None,
) -> Run:
    """Start (or resume) a run and make it the current one. trackio's parameters, in trackio's order.

    ``project`` defaults to ``$TRACKIO_PROJECT``, then ``"huggingface"``; ``space_id`` and
    ``dataset_id`` to ``$TRACKIO_SPACE_ID`` / ``$TRACKIO_DATASET_ID``; ``dir`` to ``$TRACKIO_DIR``,
    then ``trackio-callback/`` in the Hugging Face cache. A run already active is finished first.
    ``uid`` fixes a new run's uid (`TrackioCallback` sets it in multi-node jobs); default: random.

    ``resume``: ``"never"`` starts a new run (a taken name gets a ``-2``, ``-3``, ... suffix, with a
    warning), ``"allow"`` continues the named run if it exists, ``"must"`` raises if it does not. With a
    ``dataset_id``/``space_id``, a run this disk does not have is looked up in the dataset by name (or by
    ``uid``) and continued there: same uid, its calls numbered after the dataset's (a job restarted on a
    fresh machine, `hub.resume`). Only the dataset's runs files are fetched; ``pull_history=True`` pulls the
    run's earlier values too, for reading them here. If the Hub cannot be reached, a warning says so and a new
    local run starts; its first sync joins it to the dataset's run of the same name.

    With a ``space_id``, the dashboard Space is created if missing (``private`` like the dataset; both
    private unless ``private=False``) and its files kept current: ``space_sdk="static"`` (free: the page
    reads the dataset in the browser), or ``"gradio"`` / ``"docker"`` (runs the dashboard server).

    System metrics (see `telemetry.system`): ``auto_log_cpu`` (default: on) samples CPU and memory every
    ``cpu_log_interval`` seconds, ``auto_log_gpu`` (default: on when an NVIDIA GPU is visible) the GPUs
    every ``gpu_log_interval`` seconds; ``$TRACKIO_SYSTEM_METRICS=off`` turns the defaults off.
    ``webhook_url`` / ``webhook_min_level`` (or ``$TRACKIO_WEBHOOK_URL`` / ``$TRACKIO_WEBHOOK_MIN_LEVEL``):
    where alerts are posted. ``tags`` (a list of short labels) and ``notes`` (text), as W&B's ``init`` takes them:
    shown and filtered on in the dashboard, synced with the runs file; a resumed run gets the tags given added to
    its own, and its notes replaced when ``notes`` is given (see `Run.tags`). ``server_url`` (a trackio server) is
    not supported and raises;
    ``bucket_id`` is not used (a warning says so); ``settings`` and ``embed`` are accepted and not used.
    """
    validate_space_sdk(space_sdk)
    clean_tags(tags), clean_notes(notes)  # a bad tag fails here, before the active run is finished or the Hub asked
    if server_url is not None:
        raise UnsupportedFeatureError(
            f"init(server_url={server_url!r}): trackio-callback does not send runs to a trackio server; runs "
            "are written locally and synced to a Hub dataset: pass dataset_id= or space_id= instead"
        )
    if private is not None and not isinstance(private, bool):
        raise TypeError(f"private must be True, False or None (private), got {private!r}")
    if (
        isinstance(sync_every, bool)
        or not isinstance(sync_every, (int, float))
        or not MIN_SYNC_EVERY_S <= sync_every <= MAX_SYNC_EVERY_S
    ):
        raise ValueError(
            f"sync_every={sync_every!r}: use a number of seconds from {MIN_SYNC_EVERY_S} to {MAX_SYNC_EVERY_S} "
            "(the Hub limits how often a repo can be committed to)"
        )
    from ..telemetry.manual import sampling_plan  # lazily: the core's import stays light

    sampling = sampling_plan(auto_log_gpu, gpu_log_interval, auto_log_cpu, cpu_log_interval)
    private = private is not False
    if bucket_id is not None:
        warnings.warn(
            f"init(bucket_id={bucket_id!r}): Hugging Face Buckets are not used by trackio-callback; pass "
            "dataset_id= (or space_id=, whose dataset is '<space_id>-dataset') to sync the run to the Hub",
            TrackioWarning,
            stacklevel=2,
        )
    space_id = settings_module.space_id(space_id)
    dataset_id = settings_module.dataset_id(dataset_id)
    for label, value in (("space_id", space_id), ("dataset_id", dataset_id)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{label} must be a string like 'username/trackio', got {value!r}")
    # As trackio: the active run is finished first, without a warning (scripts call init() once per run, nothing
    # is lost). In a forked child the current run is the parent's: replaced here, never finished.
    if _current is not None and not _current.finished and _current.owner_pid == os.getpid():
        logger.info("init() while run %r is active: finishing it first", _current.name)
        _current.finish()
    target = None
    if space_id is not None or dataset_id is not None:
        from ..hub import repo

        target = repo.resolve(space_id, dataset_id)  # a missing or rejected HF_TOKEN stops here
        space_id, dataset_id = target.space_id, target.dataset_id
    project = settings_module.project(project)
    unreconciled = False
    if target is not None and resume != "never" and (name is not None or uid is not None):
        unreconciled = _continue_from_hub(project, name, uid, resume, target, dir, pull_history)
    webhooks = {"webhook_url": webhook_url, "webhook_min_level": webhook_min_level}
    run = Run(
        project,
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
            **({UNRECONCILED: True} if unreconciled else {}),
        },
        exit_hooks=exit_hooks,
        uid=uid,
        tags=tags,
        notes=notes,
        **{key: value for key, value in webhooks.items() if value is not None},
    )
    if target is not None:
        space = (target.space_id, space_sdk) if target.space_id is not None else None
        run.start_sync(target.dataset_id, target.token, private=private, interval=sync_every, space=space)
    if sampling is not None:
        run.sample_system(*sampling)
    _set_current(run)
    return run


def _continue_from_hub(
    project: str, name: str | None, uid: str | None, resume: str, target: Any, directory: Any, history: bool
) -> bool:
    """Bring the run the dataset holds under ``name`` (or ``uid``) to this disk, unless it is here; see `init`.

    True when the Hub could not be asked: the run starts locally, marked for the uploader to reconcile.
    """
    from ..hub import resume as hub_resume

    path = files.project_path(settings.storage_dir(directory), validate_project(project))
    done = hub_resume.continue_from_hub(
        path, target.dataset_id, project, name=name, uid=uid, token=target.token, endpoint=target.endpoint,
        history=history,
    )  # fmt: skip
    if done.how == "offline":
        warnings.warn(
            f"cannot reach the Hub to look for run {name or uid!r} in {target.dataset_id} ({done.error}): it "
            "starts as a new local run; once the Hub answers, the sync joins it to the dataset's run of that name "
            "(one run, its values after the dataset's)",
            TrackioWarning,
            stacklevel=3,
        )
        return True
    if done.how == "new" and resume == "must":
        raise RunNotFoundError("run", str(name or uid), [], f" (resume='must'), not here nor in {target.dataset_id}")
    return False


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
    """Log to the current run (see `Run.log`); without one, a warning (once per caller), never an error.

    trackio raises here; this package warns instead, because TRL calls ``trackio.log`` from inside
    training (its completions table) and the tracker never stops training.
    """
    run = _current
    if run is None or run._finished:
        run = current_run()
        if run is None:
            warn_no_run("trackio.log()")
            return
    run.log(metrics, step)


def finish(timeout: float | None = DEFAULT_FINISH_TIMEOUT_S) -> None:
    """Finish the current run: write everything buffered and mark it finished. No-op without a run."""
    run = _current
    if run is not None:
        run.finish(timeout=timeout)
        _set_current(None)
