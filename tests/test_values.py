"""log() accepts numbers of every common kind and rejects the rest, loudly and without losing the call."""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch

import trackio_callback as trackio
from trackio_callback import Reader, TrackioWarning

ACCEPTED = {
    "float": (0.25, 0.25),
    "int": (7, 7.0),
    "negative_int": (-3, -3.0),
    "big_int": (2**53, float(2**53)),
    "bool_true": (True, 1.0),
    "bool_false": (False, 0.0),
    "np_float64": (np.float64(1.5), 1.5),
    "np_float32": (np.float32(0.1), float(np.float32(0.1))),
    "np_float16": (np.float16(2.5), 2.5),
    "np_int64": (np.int64(-9), -9.0),
    "np_uint8": (np.uint8(200), 200.0),
    "np_bool": (np.bool_(True), 1.0),
    "np_0d_array": (np.array(4.5), 4.5),
    "torch_0d_float": (torch.tensor(3.25), 3.25),
    "torch_0d_bf16": (torch.tensor(1.5, dtype=torch.bfloat16), 1.5),
    "torch_0d_int": (torch.tensor(11), 11.0),
    "torch_0d_requires_grad": (torch.tensor(0.5, requires_grad=True) * 2, 1.0),
    "fraction": (Fraction(1, 4), 0.25),
    "nan": (float("nan"), math.nan),
    "inf": (float("inf"), math.inf),
    "neg_inf": (float("-inf"), -math.inf),
    "np_nan": (np.float32("nan"), math.nan),
    "torch_inf": (torch.tensor(float("-inf")), -math.inf),
    "negative_zero": (-0.0, -0.0),
    "tiny": (5e-324, 5e-324),
    "huge": (1.7976931348623157e308, 1.7976931348623157e308),
}


def same(a: float, b: float) -> bool:
    if math.isnan(b):
        return math.isnan(a)
    return a == b and math.copysign(1, a) == math.copysign(1, b)


def test_every_accepted_type_round_trips(store_dir):
    run = trackio.init(project="values", name="accepted")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no accepted value may warn
        run.log({key: value for key, (value, _) in ACCEPTED.items()}, step=3)
        run.log({key: value for key, (value, _) in ACCEPTED.items()})
    run.finish()
    reader = Reader(store_dir)
    assert sorted(reader.metric_keys("values", "accepted")) == sorted(ACCEPTED)
    for key, (_, expected) in ACCEPTED.items():
        series = reader.series("values", "accepted", key)
        assert series.steps == [3, 4]
        assert all(same(v, expected) for v in series.values), (key, series.values, expected)
        assert all(type(v) is float for v in series.values)
    summary = reader.summary("values", "accepted")["metrics"]
    assert math.isnan(summary["nan"]["last"]) and summary["nan"]["nan_count"] == 2
    assert math.isnan(summary["nan"]["min"])  # no non-NaN value to take a minimum of
    assert summary["inf"]["max"] == math.inf and summary["neg_inf"]["min"] == -math.inf


REJECTED = {  # a plain str is a text series, not rejected (tests/test_texts.py); a str subclass is
    "none": None,
    "list": [1.0, 2.0],
    "tuple": (1.0,),
    "nested": {"a": 1.0},
    "object": object(),
    "complex": 1 + 2j,
    "np_vector": np.array([1.0, 2.0]),
    "np_string": np.str_("x"),
    "torch_vector": torch.tensor([1.0, 2.0]),
    "torch_complex": torch.tensor(1 + 1j),
    "too_big_int": 10**400,
    "bytes": b"1",
}


def test_rejected_values_warn_once_per_key_and_keep_the_rest(store_dir):
    run = trackio.init(project="values", name="rejected")
    with pytest.warns(TrackioWarning) as record:
        for step in range(3):
            run.log({"ok": float(step), **REJECTED, "also_ok": step}, step=step)
    messages = [str(w.message) for w in record]
    for key, value in REJECTED.items():
        mine = [m for m in messages if f"metric {key!r} dropped" in m]
        assert len(mine) == 1, (key, messages)  # once per key, not once per call
        assert type(value).__name__ in mine[0] or "integer too large" in mine[0], mine[0]
    run.finish()
    reader = Reader(store_dir)
    assert reader.metric_keys("values", "rejected") == ["also_ok", "ok"]
    assert reader.series("values", "rejected", "ok").values == [0.0, 1.0, 2.0]
    assert reader.series("values", "rejected", "also_ok").steps == [0, 1, 2]


@pytest.mark.parametrize(
    ("key", "reason"),
    [(1, "must be strings"), ("", "1-256 characters"), ("k" * 257, "1-256 characters"), (None, "must be strings")],
)
def test_bad_keys_are_dropped_with_a_warning(store_dir, key, reason):
    run = trackio.init(project="keys", name="bad")
    with pytest.warns(TrackioWarning, match=reason):
        run.log({key: 1.0, "good": 2.0})
    run.finish()
    assert Reader(store_dir).metric_keys("keys", "bad") == ["good"]


def test_longest_key_and_unicode_keys_are_kept(store_dir):
    long_key = "train/" + "x" * 250
    run = trackio.init(project="keys", name="good")
    run.log({long_key: 1.0, "éval/perte 📉": 2.0})
    run.finish()
    assert set(Reader(store_dir).metric_keys("keys", "good")) == {long_key, "éval/perte 📉"}


def test_non_dict_and_bad_steps_never_raise(store_dir):
    run = trackio.init(project="values", name="robust")
    with pytest.warns(TrackioWarning, match="takes a dict"):
        run.log([("loss", 1.0)])
    with pytest.warns(TrackioWarning, match="step=-1"):
        run.log({"loss": 1.0}, step=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the step warning is given once, not on every call
        run.log({"loss": 2.0}, step=2.5)
    run.log({"loss": 3.0}, step=np.int64(10))
    run.log({"loss": 4.0}, step=torch.tensor(11))
    run.finish()
    series = Reader(store_dir).series("values", "robust", "loss")
    assert series.steps == [0, 1, 10, 11]
    assert series.values == [1.0, 2.0, 3.0, 4.0]


def test_log_after_finish_warns_and_is_ignored(store_dir):
    run = trackio.init(project="values", name="closed")
    run.log({"a": 1.0})
    run.finish()
    with pytest.warns(TrackioWarning, match="finished run"):
        run.log({"a": 2.0})
    assert Reader(store_dir).series("values", "closed", "a").values == [1.0]


def test_caller_mutating_its_dict_after_log_changes_nothing(store_dir):
    run = trackio.init(project="values", name="mutation")
    metrics = {"a": 1.0}
    run.log(metrics)
    metrics["a"] = 99.0
    run.log(metrics)
    run.finish()
    assert Reader(store_dir).series("values", "mutation", "a").values == [1.0, 99.0]
