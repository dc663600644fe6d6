"""`jsontext.dumps_plain` (the C encoder alone, for values of JSON's own types) writes exactly what `dumps` writes."""

from __future__ import annotations

import json
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trackio_callback.utils.jsontext import dumps, dumps_plain

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text()
)
PLAIN = st.recursive(
    SCALARS, lambda inner: st.one_of(st.lists(inner), st.dictionaries(st.text(), inner)), max_leaves=40
)


@given(PLAIN)
@settings(max_examples=300, deadline=None)
def test_plain_values_are_written_alike(value):
    assert dumps_plain(value) == dumps(value)
    assert json.loads(dumps_plain(value)) == value


@given(PLAIN.map(lambda v: json.loads(json.dumps(v))))  # what the store reads back
@settings(max_examples=100, deadline=None)
def test_values_read_back_from_json_are_written_alike(value):
    assert dumps_plain(value) == dumps(value)


def test_anything_else_falls_back_to_dumps():
    for value in (
        {"lr": math.nan, "x": [math.inf, -math.inf]},
        {"step": np.int64(3), "loss": np.float32(0.5), "mask": np.array([1, 2])},
        {"when": {1, 2}},
        {"rows": [(1, 2)], 3: "int key"},
    ):
        assert dumps_plain(value) == dumps(value)
    assert dumps_plain({"a": math.nan}) == '{"a":"NaN"}'
