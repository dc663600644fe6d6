"""Per-block extremes (`store.extremes`, schema v11) and the downsampled read built on them.

The reference is the straightforward computation: `downsample.bucket_indices` over the values
themselves, for the same buckets (`arrays.block_bounds`: whole 64-value blocks). The read from the
stored extremes (`arrays.block_minmax`, `Reader.series_of_keys(by_blocks=True)`) must keep exactly
the points it keeps, with the same seqs, steps, timestamps and value bits, on real stores written
with ``init`` / ``log`` / ``finish`` (live, compacted, written before v11, a snapshot cut by a cursor).
"""

from __future__ import annotations

import math
import random
import sqlite3
import sys
from array import array

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import trackio_callback as trackio
from tests.strategies import VALUE, long_series
from trackio_callback import Reader
from trackio_callback.store import Store, arrays, codec, extremes
from trackio_callback.store.batch import block_extremes
from trackio_callback.store.chunks import decode_chunks
from trackio_callback.store.downsample import bucket_indices, minmax_indices
from trackio_callback.store.schema import SCHEMA_VERSION

NAN, INF = math.nan, math.inf


def _bits(values) -> bytes:
    return array("d", values).tobytes()


# -- the encoding: numpy == pure Python -------------------------------------------------------------------------------


@given(st.one_of(st.lists(VALUE, min_size=1, max_size=300), long_series().filter(bool)))
@example([NAN] * 64 + [1.0])  # a block of NaNs only, then a short one
@example([0.0, -0.0, -0.0, 0.0] * 20)  # equal values: the first one reached in both
@example([INF, -INF] * 40)  # both infinities, no NaN: the sum is NaN but nothing is missing
@example([1e308, 1e308, -INF, NAN] * 17)
@settings(max_examples=300, deadline=None)
def test_numpy_encoding_equals_the_pure_one(values):
    packed = codec.encode_floats(values)
    pure = extremes.encode_pure(values)
    assert arrays.encode_extremes(packed) == pure
    assert len(pure) == extremes.block_count(len(values)) * extremes.RECORD.size


def test_the_writer_uses_numpy_only_when_it_is_loaded(monkeypatch):
    values = [float(i % 7) - 3 for i in range(200)] + [NAN]
    with_numpy = block_extremes(values, codec.encode_floats(values))
    monkeypatch.delitem(sys.modules, "numpy")
    assert block_extremes(values, codec.encode_floats(values)) == with_numpy == extremes.encode_pure(values)
    assert "numpy" not in sys.modules  # block_extremes did not import it


def test_one_block_holds_what_it_says():
    values = [5.0] * 64 + [2.0, NAN, 9.0, -1.0, NAN]
    records = [extremes.RECORD.unpack_from(extremes.encode_pure(values), i * extremes.RECORD.size) for i in range(2)]
    assert records[0] == (5.0, 5.0, 5.0, 5.0, 0, 0, extremes.NONE)
    first, last, low, high, low_at, high_at, nan_at = records[1]
    assert (first, math.isnan(last), low, high, low_at, high_at, nan_at) == (2.0, True, -1.0, 9.0, 3, 2, 1)
    (only_nan,) = [extremes.RECORD.unpack(extremes.encode_pure([NAN, NAN]))]
    assert [math.isnan(v) for v in only_nan[:4]] == [True] * 4 and only_nan[4:] == (255, 255, 0)


# -- the downsampling from extremes == bucket_indices over the values -------------------------------------------------


@st.composite
def chunked(draw) -> list[list[float]]:
    """1 to 6 chunks (as a batch holds them: up to 8192 values), values with NaN, infinities, repeats."""
    sizes = draw(st.lists(st.one_of(st.integers(1, 200), st.sampled_from([63, 64, 65, 8192])), min_size=1, max_size=6))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    palette = draw(st.lists(VALUE, min_size=1, max_size=6))
    rate = draw(st.sampled_from([0.0, 0.001, 0.05, 1.0]))
    return [[rng.choice(palette) if rng.random() < rate else rng.gauss(0, 1) for _ in range(n)] for n in sizes]


@given(chunked(), st.sampled_from([4, 8, 40, 400, 1000]))
@settings(max_examples=150, deadline=None)
def test_block_minmax_keeps_what_bucket_indices_keeps(chunks, max_points):
    counts = [len(c) for c in chunks]
    flat = [v for c in chunks for v in c]
    bounds = arrays.block_bounds(counts, max_points)
    picked = arrays.block_minmax(counts, b"".join(extremes.encode_pure(c) for c in chunks), max_points)
    if bounds is None:
        assert picked is None and sum(extremes.block_count(n) for n in counts) < 2 * (max_points // 4)
        return
    kept = bucket_indices(flat, bounds.tolist())
    assert picked[0].tolist() == kept
    assert _bits(picked[1].tolist()) == _bits([flat[i] for i in kept])
    assert len(kept) <= max_points and kept[-1] == len(flat) - 1
    finite = [v for v in flat if v == v]
    if finite:  # the series' extremes are always among the kept points
        assert min(finite) in picked[1] and max(finite) in picked[1]
    if any(v != v for v in flat):
        assert np.isnan(picked[1]).any()


def test_block_bounds_are_whole_blocks_and_even():
    counts = [8192] * 12 + [1696]  # 100,000 values
    bounds = arrays.block_bounds(counts, 1000)
    starts = set(arrays._block_starts(counts).tolist())
    assert bounds[0] == 0 and bounds[-1] == 100_000 and set(bounds[:-1].tolist()) <= starts
    widths = np.diff(bounds)
    # 100,000 / 250 = 400 values per bucket: 6 or 7 whole blocks (the last one ends with the last, short block)
    assert len(widths) == 250 and set(widths[:-1].tolist()) == {6 * 64, 7 * 64} and widths[-1] == 5 * 64 + 32
    assert arrays.block_bounds([64 * 499], 1000) is None  # fewer than two blocks per bucket
    assert arrays.block_bounds([64 * 500], 1000) is not None
    assert minmax_indices(list(range(10)), 4) == bucket_indices(list(range(10)), [0, 10])
    with pytest.raises(ValueError, match="max_points must be an integer >= 4, got 3"):
        arrays.block_bounds(counts, 3)


# -- on real stores ---------------------------------------------------------------------------------------------------

CALLS = 70_000
SPIKE_AT, DIP_AT, NAN_AT = 31_337, 50_001, 44_444


def _log(run, start: int, stop: int, rng: random.Random, logged: dict) -> None:
    for i in range(start, stop):
        loss = 1.0 / (1 + i / 1000) + rng.gauss(0, 0.001)
        loss = 50.0 if i == SPIKE_AT else -3.0 if i == DIP_AT else NAN if i == NAN_AT else loss
        row = {"loss": loss, "lr": 1e-4 * (1 - i / CALLS)}
        if i % 3 == 0:
            row["sparse"] = rng.gauss(0, 1)
        if i < 300:
            row["short"] = float(i)
        run.log(row, step=2 * i)
        for key, value in row.items():
            logged.setdefault(key, []).append(value)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """Run ``r`` of ``p``: 40 small flushes (merged by finish), then big batches; its extremes rows live and final."""
    directory = tmp_path_factory.mktemp("extremes")
    rng = random.Random(7)
    logged: dict[str, list[float]] = {}
    run = trackio.init(project="p", name="r", dir=directory, flush_every=3600)
    for k in range(40):
        _log(run, k * 50, (k + 1) * 50, rng, logged)
        assert run.flush(30)
    _log(run, 2000, CALLS, rng, logged)
    assert run.flush(30)
    store = Store(directory / "p.db", create=False)
    live = _stored(store)
    run.finish()
    yield {"dir": directory, "store": store, "live": live, "final": _stored(store), "logged": logged}
    store.close()


def _stored(store: Store) -> dict:
    """Every chunk's values and its extremes blob, by (key, first_seq); and the rows without a chunk."""
    conn = sqlite3.connect(store.path)
    try:
        rows = conn.execute(
            """SELECT k.name, b.first_seq, c.vals, e.blocks FROM chunks c JOIN batches b ON b.id = c.batch_id
               JOIN metric_keys k ON k.id = c.key_id LEFT JOIN chunk_extremes e
               ON (e.run_id, e.key_id, e.batch_id) = (c.run_id, c.key_id, c.batch_id)"""
        ).fetchall()
        orphans = conn.execute(
            """SELECT count(*) FROM chunk_extremes e WHERE NOT EXISTS (SELECT 1 FROM chunks c
               WHERE (c.run_id, c.key_id, c.batch_id) = (e.run_id, e.key_id, e.batch_id))"""
        ).fetchone()[0]
    finally:
        conn.close()
    return {"chunks": {(k, s): (v, e) for k, s, v, e in rows}, "orphans": orphans}


@pytest.mark.parametrize("stage", ["live", "final"])
def test_every_chunk_has_the_extremes_of_its_values(project, stage):
    stored = project[stage]
    assert stored["orphans"] == 0  # compaction's deleted chunks took theirs along (the trigger)
    assert len(stored["chunks"]) > 20
    for (key, first_seq), (vals, blocks) in stored["chunks"].items():
        values = codec.decode_floats(vals)
        assert blocks == extremes.encode_pure(values), (key, first_seq)
    if stage == "final":  # the 40 small batches were merged: fewer chunks, extremes recomputed for the merged ones
        assert len(stored["chunks"]) < len(project["live"]["chunks"])


def _reference(reader: Reader, key: str, max_points: int, until_seq: int | None = None):
    """What `series_of_keys(by_blocks=True)` must give: bucket_indices over every value, the buckets of its chunks'
    blocks; None where it reads the values instead (fewer than two blocks per bucket)."""
    full = reader.series("p", "r", key)
    store = reader.store("p")
    counts = [row.count for row in store.series_chunks(store.run("r").id, store.key_id(key))]
    if until_seq is not None:
        keep = sum(1 for seq in full.seqs if seq <= until_seq)
        counts = _cut(counts, keep)
        full = reader.series("p", "r", key, until_seq=until_seq)
    bounds = arrays.block_bounds(counts, max_points)
    if bounds is None:
        return None
    kept = bucket_indices(full.values, bounds.tolist())
    take = lambda column: [column[i] for i in kept]  # noqa: E731
    return full, (take(full.seqs), take(full.steps), take(full.timestamps_us), _bits(take(full.values)))


def _cut(counts: list[int], keep: int) -> list[int]:
    out = []
    for n in counts:
        if keep <= 0:
            break
        out.append(min(n, keep))
        keep -= n
    return out


def _columns(series) -> tuple:
    return (series.seqs, series.steps, series.timestamps_us, _bits(series.values))


@pytest.mark.parametrize("max_points", [1000, 400, 40])
def test_series_by_blocks_equals_bucket_indices_over_the_values(project, max_points):
    with Reader(project["dir"]) as reader:
        got = reader.series_of_keys("p", "r", ["loss", "lr", "sparse", "short", "nope"], max_points=max_points,
                                    by_blocks=True)  # fmt: skip
        assert list(got) == ["loss", "lr", "sparse", "short"]  # in the order asked, unlogged keys left out
        for key in ("loss", "lr", "sparse", "short"):
            reference = _reference(reader, key, max_points)
            if reference is None:  # too few blocks per bucket (300 points; 23,334 for 250 buckets): read exactly
                assert key in ("short", "sparse") and (key == "short" or max_points == 1000)
                reference = (None, _columns(reader.series("p", "r", key, max_points=max_points)))
            assert _columns(got[key]) == reference[1], key
            assert got[key].total == len(project["logged"][key]) and len(got[key]) <= max_points
    loss = got["loss"]
    logged = project["logged"]["loss"]
    assert 50.0 in loss.values and -3.0 in loss.values  # the spike and the dip
    assert loss.steps[loss.values.index(50.0)] == 2 * SPIKE_AT and loss.steps[loss.values.index(-3.0)] == 2 * DIP_AT
    assert [s for s, v in zip(loss.steps, loss.values) if v != v] == [2 * NAN_AT]  # the NaN too
    assert (loss.steps[-1], loss.values[-1]) == (2 * (CALLS - 1), logged[-1])


def test_a_snapshot_cut_by_a_cursor(project):
    with Reader(project["dir"]) as reader:
        store = reader.store("p")
        firsts = sorted({row.first_seq for row in store.series_chunks(store.run("r").id, store.key_id("loss"))})
        at_boundary, inside = firsts[-2] - 1, firsts[-2] + 100
        for until in (at_boundary, inside):
            got = reader.series_of_keys("p", "r", ["loss"], max_points=1000, until_seq=until, by_blocks=True)["loss"]
            assert got.seqs[-1] == until and got.total == until + 1
            if until == at_boundary:  # whole chunks: read from their extremes
                assert _columns(got) == _reference(reader, "loss", 1000, until)[1]
            else:  # a batch across the cut: read from the values, exactly as series
                assert _columns(got) == _columns(reader.series("p", "r", "loss", max_points=1000, until_seq=until))


def test_chunks_without_extremes_are_read_from_their_values(tmp_path, project):
    """A store written before v11 (or partly): the same points, computed from the values of chunks without extremes."""
    copy = tmp_path / "p.db"
    source = sqlite3.connect(project["dir"] / "p.db")
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    target.execute("DELETE FROM chunk_extremes WHERE batch_id % 2 = 0")
    target.commit()
    target.close()
    with Reader(project["dir"]) as reader, Reader(tmp_path) as partial:
        for key in ("loss", "lr"):
            kwargs = {"max_points": 1000, "by_blocks": True}
            assert _columns(partial.series_of_keys("p", "r", [key], **kwargs)[key]) == _reference(reader, key, 1000)[1]


def test_a_version_10_file_migrates_and_new_chunks_get_extremes(tmp_path):
    run = trackio.init(project="old", name="r", dir=tmp_path)
    for i in range(40_000):
        run.log({"x": math.sin(i / 500)}, step=i)
    run.finish()
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.executescript("DROP TRIGGER chunk_extremes_follow; DROP TABLE chunk_extremes; PRAGMA user_version=10;")
    conn.close()
    with Reader(tmp_path) as reader:  # opening migrates: the table is back, empty, and the old chunks read alike
        got = reader.series_of_keys("old", "r", ["x"], max_points=400, by_blocks=True)["x"]
        full = reader.series("old", "r", "x")
        store = reader.store("old")
        assert store.schema_version == SCHEMA_VERSION
        counts = [row.count for row in store.series_chunks(store.run("r").id, store.key_id("x"))]
        kept = bucket_indices(full.values, arrays.block_bounds(counts, 400).tolist())
        assert got.seqs == [full.seqs[i] for i in kept] and got.values == [full.values[i] for i in kept]
    resumed = trackio.init(project="old", name="r", dir=tmp_path, resume="must")
    for i in range(40_000, 41_000):
        resumed.log({"x": 2.0}, step=i)
    resumed.finish()
    conn = sqlite3.connect(tmp_path / "old.db")
    blobs = conn.execute("SELECT e.blocks, c.vals FROM chunk_extremes e JOIN chunks c USING (run_id, key_id, batch_id)")
    rows = blobs.fetchall()
    conn.close()
    assert rows and all(blocks == extremes.encode_pure(codec.decode_floats(vals)) for blocks, vals in rows)


def test_removing_a_run_removes_its_extremes(tmp_path):
    for name in ("keep", "gone"):
        run = trackio.init(project="p", name=name, dir=tmp_path)
        for i in range(500):
            run.log({"x": float(i)}, step=i)
        run.finish()
    store = Store(tmp_path / "p.db", create=False)
    gone, keep = store.run("gone").id, store.run("keep").id
    store.remove_run(gone)
    conn = sqlite3.connect(tmp_path / "p.db")
    per_run = dict(conn.execute("SELECT run_id, count(*) FROM chunk_extremes GROUP BY run_id").fetchall())
    conn.close()
    store.close()
    assert per_run == {keep: 1}


def test_series_by_blocks_without_numpy_is_the_exact_series(project, monkeypatch):
    from trackio_callback.store import reader as reader_module

    monkeypatch.setattr(reader_module, "_arrays", lambda: None)
    with Reader(project["dir"]) as reader:
        got = reader.series_of_keys("p", "r", ["loss"], max_points=1000, by_blocks=True)["loss"]
        exact = reader.series("p", "r", "loss", max_points=1000)
    assert _columns(got) == _columns(exact)


def test_the_pure_decoder_still_reads_every_chunk(project):
    """The extremes are beside the chunks: the values, steps and seqs read back as they were logged."""
    with Reader(project["dir"]) as reader:
        store = reader.store("p")
        rows = store.series_chunks(store.run("r").id, store.key_id("sparse"))
        decoded = decode_chunks(rows)[store.key_id("sparse")]
    assert _bits(decoded.values) == _bits(project["logged"]["sparse"])
    assert decoded.seqs == list(range(0, CALLS, 3)) and decoded.steps == [2 * s for s in range(0, CALLS, 3)]


def test_a_moved_run_keeps_its_extremes_with_its_chunks(tmp_path):
    from trackio_callback.management.operations import move_run

    for project, steps in (("dest", 700), ("src", 40_000)):  # dest's own batches take the low batch ids
        run = trackio.init(project=project, name=f"{project}-run", dir=tmp_path)
        for i in range(steps):
            run.log({"x": math.cos(i / 100), "y": float(i % 17)}, step=i)
        run.finish()
    with Reader(tmp_path) as reader:
        before = reader.series_of_keys("src", "src-run", ["x", "y"], max_points=400, by_blocks=True)
    move_run("src", "src-run", "dest", directory=tmp_path)
    conn = sqlite3.connect(tmp_path / "dest.db")
    rows = conn.execute(
        """SELECT c.run_id, e.blocks, c.vals FROM chunks c LEFT JOIN chunk_extremes e
           ON (e.run_id, e.key_id, e.batch_id) = (c.run_id, c.key_id, c.batch_id)"""
    ).fetchall()
    conn.close()
    assert len({run_id for run_id, _, _ in rows}) == 2  # both runs' chunks, each with the extremes of its values
    assert all(blocks == extremes.encode_pure(codec.decode_floats(vals)) for _, blocks, vals in rows)
    with Reader(tmp_path) as reader:
        after = reader.series_of_keys("dest", "src-run", ["x", "y"], max_points=400, by_blocks=True)
    assert {k: _columns(s) for k, s in after.items()} == {k: _columns(s) for k, s in before.items()}


@pytest.mark.parametrize(
    ("min_step", "max_step", "until_seq", "max_points"),
    [(None, None, None, 1000), (4_000, 30_000, None, 400), (None, 9_000, 2_500, 40), (10**9, None, None, 8)],
)
def test_series_of_keys_without_blocks_is_series_key_by_key(project, min_step, max_step, until_seq, max_points):
    """The keys read in one go (each batch's steps and times decoded once) give what `series` gives for each."""
    keys = ["loss", "sparse", "short", "lr"]
    with Reader(project["dir"]) as reader:
        together = reader.series_of_keys("p", "r", keys, min_step, max_step, max_points, until_seq)
        for key in keys:
            alone = reader.series("p", "r", key, min_step, max_step, max_points, until_seq=until_seq)
            assert _columns(together[key]) == _columns(alone) and together[key].total == alone.total, key
