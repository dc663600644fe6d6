"""Strings logged as values: a text series per key, stored, read (Reader, CLI, MCP), synced and pulled back."""

from __future__ import annotations

import io
import json
import sqlite3
import warnings

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.test_mcp import call_http
from trackio_callback import TrackioWarning
from trackio_callback.cli.main import main
from trackio_callback.errors import MetricNotFoundError
from trackio_callback.hub import layout
from trackio_callback.hub.pull import pull
from trackio_callback.hub.uploader import Uploader
from trackio_callback.server.show import show
from trackio_callback.store import Store
from trackio_callback.store.schema import MIGRATIONS, SCHEMA_VERSION

DATASET = "alice/ds"
KEY = "samples/generation"
# Newlines, tabs, quotes, non-ASCII, an empty string and a NUL: each must come back exactly.
SAMPLES = {
    0: "The answer is 4.",
    1: 'Line one\nLine two\twith a tab and "quotes"',
    2: "",
    3: "généré ✓ 日本語 🙂",
    4: "nul\x00inside",
}


def log_texts(run: trackio.Run) -> None:
    """Numbers and strings in one call at steps 0-4; a call of strings only (step 5); one more at step 9."""
    for step, text in SAMPLES.items():
        run.log({"train/loss": 1.0 / (step + 1), KEY: text, "samples/prompt": f"prompt {step}"}, step=step)
    run.log({KEY: "text only, no numbers"})  # step 5: the next step, which it takes
    run.log({"train/loss": 0.1})  # step 6
    run.log({KEY: "late", "train/loss": 0.05}, step=9)


EXPECTED = [(step, text) for step, text in SAMPLES.items()] + [(5, "text only, no numbers"), (9, "late")]


def texts_of(reader: trackio.Reader, project: str, run: str, key: str | None = KEY) -> list[tuple]:
    return [(t["step"], t["value"]) for t in reader.texts(project, run, key)]


def test_strings_are_text_series_at_the_calls_step(store_dir):
    run = trackio.init(project="p", name="r")
    log_texts(run)
    assert run.step == 10
    run.finish()
    reader = trackio.Reader()
    assert reader.text_keys("p", "r") == ["samples/generation", "samples/prompt"]
    assert texts_of(reader, "p", "r") == EXPECTED
    assert texts_of(reader, "p", "r", "samples/prompt") == [(s, f"prompt {s}") for s in range(5)]
    every = reader.texts("p", "r")
    assert len(every) == 7 + 5 and set(every[0]) == {"step", "timestamp", "key", "value", "kind"}
    assert [t["timestamp"] for t in every] == sorted(t["timestamp"] for t in every)  # oldest first
    # The numbers of the same calls are untouched, and text keys are not metrics.
    assert reader.metric_keys("p", "r") == ["train/loss"]
    loss = reader.series("p", "r", "train/loss")
    assert loss.steps == [0, 1, 2, 3, 4, 6, 9] and loss.values[-1] == 0.05
    assert reader.run("p", "r")["last_step"] == 9
    with pytest.raises(MetricNotFoundError, match="text 'samples/nope' not found.*samples/generation"):
        reader.texts("p", "r", "samples/nope")
    with pytest.raises(MetricNotFoundError, match="metric 'samples/generation' not found"):
        reader.series("p", "r", KEY)


def test_a_table_only_call_still_belongs_to_the_last_step_and_log_system_drops_strings(store_dir):
    run = trackio.init(project="p", name="r")
    run.log({"train/loss": 1.0}, step=3)
    run.log({KEY: "at 4"})
    run.log({"train/loss": 0.5})
    assert run.step == 6
    with pytest.warns(TrackioWarning, match="'system/host'.*is not a number"):
        run.log_system({"system/cpu": 5.0, "system/host": "node-1"})
    run.finish()
    reader = trackio.Reader()
    assert texts_of(reader, "p", "r") == [(4, "at 4")]
    assert reader.series("p", "r", "train/loss").steps == [3, 5]
    assert reader.system_keys("p", "r") == ["system/cpu"]


def test_long_strings_are_cut_to_the_limit_with_one_warning(store_dir, monkeypatch):
    monkeypatch.setenv("TRACKIO_MAX_TEXT_CHARS", "10")
    run = trackio.init(project="p", name="r")
    with pytest.warns(TrackioWarning, match="'samples/generation' has 25 characters: only the first 10") as caught:
        run.log({KEY: "abcdefghij" + "k" * 15})
    assert caught[0].filename == __file__  # points at the log() call
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per key: the next long one is cut silently
        run.log({KEY: "0123456789xyz"})
        run.log({KEY: "short"})
    with pytest.warns(TrackioWarning, match="not valid Unicode"):
        run.log({"samples/odd": "a\ud800b"})  # a lone surrogate cannot be stored as UTF-8
    with pytest.warns(TrackioWarning, match="'samples/list' dropped: list is not a number"):
        run.log({"samples/list": ["not", "a", "string"], "train/loss": 1.0})
    run.finish()
    reader = trackio.Reader()
    assert texts_of(reader, "p", "r") == [(0, "abcdefghij"), (1, "0123456789"), (2, "short")]
    assert texts_of(reader, "p", "r", "samples/odd") == [(3, "a?b")]
    assert reader.text_keys("p", "r") == [KEY, "samples/odd"]


def test_a_bad_text_limit_fails_at_init(store_dir, monkeypatch):
    monkeypatch.setenv("TRACKIO_MAX_TEXT_CHARS", "lots")
    with pytest.raises(ValueError, match="TRACKIO_MAX_TEXT_CHARS='lots' is not a positive integer"):
        trackio.init(project="p", name="r")


def test_texts_survive_a_restart_and_continue_their_numbering(store_dir):
    run = trackio.init(project="p", name="r")
    run.log({KEY: "first"}, step=0)
    run.finish()
    run = trackio.init(project="p", name="r", resume="allow")
    run.log({KEY: "second", "train/loss": 1.0}, step=1)
    run.finish()
    store = Store(store_dir / "p.db")
    rows = store.texts(store.run("r").id)
    assert [(t.seq, t.step, t.value) for t in rows] == [(0, 0, "first"), (1, 1, "second")]
    store.close()


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_a_text_keys_strings(store_dir, capsys):
    run = trackio.init(project="p", name="r")
    log_texts(run)
    run.finish()
    get = ("get", "metric", "--project", "p", "--run", "r", "--metric", KEY)
    code, out, err = cli(capsys, *get, "--json")
    points = json.loads(out)
    assert code == 0 and err == ""
    assert [(p["step"], p["value"]) for p in points] == EXPECTED and set(points[0]) == {"step", "timestamp", "value"}
    code, out, _ = cli(capsys, *get, "--min-step", "3", "--max-step", "5")
    assert code == 0 and out.split("\n")[1::2][:3] == ["généré ✓ 日本語 🙂", "nul\x00inside", "text only, no numbers"]
    assert [line.split(" (")[0] for line in out.splitlines() if line.startswith("--- step ")] == [
        "--- step 3",
        "--- step 4",
        "--- step 5",
    ]
    code, out, _ = cli(capsys, *get, "--max-points", "2", "--json")
    assert [p["value"] for p in json.loads(out)] == ["text only, no numbers", "late"]
    assert cli(capsys, "list", "texts", "--project", "p", "--run", "r") == (0, f"{KEY}\nsamples/prompt\n", "")
    code, out, _ = cli(capsys, "get", "run", "--project", "p", "--run", "r", "--json")
    assert json.loads(out)["texts"] == [KEY, "samples/prompt"]
    code, out, _ = cli(capsys, "get", "run", "--project", "p", "--run", "r")
    assert f"texts: {KEY}, samples/prompt\n" in out
    code, _, err = cli(capsys, "get", "metric", "--project", "p", "--run", "r", "--metric", "samples/nope")
    assert code == 2 and "metric 'samples/nope' not found" in err


def test_the_dashboard_api_serves_texts(store_dir):
    import httpx2 as httpx

    run = trackio.init(project="p", name="r")
    log_texts(run)
    run.finish()
    with (
        show(dir=store_dir, open_browser=False, block=False, port=0) as dashboard,
        httpx.Client(base_url=dashboard.url, trust_env=False, timeout=30) as http,
    ):
        keys = http.get("api/keys", params={"project": "p", "run": "r"}).json()["runs"]["r"]
        answer = http.get("api/texts", params={"project": "p", "run": "r", "key": KEY})
        every = http.get("api/texts", params={"project": "p", "run": "r"}).json()["texts"]
        missing = http.get("api/texts", params={"project": "p", "run": "r", "key": "samples/nope"})
    assert keys["texts"] == [KEY, "samples/prompt"] and list(keys["metrics"]) == ["train/loss"]
    assert answer.status_code == 200
    assert [(t["step"], t["value"]) for t in answer.json()["texts"]] == EXPECTED
    assert every == json.loads(json.dumps(trackio.Reader(store_dir).texts("p", "r")))
    assert missing.status_code == 404 and "text 'samples/nope' not found" in missing.json()["error"]


def test_mcp_tools_answer_texts(store_dir):
    run = trackio.init(project="p", name="r")
    log_texts(run)
    run.log({"samples/long": "x" * 5000}, step=20)
    run.finish()
    with show(dir=store_dir, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        texts, latest, long, values, metrics, summary, missing = call_http(
            dashboard.url + "gradio_api/mcp/",
            [
                ("get_texts", {"project": "p", "run": "r", "key": KEY, "max_texts": 1000}),
                ("get_texts", {"project": "p", "run": "r", "key": KEY, "max_texts": 2}),
                ("get_texts", {"project": "p", "run": "r", "key": "samples/long", "max_chars": 100}),
                ("get_metric_values", {"project": "p", "run": "r", "metric_name": KEY, "min_step": 4}),
                ("get_metrics_for_run", {"project": "p", "run": "r"}),
                ("get_run_summary", {"project": "p", "run": "r"}),
                ("get_texts", {"project": "p", "run": "r", "key": "samples/nope"}),
            ],
        )
    assert [(t["step"], t["value"]) for t in texts["texts"]] == EXPECTED
    assert texts["total"] == 7 and texts["truncated"] is False
    assert texts["text_keys"] == [KEY, "samples/long", "samples/prompt"]
    assert [t["value"] for t in latest["texts"]] == ["text only, no numbers", "late"] and latest["truncated"]
    (cut,) = long["texts"]
    assert cut["value"] == "x" * 100 and cut["chars"] == 5000 and cut["cut"] is True
    assert values["kind"] == "text" and values["total_points"] == 3
    assert [(p["step"], p["value"]) for p in values["points"]] == [(4, "nul\x00inside"), *EXPECTED[-2:]]
    assert metrics["texts"] == [KEY, "samples/long", "samples/prompt"] and KEY not in metrics["metrics"]
    assert summary["texts"] == [KEY, "samples/long", "samples/prompt"]
    assert "text 'samples/nope' not found" in str(missing)


# -- the Hub ----------------------------------------------------------------------------------------


def dataset_texts(hub, repo: str = DATASET) -> list[tuple]:
    rows = []
    for path, content in sorted(hub.repo_files(repo).items()):
        if path.startswith("texts/") and path.endswith(".parquet"):
            file = layout.parse(path)
            assert file is not None and file.kind == "texts"
            for row in pq.read_table(io.BytesIO(content)).to_pylist():
                assert file.first_seq <= row["seq"] <= file.last_seq
                rows.append((row["run_id"], row["seq"], row["step"], row["key"], row["value"]))
    return sorted(rows)


def store_texts(directory, project: str = "p") -> list[tuple]:
    store = Store(directory / f"{project}.db")
    rows = [
        (run.uid, t.seq, t.step, t.key, t.value) for run in store.runs() for t in store.text_rows(run.id, -1, 2**62)
    ]
    store.close()
    return sorted(rows)


def test_texts_sync_as_parquet_and_pull_back_identical(store_dir, hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    log_texts(run)
    run.finish()
    assert dataset_texts(hub) == store_texts(store_dir) and len(dataset_texts(hub)) == 12
    assert "config_name: texts" in hub.repo_files(DATASET)["README.md"].decode()
    elsewhere = tmp_path / "elsewhere"
    counts = pull(DATASET, directory=elsewhere)
    assert counts["texts"] == 12 and counts["runs"] == 1
    original, copy = trackio.Reader(store_dir), trackio.Reader(elsewhere)
    for key in original.text_keys("p", "r"):
        # Parquet keeps microseconds, as for every kind
        assert [{**t, "timestamp": round(t["timestamp"] * 1e6)} for t in copy.texts("p", "r", key)] == [
            {**t, "timestamp": round(t["timestamp"] * 1e6)} for t in original.texts("p", "r", key)
        ]
    assert store_texts(elsewhere) == store_texts(store_dir)  # every row keeps its seq
    assert pull(DATASET, directory=elsewhere)["texts"] == 0
    # The pulled store knows the dataset has its texts: syncing it sends nothing back.
    before = hub.commit_count(DATASET)
    assert not Uploader(elsewhere / "p.db", "p", DATASET, token="hf_test_token").sync().committed
    assert hub.commit_count(DATASET) == before
    # A run resumed from the pulled copy continues the numbering, and syncs only its new text.
    resumed = trackio.init(project="p", name="r", resume="allow", dir=elsewhere)
    resumed.log({KEY: "after the pull"}, step=10)
    resumed.finish()
    sent = Uploader(elsewhere / "p.db", "p", DATASET, token="hf_test_token").sync()
    assert [path for path in sent.files if path.startswith("texts/")] == [
        layout.shard_path("texts", "p", run.uid, 12, 12)
    ]
    assert dataset_texts(hub) == store_texts(elsewhere) and dataset_texts(hub)[-1][1:] == (
        12,
        10,
        KEY,
        "after the pull",
    )


def test_texts_are_sent_exactly_once_under_faults(store_dir, hub, monkeypatch):
    run = trackio.init(project="p", name="r")
    uploader = Uploader(run.path, "p", DATASET, token="hf_test_token", retry_budget=30)
    log_texts(run)
    assert run.flush(10)
    assert uploader.sync().committed
    commits = hub.commit_count(DATASET)
    assert not uploader.sync().committed and hub.commit_count(DATASET) == commits  # nothing new: nothing sent

    # The Hub applies a commit but its answer is lost: the retry re-sends the same files, never a second copy.
    run.log({KEY: "during a lost answer"}, step=11)
    assert run.flush(10)
    hub.drop_connection(before_apply=False, endpoint="commit")
    uploader.sync()
    assert [r.status for r in hub.requests("commit")][-2:] == [None, 200]  # dropped, then sent again
    assert dataset_texts(hub) == store_texts(store_dir)

    # The process dies between the commit and its confirmation: the next process re-sends the pending file.
    run.log({KEY: "before a crash", "train/loss": 1.0}, step=12)
    assert run.flush(10)

    def crash(*args, **kwargs):
        raise RuntimeError("process died before recording the commit")

    with monkeypatch.context() as patch, pytest.raises(RuntimeError):
        patch.setattr(Store, "confirm_sync", crash)
        uploader.sync()
    run.log({KEY: "after the crash"}, step=13)
    run.finish()
    result = Uploader(run.path, "p", DATASET, token="hf_test_token").sync()
    assert [path for path in result.files if path.startswith("texts/")] == [
        layout.shard_path("texts", "p", run.uid, 13, 13),  # the pending file, re-sent as it was
        layout.shard_path("texts", "p", run.uid, 14, 14),
    ]
    rows = dataset_texts(hub)
    assert rows == store_texts(store_dir) and len({r[1] for r in rows}) == len(rows) == 15
    assert [r[4] for r in rows[-3:]] == ["during a lost answer", "before a crash", "after the crash"]


def test_many_texts_go_in_files_of_bounded_length(store_dir, hub, monkeypatch):
    from trackio_callback.hub import uploader as uploader_module

    monkeypatch.setattr(uploader_module, "MAX_TEXTS_PER_FILE", 4)
    run = trackio.init(project="p", name="r")
    for step in range(10):
        run.log({KEY: f"sample {step}", "train/loss": float(step)}, step=step)
    run.finish()
    Uploader(run.path, "p", DATASET, token="hf_test_token").sync()
    names = sorted(p.rsplit("/", 1)[1] for p in hub.repo_files(DATASET) if p.startswith("texts/"))
    assert names == [f"{a:012d}-{min(a + 3, 9):012d}.parquet" for a in (0, 4, 8)]
    metrics = [p for p in hub.repo_files(DATASET) if p.startswith("metrics/")]
    assert metrics == [layout.shard_path("metrics", "p", run.uid, 0, 9)]  # other kinds keep their span
    assert [r[4] for r in dataset_texts(hub)] == [f"sample {s}" for s in range(10)]


# -- schema -----------------------------------------------------------------------------------------


def test_a_version_6_database_migrates_and_takes_texts(store_dir):
    store_dir.mkdir(parents=True)
    path = store_dir / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:6]:
        migration(conn)
    conn.execute("PRAGMA user_version=6")
    conn.execute(
        "INSERT INTO runs (id, name, uid, created_at, heartbeat_at, next_seq, last_step, status)"
        " VALUES (1, 'old', 'u1', 1, 1, 0, NULL, 'finished')"
    )
    conn.close()
    run = trackio.init(project="old", name="old", resume="allow")
    run.log({KEY: "logged after the migration", "train/loss": 2.0})
    run.finish()
    store = Store(path)
    assert store.schema_version == SCHEMA_VERSION
    tables = {row[0] for row in store._read("SELECT name FROM sqlite_master WHERE type = 'index'", ())}
    assert {"texts_run_seq", "texts_run_key"} <= tables
    assert store.integrity_check() == "ok"
    store.close()
    assert texts_of(trackio.Reader(), "old", "old") == [(0, "logged after the migration")]
