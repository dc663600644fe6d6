"""Run management (issue 14 §7): trackio's `Api`, delete / rename / move of runs, `delete_project`, the CLI, and a
removal reaching each Hub dataset at its next sync, under the hub's faults, without touching another run.

Runs are logged with the real `init`/`log`, stored in real SQLite files, synced with the real huggingface_hub
client to the Hub hub, and read back through `Reader`, pull and the mirror.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests.helpers import ROOT, run_python
from trackio_callback.cli.main import main
from trackio_callback.errors import InvalidNameError, RunInUseError, TransientSyncError
from trackio_callback.hub import layout
from trackio_callback.hub.mirror import DatasetMirror
from trackio_callback.hub.pull import pull
from trackio_callback.hub.uploader import Uploader
from trackio_callback.management import operations
from trackio_callback.management.api import Api, delete_project
from trackio_callback.store import Store, files
from trackio_callback.store.codec import to_micros
from trackio_callback.store.reader import Reader
from trackio_callback.store.removal import run_tables
from trackio_callback.utils import crashpoints
from trackio_callback.utils.jsontext import dumps

DATASET = "alice/ds"
TOKEN = "hf_test_token"


def log_run(name: str, offset: float, project: str = "p", **init) -> trackio.Run:
    """A finished run with metrics, a NaN, system samples, a table, texts and alerts (values depend on ``offset``)."""
    run = trackio.init(project=project, name=name, config={"lr": offset, "name": name}, **init)
    for step in range(30):
        run.log({"loss": offset + step / 10, "acc": offset - step}, step=step)
    run.log({"loss": float("nan")}, step=30)
    run.log({"sample": f"text of {name}"}, step=30)
    run.log_system({"system/cpu": offset * 2}, step=5)
    run.log({"preds": trackio.Table(columns=["a"], data=[[offset]])}, step=31)
    run.alert(f"alert of {name}", f"text {offset}", level="error", step=7)
    run.finish()
    return run


def reads(directory: Path, project: str, name: str) -> dict:
    """Everything `Reader` returns about one run (created_at etc. included): compared before and after a change."""
    with Reader(directory) as reader:
        summary = reader.summary(project, name)
        return comparable(
            {
                "summary": {k: v for k, v in summary.items() if k != "status"},
                "series": {
                    k: (s.steps, s.timestamps_us, [repr(v) for v in s.values], s.seqs)
                    for k in reader.metric_keys(project, name)
                    for s in [reader.series(project, name, k)]
                },
                "system": reader.system_samples(project, name),
                "tables": reader.tables(project, name),
                "alerts": reader.alerts(project, name),
                "texts": [reader.texts(project, name, k) for k in reader.text_keys(project, name)],
            }
        )


def comparable(value):
    """``value`` with NaN as text (NaN != NaN would make equal reads differ)."""
    return json.loads(dumps(value))


def in_micros(value, key: str = ""):
    """Reads as a pull copies them: times to the microsecond (a dataset's resolution), without the writer's lease
    (process, host, heartbeat: this store's own)."""
    if isinstance(value, dict):
        return {k: in_micros(v, k) for k, v in value.items() if k not in ("pid", "hostname", "heartbeat_at")}
    if isinstance(value, list):
        return [in_micros(v, key) for v in value]
    if isinstance(value, float) and ("time" in key or key.endswith("_at")):
        return to_micros(value)
    return value


def opened(path: Path) -> Store:
    """A store, closed when the test ends (the `isolated` fixture's tmp dir outlives it)."""
    store = Store(path, create=False)
    _open_stores.append(store)
    return store


_open_stores: list[Store] = []


@pytest.fixture(autouse=True)
def close_stores():
    yield
    while _open_stores:
        _open_stores.pop().close()


def row(project: str, name: str):
    return opened(files.project_path(Path(os.environ["TRACKIO_DIR"]), project)).run(name)


def rows_of(path: Path, run_id: int) -> dict[str, int]:
    """How many rows each table holding runs' rows has of ``run_id`` (read with plain sqlite3)."""
    conn = sqlite3.connect(path)
    try:
        return {t.name: conn.execute(f'SELECT count(*) FROM "{t.name}" WHERE run_id = ?', (run_id,)).fetchone()[0]
                for t in run_tables(conn)}  # fmt: skip
    finally:
        conn.close()


# -- the Api ---------------------------------------------------------------------------------------------


def test_api_reads_the_runs_init_logged(store_dir):
    first = log_run("a", 1.0, group="g1")
    log_run("b", 2.0)
    runs = Api().runs("p")
    assert len(runs) == 2 and [r.name for r in runs] == ["a", "b"] and repr(runs) == "<Runs project=p count=2>"
    a = runs[0]
    assert a.id == first.uid and isinstance(a.id, str) and a.group == "g1" and runs[1].group is None
    assert a.config["lr"] == 1.0 and a.config["name"] == "a"
    assert a.summary == row("p", "a").summary and isinstance(a.summary, dict)
    history = a.history()
    assert [row["step"] for row in history] == list(range(31))  # the text and table calls hold no number
    assert [row["loss"] for row in history[:30]] == [1.0 + s / 10 for s in range(30)]
    assert [row["acc"] for row in history[:30]] == [1.0 - s for s in range(30)]
    assert history[30]["step"] == 30 and history[30]["loss"] != history[30]["loss"] and "acc" not in history[30]
    assert a.history("acc") == [{"step": s, "timestamp": history[s]["timestamp"], "acc": 1.0 - s} for s in range(30)]
    assert [r["title"] for r in a.alerts()] == ["alert of a"] and a.alerts(level="info") == []
    alerts = Api().alerts("p", level="error")
    assert [(x["run"], x["title"], x["text"], x["level"], x["step"]) for x in alerts] == [
        ("b", "alert of b", "text 2.0", "error", 7),
        ("a", "alert of a", "text 1.0", "error", 7),
    ]  # newest first
    assert Api().alerts("p", since=alerts[0]["timestamp"]) == [] and Api().alerts("p", run="zzz") == []
    a_time = datetime.fromisoformat(alerts[1]["timestamp"])
    assert Api().alerts("p", run="a", since=alerts[1]["timestamp"][:-6]) == []  # a time without zone is UTC
    assert [x["run"] for x in Api().alerts("p", since=a_time - timedelta(microseconds=1))] == ["b", "a"]
    assert [x["run"] for x in Api().alerts("p", since=a_time.timestamp() - 1e-3)] == ["b", "a"]
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        Api().alerts("p", since="yesterday")
    with pytest.raises(ValueError, match="'nope' not found"):
        Api().runs("nope")
    with pytest.raises(LookupError):
        Api().alerts("nope")


# -- delete, rename, move in the store ----------------------------------------------------------------


def test_deleting_a_run_removes_every_row_of_it_and_nothing_of_another(store_dir):
    log_run("a", 1.0)
    log_run("b", 2.0)
    path = files.project_path(store_dir, "p")
    before = reads(store_dir, "p", "b")
    a_id, b_id = (row("p", name).id for name in ("a", "b"))
    b_rows = rows_of(path, b_id)
    assert {k for k, n in rows_of(path, a_id).items() if n} >= {"batches", "chunks", "metric_summaries", "alerts"}
    assert Api().runs("p")[0].delete() is True
    assert set(rows_of(path, a_id).values()) == {0}  # every table holding a run's rows: none of a's left
    assert rows_of(path, b_id) == b_rows
    assert reads(store_dir, "p", "b") == before
    assert [r.name for r in Api().runs("p")] == ["b"]
    with pytest.raises(LookupError, match="'a' not found"):
        Reader(store_dir).summary("p", "a")
    (removed,) = opened(path).removed_runs()
    assert (removed.name, removed.reason) == ("a", "deleted")


def test_rename_then_read_under_the_new_name(store_dir):
    log_run("a", 1.0)
    log_run("b", 2.0)
    before = reads(store_dir, "p", "a")
    uid = Api().runs("p")[0].id
    handle = Api().runs("p")[0].rename("a-renamed")
    assert handle.name == "a-renamed" and handle.id == uid
    after = reads(store_dir, "p", "a-renamed")
    assert after["summary"].pop("name") == "a-renamed"
    before["summary"].pop("name")
    assert after == before
    with pytest.raises(InvalidNameError, match="'b': a run of that name exists"):
        handle.rename("b")
    with pytest.raises(InvalidNameError, match="invalid run name"):
        handle.rename(" padded ")
    assert [r.name for r in Api().runs("p")] == ["a-renamed", "b"]


def test_move_reads_back_identically_in_the_other_project_with_its_uid(store_dir):
    log_run("a", 1.0)
    log_run("b", 2.0)
    before = reads(store_dir, "p", "a")
    other = reads(store_dir, "p", "b")
    handle = Api().runs("p")[0]
    uid = handle.id
    assert handle.move("q") is True and handle.project == "q"
    assert reads(store_dir, "q", "a") == before
    assert row("q", "a").uid == uid
    assert [r.name for r in Api().runs("p")] == ["b"] and reads(store_dir, "p", "b") == other
    log_run("a", 9.0, project="p")  # a new run named a in p: moving the q one back clashes
    with pytest.raises(InvalidNameError, match="a run of that name is there"):
        Api().runs("q")[0].move("p")
    assert reads(store_dir, "q", "a") == before  # nothing changed
    with pytest.raises(InvalidNameError):
        operations.move_run("q", "a", "../escape")


def test_a_move_killed_between_its_two_steps_leaves_the_run_in_both_then_a_rerun_finishes_it(store_dir, monkeypatch):
    log_run("a", 1.0)
    before = reads(store_dir, "p", "a")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("killed after the copy")

    with monkeypatch.context() as patch:
        patch.setattr(Store, "remove_run", killed)
        with pytest.raises(KeyboardInterrupt):
            operations.move_run("p", "a", "q")
    assert reads(store_dir, "p", "a") == before and reads(store_dir, "q", "a") == before  # in both, never in none
    operations.move_run("p", "a", "q")  # the copy there is complete: only the deletion here remains
    assert [r.name for r in Api().runs("p")] == [] and reads(store_dir, "q", "a") == before
    assert len(Api().runs("q")) == 1


def test_a_run_being_written_is_not_deleted_renamed_or_moved(store_dir):
    run = trackio.init(project="p", name="live")
    run.log({"x": 1.0})
    assert run.flush(10)
    for action in (
        lambda: operations.delete_run("p", "live"),
        lambda: operations.rename_run("p", "live", "other"),
        lambda: operations.move_run("p", "live", "q"),
    ):
        with pytest.raises(RunInUseError, match=f"run 'live': it is being written by process {os.getpid()}"):
            action()
    assert not files.project_path(store_dir, "q").exists()
    assert delete_project("p", force=True) is False and files.project_path(store_dir, "p").exists()
    run.log({"x": 2.0})
    run.finish()
    assert Reader(store_dir).series("p", "live", "x").values == [1.0, 2.0]
    assert Api().runs("p")[0].delete() is True


def test_delete_project_removes_the_file_its_companions_and_files_folder(store_dir, monkeypatch, capsys):
    log_run("a", 1.0)
    log_run("a", 1.0, project="keep")
    path = files.project_path(store_dir, "p")
    assets = files.project_files_dir(store_dir, "p")
    (assets / "sub").mkdir(parents=True)
    (assets / "sub" / "weights.bin").write_bytes(b"x")
    held = sqlite3.connect(path)  # a reader holding the WAL open: the -wal and -shm files exist
    held.execute("SELECT count(*) FROM runs").fetchone()
    companions = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    assert all(p.exists() for p in companions)
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert delete_project("p") is False and path.exists()
    assert "Deletion cancelled" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("yes\n"))
    assert delete_project("p") is True
    held.close()
    assert not path.exists() and not assets.exists() and not any(p.exists() for p in companions)
    assert files.projects(store_dir) == ["keep"] and len(Api().runs("keep")) == 1
    assert delete_project("p", force=True) is False
    assert "does not exist" in capsys.readouterr().out


# -- the CLI -----------------------------------------------------------------------------------------------


def cli(*args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trackio_callback", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        input=answer,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_asks_and_only_yes_goes_on(store_dir):
    log_run("a", 1.0)
    log_run("b", 2.0)
    before = reads(store_dir, "p", "a")
    for answer in ("n\n", "\n", "", "yess\n"):
        refused = cli("runs", "delete", "p", "a", answer=answer)
        assert refused.returncode == 1 and "cancelled" in refused.stderr and "[y/N]" in refused.stderr
    assert reads(store_dir, "p", "a") == before
    renamed = cli("runs", "rename", "p", "a", "a2", answer="y\n")
    assert renamed.returncode == 0, renamed.stderr
    assert "renamed run 'a' of project 'p' to 'a2'" in renamed.stdout
    moved = cli("--dir", str(store_dir), "runs", "move", "p", "a2", "q", "--yes")
    assert moved.returncode == 0 and "[y/N]" not in moved.stderr
    listed = cli("list", "runs", "--project", "q", "--json")
    assert listed.returncode == 0 and '"name": "a2"' in listed.stdout
    assert cli("runs", "delete", "p", "zzz", "--yes").returncode == 2  # named, nothing asked
    assert main(["runs", "delete", "p", "b", "--yes"]) == 0
    assert cli("list", "runs", "--project", "p", "--json").stdout.strip() == "[]"
    assert cli("projects", "delete", "q", answer="N\n").returncode == 1 and files.project_path(store_dir, "q").exists()
    gone = cli("projects", "delete", "q", answer="YES\n")
    assert gone.returncode == 0 and not files.project_path(store_dir, "q").exists()
    assert cli("list", "projects").stdout.split() == ["p"]


# -- the Hub -----------------------------------------------------------------------------------------------


def repo_files(hub) -> dict[str, bytes]:
    return {p: c for p, c in hub.repo_files(DATASET).items() if layout.parse(p) is not None}


def of_run(paths, uid: str) -> list[str]:
    return sorted(p for p in paths if uid in p)


def synced_pair(hub) -> tuple[Path, str, str, dict[str, bytes]]:
    """Runs a and b of p synced to the dataset: (store path, a's uid, b's uid, b's files)."""
    a, b = log_run("a", 1.0), log_run("b", 2.0)
    Uploader(a.path, "p", DATASET, token=TOKEN).sync(compact_finished=True)
    files_now = repo_files(hub)
    assert of_run(files_now, a.uid) and of_run(files_now, b.uid)
    return a.path, a.uid, b.uid, {p: files_now[p] for p in of_run(files_now, b.uid)}


def test_a_deleted_run_leaves_the_dataset_at_the_next_sync_and_pull_never_brings_it_back(store_dir, hub, tmp_path):
    path, a_uid, b_uid, b_files = synced_pair(hub)
    b_reads = reads(store_dir, "p", "b")
    operations.delete_run("p", "a")
    result = Uploader(path, "p", DATASET, token=TOKEN).sync()
    assert result.committed and result.removed and all(a_uid in p for p in result.removed)
    after = repo_files(hub)
    assert of_run(after, a_uid) == [] and {p: after[p] for p in of_run(after, b_uid)} == b_files
    assert "| a |" not in hub.repo_files(DATASET)["README.md"].decode()  # the card no longer lists it
    commits = hub.commit_count(DATASET)
    Uploader(path, "p", DATASET, token=TOKEN).sync()
    assert hub.commit_count(DATASET) == commits  # done once
    fresh = tmp_path / "fresh"
    pull(DATASET, directory=fresh, token=TOKEN)
    assert [r.name for r in Api(fresh).runs("p")] == ["b"] and in_micros(reads(fresh, "p", "b")) == in_micros(b_reads)
    pull(DATASET, directory=store_dir, token=TOKEN)
    assert [r.name for r in Api().runs("p")] == ["b"]
    ledger = opened(path)
    assert {uid for uid, _ in ledger.sync_state(DATASET)} == {b_uid} and ledger.synced_files(DATASET, a_uid) == []


def test_a_pull_from_before_the_removal_reached_the_dataset_does_not_resurrect_the_run(store_dir, hub):
    path, a_uid, _, _ = synced_pair(hub)
    operations.delete_run("p", "a")
    pull(DATASET, directory=store_dir, token=TOKEN)  # the dataset still has a: not imported again
    assert [r.name for r in Api().runs("p")] == ["b"]
    assert of_run(repo_files(hub), a_uid)
    Uploader(path, "p", DATASET, token=TOKEN).sync()
    assert of_run(repo_files(hub), a_uid) == []


def test_faults_on_the_removal_commit_leave_it_for_the_next_sync_and_only_a_goes(store_dir, hub):
    path, a_uid, b_uid, b_files = synced_pair(hub)
    operations.delete_run("p", "a")
    hub.fail_next(10_000, status=503, endpoint="commit")  # nothing lands
    with pytest.raises(TransientSyncError):
        Uploader(path, "p", DATASET, token=TOKEN).sync(budget=1.5)
    hub.reset_faults()
    assert of_run(repo_files(hub), a_uid) and opened(path).pending_removals(DATASET) == [a_uid]
    hub.drop_connection(before_apply=False, n=10_000, endpoint="commit")  # it lands, no answer comes
    with pytest.raises(TransientSyncError):
        Uploader(path, "p", DATASET, token=TOKEN).sync(budget=1.5)
    hub.reset_faults()
    assert of_run(repo_files(hub), a_uid) == [] and opened(path).pending_removals(DATASET) == [a_uid]
    commits = hub.commit_count(DATASET)
    Uploader(path, "p", DATASET, token=TOKEN).sync()  # the listing shows it done: no commit, the ledger forgets
    assert hub.commit_count(DATASET) == commits and opened(path).pending_removals(DATASET) == []
    after = repo_files(hub)
    assert {p: after[p] for p in of_run(after, b_uid)} == b_files and set(after) == set(b_files)


@pytest.mark.parametrize("point", ["sync:planned", "commit:pending"])
def test_a_run_removed_while_a_sync_was_sending_it_leaves_at_the_next_sync(store_dir, hub, point):
    """Removed after the sync planned it: before (no ledger row yet) or after its files were recorded as pending."""
    run = log_run("a", 1.0)
    crashpoints.observer = lambda reached: reached == point and operations.delete_run("p", "a")
    try:
        Uploader(run.path, "p", DATASET, token=TOKEN).sync()  # planned and sent before the deletion committed
    finally:
        crashpoints.observer = None
    assert of_run(repo_files(hub), run.uid)  # it landed after all
    Uploader(run.path, "p", DATASET, token=TOKEN).sync()
    assert of_run(repo_files(hub), run.uid) == []


def test_rename_and_move_reach_the_dataset_and_its_pulls(store_dir, hub, tmp_path):
    path, a_uid, b_uid, _ = synced_pair(hub)
    copy = tmp_path / "copy"
    pull(DATASET, directory=copy, token=TOKEN)
    operations.rename_run("p", "b", "b-renamed")
    operations.move_run("p", "a", "q")
    Uploader(path, "p", DATASET, token=TOKEN).sync()
    (row,) = pq.read_table(io.BytesIO(hub.repo_files(DATASET)[layout.run_path("p", b_uid)])).to_pylist()
    assert row["run_name"] == "b-renamed"
    assert of_run(repo_files(hub), a_uid) == []  # moved away from p's folders
    Uploader(files.project_path(store_dir, "q"), "q", DATASET, token=TOKEN).sync()
    assert sorted({layout.parse(p).project for p in of_run(repo_files(hub), a_uid)}) == ["q"]
    pull(DATASET, directory=copy, token=TOKEN)  # the copy that pulled before follows the rename
    assert sorted(r.name for r in Api(copy).runs("p")) == ["a", "b-renamed"]  # a plain pull deletes nothing local
    assert in_micros(reads(copy, "q", "a")) == in_micros(reads(store_dir, "q", "a"))
    assert in_micros(reads(copy, "p", "b-renamed")) == in_micros(reads(store_dir, "p", "b-renamed"))


def test_the_mirror_of_a_dataset_drops_a_run_the_dataset_no_longer_holds(store_dir, hub, tmp_path):
    path, _, _, _ = synced_pair(hub)
    mirror = DatasetMirror(DATASET, tmp_path / "mirror")
    assert mirror.pull() is not None and sorted(r.name for r in Api(tmp_path / "mirror").runs("p")) == ["a", "b"]
    b_reads = reads(tmp_path / "mirror", "p", "b")
    operations.delete_run("p", "a")
    Uploader(path, "p", DATASET, token=TOKEN).sync()
    assert mirror.pull() is not None
    assert [r.name for r in Api(tmp_path / "mirror").runs("p")] == ["b"] and reads(
        tmp_path / "mirror", "p", "b"
    ) == b_reads


SYNC = """
from trackio_callback.hub.uploader import Uploader
Uploader({path!r}, "p", "alice/ds", token="hf_test_token").sync()
"""


@pytest.mark.parametrize("point", ["remove:applied", "remove:confirmed"])
def test_a_sync_killed_while_removing_then_a_clean_sync_finishes_it(store_dir, hub, point):
    path, a_uid, b_uid, b_files = synced_pair(hub)
    operations.delete_run("p", "a")
    killed = run_python(SYNC.format(path=str(path)), env={**hub.env(), "TRACKIO_CALLBACK_CRASH_AT": point})
    assert killed.returncode == crashpoints.CRASH_EXIT, killed.stderr[-2000:]
    Uploader(path, "p", DATASET, token=TOKEN).sync()
    after = repo_files(hub)
    assert of_run(after, a_uid) == [] and {p: after[p] for p in after} == b_files
    assert opened(path).pending_removals(DATASET) == []
