"""The numpy read path (`store.arrays`) gives exactly what the pure-Python reference gives.

`downsample.minmax_indices` and `chunks.decode_chunks` are the reference; `arrays.minmax_indices_array`
and `arrays.decode_chunks` must return the same indices, seqs, steps, timestamps and value bits,
on real stores written with ``init`` / ``log`` / ``finish``.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from array import array

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import trackio_callback as trackio
from tests.strategies import VALUE, long_series
from trackio_callback import Reader
from trackio_callback.store import Store, arrays, codec
from trackio_callback.store import reader as reader_module
from trackio_callback.store.chunks import SeriesData, decode_chunks
from trackio_callback.store.downsample import minmax_indices

NAN, INF = math.nan, math.inf

# -- minmax_indices_array == minmax_indices ---------------------------------------------------------


def _check_minmax(values: list[float], max_points: int) -> None:
    expected = minmax_indices(values, max_points)
    got = arrays.minmax_indices_array(np.array(values, dtype=np.float64), max_points)
    assert got.dtype == np.int64
    assert got.tolist() == expected
    assert len(expected) <= max_points
    if values:
        assert expected[-1] == len(values) - 1  # the last point is always kept


@given(st.one_of(st.lists(VALUE, max_size=400), long_series()), st.integers(4, 600))
@example([], 4)
@example([NAN] * 50, 4)
@example([-0.0, 0.0] * 40, 8)  # equal values: the first one reached wins in both
@example([0.0, 0.0, INF, -INF] * 30, 8)  # +inf and -inf in a bucket, no NaN (crashed the pure version once)
@example([1e308, 1e308, -INF, 0.0] * 30, 12)  # the bucket sum overflows to +inf and meets -inf
@example([INF] * 30 + [NAN] + [-INF] * 30, 4)
@settings(max_examples=300, deadline=None)
def test_minmax_indices_array_equals_the_pure_version(values, max_points):
    _check_minmax(values, max_points)


def test_a_bucket_with_both_infinities_keeps_them_both():
    values = [0.5] * 100
    values[10], values[11] = INF, -INF
    kept = minmax_indices(values, 8)
    assert arrays.minmax_indices_array(np.array(values), 8).tolist() == kept
    assert {0, 10, 11, 49} <= set(kept) and kept[-1] == 99 and len(kept) <= 8


def test_a_bucket_with_nan_keeps_the_first_nan_and_its_extremes():
    values = [5.0] * 80
    values[5], values[9], values[20], values[30] = NAN, NAN, 1.0, 9.0
    kept = arrays.minmax_indices_array(np.array(values), 8).tolist()
    assert kept == minmax_indices(values, 8)
    assert [i for i in kept if i < 40] == [5, 20, 30, 39]  # the first NaN replaces the first point


@pytest.mark.parametrize("max_points", [3, 0, -4, 2.5, True, None, np.int64(8), "8"])
def test_bad_max_points_are_rejected_alike(max_points):
    message = re.escape(f"max_points must be an integer >= 4, got {max_points!r}")
    with pytest.raises(ValueError, match=message):
        minmax_indices([1.0] * 10, max_points)
    with pytest.raises(ValueError, match=message):
        arrays.minmax_indices_array(np.ones(10), max_points)


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=200))
@example([-(2**62), 2**62])  # a difference that overflows int64: stored raw
@example([2**63 - 1, -(2**63)])
@example([-(2**63), 0, 2**63 - 1])  # a progression whose stride * index overflows int64 on the way
@example([5] * 7)
@settings(max_examples=200, deadline=None)
def test_decode_ints_equals_the_codec(xs):
    encoded = codec.encode_ints(xs)
    decoded = arrays.decode_ints(encoded, len(xs))
    assert decoded.dtype == np.int64
    assert decoded.tolist() == codec.decode_ints(encoded, len(xs)) == xs


# -- arrays.decode_chunks == chunks.decode_chunks, on a real store ------------------------------------------------

KEYS = ("dense", "sparse", "scattered", "rare", "early")


def _value(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.01:
        return rng.choice([NAN, INF, -INF, -0.0])
    if roll < 0.05:
        return 1.0  # repeats
    return rng.gauss(0, 1)


def _log_calls(run, rng: random.Random, count: int, state: dict, expected: dict) -> None:
    """``count`` calls with dense / every-3rd / random / rare keys, irregular steps and rewinds."""
    for _ in range(count):
        seq = state["seq"]
        if seq and seq % 997 == 0:
            state["step"] = max(0, state["step"] - 300)  # a rewind: resumed from an earlier checkpoint
        else:
            state["step"] += rng.choice((1, 1, 1, 2, 7))
        record = {"dense": _value(rng)}
        if seq % 3 == 0:
            record["sparse"] = _value(rng)
        if rng.random() < 0.2:
            record["scattered"] = _value(rng)
        if seq % 4999 == 17:
            record["rare"] = _value(rng)
        if state["early"]:
            record["early"] = _value(rng)
        run.log(record, step=state["step"])
        for key, value in record.items():
            expected[key].append((seq, state["step"], value))
        state["seq"] += 1


def _chunks(store: Store, run: str, key: str, min_step=None, max_step=None) -> list[tuple]:
    return store.series_chunks(store.run(run).id, store.key_id(key), min_step, max_step)


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """Project ``p``: run ``mixed`` (22k calls, 5 key patterns, rewinds) and run ``extreme`` (steps 0 and 2**62).

    Returns the directory, the chunks of every key before and after the run was compacted, and what was logged.
    """
    directory = tmp_path_factory.mktemp("arrays")
    rng = random.Random(2024)
    expected: dict[str, list[tuple[int, int, float]]] = {key: [] for key in KEYS}
    state = {"seq": 0, "step": 0, "early": True}
    run = trackio.init(project="p", name="mixed", dir=directory, flush_every=3600)
    for _ in range(30):  # small batches: one per flush, merged when the run finishes
        _log_calls(run, rng, rng.randrange(20, 120), state, expected)
        assert run.flush(30)
    state["early"] = False
    _log_calls(run, rng, 20_000, state, expected)  # one flush: batches of 8192 calls
    assert run.flush(30)
    store = Store(directory / "p.db", create=False)
    live = {key: _chunks(store, "mixed", key) for key in KEYS}
    run.finish()
    compacted = {key: _chunks(store, "mixed", key) for key in KEYS}
    extreme = trackio.init(project="p", name="extreme", dir=directory)
    for i, step in enumerate([0, 2**62, 0, 5, 2**62, 1, 2**62 - 1, 3]):
        extreme.log({"x": float(i), **({"y": -float(i)} if i % 2 else {})}, step=step)
    extreme.finish()
    yield {"dir": directory, "store": store, "live": live, "compacted": compacted, "expected": expected}
    store.close()


def _assert_same(decoded: arrays.SeriesArrays, reference: SeriesData) -> None:
    for name in ("seqs", "steps", "micros"):
        column = getattr(decoded, name)
        assert column.dtype == np.int64, name
        assert column.tolist() == getattr(reference, name), name
    assert decoded.values.dtype == np.float64
    assert decoded.values.tobytes() == array("d", reference.values).tobytes()  # every bit: NaN, -0.0


def test_the_store_has_the_chunk_shapes_under_test(rich):
    live, compacted = rich["live"], rich["compacted"]
    assert len(live["dense"]) == 30 + 3 and len(compacted["dense"]) < len(live["dense"])  # 30 small + 3 of <= 8192
    assert all(row.positions is None for row in live["dense"])  # dense: no positions
    assert all(row.positions is not None for row in live["sparse"] + live["scattered"] + compacted["sparse"])
    assert any(row.count == 1 for row in live["rare"])  # one point in a batch
    assert any(row.positions is not None and row.positions[0] == codec._PROGRESSION for row in live["sparse"])
    assert any(row.positions is not None and row.positions[0] == codec._DELTAS for row in live["scattered"])
    steps = [s for _, s, _ in rich["expected"]["dense"]]
    assert any(b < a for a, b in zip(steps, steps[1:]))  # rewinds happened


@pytest.mark.parametrize("stage", ["live", "compacted"])
@pytest.mark.parametrize("key", KEYS)
def test_decode_chunks_equals_the_pure_decoder(rich, stage, key):
    rows = rich[stage][key]
    reference = decode_chunks(rows)
    assert list(reference) == [rows[0].key_id]
    _assert_same(arrays.decode_chunks(rows), reference[rows[0].key_id])
    logged = rich["expected"][key]
    ref = reference[rows[0].key_id]
    assert [(q, s) for q, s, _ in logged] == list(zip(ref.seqs, ref.steps))
    assert [repr(v) for _, _, v in logged] == [repr(v) for v in ref.values]


@pytest.mark.parametrize("window", [(None, 500), (1000, 2000), (20_000, None), (10**9, None)])
def test_decode_chunks_of_a_step_window_equals_the_pure_decoder(rich, window):
    for key in KEYS:
        rows = _chunks(rich["store"], "mixed", key, *window)
        expected = decode_chunks(rows).get(rich["store"].key_id(key), SeriesData([], [], [], []))
        _assert_same(arrays.decode_chunks(rows), expected)


def test_decode_chunks_of_extreme_steps_and_of_nothing(rich):
    store = rich["store"]
    for key in ("x", "y"):
        rows = _chunks(store, "extreme", key)
        reference = decode_chunks(rows)[store.key_id(key)]
        _assert_same(arrays.decode_chunks(rows), reference)
    assert reference.steps == [2**62, 5, 1, 3] and reference.seqs == [1, 3, 5, 7]
    empty = arrays.decode_chunks([])
    assert [len(c) for c in empty] == [0, 0, 0, 0] and empty.values.dtype == np.float64


# -- Reader.series: numpy path == pure path ---------------------------------------------------------


def _pure(monkeypatch):
    monkeypatch.setattr(reader_module, "_arrays", lambda: None)


def _columns(series) -> tuple:
    return (series.seqs, series.steps, series.timestamps_us, [v.hex() for v in series.values])


def _expected_count(logged, min_step, max_step, until_seq) -> int:
    low = -(2**63) if min_step is None else min_step
    high = 2**63 if max_step is None else max_step
    return sum(1 for q, s, _ in logged if low <= s <= high and (until_seq is None or q <= until_seq))


@pytest.mark.parametrize("key", ["dense", "sparse"])
def test_series_numpy_equals_pure_for_every_window(rich, monkeypatch, key):
    logged = rich["expected"][key]
    windows = list(
        itertools.product(
            [None, 0, 4_000, 10**9],  # min_step
            [None, 2_500, 30_000],  # max_step
            [None, 0, 1_777, 20_500],  # until_seq
            [4, 97, 1_000],  # max_points
        )
    )
    with Reader(rich["dir"]) as reader:
        fast = {w: reader.series("p", "mixed", key, w[0], w[1], max_points=w[3], until_seq=w[2]) for w in windows}
        _pure(monkeypatch)
        pure = {w: reader.series("p", "mixed", key, w[0], w[1], max_points=w[3], until_seq=w[2]) for w in windows}
    for window in windows:
        min_step, max_step, until_seq, max_points = window
        a, b = fast[window], pure[window]
        assert _columns(a) == _columns(b), window
        assert len(a) <= max_points and a.seqs == sorted(a.seqs)
        assert a.total == _expected_count(logged, min_step, max_step, until_seq), window
        assert b.total == a.total, window
    assert any(len(s) for s in fast.values()) and any(not len(s) for s in fast.values())


def test_series_without_a_window_equals_the_full_series_downsampled(rich, monkeypatch):
    with Reader(rich["dir"]) as reader:
        full = reader.series("p", "mixed", "scattered")
        fast = reader.series("p", "mixed", "scattered", max_points=400)
        _pure(monkeypatch)
        pure = reader.series("p", "mixed", "scattered", max_points=400)
    assert _columns(fast) == _columns(pure)
    indices = minmax_indices(full.values, 400)
    assert fast.seqs == [full.seqs[i] for i in indices] and fast.total == pure.total == len(full) > 400


@pytest.mark.parametrize("max_points", [None, 4])
def test_pure_series_total_leaves_out_points_after_until_seq(rich, monkeypatch, max_points):
    _pure(monkeypatch)
    with Reader(rich["dir"]) as reader:
        series = reader.series("p", "mixed", "dense", max_points=max_points, until_seq=9)
    assert series.seqs[-1] == 9
    assert series.total == 10
    assert series.downsampled == (max_points is not None and len(series) < 10)


def test_a_spike_survives_downsampling_50_000_points_to_100(tmp_path, monkeypatch):
    rng = random.Random(3)
    values = [1.0 + rng.gauss(0, 0.01) for _ in range(50_000)]
    values[27_183] = 1e6
    run = trackio.init(project="spike", name="r", dir=tmp_path)
    for step, value in enumerate(values):
        run.log({"loss": value}, step=step * 2)
    run.finish()
    with Reader(tmp_path) as reader:
        fast = reader.series("spike", "r", "loss", max_points=100)
        windowed = reader.series("spike", "r", "loss", min_step=40_000, max_step=60_000, max_points=100)
        _pure(monkeypatch)
        pure = reader.series("spike", "r", "loss", max_points=100)
        pure_windowed = reader.series("spike", "r", "loss", min_step=40_000, max_step=60_000, max_points=100)
    assert _columns(fast) == _columns(pure) and _columns(windowed) == _columns(pure_windowed)
    for series, last_step in ((fast, 99_998), (windowed, 60_000)):
        assert len(series) <= 100 and series.downsampled
        assert max(series.values) == 1e6 and series.steps[series.values.index(1e6)] == 54_366
        assert series.steps[-1] == last_step and series.values[-1] == values[last_step // 2]
    assert fast.total == 50_000 and windowed.total == 10_001


# -- cursor, new_points, system_samples ---------------------------------------------------------------


@pytest.fixture
def hundred(tmp_path):
    """Run ``r`` of ``p`` with 100 calls: ``a`` in each (step 10*i, value i/2), ``b`` in every other one."""
    run = trackio.init(project="p", name="r", dir=tmp_path)
    for i in range(100):
        run.log({"a": i / 2, **({"b": -float(i)} if i % 2 == 0 else {})}, step=10 * i)
    run.finish()
    return tmp_path


def test_cursor_is_the_last_seq(tmp_path, hundred):
    with Reader(hundred) as reader:
        assert reader.cursor("p", "r") == 99
    run = trackio.init(project="q", name="empty", dir=tmp_path)
    assert run.flush(10)
    with Reader(tmp_path) as reader:
        assert reader.cursor("q", "empty") == -1
        run.log({"x": 1.0})
        assert run.flush(10)
        assert reader.cursor("q", "empty") == 0
    run.finish()


def test_new_points_after_a_cursor(hundred):
    with Reader(hundred) as reader:
        new = reader.new_points("p", "r", 89)
        assert sorted(new) == ["a", "b"]
        a, b = new["a"], new["b"]
        assert a.seqs == list(range(90, 100)) and a.steps == [10 * i for i in range(90, 100)]
        assert a.values == [i / 2 for i in range(90, 100)] and (a.project, a.run, a.key) == ("p", "r", "a")
        assert b.seqs == [90, 92, 94, 96, 98] and b.steps == [900, 920, 940, 960, 980]
        assert b.values == [-90.0, -92.0, -94.0, -96.0, -98.0]
        full = reader.series("p", "r", "a")
        assert a.timestamps_us == full.timestamps_us[90:]
        assert reader.new_points("p", "r", 99) == {}
        last = reader.new_points("p", "r", 98)
        assert list(last) == ["a"] and last["a"].seqs == [99] and last["a"].values == [49.5]


def test_new_points_keys_until_seq_and_max_points(hundred):
    with Reader(hundred) as reader:
        only_b = reader.new_points("p", "r", 89, keys=["b", "not-logged-yet"])
        assert list(only_b) == ["b"] and only_b["b"].seqs == [90, 92, 94, 96, 98]
        until = reader.new_points("p", "r", 89, until_seq=94)
        assert until["a"].seqs == [90, 91, 92, 93, 94] and until["b"].seqs == [90, 92, 94]
        assert reader.new_points("p", "r", 89, until_seq=89) == {}
        everything = reader.new_points("p", "r", -1)
        assert everything["a"].seqs == list(range(100)) and everything["b"].seqs == list(range(0, 100, 2))
        small = reader.new_points("p", "r", -1, keys=["a"], max_points=8)["a"]
        assert small.seqs == [everything["a"].seqs[i] for i in minmax_indices(everything["a"].values, 8)]
        assert small.seqs[-1] == 99 and len(small) <= 8 and small.total == 100


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"after_seq": "89"}, "after_seq"),
        ({"after_seq": 89.0}, "after_seq"),
        ({"after_seq": True}, "after_seq"),
        ({"after_seq": 89, "until_seq": 94.5}, "until_seq"),
        ({"after_seq": 89, "until_seq": False}, "until_seq"),
    ],
)
def test_new_points_rejects_non_integers(hundred, kwargs, name):
    with Reader(hundred) as reader, pytest.raises(TypeError, match=rf"^{name} must be an integer"):
        reader.new_points("p", "r", **kwargs)


def test_new_points_rejects_none_as_after_seq(hundred):
    with Reader(hundred) as reader, pytest.raises(TypeError, match=r"^after_seq must be an integer"):
        reader.new_points("p", "r", None)


def test_series_rejects_non_integer_windows(hundred):
    with Reader(hundred) as reader:
        for name in ("min_step", "max_step", "until_seq"):
            for bad in ("1", 1.0, True):
                with pytest.raises(TypeError, match=rf"^{name} must be an integer or None, got {bad!r}"):
                    reader.series("p", "r", "a", **{name: bad}, max_points=10)


def test_system_samples_after_a_cursor(tmp_path):
    run = trackio.init(project="p", name="r", dir=tmp_path)
    run.log_system({"system/gpu0/util": 50.0, "system/gpu0/power": NAN}, step=3, node="node-0")
    run.log_system({"system/gpu0/util": 60.0})
    run.log_system({"system/cpu": 7.5}, step=4)
    assert run.flush(10)
    with Reader(tmp_path) as reader:
        samples = reader.system_samples("p", "r")
        assert [(s["key"], s["step"], s["node"], repr(s["value"])) for s in samples] == [
            ("system/gpu0/util", 3, "node-0", "50.0"),
            ("system/gpu0/power", 3, "node-0", "nan"),
            ("system/gpu0/util", None, None, "60.0"),
            ("system/cpu", 4, None, "7.5"),
        ]
        seqs = [s["seq"] for s in samples]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4
        times = [s["timestamp"] for s in samples]
        assert times == sorted(times) and times[0] == times[1]
        assert reader.system_samples("p", "r", seqs[1]) == samples[2:]
        assert reader.system_samples("p", "r", seqs[-1]) == []
        run.log_system({"system/cpu": 8.0})
        assert run.flush(10)
        (newer,) = reader.system_samples("p", "r", seqs[-1])
        assert (newer["key"], newer["value"]) == ("system/cpu", 8.0) and newer["seq"] > seqs[-1]
    run.finish()
