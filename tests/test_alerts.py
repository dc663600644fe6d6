"""Alerts: ``alert()`` records, prints and posts to webhooks; health alerts and the run's end are posted too.

Webhooks are a real local HTTP server (`Receiver`) that records each POST. Which payload a URL gets is
decided by a substring of the URL (``hooks.slack.com``, ``discord.com/api/webhooks``), as trackio does,
so the receiver's URLs carry those markers in their path: ``http://127.0.0.1:PORT/hooks.slack.com/...``
gets Slack's payload while staying on this machine.
"""

from __future__ import annotations

import io
import json
import logging
import math
import sqlite3
import threading
import time
import warnings
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests import tiny
from tests.helpers import run_python
from trackio_callback import Reader, TrackioWarning
from trackio_callback.alerts.delivery import Notifier
from trackio_callback.alerts.levels import AlertLevel, parse_level
from trackio_callback.alerts.webhooks import Notice
from trackio_callback.core import run as run_module
from trackio_callback.core import shortcuts
from trackio_callback.errors import AlertLevelError, WebhookURLError
from trackio_callback.hub import export, layout
from trackio_callback.hub.pull import pull
from trackio_callback.store import Store
from trackio_callback.store.schema import MIGRATIONS, SCHEMA_VERSION

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS)

SLACK_PATH = "/hooks.slack.com/services/T000/B000/SECRET-slack-token-123"
DISCORD_PATH = "/discord.com/api/webhooks/42/SECRET-discord-token"
DISCORDAPP_PATH = "/discordapp.com/api/webhooks/43/SECRET-discordapp-token"
GENERIC_PATH = "/generic/SECRET-generic-token"


class Receiver:
    """A local webhook receiver: records every POST (path, headers, JSON body, the status it answered).

    ``answers[path]``: statuses (and headers) to answer first, in order, then 200. A path in ``hanging``
    gets no answer until ``release`` is set.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.hanging: set[str] = set()
        self.release = threading.Event()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                record = {"path": self.path, "headers": dict(self.headers), "body": body, "status": None}
                with receiver.lock:
                    receiver.requests.append(record)
                if self.path in receiver.hanging:
                    receiver.release.wait(30)
                with receiver.lock:
                    queued = receiver.answers.get(self.path)
                    status, headers = queued.pop(0) if queued else (200, {})
                    record["status"] = status
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str | None = None, status: int | None = 200) -> list[dict]:
        with self.lock:
            return [r["body"] for r in self.requests if path in (None, r["path"]) and status in (None, r["status"])]

    def wait(self, count: int, path: str | None = None, status: int | None = 200, timeout: float = 15) -> list[dict]:
        """The bodies of ``path``'s requests answered ``status`` once there are ``count`` (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(found := self.bodies(path, status)) < count:
            assert time.monotonic() < deadline, f"only {len(found)} of {count} requests: {self.requests}"
            time.sleep(0.02)
        return found


@pytest.fixture
def receiver():
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(autouse=True)
def no_webhook_env(monkeypatch):
    for variable in ("TRACKIO_WEBHOOK_URL", "TRACKIO_WEBHOOK_MIN_LEVEL"):
        monkeypatch.delenv(variable, raising=False)


def log_steps(run, count: int) -> None:
    for step in range(count):
        run.log({"train/loss": 1.0 / (step + 1)})


def iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


# -- payloads -----------------------------------------------------------------------------------------


def test_slack_discord_and_generic_payloads_are_trackios(receiver, store_dir):
    run = run_module.init(project="p", name="r", webhook_url=receiver.url(GENERIC_PATH))
    log_steps(run, 4)  # steps 0..3: an alert without a step belongs to step 3
    run.alert("loss diverged", "loss 9.1 at step 3", level=AlertLevel.ERROR, webhook_url=receiver.url(SLACK_PATH))
    run.alert("lr warmup done", level="info", webhook_url=receiver.url(DISCORD_PATH))
    run.alert("plateau", "no progress for 100 steps", webhook_url=receiver.url(DISCORDAPP_PATH))
    run.alert("checkpoint saved", "at step 3", level="INFO")  # the run's own webhook
    (slack,) = receiver.wait(1, SLACK_PATH)
    assert slack == {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "🚨 *[ERROR] loss diverged*"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "loss 9.1 at step 3"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Project: p  •  Run: r  •  Step 3"}]},
        ]
    }
    (discord,) = receiver.wait(1, DISCORD_PATH)
    assert discord == {
        "embeds": [
            {
                "title": "ℹ️ [INFO] lr warmup done",
                "color": 3447003,
                "footer": {"text": "Project: p  •  Run: r  •  Step 3"},
            }
        ]
    }
    (discordapp,) = receiver.wait(1, DISCORDAPP_PATH)
    assert discordapp == {
        "embeds": [
            {
                "title": "⚠️ [WARN] plateau",
                "color": 16776960,
                "footer": {"text": "Project: p  •  Run: r  •  Step 3"},
                "description": "no progress for 100 steps",
            }
        ]
    }
    (generic,) = receiver.wait(1, GENERIC_PATH)
    stored = Reader(store_dir).alerts("p", "r")
    assert {k: v for k, v in generic.items() if k != "timestamp"} == {
        "level": "info", "title": "checkpoint saved", "text": "at step 3", "project": "p", "run": "r", "step": 3,
    }  # fmt: skip
    run.finish()
    assert iso_seconds(generic["timestamp"]) == pytest.approx(Reader(store_dir).alerts("p", "r")[3]["timestamp"])
    assert generic["timestamp"].endswith("+00:00")  # ISO 8601 in UTC, as trackio sends it
    # The run's end goes to the run's webhook only (info: finished), after everything else.
    end = receiver.wait(2, GENERIC_PATH)[1]
    assert {k: v for k, v in end.items() if k != "timestamp"} == {
        "level": "info", "title": "Run finished", "text": None, "project": "p", "run": "r", "step": 3,
    }  # fmt: skip
    assert all(r["headers"]["Content-Type"] == "application/json" for r in receiver.requests)
    assert len(receiver.requests) == 5  # each message once
    stored = Reader(store_dir).alerts("p", "r")
    assert [(a["level"], a["title"], a["text"], a["step"], a["value"]) for a in stored] == [
        ("error", "loss diverged", "loss 9.1 at step 3", 3, None),
        ("info", "lr warmup done", None, 3, None),
        ("warn", "plateau", "no progress for 100 steps", 3, None),
        ("info", "checkpoint saved", "at step 3", 3, None),
    ]


def test_alert_prints_trackios_line_and_records_without_a_webhook(store_dir, capsys):
    run = run_module.init(project="p", name="r")
    shortcuts.alert("first", "before any log")  # step 0 before anything was logged, as trackio
    log_steps(run, 6)
    shortcuts.alert("late", level=AlertLevel.ERROR)
    run.alert("explicit", "given step", level="warn", step=2)
    run.finish()
    assert capsys.readouterr().err.splitlines()[-3:] == [
        "[TRACKIO WARN] first: before any log (step 0)",
        "[TRACKIO ERROR] late (step 5)",
        "[TRACKIO WARN] explicit: given step (step 2)",
    ]
    stored = Reader(store_dir).alerts("p", "r")
    assert [(a["level"], a["title"], a["text"], a["step"]) for a in stored] == [
        ("warn", "first", "before any log", 0),
        ("error", "late", None, 5),
        ("warn", "explicit", "given step", 2),
    ]
    notifier = run._announcer._notifier
    assert notifier.delivered == notifier.failed == notifier.dropped == 0  # nothing configured


def test_bad_levels_and_urls_fail_clearly(receiver, store_dir, monkeypatch):
    assert parse_level("ERROR") is AlertLevel.ERROR and parse_level(" Info ") is AlertLevel.INFO
    assert parse_level(AlertLevel.WARN) is AlertLevel.WARN
    with pytest.raises(RuntimeError, match=r"alert\(\) needs an active run"):
        shortcuts.alert("no run")
    run = run_module.init(project="p", name="r")
    # Once the run is open the tracker never stops training: a bad level is said, and the alert kept as a warning.
    bad = r"level='critical' is not an alert level; use one of 'info', 'warn', 'error'.*recorded as 'warn'"
    with pytest.warns(TrackioWarning, match=bad):
        run.alert("x", level="critical")
    with pytest.warns(TrackioWarning, match=r"level=3 .*recorded as 'warn'"):
        shortcuts.alert("y", level=3)
    run.finish()
    assert [(a["title"], a["level"]) for a in Reader(store_dir).alerts("p", "r")] == [("x", "warn"), ("y", "warn")]
    with pytest.raises(AlertLevelError, match=r"level=3"):
        parse_level(3)
    # Before a run starts: a bad minimum level or URL raises, naming where it came from, and no run is made.
    with pytest.raises(ValueError, match=r"webhook_min_level='loud' is not an alert level"):
        run_module.init(project="q", webhook_url=receiver.url(GENERIC_PATH), webhook_min_level="loud")
    monkeypatch.setenv("TRACKIO_WEBHOOK_MIN_LEVEL", "verbose")
    with pytest.raises(ValueError, match=r"TRACKIO_WEBHOOK_MIN_LEVEL='verbose' is not an alert level"):
        run_module.init(project="q")
    monkeypatch.delenv("TRACKIO_WEBHOOK_MIN_LEVEL")
    secret = "ftp://example.com/SECRET-in-a-bad-url"
    with pytest.raises(WebhookURLError, match=r"webhook_url must be an http:// or https:// URL") as raised:
        run_module.init(project="q", webhook_url=secret)
    assert "SECRET" not in str(raised.value)
    assert not (store_dir / "q.db").exists()
    # After the run started, a bad per-alert URL does not stop training: the alert is recorded, one warning.
    run = run_module.init(project="p", name="s")
    with pytest.warns(TrackioWarning, match="alert\\(\\) failed: WebhookURLError") as caught:
        run.alert("a", webhook_url=secret)
    run.finish()
    assert all("SECRET" not in str(w.message) for w in caught)
    assert [a["title"] for a in Reader(store_dir).alerts("p", "s")] == ["a"]


# -- which alerts are sent ----------------------------------------------------------------------------


def test_min_level_filters_alerts_and_the_end_message(receiver, store_dir):
    run = run_module.init(project="p", name="r", webhook_url=receiver.url(GENERIC_PATH), webhook_min_level="warn")
    run.alert("quiet", level="info")
    run.alert("warned")
    run.alert("failed", level="error")
    run.record_health_alert("nan_loss", "loss is nan at step 0", step=0, value=math.nan)
    run.finish()  # "Run finished" is info: below the minimum
    assert [(b["level"], b["title"]) for b in receiver.wait(3)] == [
        ("warn", "warned"),
        ("error", "failed"),
        ("warn", "nan_loss"),
    ]
    assert len(receiver.requests) == 3
    assert [a["title"] for a in Reader(store_dir).alerts("p", "r")] == ["quiet", "warned", "failed", "nan_loss"]


def test_environment_variables_configure_the_webhook(receiver, store_dir, monkeypatch):
    monkeypatch.setenv("TRACKIO_WEBHOOK_URL", receiver.url(GENERIC_PATH))
    monkeypatch.setenv("TRACKIO_WEBHOOK_MIN_LEVEL", "ERROR")
    with run_module.init(project="p", name="r") as run:
        run.alert("ignored warning")
        run.alert("sent", "an error", level="error")
    assert [(b["level"], b["title"]) for b in receiver.wait(1)] == [("error", "sent")]
    # An argument wins over the variable.
    other = receiver.url("/other")
    with run_module.init(project="p", name="s", webhook_url=other, webhook_min_level="info") as run:
        run.alert("hello", level="info")
    assert [(b["title"], b["run"]) for b in receiver.wait(2, "/other")] == [("hello", "s"), ("Run finished", "s")]
    assert len(receiver.bodies(GENERIC_PATH)) == 1


def test_a_crash_is_sent_with_its_reason(receiver, store_dir):
    with pytest.raises(ZeroDivisionError), run_module.Run("p", name="r", webhook_url=receiver.url(GENERIC_PATH)) as run:
        log_steps(run, 3)
        1 / 0  # noqa: B018
    (end,) = receiver.wait(1)
    assert (end["level"], end["title"], end["text"], end["step"]) == (
        "error", "Run crashed", "ZeroDivisionError: division by zero", 2,
    )  # fmt: skip
    assert Reader(store_dir).run("p", "r")["status"] == "crashed"
    # A script ended by an uncaught exception: its run is finished at exit, and the reason goes with it.
    result = run_python(
        f"""
        import trackio_callback.core.run as run_module
        run = run_module.init(project="p", name="script", dir={str(store_dir)!r})
        run.log({{"loss": 1.0}})
        raise KeyError("missing batch")
        """,
        env={"TRACKIO_WEBHOOK_URL": receiver.url("/script")},
    )
    assert result.returncode == 1 and "KeyError" in result.stderr
    (end,) = receiver.wait(1, "/script")
    assert (end["level"], end["title"], end["text"], end["run"]) == (
        "error", "Run crashed", "KeyError: 'missing batch'", "script",
    )  # fmt: skip
    assert "/script" not in result.stderr and str(receiver.server.server_address[1]) not in result.stderr


# -- delivery -----------------------------------------------------------------------------------------


def test_a_failing_receiver_is_retried_until_it_answers(receiver, store_dir, caplog):
    receiver.answers[GENERIC_PATH] = [(500, {}), (503, {}), (429, {"Retry-After": "0"})]
    receiver.answers["/gone"] = [(404, {})]
    run = run_module.init(project="p", name="r", webhook_url=receiver.url(GENERIC_PATH))
    with caplog.at_level(logging.DEBUG):
        run.alert("flaky receiver", "sent once")
        run.alert("wrong url", webhook_url=receiver.url("/gone"))  # a 4xx other than 429 is final
        (body,) = receiver.wait(1)
        run.finish()
    assert body["title"] == "flaky receiver"
    flaky = [r["status"] for r in receiver.requests if r["body"]["title"] == "flaky receiver"]
    assert flaky == [500, 503, 429, 200]  # retried, delivered once
    assert [r["status"] for r in receiver.requests if r["path"] == "/gone"] == [404]  # not retried
    notifier = run._announcer._notifier
    assert (notifier.delivered, notifier.failed, notifier.dropped) == (2, 1, 0)  # the alert and "Run finished"
    failures = [r.getMessage() for r in caplog.records if "webhook" in r.getMessage()]
    port = receiver.server.server_address[1]
    assert failures == [f"webhook to 127.0.0.1:{port} failed (HTTP 404): alert 'wrong url' of run 'r' not delivered"]


def test_a_hanging_receiver_never_holds_up_training(receiver, store_dir, caplog):
    receiver.hanging.add(GENERIC_PATH)
    run = run_module.init(project="p", name="r", webhook_url=receiver.url(GENERIC_PATH))
    started = time.monotonic()
    for step in range(200):
        run.log({"train/loss": 1.0 / (step + 1)})
        if step % 10 == 0:
            run.alert("tick", f"step {step}")
        run.record_health_alert("nan_loss", f"loss is nan at step {step}", step=step, value=math.nan)
    assert time.monotonic() - started < 2.0  # nothing waited on the receiver
    receiver.wait(1, status=None)  # the first message is stuck in the receiver
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        run.finish(timeout=1.0)
    assert time.monotonic() - started < 2.5  # bounded by finish's timeout
    assert any("were not delivered within" in r.getMessage() for r in caplog.records)
    stored = Reader(store_dir).alerts("p", "r")
    assert len(stored) == 20 + 200 and Reader(store_dir).run("p", "r")["status"] == "finished"


def test_the_queue_is_bounded_and_drops_the_oldest_once_warned(receiver):
    receiver.hanging.add(GENERIC_PATH)
    notifier = Notifier("r", max_queued=3)
    url = receiver.url(GENERIC_PATH)

    def notice(title: str) -> Notice:
        return Notice(AlertLevel.WARN, title, None, "p", "r", 1, "2025-01-01T00:00:00+00:00")

    notifier.send(url, notice("m0"))
    receiver.wait(1, status=None)  # m0 is in flight, the queue is empty
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i in range(1, 9):
            notifier.send(url, notice(f"m{i}"))
    full = [str(w.message) for w in caught if issubclass(w.category, TrackioWarning)]
    assert len(full) == 1 and "3 webhook messages of run 'r' are waiting for 127.0.0.1" in full[0]
    assert "SECRET" not in full[0]
    assert notifier.dropped == 5  # m1..m5: the oldest
    receiver.release.set()
    assert notifier.close(timeout=10) is True
    assert [b["title"] for b in receiver.bodies()] == ["m0", "m6", "m7", "m8"]
    assert (notifier.delivered, notifier.failed, notifier.dropped) == (4, 0, 5)


# -- the URL is a secret ------------------------------------------------------------------------------


def test_the_webhook_url_is_never_stored_synced_or_logged(receiver, store_dir, hub, tmp_path, caplog, capfd):
    receiver.answers[SLACK_PATH] = [(500, {}), (400, {})]  # failures get logged
    secret = "SECRET-slack-token-123"
    with caplog.at_level(logging.DEBUG):
        run = run_module.init(project="p", name="r", dataset_id="ds", webhook_url=receiver.url(SLACK_PATH))
        log_steps(run, 5)
        run.alert("one", "text", level="error")
        run.record_health_alert("loss_spike", "loss 9 at step 3", step=3, value=9.0)
        run.finish()
        with pytest.raises(WebhookURLError) as raised:
            run_module.Run("p", name="bad", webhook_url="mailto:" + secret)
    assert secret not in str(raised.value)
    assert any("webhook to 127.0.0.1" in r.getMessage() for r in caplog.records)  # a failure was logged
    assert all(secret not in r.getMessage() and "hooks.slack.com" not in r.getMessage() for r in caplog.records)
    out, err = capfd.readouterr()
    assert secret not in out + err
    for path in store_dir.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert "webhook" not in json.dumps(Reader(store_dir).run("p", "r")["settings"])
    files = hub.repo_files("alice/ds")
    assert any(p.startswith("alerts/") for p in files) and any(p.startswith("runs/") for p in files)
    for path, content in files.items():
        assert secret.encode() not in content, path
    store = Store(store_dir / "p.db")
    row = store.run("r")
    for kind in ("alerts", "metrics"):
        assert secret.encode() not in export.parquet_bytes(export.kind_table(store, "p", row, kind, -1, 10**9))
    assert secret.encode() not in export.parquet_bytes(export.run_table("p", row))
    store.close()


# -- reading alerts back ------------------------------------------------------------------------------


def test_alerts_read_back_through_the_mcp_tool(store_dir):
    from tests.test_mcp import call_http, one
    from trackio_callback.server.show import show

    with run_module.init(project="p", name="a") as run:
        log_steps(run, 3)
        run.alert("slow", "a step took 9 s", level="warn")
        run.record_health_alert("nan_loss", "loss is nan at step 2", step=2, value=math.nan)
    with run_module.init(project="p", name="b") as run:
        log_steps(run, 2)
        run.alert("diverged", "loss 1e9", level="error")
    with show(dir=store_dir, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        url = dashboard.url + "gradio_api/mcp/"
        every = one(call_http(url, [("get_alerts", {"project": "p"})]))
        errors = one(call_http(url, [("get_alerts", {"project": "p", "level": "ERROR"})]))
        (bad,) = call_http(url, [("get_alerts", {"project": "p", "level": "fatal"})])
    fields = ("run", "level", "title", "text", "step", "value")
    assert [tuple(a[f] for f in fields) for a in every["alerts"]] == [
        ("a", "warn", "slow", "a step took 9 s", 2, None),
        ("a", "warn", "nan_loss", "loss is nan at step 2", 2, None),
        ("b", "error", "diverged", "loss 1e9", 1, None),
    ]
    assert every["total"] == 3 and errors["total"] == 1 and errors["alerts"][0]["title"] == "diverged"
    assert "level='fatal' is not an alert level" in str(bad)
    reader = Reader(store_dir)
    assert [{k: a[k] for k in fields[1:]} for a in reader.alerts("p", "a")] == [
        {k: a[k] for k in fields[1:]} for a in every["alerts"][:2]
    ]


def test_a_health_alert_from_a_real_trainer_is_recorded_and_sent_once(receiver, store_dir, tmp_path, monkeypatch):
    import torch

    monkeypatch.setenv("TRACKIO_WEBHOOK_URL", receiver.url(GENERIC_PATH))
    trainer = tiny.make_trainer(
        tmp_path / "out",
        report_to="trackio",
        run_name="nan",
        max_steps=3,
        logging_steps=1,
        logging_nan_inf_filter=False,
    )
    with torch.no_grad():
        for parameter in trainer.model.parameters():
            parameter.fill_(math.nan)  # every loss and gradient norm is NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrackioWarning)
        trainer.train()
    stored = Reader(store_dir).alerts("huggingface", "nan")
    nan_loss = [a for a in stored if a["title"] == "nan_loss"]
    assert [(a["level"], a["text"], a["step"], a["value"]) for a in nan_loss] == [
        ("warn", f"loss is nan at step {step}", step, None) for step in (1, 2, 3)
    ]
    assert {a["title"] for a in stored} == {"nan_loss", "grad_norm_explosion"}
    sent = receiver.wait(3)
    assert [(b["level"], b["title"]) for b in sent] == [
        ("warn", "nan_loss"),
        ("warn", "grad_norm_explosion"),
        ("info", "Run finished"),
    ]  # each health kind once, however often it repeats
    assert sent[0]["text"] == "loss is nan at step 1" and sent[0]["step"] == 1 and sent[0]["run"] == "nan"


# -- pulled datasets and old stores -------------------------------------------------------------------


def upload_old_alerts(dataset: str, project: str, run: str, uid: str) -> None:
    """An alerts file as stores before schema 7 synced it (a health alert's kind and message), rows 2 and 3."""
    from huggingface_hub import HfApi

    schema = pa.schema(
        [("project", pa.string()), ("run_id", pa.string()), ("run_name", pa.string()), ("seq", pa.int64()),
         ("step", pa.int64()), ("timestamp", pa.timestamp("us", tz="UTC")), ("kind", pa.string()),
         ("message", pa.string()), ("value", pa.float64())]
    )  # fmt: skip
    ids = {"project": project, "run_id": uid, "run_name": run, "step": 3}
    rows = [
        {**ids, "seq": 2, "timestamp": 10**15, "kind": "storage_failure", "message": "12 logged calls were dropped",
         "value": 12.0},
        {**ids, "seq": 3, "timestamp": 10**15 + 1, "kind": "nan_loss", "message": "loss is nan at step 3",
         "value": None},
    ]  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), buffer)
    HfApi().upload_file(
        path_or_fileobj=buffer.getvalue(),
        path_in_repo=layout.shard_path("alerts", project, uid, 2, 3),
        repo_id=dataset,
        repo_type="dataset",
    )


def test_a_pulled_dataset_keeps_alerts_old_files_included(store_dir, hub, tmp_path):
    with run_module.init(project="p", name="r", dataset_id="ds") as run:
        log_steps(run, 4)
        run.alert("custom", "from the script", level="info")
        run.record_health_alert("loss_spike", "loss 9 at step 2", step=2, value=9.0)
    counts = pull("alice/ds", directory=tmp_path / "B")
    assert counts["alerts"] == 2
    fields = ("step", "timestamp", "level", "title", "text", "value")
    in_micros = [{**a, "timestamp": round(a["timestamp"] * 1e6)} for a in Reader(store_dir).alerts("p", "r")]
    pulled = Reader(tmp_path / "B").alerts("p", "r")
    assert [{**a, "timestamp": round(a["timestamp"] * 1e6)} for a in pulled] == in_micros  # the dataset keeps µs
    assert [(a["level"], a["title"], a["text"]) for a in Reader(tmp_path / "B").alerts("p", "r")] == [
        ("info", "custom", "from the script"),
        ("warn", "loss_spike", "loss 9 at step 2"),
    ]
    # A dataset synced before schema 7 holds alerts files with kind and message: they still pull.
    uid = Reader(store_dir).run("p", "r")["uid"]
    upload_old_alerts("alice/ds", "p", "r", uid)
    assert pull("alice/ds", directory=tmp_path / "B")["alerts"] == 2
    pulled = Reader(tmp_path / "B").alerts("p", "r")
    assert [{k: a[k] for k in fields if k != "timestamp"} for a in pulled[2:]] == [
        {
            "step": 3,
            "level": "error",
            "title": "storage_failure",
            "text": "12 logged calls were dropped",
            "value": 12.0,
        },
        {"step": 3, "level": "warn", "title": "nan_loss", "text": "loss is nan at step 3", "value": None},
    ]
    assert pulled[2]["timestamp"] == pytest.approx(1e9)


def test_the_static_space_shows_alerts_old_files_included(store_dir, hub, page):
    from tests.browser import open_dashboard
    from tests.space_host import SpaceHost

    run = run_module.init(project="hubexp", name="r", space_id="board", private=False)
    log_steps(run, 4)
    run.alert("custom", "from the script", level="info")
    run.record_health_alert("loss_spike", "loss 9 at step 2", step=2, value=9.0)
    run.flush()
    run._uploader.sync()
    assert run._uploader.deploy_space()
    upload_old_alerts(run._uploader.dataset_id, "hubexp", "r", run.uid)
    with SpaceHost(hub, "alice/board") as host:
        assert open_dashboard(page, host.url)["mode"] == "hub"
        page.click("#tabs button[data-tab=alerts]")
        page.wait_for_selector(".alerts tbody tr")
        headers = page.eval_on_selector_all(".alerts th", "ths => ths.map(t => t.textContent)")
        rows = page.eval_on_selector_all(
            ".alerts tbody tr", "trs => trs.map(tr => [...tr.children].map(td => td.textContent))"
        )
    run.finish()
    assert headers == ["run", "time", "step", "level", "title", "text", "value"]
    by_title = {row[4]: [row[2], row[3], row[5], row[6]] for row in rows}
    assert by_title == {
        "custom": ["3", "info", "from the script", "–"],
        "loss_spike": ["2", "warn", "loss 9 at step 2", "9"],
        "storage_failure": ["3", "error", "12 logged calls were dropped", "12"],
        "nan_loss": ["3", "warn", "loss is nan at step 3", "–"],
    }


def _v6_database(path: Path) -> None:
    """A project file as schema version 6 left it: a run with a health alert and a storage failure."""
    conn = sqlite3.connect(path, isolation_level=None)
    for migrate in MIGRATIONS[:6]:
        migrate(conn)
    conn.execute("PRAGMA user_version=6")
    conn.execute("INSERT INTO runs (id, name, created_at, heartbeat_at, uid) VALUES (1, 'old', 1, 1, 'u1')")
    conn.executemany(
        """INSERT INTO alerts (seq, run_id, step, timestamp, kind, message, value, run_seq)
           VALUES (?, 1, ?, ?, ?, ?, ?, ?)""",
        [
            (5, 7, 100.0, "loss_spike", "loss 9 is 3x its running average", 9.0, 0),
            (9, None, 101.0, "storage_failure", "3 logged calls or samples were dropped", 3.0, 1),
        ],
    )
    conn.close()


def test_a_version_6_store_migrates_its_alerts(tmp_path):
    _v6_database(tmp_path / "proj.db")
    store = Store(tmp_path / "proj.db")
    assert store.schema_version == SCHEMA_VERSION
    assert store.alerts(1) == [
        (100.0, 7, "warn", "loss_spike", "loss 9 is 3x its running average", 9.0, 0),
        (101.0, None, "error", "storage_failure", "3 logged calls or samples were dropped", 3.0, 1),
    ]
    store.close()
    conn = sqlite3.connect(tmp_path / "proj.db")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(alerts)")]
    indexes = {row[1]: row[2] for row in conn.execute("PRAGMA index_list(alerts)")}
    seqs = [row[0] for row in conn.execute("SELECT seq FROM alerts ORDER BY seq")]
    conn.close()
    assert columns == ["seq", "run_id", "step", "timestamp", "level", "title", "text", "value", "run_seq"]
    assert indexes == {"alerts_run": 0, "alerts_run_seq": 1}  # alerts_run_seq stays unique
    assert seqs == [5, 9]
    # The run goes on: its next alert continues the run's numbering.
    with run_module.Run("proj", name="old", resume="must", directory=tmp_path) as run:
        run.alert("after migration", level="info")
    rows = Store(tmp_path / "proj.db").alerts(1)
    assert [(r.level, r.title, r.seq) for r in rows] == [
        ("warn", "loss_spike", 0), ("error", "storage_failure", 1), ("info", "after migration", 2)
    ]  # fmt: skip
