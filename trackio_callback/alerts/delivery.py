"""`Notifier`: POSTs a run's alerts to webhooks from one daemon thread, so that the caller never waits or fails.

``send`` only appends to a bounded queue: when it is full, the oldest message is dropped, counted,
and warned about once. The thread POSTs each message (standard library ``urllib``, with a timeout)
and retries what may pass (a connection error, a timeout, 5xx, 429 with its ``Retry-After``) with
`utils.retry` backoff for up to ``give_up_after`` seconds; any other 4xx is final. ``close`` delivers
what is left within a bound, then gives up on the rest, saying how many messages were lost.

A webhook URL is a secret: it is held in memory only, and every message names only its host.

Example::

    notifier = Notifier("run-1")
    notifier.send("https://hooks.slack.com/services/...", notice)   # returns at once
    notifier.close(timeout=5)                                        # True once everything went out
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque

from ..errors import WebhookDeliveryError
from ..utils.jsontext import dumps
from ..utils.retry import retry
from ..utils.warn import WarnOnce
from ..version import __version__
from .webhooks import Notice, build_payload, host

logger = logging.getLogger(__name__)

MAX_QUEUED = 256  # messages waiting: a receiver down for a long run costs this much memory at most
REQUEST_TIMEOUT_S = 10.0  # one POST (trackio's)
GIVE_UP_AFTER_S = 120.0  # a message is retried this long, then dropped with a warning
CLOSE_BOUND_S = 5.0  # at most this long at the run's end: finish() must not hang on a receiver
MAX_RETRY_AFTER_S = 60.0


class Notifier:
    """A queue of webhook messages and the daemon thread that sends them (started with the first message)."""

    def __init__(
        self,
        name: str = "run",
        *,
        max_queued: int = MAX_QUEUED,
        request_timeout: float = REQUEST_TIMEOUT_S,
        give_up_after: float = GIVE_UP_AFTER_S,
        retry_base: float = 0.5,
        retry_cap: float = 15.0,
    ):
        self.name = name
        self.max_queued = max(1, max_queued)
        self.request_timeout = request_timeout
        self.give_up_after = give_up_after
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.delivered = 0  # messages the receiver accepted (2xx)
        self.failed = 0  # messages given up: a final 4xx, or failing past give_up_after
        self.dropped = 0  # messages pushed out of the full queue, or sent after close
        self._queue: deque[tuple[str, Notice]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._busy = False  # a message is being sent (it is no longer in the queue)
        self._closing = False
        self._stop_by: float | None = None  # once closing: the monotonic time past which nothing is sent
        self._warn = WarnOnce()

    # -- the caller's side (never blocks on the network, never raises) -------------------------

    def send(self, url: str, notice: Notice) -> None:
        """Queue ``notice`` for ``url``; drops the oldest waiting message when `max_queued` are waiting."""
        try:
            full = False
            with self._cond:
                if self._closing:
                    self.dropped += 1
                    return
                if len(self._queue) >= self.max_queued:
                    self._queue.popleft()
                    self.dropped += 1
                    full = True
                self._queue.append((url, notice))
                self._cond.notify()
            if full:
                self._warn(
                    "full",
                    f"trackio-callback: {self.max_queued} webhook messages of run {self.name!r} are waiting for "
                    f"{host(url)}; the oldest are dropped (counted in Notifier.dropped)",
                    stacklevel=3,
                )
            self._start()
        except Exception as error:  # a webhook must never fail the training loop
            logger.debug("queueing a webhook message failed (%s)", type(error).__name__)

    def close(self, timeout: float = CLOSE_BOUND_S) -> bool:
        """Send what is queued for up to ``timeout`` seconds, then give up on the rest. True: nothing was left."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            self._closing = True
            self._stop_by = deadline
            self._cond.notify_all()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(max(0.0, deadline - time.monotonic()))
        else:  # never started, or threads cannot start any more (the interpreter is exiting): send here
            self._work()
        with self._cond:
            left = len(self._queue) + self._busy
            self.dropped += len(self._queue)
            self._queue.clear()
        if left:
            logger.warning(
                "%d webhook message(s) of run %r were not delivered within %.3g s of its end", left, self.name, timeout
            )
        return left == 0

    def _start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        thread = threading.Thread(target=self._work, name=f"trackio-webhooks-{self.name}", daemon=True)
        try:
            thread.start()
        except RuntimeError:  # interpreter shutdown: close() sends from the calling thread instead
            return
        self._thread = thread

    # -- the thread's side ------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue or self._past_stop():
                    return
                url, notice = self._queue.popleft()
                self._busy = True
            try:
                self._deliver(url, notice)
            except Exception as error:  # the thread must survive anything: one message is lost, not the rest
                self.failed += 1  # the error's type only: its text or traceback may quote the URL
                logger.warning("webhook to %s failed unexpectedly (%s)", host(url), type(error).__name__)
            finally:
                with self._cond:
                    self._busy = False

    def _deliver(self, url: str, notice: Notice) -> None:
        body = dumps(build_payload(url, notice)).encode()
        target = host(url)
        deadline = time.monotonic() + self.give_up_after
        if self._stop_by is not None:  # closing: no retry past the bound (sent from close() at exit)
            deadline = min(deadline, self._stop_by)
        try:
            retry(
                lambda: self._post(url, body),
                retryable=lambda error: _transient(error) and not self._past_stop(),
                deadline=deadline,
                on_give_up=lambda error: WebhookDeliveryError(f"webhook to {target} still failing"),
                base=self.retry_base,
                cap=self.retry_cap,
                delay_for=_retry_after,
                sleep_past_deadline=False,
            )
        except Exception as error:
            self.failed += 1
            cause = error.__cause__ if isinstance(error, WebhookDeliveryError) else error
            logger.warning(
                "webhook to %s failed (%s): alert %r of run %r not delivered",
                target, _describe(cause), notice.title, notice.run,
            )  # fmt: skip
            return
        self.delivered += 1

    def _post(self, url: str, body: bytes) -> None:
        import urllib.request  # here, not at import: it loads ssl and http.client (tens of ms), for runs that post

        timeout = self.request_timeout
        if self._stop_by is not None:
            timeout = max(0.1, min(timeout, self._stop_by - time.monotonic()))
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": f"trackio-callback/{__version__}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)

    def _past_stop(self) -> bool:
        return self._stop_by is not None and time.monotonic() >= self._stop_by


def load_transport() -> None:
    """Import what posting needs now, for a run with a webhook: its end message is posted while the interpreter
    exits, and an import then runs module code that resets CPython's record of an uncaught KeyboardInterrupt
    (the process would exit with status 1 instead of SIGINT's)."""
    import email.utils  # noqa: F401
    import http.client  # noqa: F401
    import urllib.error  # noqa: F401
    import urllib.request  # noqa: F401


def _transient(error: BaseException) -> bool:
    """A failure that may pass: no answer, a dropped connection, 5xx or 429. Any other 4xx is final."""
    import http.client
    import urllib.error

    if isinstance(error, urllib.error.HTTPError):
        return error.code == 429 or error.code >= 500
    return isinstance(error, (urllib.error.URLError, OSError, http.client.HTTPException))


def _retry_after(error: BaseException) -> float | None:
    """A 429's ``Retry-After`` in seconds (a number or an HTTP date), at most `MAX_RETRY_AFTER_S`; None: backoff."""
    import email.utils
    import urllib.error

    if not isinstance(error, urllib.error.HTTPError) or error.code != 429 or error.headers is None:
        return None
    value = error.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return min(MAX_RETRY_AFTER_S, max(0.0, seconds))


def _describe(error: BaseException | None) -> str:
    """What went wrong, without any text that could hold the URL (error messages may quote it)."""
    import urllib.error

    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError):
        error = error.reason if isinstance(error.reason, BaseException) else None
        if error is None:
            return "URLError"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return f"{type(error).__name__}: {error.strerror}"
    return type(error).__name__
