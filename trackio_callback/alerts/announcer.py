"""`Announcer`: what a run does with an alert besides storing it — the terminal line and the webhook message.

One per run. It resolves the run's webhook (the argument, else ``$TRACKIO_WEBHOOK_URL``) and minimum
level (else ``$TRACKIO_WEBHOOK_MIN_LEVEL``) when the run starts, so that a bad value fails before
training; then it prints each user alert to stderr and hands what reaches the minimum level to its
`Notifier` (a background thread). A health alert is sent once per kind (a NaN loss repeats at every
step: one message says it); the run's end is sent as ``Run finished`` (info), ``Run stopped`` (warn: stopped
early, on a health alert or for the deadline) or ``Run crashed`` (error), with why it ended.

The webhook URL is a secret: held here in memory only, never in the run's settings, the store or a message.

Example::

    announcer = Announcer("proj", "run-1", webhook_url="https://hooks.slack.com/services/...", webhook_min_level=None)
    announcer.alert(AlertLevel.WARN, "loss spike", "loss 9.1", step=7, at=time.time())
    announcer.end("finished", None, step=99)
    announcer.close(timeout=5)
"""

from __future__ import annotations

import sys
from datetime import datetime, timezone

from .. import settings
from .delivery import CLOSE_BOUND_S, Notifier, load_transport
from .levels import AlertLevel, at_least, parse_level
from .terminal import terminal_line
from .webhooks import Notice, check_url


class Announcer:
    """A run's terminal lines and webhook messages (see the module docstring)."""

    def __init__(self, project: str, run: str, webhook_url: str | None, webhook_min_level: AlertLevel | str | None):
        self.project, self.run = project, run
        self.webhook_url, self.min_level = _webhook_settings(webhook_url, webhook_min_level)
        self._notifier = Notifier(run)  # its thread starts with the first message
        if self.webhook_url is not None:
            load_transport()  # now: the run's end is posted at exit, when an import would change the exit status
        self._health_sent: set[str] = set()

    def alert(
        self, level: AlertLevel, title: str, text: str | None, step: int | None, at: float, url: str | None = None
    ) -> None:
        """A user's alert: printed to stderr, and sent to ``url`` (else the run's webhook) when its level is enough."""
        print(terminal_line(level, title, text, step, color=_is_terminal(sys.stderr)), file=sys.stderr)
        self._send(level, title, text, step, at, url)

    def health(self, kind: str, message: str, step: int | None, at: float) -> None:
        """A health alert (``nan_loss``, ``loss_spike``, ...): sent the first time its kind occurs in the run."""
        if kind not in self._health_sent:
            self._health_sent.add(kind)
            self._send(AlertLevel.WARN, kind, message, step, at)

    def end(self, status: str, reason: str | None, step: int | None, at: float, stopped_early: bool = False) -> None:
        """The run's end: ``Run finished`` (info), ``Run stopped`` (warn, a finished run ``stopped_early``), else
        ``Run <status>`` (error); ``reason``: why, e.g. ``"SIGTERM (preempted or timed out)"``."""
        if status == "finished":
            level, title = (AlertLevel.WARN, "Run stopped") if stopped_early else (AlertLevel.INFO, "Run finished")
        else:
            level, title = AlertLevel.ERROR, f"Run {status}"
        self._send(level, title, reason, step, at)

    def close(self, deadline_s: float | None = None) -> bool:
        """Deliver what waits, within `CLOSE_BOUND_S` (and ``deadline_s`` when shorter); True when all went out."""
        return self._notifier.close(CLOSE_BOUND_S if deadline_s is None else min(CLOSE_BOUND_S, max(0.0, deadline_s)))

    def _send(
        self, level: AlertLevel, title: str, text: str | None, step: int | None, at: float, url: str | None = None
    ) -> None:
        url = check_url(url) if url else self.webhook_url
        if url is None or not at_least(level, self.min_level):
            return
        timestamp = datetime.fromtimestamp(at, timezone.utc).isoformat()
        self._notifier.send(url, Notice(level, title, text, self.project, self.run, step, timestamp))


def _webhook_settings(url: str | None, min_level: AlertLevel | str | None) -> tuple[str | None, AlertLevel | None]:
    """A run's webhook and its minimum level: the arguments, else ``$TRACKIO_WEBHOOK_URL`` / ``_MIN_LEVEL``.

    A bad value is an error naming where it came from (never the URL itself).
    """
    if url:
        check_url(url, "webhook_url")
    else:
        url = settings.webhook_url()
        if url is not None:
            check_url(url, "TRACKIO_WEBHOOK_URL")
    if min_level is not None and min_level != "":
        return url, parse_level(min_level, "webhook_min_level")
    raw = settings.webhook_min_level()
    return url, None if raw is None else parse_level(raw, "TRACKIO_WEBHOOK_MIN_LEVEL")


def _is_terminal(stream: object) -> bool:
    try:
        return stream.isatty()  # type: ignore[attr-defined]
    except Exception:  # a replaced stream without isatty, or a closed one
        return False
