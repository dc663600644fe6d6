"""The SQLite layer: encodings, batches, compaction, schema migration, journal mode choice."""

from __future__ import annotations

import math
import random
import re
import sqlite3
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trackio_callback.errors import SchemaVersionError
from trackio_callback.store import RunUpdate, Store, codec, fs
from trackio_callback.store.batch import build_batch
from trackio_callback.store.schema import MIGRATIONS, SCHEMA_VERSION

int64 = st.integers(min_value=-(2**62), max_value=2**62)


@given(st.lists(int64, max_size=300))
@example([-(2**62), 2**62])  # the difference overflows int64: stored raw
@example([2**62, -(2**62), 2**62])
@settings(max_examples=200, deadline=None)
def test_integer_columns_round_trip(xs):
    assert codec.decode_ints(codec.encode_ints(xs), len(xs)) == xs


@pytest.mark.parametrize(
    "xs", [list(range(0, 10_000)), list(range(50, 5000, 50)), [7] * 1000, [3], list(range(9, 0, -1))]
)
def test_regular_columns_take_17_bytes(xs):
    encoded = codec.encode_ints(xs)
    assert len(encoded) == 17  # header byte, first value, stride
    assert codec.decode_ints(encoded, len(xs)) == xs


def test_float_columns_keep_every_bit():
    values = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308, 0.1]
    decoded = codec.decode_floats(codec.encode_floats(values))
    assert [v.hex() for v in decoded] == [v.hex() for v in values]


def test_batch_with_mixed_key_sets():
    calls = [
        (0, 100.0, {"loss": 1.0, "lr": 0.1}),
        (1, 101.0, {"loss": 0.9, "lr": 0.1}),
        (1, 101.5, {"eval/loss": 1.2}),
        (2, 102.0, {"lr": 0.05, "loss": 0.8}),  # same keys, other order
    ]
    batch = build_batch(40, calls)
    assert batch.size == 4 and (batch.min_step, batch.max_step) == (0, 2)
    loss = batch.columns["loss"]
    assert codec.decode_floats(loss.values) == [1.0, 0.9, 0.8]
    assert codec.decode_ints(loss.positions, loss.count) == [0, 1, 3]
    assert (loss.last_seq, loss.last_step, loss.last_value, loss.last_time) == (43, 2, 0.8, 102.0)
    assert (loss.min_value, loss.max_value) == (0.8, 1.0)
    assert codec.decode_floats(batch.columns["lr"].values) == [0.1, 0.1, 0.05]
    assert batch.columns["eval/loss"].last_seq == 42
    assert codec.decode_ints(batch.steps, 4) == [0, 1, 1, 2]
    assert codec.decode_ints(batch.times, 4) == [100_000_000, 101_000_000, 101_500_000, 102_000_000]


def test_column_statistics_ignore_nan():
    column = build_batch(0, [(i, 0.0, {"x": v}) for i, v in enumerate([math.nan, 2.0, -math.inf, math.nan])]).columns[
        "x"
    ]
    assert (column.nan_count, column.min_value, column.max_value) == (2, -math.inf, 2.0)
    assert math.isnan(column.last_value)
    only_nan = build_batch(0, [(0, 0.0, {"x": math.nan})]).columns["x"]
    assert only_nan.min_value is None and only_nan.max_value is None


def _write_calls(store: Store, run_id: int, calls, per_flush: int) -> None:
    seq = 0
    for start in range(0, len(calls), per_flush):
        part = calls[start : start + per_flush]
        store.append(run_id, [build_batch(seq, part)], [], RunUpdate(next_seq=seq + len(part)))
        seq += len(part)


def _random_calls(n: int, seed: int = 0):
    rng = random.Random(seed)
    calls = []
    for i in range(n):
        metrics = {"loss": rng.random()}
        if i % 7 == 0:
            metrics["eval/loss"] = rng.random()
        if i % 11 == 3:
            metrics["spike"] = math.nan if i % 2 else math.inf
        calls.append((i // 2, 1000.0 + i * 0.25, metrics))
    return calls


def test_compaction_merges_small_batches_without_changing_data(tmp_path):
    store = Store(tmp_path / "p.db")
    run = store.open_run("r", group=None, config={}, settings={}, resume="never").row
    calls = _random_calls(600)
    _write_calls(store, run.id, calls, per_flush=3)
    keys = ["loss", "eval/loss", "spike"]
    before = {k: store.series(run.id, store.key_id(k)) for k in keys}
    summaries = store.summaries(run.id)
    assert store.compact(run.id, small=1024, target=256) == 200 - 3  # 600 calls / 256 per batch -> 3 batches
    assert store._read("SELECT count(*) FROM batches")[0][0] == 3
    for key in keys:
        after = store.series(run.id, store.key_id(key))
        assert after.seqs == before[key].seqs and after.steps == before[key].steps
        assert [v.hex() for v in after.values] == [v.hex() for v in before[key].values]
        assert after.micros == before[key].micros
    assert str(store.summaries(run.id)) == str(summaries)
    expected_loss = [c[2]["loss"] for c in calls]
    assert store.series(run.id, store.key_id("loss")).values == expected_loss
    assert store.integrity_check() == "ok"


def test_step_range_reads(tmp_path):
    store = Store(tmp_path / "p.db")
    run = store.open_run("r", group=None, config={}, settings={}, resume="never").row
    _write_calls(store, run.id, [(i, float(i), {"x": float(i)}) for i in range(100)], per_flush=10)
    data = store.series(run.id, store.key_id("x"), min_step=25, max_step=34)
    assert data.steps == list(range(25, 35)) and data.values == [float(i) for i in range(25, 35)]
    assert store.series(run.id, store.key_id("x"), min_step=1000).steps == []


# -- schema versions ------------------------------------------------------------------------------


def _v1_database(path) -> list:
    """A database as version 1 of the schema left it, holding one run's data."""
    conn = sqlite3.connect(path, isolation_level=None)
    MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version=1")
    conn.execute(
        "INSERT INTO runs (id, name, created_at, heartbeat_at, next_seq, last_step) VALUES (1, 'old', 1, 1, 300, 149)"
    )
    calls = _random_calls(300, seed=4)
    for seq in range(0, 300, 100):
        batch = build_batch(seq, calls[seq : seq + 100])
        batch_id = conn.execute(
            "INSERT INTO batches (run_id, first_seq, size, min_step, max_step, steps, times)"
            " VALUES (1, ?, ?, ?, ?, ?, ?)",
            (batch.first_seq, batch.size, batch.min_step, batch.max_step, batch.steps, batch.times),
        ).lastrowid
        for key, column in batch.columns.items():
            conn.execute("INSERT OR IGNORE INTO metric_keys (name) VALUES (?)", (key,))
            key_id = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (key,)).fetchone()[0]
            conn.execute(
                "INSERT INTO chunks (run_id, key_id, batch_id, positions, count, vals) VALUES (1, ?, ?, ?, ?, ?)",
                (key_id, batch_id, column.positions, column.count, column.values),
            )
    conn.close()
    return calls


def test_migration_from_version_1_keeps_data_and_backfills_summaries(tmp_path):
    calls = _v1_database(tmp_path / "old.db")
    migrated = Store(tmp_path / "old.db")
    assert migrated.schema_version == SCHEMA_VERSION
    # The same calls written by the current version give the same summaries.
    fresh = Store(tmp_path / "fresh.db")
    run = fresh.open_run("old", group=None, config={}, settings={}, resume="never").row
    _write_calls(fresh, run.id, calls, per_flush=100)
    assert str(migrated.summaries(1)) == str(fresh.summaries(run.id))
    assert migrated.metric_keys(1) == ["eval/loss", "loss", "spike"]
    assert re.fullmatch(r"[0-9a-f]{32}", migrated.run("old").uid)  # v4 gave the old run a uid
    assert migrated.run("old").summary == {} and migrated.tables(1) == [] and migrated.alerts(1) == []  # v3
    assert migrated.series(1, migrated.key_id("loss")).values == [c[2]["loss"] for c in calls]
    assert migrated.integrity_check() == "ok"


def test_concurrent_openers_migrate_once(tmp_path):
    _v1_database(tmp_path / "old.db")
    errors, versions = [], []

    def open_it():
        try:
            versions.append(Store(tmp_path / "old.db").schema_version)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=open_it) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and versions == [SCHEMA_VERSION] * 6
    assert Store(tmp_path / "old.db").summaries(1)["loss"]["count"] == 300


def test_a_newer_schema_is_refused_clearly(tmp_path):
    Store(tmp_path / "new.db").close()
    conn = sqlite3.connect(tmp_path / "new.db")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}.*upgrade trackio-callback"):
        Store(tmp_path / "new.db")


# -- journal mode -----------------------------------------------------------------------------------

MOUNTS = """\
overlay / overlay rw,relatime 0 0
proc /proc proc rw 0 0
server:/export /mnt/shared nfs4 rw,relatime 0 0
//nas/share /mnt/smb\\040drive cifs rw 0 0
bucket /mnt/bucket fuse.gcsfuse rw 0 0
tmpfs /mnt/shared/tmp tmpfs rw 0 0
"""


@pytest.mark.parametrize(
    ("path", "fs_type", "mode"),
    [
        ("/work/runs", "overlay", "wal"),
        ("/mnt/shared/runs", "nfs4", "delete"),
        ("/mnt/smb drive/x", "cifs", "delete"),
        ("/mnt/bucket/trackio", "fuse.gcsfuse", "delete"),
        ("/mnt/shared/tmp/x", "tmpfs", "wal"),
        ("/mnt/sharedness", "overlay", "wal"),
    ],
)
def test_network_filesystems_use_the_rollback_journal(path, fs_type, mode, monkeypatch):
    monkeypatch.setattr(fs.os.path, "realpath", lambda p: str(p))
    assert fs.filesystem_type(path, MOUNTS) == fs_type
    assert fs.journal_mode(path, MOUNTS) == mode


def test_journal_mode_can_be_forced(monkeypatch, tmp_path):
    monkeypatch.setenv("TRACKIO_SQLITE_JOURNAL", "delete")
    store = Store(tmp_path / "p.db")
    assert store._read("PRAGMA journal_mode")[0][0] == "delete"
    assert store._read("PRAGMA mmap_size")[0][0] == 0
    monkeypatch.setenv("TRACKIO_SQLITE_JOURNAL", "fast")
    with pytest.raises(ValueError, match="TRACKIO_SQLITE_JOURNAL='fast'.*wal, delete"):
        Store(tmp_path / "q.db")


def test_local_files_use_wal(tmp_path):
    store = Store(tmp_path / "p.db")
    assert store._read("PRAGMA journal_mode")[0][0] == "wal"


def test_points_in_a_seq_window_are_exactly_those_calls(tmp_path):
    store = Store(tmp_path / "p.db")
    run = store.open_run("r", group=None, config={}, settings={}, resume="never").row
    calls = _random_calls(500, seed=7)
    _write_calls(store, run.id, calls, per_flush=37)
    store.compact(run.id, small=1024, target=128)  # windows must not depend on how batches were cut
    for after, until in [(-1, None), (99, 250), (0, 0), (36, 37), (499, None), (250, 249)]:
        window = store.points(run.id, after_seq=after, until_seq=until)
        high = 499 if until is None else until
        expected: dict[str, list] = {}
        for seq, (step, time, metrics) in enumerate(calls):
            if after < seq <= high:
                for key, value in metrics.items():
                    expected.setdefault(key, []).append((seq, step, round(time * 1e6), value))
        got = {key: list(zip(d.seqs, d.steps, d.micros, d.values)) for key, d in window.items()}
        assert str(sorted(got.items())) == str(sorted(expected.items())), (after, until)  # str: NaN == NaN
