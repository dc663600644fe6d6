"""`retry`: call a function until it succeeds, with exponential backoff and jitter, within a deadline.

One mechanism for the two places that retry: SQLite while another process holds the lock
(`store.connection`), and the Hub while it answers 5xx/429 or drops the connection (`hub.uploader`).

Example::

    retry(
        lambda: conn.execute("BEGIN IMMEDIATE"),
        retryable=lambda error: isinstance(error, sqlite3.OperationalError) and "locked" in str(error),
        deadline=time.monotonic() + 60,
        on_give_up=lambda error: StoreBusyError("still locked after 60 s"),
    )
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def backoff(attempt: int, base: float, cap: float) -> float:
    """The wait before retry ``attempt`` (0, 1, ...): ``base * 2**attempt``, at most ``cap``, times 0.5-1.5."""
    return min(cap, base * 2**attempt) * (0.5 + random.random())


def retry(
    call: Callable[[], T],
    *,
    retryable: Callable[[BaseException], bool],
    deadline: float,
    on_give_up: Callable[[BaseException], BaseException],
    base: float = 0.5,
    cap: float = 60.0,
    delay_for: Callable[[BaseException], float | None] | None = None,
    sleep_past_deadline: bool = True,
) -> T:
    """``call()``, retried while it raises an error ``retryable`` says is passing.

    ``deadline`` is a `time.monotonic` time; past it, the error of ``on_give_up(error)`` is raised
    from the last error. ``delay_for(error)`` may name the wait (a ``Retry-After``); None: backoff.
    ``sleep_past_deadline=False`` gives up before a wait that would end after the deadline.
    An error that is not retryable is raised as it is.
    """
    attempt = 0
    while True:
        try:
            return call()
        except Exception as error:
            if not retryable(error):
                raise
            delay = delay_for(error) if delay_for is not None else None
            if delay is None:
                delay = backoff(attempt, base, cap)
            now = time.monotonic()
            if now > deadline or (not sleep_past_deadline and now + delay > deadline):
                raise on_give_up(error) from error
            time.sleep(delay)
            attempt += 1
