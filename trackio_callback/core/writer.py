"""`Writer`: the daemon thread that moves a run's logged values from memory into SQLite.

``log()`` only appends to `Writer.calls` (a deque: appends and pops are atomic, no lock); the
thread wakes every ``interval`` seconds, or when asked to flush, and commits everything waiting in
one transaction. A failed write (disk full, a lock held for over a minute) keeps the data in memory
and is retried on the next wake-up, with one warning. Memory stays bounded while writes keep
failing: past `settings.MAX_BUFFERED_CALLS` waiting calls, every other one is dropped (the curves keep their
shape over the whole outage, at half the resolution each time the limit is hit), loudly, and the
run gets a ``storage_failure`` alert counting what was lost once writing works again.

Rich values (images, audio, video, histograms, tables of images) wait in `Writer.media` (a
`MediaQueue`, bounded by bytes); the thread encodes them and writes their files (`MediaEncoder`)
before the transaction that commits the rows naming those files. Media dropped to keep that queue
within its budget are counted in a ``media_dropped`` alert.

Example::

    writer = Writer(store, run_id=1, next_seq=0, interval=1.0)
    writer.start()
    writer.calls.append((0, time.time(), {"loss": 1.0}))
    writer.flush(timeout=5)          # True once committed
    writer.close("finished", timeout=30, end_reason={"kind": "finished", "message": "finished"})
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable

from .. import settings
from ..errors import TrackioWarning
from ..media.snapshots import POOL
from ..store import (
    AlertRow,
    HistogramRow,
    MediaFile,
    MediaRow,
    RunRow,
    RunUpdate,
    Store,
    SystemSample,
    TableRow,
    TextRow,
    TraceRow,
)
from ..store.batch import BATCH_LIMIT, Call, build_batches
from ..store.files import project_files_dir
from ..utils.jsontext import dumps
from ..utils.warn import WarnOnce
from .media_encoder import MediaEncoder
from .media_queue import MediaQueue

logger = logging.getLogger(__name__)

SMALL_BATCH = 1024  # batches below this are merged by compaction
COMPACT_EVERY = 64  # small batches written before the writer compacts them
HEARTBEAT_S = 10.0  # how often an idle run still touches its row, so readers can tell it is alive
MEDIA_WAKE_COUNT = 4  # media waiting that wake the writer before its interval: their memory is freed and reused sooner


class Writer:
    """Commits a run's buffered calls, system samples and config changes to its `Store`."""

    def __init__(
        self,
        store: Store,
        run_id: int,
        next_seq: int,
        *,
        interval: float = 1.0,
        snapshots: dict[str, Callable[[], str]] | None = None,
        max_buffered: int | None = None,
        warn: WarnOnce | None = None,
    ):
        self.store = store
        if max_buffered is None:
            max_buffered = settings.max_buffered_calls()
        self.max_buffered = max(2, max_buffered)
        self.dropped = 0  # calls (and samples) dropped to bound memory while writes failed
        self.run_id = run_id
        self.interval = interval
        self.calls: deque[Call] = deque()
        self.system: deque[SystemSample] = deque()
        self.tables: deque[TableRow] = deque()
        self.alerts: deque[AlertRow] = deque()
        self.texts: deque[TextRow] = deque()
        self.traces: deque[TraceRow] = deque()
        self.media = MediaQueue(settings.media_buffer_bytes())
        self._encoder = MediaEncoder(project_files_dir(store.path.parent, store.path.stem), warn or WarnOnce())
        self._media_dropped_told = 0
        # The (step, JSON) of the table last kept under each key: TRL logs its completions table again, as a new
        # Table, with the end-of-training summary; one copy is stored.
        self._last_tables: dict[str, tuple[int, str]] = {}
        self._control: deque[tuple] = deque()
        # JSON documents of the run row ("config", "summary") and which changed since the last write.
        self._snapshots = snapshots or {}
        self._dirty: set[str] = set()
        self._next_seq = next_seq
        self._pending_calls: list[Call] = []
        self._pending_system: list[SystemSample] = []
        self._pending_tables: list[TableRow] = []
        self._pending_alerts: list[AlertRow] = []
        self._pending_texts: list[TextRow] = []
        self._pending_traces: list[TraceRow] = []
        self._pending_media: list[MediaRow] = []
        self._pending_histograms: list[HistogramRow] = []
        self._pending_files: list[MediaFile] = []
        self._pending_events: list[threading.Event] = []
        self._pending_renumbers: list[Callable[[Store], RunRow]] = []  # `renumber`: run after the next write
        self._small_batches = 0
        self._last_write = time.monotonic()
        self._failing = False
        self._closing: str | None = None  # once close() asked: the final status ("" keeps the status)
        self._closing_reason: str | None = None  # and why the run ended (JSON), written with that status
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"trackio-writer-{run_id}", daemon=True)
        POOL.waker = self._wake.set  # a copy that finds no spare buffer asks this thread to map more (`top_up`)

    @property
    def unwritten(self) -> int:
        """Calls and media logged but not committed yet (approximate while logging goes on)."""
        return len(self.calls) + len(self._pending_calls) + len(self.media) + len(self._pending_media)

    def start(self) -> None:
        self._thread.start()

    def queue_media(self, values: list) -> int:
        """Queue rich values (`MediaQueue.put`: how many were dropped to stay in budget); enough wake the thread.

        Encoding promptly, rather than at the next interval, hands the snapshots' buffers back to the pool
        (`media.snapshots`) while they are still warm: the next copies then cost no new memory.
        """
        dropped = self.media.put(values)
        if len(self.media) >= MEDIA_WAKE_COUNT:
            self._wake.set()
        return dropped

    def changed(self, document: str) -> None:
        """The run's ``document`` ("config", "summary", "checkpoints", "tags" or "notes") changed: save it with the
        next write."""
        self._dirty.add(document)

    def flush(self, timeout: float | None = None) -> bool:
        """Commit everything logged before this call; False if ``timeout`` passed first."""
        return self._request(("flush",), timeout)

    def close(self, status: str | None, timeout: float | None = None, end_reason: dict | None = None) -> bool:
        """Commit everything, set the run's final ``status`` (None: leave it) and ``end_reason`` (`core.end_reason`)
        in the same transaction, compact the run, stop the thread."""
        if not self._thread.is_alive():
            return not self.unwritten
        reason_json = dumps(end_reason) if end_reason is not None and status else None
        done = self._request(("close", status or "", reason_json), timeout)
        if done:
            self._thread.join(timeout)
        return done

    def renumber(self, change: Callable[[Store], RunRow], timeout: float | None = None) -> bool:
        """Run ``change(store)`` in this thread right after a write, when every call logged before is committed,
        and continue numbering calls from the ``next_seq`` of the run row it returns (a run joined to the Hub's
        copy of it: `Rebase.rebase_run`). False if ``timeout`` passed first or the thread stopped."""
        return self._request(("renumber", change), timeout)

    def _request(self, command: tuple, timeout: float | None) -> bool:
        if not self._thread.is_alive():
            return not self.unwritten
        event = threading.Event()
        self._control.append((*command, event))
        self._wake.set()
        return event.wait(timeout)

    def _loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self._pass()
            except Exception as error:  # never let the thread die: the data stays pending
                self._warn_failure(error)

    def _pass(self) -> None:
        # Controls first, then data: a flush request sees every call logged before it was made.
        controls = _drain(self._control)
        self._pending_events.extend(c[-1] for c in controls)
        for command in controls:
            if command[0] == "close":
                self._closing, self._closing_reason = command[1], command[2]
            elif command[0] == "renumber":
                self._pending_renumbers.append(command[1])
        self._pending_calls.extend(_drain(self.calls))
        self._pending_system.extend(_drain(self.system))
        self._keep_new_tables(_drain(self.tables))
        self._pending_alerts.extend(_drain(self.alerts))
        self._pending_texts.extend(_drain(self.texts))
        self._pending_traces.extend(_drain(self.traces))
        if self._failing:
            self._bound_memory()
        # A flush or close stores every waiting media value; otherwise encoding takes at most about one
        # interval per pass, so that numbers logged meanwhile are committed on time (a crash loses no more).
        self._store_media(unbounded=bool(controls) or self._closing is not None)
        heartbeat_due = time.monotonic() - self._last_write > HEARTBEAT_S
        pending = (
            self._pending_calls
            or self._pending_system
            or self._pending_tables
            or self._pending_alerts
            or self._pending_texts
            or self._pending_traces
            or self._pending_media
            or self._pending_histograms
        )
        if not (pending or self._dirty or controls or heartbeat_due):
            return
        # What was dropped is told with the data that follows it: the alert goes in the same write.
        dropped_alert = self._dropped_alert() if self.dropped else None
        if dropped_alert is not None:
            self._pending_alerts.append(dropped_alert)
        media_dropped = self.media.dropped
        media_alert = self._media_dropped_alert(media_dropped) if media_dropped > self._media_dropped_told else None
        if media_alert is not None:
            self._pending_alerts.append(media_alert)
        try:
            self._write(self._closing)
        except BaseException:
            for alert in (dropped_alert, media_alert):
                if alert is not None:
                    self._pending_alerts.remove(alert)
            raise
        self._media_dropped_told = media_dropped
        renumbers, self._pending_renumbers = self._pending_renumbers, []
        for change in renumbers:  # everything before is committed; nothing is numbered until this returns
            try:
                self._next_seq = change(self.store).next_seq
            except Exception:  # the caller sees it failed (its change keeps the outcome); the run goes on as it was
                logger.warning("renumbering run %s of %s failed", self.run_id, self.store.path, exc_info=True)
        if dropped_alert is not None:
            warnings.warn(f"trackio-callback writes again; {dropped_alert.text}", TrackioWarning, stacklevel=1)
            self.dropped = 0
        self._failing = False
        if self._closing is not None:
            self._closed.set()
        for event in self._pending_events:
            event.set()
        self._pending_events.clear()

    def _write(self, closing: str | None) -> None:
        calls = self._pending_calls
        batches = build_batches(self._next_seq, calls)
        seq = self._next_seq + len(calls)
        dirty, self._dirty = self._dirty, set()
        documents = {name: self._snapshots[name]() for name in dirty if name in self._snapshots}
        update = RunUpdate(
            next_seq=seq if calls else None,
            last_step=calls[-1][0] if calls else None,
            config_json=documents.get("config"),
            summary_json=documents.get("summary"),
            checkpoints_json=documents.get("checkpoints"),
            status=closing or None,
            finished_at=time.time() if closing else None,
            end_reason_json=self._closing_reason if closing else None,
            tags_json=documents.get("tags"),
            notes=documents.get("notes"),
        )
        try:
            self.store.append(
                self.run_id,
                batches,
                self._pending_system,
                update,
                self._pending_tables,
                self._pending_alerts,
                texts=self._pending_texts,
                media=self._pending_media,
                histograms=self._pending_histograms,
                traces=self._pending_traces,
                media_files=self._pending_files,
            )
        except BaseException:
            self._dirty |= dirty
            raise
        self._last_write = time.monotonic()
        self._next_seq = seq
        self._pending_calls = []
        self._pending_system = []
        self._pending_tables = []
        self._pending_alerts = []
        self._pending_texts = []
        self._pending_traces = []
        self._pending_media = []
        self._pending_histograms = []
        self._pending_files = []
        self._small_batches += sum(1 for b in batches if b.size < SMALL_BATCH)
        if closing is not None or self._small_batches >= COMPACT_EVERY:
            self._small_batches = 0
            try:
                self.store.compact(self.run_id, small=SMALL_BATCH, target=BATCH_LIMIT)
            except Exception:  # the data is committed; compaction is only an optimisation
                logger.warning("compacting run %s of %s failed", self.run_id, self.store.path, exc_info=True)

    def _bound_memory(self) -> None:
        """While writes fail: keep at most `max_buffered` calls (every other one past it), and as many samples."""
        calls = kept = self._pending_calls
        while len(kept) > self.max_buffered:
            kept = kept[::2] if len(kept) % 2 else [*kept[:-1:2], kept[-1]]  # the last call stays
        if len(kept) < len(calls):
            self.dropped += len(calls) - len(kept)
            self._pending_calls = kept
            warnings.warn(
                f"trackio-callback still cannot write to {self.store.path}: to bound memory, {len(calls)} "
                f"waiting calls were thinned to {len(kept)} ({self.dropped} dropped so far); "
                "free the disk to keep the rest",
                TrackioWarning,
                stacklevel=1,
            )
        for name in ("_pending_system", "_pending_tables", "_pending_alerts", "_pending_texts", "_pending_traces"):
            items = getattr(self, name)
            if len(items) > self.max_buffered:
                self.dropped += len(items) - self.max_buffered
                setattr(self, name, items[-self.max_buffered :])

    def _store_media(self, unbounded: bool) -> None:
        """Encode the queued media and write their files; their rows join the pending ones.

        Unless ``unbounded``, for about one interval: what is left goes back to the front of the queue
        and the thread wakes again right after this pass's commit. When the disk fails, the values go
        back to the queue (which stays within its budget) and the error propagates: the pass is
        retried like a failed write.
        """
        POOL.top_up()  # spare buffers for the copies `log()` makes next, mapped here rather than on the training thread
        queued = self.media.take()
        if not queued:
            return
        deadline = None if unbounded else time.monotonic() + self.interval
        try:
            stored = self._encoder.store(queued, deadline)
        except BaseException:
            self.media.put_back(queued)
            raise
        self.media.done(queued[: len(queued) - len(stored.rest)])
        if stored.rest:
            self.media.put_back(stored.rest)
            self._wake.set()
        self._pending_media += stored.media
        self._pending_histograms += stored.histograms
        self._keep_new_tables(stored.tables)
        self._pending_files += stored.files

    def _keep_new_tables(self, tables: list[TableRow]) -> None:
        """Add ``tables`` to the pending rows, but not a table equal to the one kept last under its key at its step."""
        for table in tables:
            if self._last_tables.get(table.key) != (table.step, table.data):
                self._last_tables[table.key] = (table.step, table.data)
                self._pending_tables.append(table)

    def _media_dropped_alert(self, dropped: int) -> AlertRow:
        """The run's ``media_dropped`` alert: media thinned to keep the waiting ones within their memory budget."""
        message = (
            f"{dropped} logged media values were dropped so far: media waiting to be encoded held more than "
            f"{self.media.budget:,} bytes (TRACKIO_MEDIA_BUFFER_BYTES); log fewer or smaller media, or raise it"
        )
        return AlertRow(time.time(), None, "warn", "media_dropped", message, float(dropped))

    def _dropped_alert(self) -> AlertRow:
        """The run's ``storage_failure`` alert (an error): how many calls or samples were dropped to bound memory."""
        message = (
            f"{self.dropped} logged calls or samples were dropped while {self.store.path} could not be written "
            f"(memory is bounded at {self.max_buffered} waiting calls)"
        )
        step = self._pending_calls[-1][0] if self._pending_calls else None
        return AlertRow(time.time(), step, "error", "storage_failure", message, float(self.dropped))

    def _warn_failure(self, error: Exception) -> None:
        if not self._failing:
            self._failing = True
            warnings.warn(
                f"trackio-callback could not write to {self.store.path} ({type(error).__name__}: {error}); "
                f"{self.unwritten} logged calls are kept in memory and retried every {self.interval:g} s",
                TrackioWarning,
                stacklevel=1,
            )
        logger.debug("write failed", exc_info=True)


def _drain(queue: deque) -> list:
    items = []
    pop = queue.popleft
    for _ in range(len(queue)):
        items.append(pop())
    return items
