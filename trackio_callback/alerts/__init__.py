"""Alerts: their levels, the terminal line and webhook payloads, and their delivery off the training thread.

Owns: ``levels`` (`AlertLevel`, their order, `parse_level`), ``terminal`` (the line an alert prints),
``webhooks`` (the payload a URL gets: Slack, Discord or plain JSON, as trackio sends them; the host a
message may name), ``delivery`` (`Notifier`: one daemon thread per run POSTing queued alerts, bounded
and retried, never blocking or failing the caller).

A webhook URL is a secret: nothing here stores it, and messages name only its host.

May import: the standard library, `trackio_callback.settings`, `.errors`, `.utils` and `.version`.
Never the core (the core's `Run` uses this package), the store, the Hub or the server.
"""
