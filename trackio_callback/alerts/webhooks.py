"""What a webhook receives for an alert: the payload for its URL, and the URL checks and host messages may name.

The payloads are trackio's, so a receiver set up for trackio reads them unchanged:

- a URL containing ``hooks.slack.com``: Slack Block Kit ``{"blocks": [...]}`` (header, text, context);
- one containing ``discord.com/api/webhooks`` or ``discordapp.com/api/webhooks``: ``{"embeds": [...]}``;
- any other: plain JSON ``{"level", "title", "text", "project", "run", "step", "timestamp"}``.

Example::

    notice = Notice(AlertLevel.WARN, "loss_spike", "loss 9 at step 7", "proj", "run-1", 7, "2025-01-01T00:00:00+00:00")
    build_payload("https://hooks.slack.com/services/T0/B0/x", notice)   # {"blocks": [...]}
"""

from __future__ import annotations

import urllib.parse
from typing import Any, NamedTuple

from ..errors import WebhookURLError
from .levels import AlertLevel

_EMOJI = {AlertLevel.INFO: "ℹ️", AlertLevel.WARN: "⚠️", AlertLevel.ERROR: "🚨"}
_DISCORD_COLORS = {AlertLevel.INFO: 3447003, AlertLevel.WARN: 16776960, AlertLevel.ERROR: 15158332}
SLACK_MARKER = "hooks.slack.com"
DISCORD_MARKERS = ("discord.com/api/webhooks", "discordapp.com/api/webhooks")


class Notice(NamedTuple):
    """One message for a webhook: an alert, or the run's end."""

    level: AlertLevel
    title: str
    text: str | None
    project: str
    run: str
    step: int | None
    timestamp: str  # ISO 8601 in UTC, as trackio sends it


def build_payload(url: str, notice: Notice) -> dict[str, Any]:
    """The JSON body ``url`` gets for ``notice``: Slack's or Discord's shape when the URL is theirs, else plain."""
    if SLACK_MARKER in url:
        return _slack(notice)
    if any(marker in url for marker in DISCORD_MARKERS):
        return _discord(notice)
    return {
        "level": notice.level.value,
        "title": notice.title,
        "text": notice.text,
        "project": notice.project,
        "run": notice.run,
        "step": notice.step,
        "timestamp": notice.timestamp,
    }


def _title(notice: Notice) -> str:
    return f"[{notice.level.value.upper()}] {notice.title}"


def _footer(notice: Notice) -> str:
    step = f"  •  Step {notice.step}" if notice.step is not None else ""
    return f"Project: {notice.project}  •  Run: {notice.run}{step}"


def _slack(notice: Notice) -> dict[str, Any]:
    header = f"{_EMOJI[notice.level]} *{_title(notice)}*"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": header}}]
    if notice.text:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": notice.text}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _footer(notice)}]})
    return {"blocks": blocks}


def _discord(notice: Notice) -> dict[str, Any]:
    embed: dict[str, Any] = {
        "title": f"{_EMOJI[notice.level]} {_title(notice)}",
        "color": _DISCORD_COLORS[notice.level],
        "footer": {"text": _footer(notice)},
    }
    if notice.text:
        embed["description"] = notice.text
    return {"embeds": [embed]}


def check_url(url: object, name: str = "webhook_url") -> str:
    """``url`` if it is an http(s) URL with a host; else `WebhookURLError` naming ``name`` but never the URL."""
    if not isinstance(url, str):
        raise WebhookURLError(f"{name} must be a string (an http or https URL), got {type(url).__name__}")
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        raise WebhookURLError(f"{name} is not a URL (value not shown: webhook URLs are secret)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookURLError(
            f"{name} must be an http:// or https:// URL with a host, got one with scheme {parts.scheme or '(none)'!r} "
            "(the rest is not shown: webhook URLs are secret)"
        )
    return url


def host(url: str) -> str:
    """The part of ``url`` a message may name: its host (and port); never the path, which holds the secret."""
    try:
        parts = urllib.parse.urlsplit(url)
        name = parts.hostname or "?"
        return f"{name}:{parts.port}" if parts.port else name
    except ValueError:
        return "?"
