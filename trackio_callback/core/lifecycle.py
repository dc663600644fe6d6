"""`ExitHooks`: nothing logged is lost when the process ends, however it ends, and the run records why it ended.

- Normal interpreter exit (``atexit``): active runs are finished (``finished``, or ``crashed`` when
  an uncaught exception is ending the program: its end reason is that exception, `end_reason.from_exception`,
  kept by the excepthook with its traceback; a `KeyboardInterrupt` is recorded as the signal SIGINT).
- SIGTERM / SIGINT: active runs are flushed, then the previous handler runs. When that handler is
  the default action (the process is about to die), the runs are first finished as ``crashed``
  with the signal as their end reason, and the signal is re-raised with the default action, so the exit
  status stays the signal's. Python's own SIGINT handler raises `KeyboardInterrupt`: the run ends with it
  (``with init()`` or the excepthook), recorded as SIGINT. A handler set to ignore the signal keeps
  ignoring it; a signal is never swallowed.
- SIGKILL cannot be caught: the writer thread's last commit (at most one flush interval ago) is
  what remains, and readers show the run as ``crashed`` (end reason ``heartbeat_lost``) once its
  heartbeat stops.
- ``os.fork()`` (a DataLoader worker, a ``fork`` multiprocessing child): the child inherits the
  runs but not their writer threads; each run is told it now lives in a fork of its owner
  (`Closable.disown_after_fork`), and the child's hooks forget it: the parent finishes it.

Every `Run` registers with `process_exit_hooks` unless given hooks of its own.
"""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Any, Protocol

from . import end_reason

logger = logging.getLogger(__name__)

SIGNAL_FLUSH_TIMEOUT_S = 10.0


class Closable(Protocol):
    owner_pid: int

    def flush(self, timeout: float | None = None) -> bool: ...

    def finish(
        self,
        status: str = "finished",
        timeout: float | None = None,
        *,
        reason: str | None = None,
        end_reason: dict[str, Any] | None = None,
    ) -> None: ...

    def disown_after_fork(self) -> None: ...


class ExitHooks:
    """Keeps the set of active runs and installs the exit, signal and excepthook handlers once."""

    signals = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._runs: list[Closable] = []
        self._lock = threading.Lock()
        self._installed = False
        self._previous: dict[int, object] = {}
        self.crash: dict[str, Any] | None = None  # the uncaught exception ending the program (`end_reason`)

    def register(self, run: Closable) -> None:
        with self._lock:
            if not self._installed:
                self._install()
            self._runs.append(run)

    def unregister(self, run: Closable) -> None:
        with self._lock:
            if run in self._runs:
                self._runs.remove(run)

    def _active(self) -> list[Closable]:
        pid = os.getpid()  # a forked child (a DataLoader worker) inherits runs it does not own
        with self._lock:
            return [run for run in self._runs if run.owner_pid == pid]

    def _install(self) -> None:
        self._installed = True
        atexit.register(self._at_exit)
        if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
            os.register_at_fork(after_in_child=self._after_fork_in_child)
        previous_hook = sys.excepthook

        def excepthook(kind, value, traceback):
            if not issubclass(kind, SystemExit):
                try:
                    self.crash = end_reason.from_exception(kind, value, traceback)
                except Exception:  # the program's own hook must still run
                    self.crash = end_reason.make("exception", getattr(kind, "__name__", "exception"))
            previous_hook(kind, value, traceback)

        sys.excepthook = excepthook
        if threading.current_thread() is not threading.main_thread():
            logger.debug("not on the main thread: SIGTERM/SIGINT handlers not installed")
            return
        for signum in self.signals:
            try:
                self._previous[signum] = signal.getsignal(signum)
                signal.signal(signum, self._on_signal)
            except (ValueError, OSError):  # e.g. an embedded interpreter
                logger.debug("could not install a handler for signal %s", signum, exc_info=True)

    def _at_exit(self) -> None:
        for run in self._active():
            if self.crash is None:
                run.finish(status="finished")
            else:
                run.finish(status="crashed", end_reason=self.crash)

    def _after_fork_in_child(self) -> None:
        # Only the forking thread exists here: another thread may have held the lock at the fork,
        # and would never release it in this process.
        self._lock = threading.Lock()
        inherited, self._runs = self._runs, []  # every one of them belongs to an ancestor process
        for run in inherited:
            try:
                run.disown_after_fork()
            except Exception:  # a fork must never fail because of the tracker
                logger.debug("disowning a run after fork failed", exc_info=True)

    def _on_signal(self, signum: int, frame) -> None:
        previous = self._previous.get(signum)
        terminating = previous in (signal.SIG_DFL, None)
        for run in self._active():
            try:
                if terminating:
                    reason = end_reason.from_signal(signum)
                    run.finish(status="crashed", timeout=SIGNAL_FLUSH_TIMEOUT_S, end_reason=reason)
                else:
                    run.flush(timeout=SIGNAL_FLUSH_TIMEOUT_S)
            except Exception:  # a signal handler must never fail
                logger.debug("flushing on signal %s failed", signum, exc_info=True)
        if callable(previous):
            previous(signum, frame)
        elif terminating:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
        # SIG_IGN: the program chose to ignore this signal; keep ignoring it.


process_exit_hooks = ExitHooks()  # the process's hooks: every run registers here unless given its own
