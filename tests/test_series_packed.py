"""``/api/series?...&format=packed``: the same answer as the JSON one, as float64 columns (`server.packed`).

Against the real server (`show`) over a real store, with real HTTP: the packed answer unpacks (in
Python, and in Chromium with the page's own ``unpackSeries`` from sources.js) to exactly the JSON
answer's runs, keys, totals, cursors, steps, timestamps and value bits, NaN and infinities included;
steps beyond 2**53 (not exact as float64) travel in the header as integers.
"""

from __future__ import annotations

import base64
import json
import math
from array import array
from pathlib import Path

import httpx2 as httpx
import pytest
from playwright.sync_api import sync_playwright

import trackio_callback as trackio
import trackio_callback.server
from trackio_callback.server.packed import MAGIC, MEDIA_TYPE, unpack_series
from trackio_callback.server.show import show

NAN, INF = math.nan, math.inf
SOURCES = Path(trackio_callback.server.__file__).parent / "static" / "sources.js"
HUGE_STEPS = [0, 2**62, 5, 2**53 + 1, 7]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("packed")
    long = trackio.init(project="p", name="long", dir=directory)
    for i in range(40_000):  # long enough for the blocks' read (tests/test_store_extremes.py)
        value = NAN if i == 777 else INF if i == 778 else -INF if i == 779 else math.sin(i / 300)
        long.log({"a": value, "b": float(i), **({"c": -float(i)} if i % 2 else {})}, step=i)
    long.finish()
    huge = trackio.init(project="p", name="huge", dir=directory)
    for i, step in enumerate(HUGE_STEPS):
        huge.log({"a": float(i)}, step=step)
    huge.finish()
    dashboard = show(dir=directory, open_browser=False, block=False, port=0)
    with httpx.Client(base_url=dashboard.url, timeout=60) as client:
        yield client
    dashboard.close()


def _bits(values: list) -> bytes:
    special = {"NaN": NAN, "Infinity": INF, "-Infinity": -INF}
    return array("d", [special.get(v, v) if isinstance(v, str) else v for v in values]).tobytes()


def _same(packed: dict, plain: dict) -> None:
    assert packed["project"] == plain["project"] and packed["cursors"] == plain["cursors"]
    assert [(s["run"], s["key"], s["total"]) for s in packed["series"]] == [
        (s["run"], s["key"], s["total"]) for s in plain["series"]
    ]
    for p, j in zip(packed["series"], plain["series"]):
        assert p["steps"] == j["steps"] and all(type(step) is int for step in p["steps"])
        assert p["timestamps"] == j["timestamps"]
        assert _bits(p["values"]) == _bits(j["values"])


QUERIES = [
    "project=p&run=long&run=huge&key=a&key=b&key=c&key=none",
    "project=p&run=long&key=a&max_points=40",
    "project=p&run=long&key=a&key=c&min_step=700&max_step=900",
    "project=p&run=huge&key=a",
    "project=p&run=huge&key=none",  # no series at all
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_packed_answer_is_the_json_answer(server, query):
    plain = server.get(f"/api/series?{query}")
    packed = server.get(f"/api/series?{query}&format=packed")
    assert plain.status_code == packed.status_code == 200
    assert packed.headers["content-type"] == MEDIA_TYPE and packed.content[:4] == MAGIC
    _same(unpack_series(packed.content), plain.json())
    assert server.get(f"/api/series?{query}&format=json").json() == plain.json()


def test_what_the_packed_answer_holds(server):
    answer = unpack_series(server.get("/api/series?project=p&run=huge&run=long&key=a&format=packed").content)
    huge, long = answer["series"]
    assert huge["steps"] == HUGE_STEPS and huge["values"] == [0.0, 1.0, 2.0, 3.0, 4.0]  # 2**62: in the header
    assert long["total"] == 40_000 and len(long["values"]) <= 1000 and long["steps"][-1] == 39_999
    assert [long["values"][long["steps"].index(s)] for s in (778, 779)] == [INF, -INF]
    assert math.isnan(long["values"][long["steps"].index(777)])
    assert answer["cursors"] == {"huge": 4, "long": 39_999}


def test_a_bad_format_is_refused_naming_the_accepted_ones(server):
    response = server.get("/api/series?project=p&run=long&key=a&format=binary")
    assert response.status_code == 400
    assert response.json() == {"error": "format must be one of 'json', 'packed', got 'binary'"}


def test_a_truncated_answer_is_refused():
    with pytest.raises(ValueError, match="not a packed series answer"):
        unpack_series(b'{"project": "p"}')


def test_the_page_unpacks_what_the_server_packs(server):
    """sources.js's ``unpackSeries`` in Chromium gives the answer Python's ``unpack_series`` gives."""
    bodies = [server.get(f"/api/series?{query}&format=packed").content for query in QUERIES]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_content("<!doctype html><title>sources.js</title>")
        page.add_script_tag(path=str(SOURCES))
        for body in bodies:
            text = page.evaluate(
                """(b64) => {
                  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                  const answer = unpackSeries(bytes.buffer);
                  const names = (v) => (v === Infinity ? "Infinity" : v === -Infinity ? "-Infinity" : v);
                  const plain = (v) => (v !== v ? "NaN" : names(v));
                  for (const s of answer.series) s.values = s.values.map(plain);
                  return JSON.stringify({answer, arrays: answer.series.every((s) => Array.isArray(s.values))});
                }""",
                base64.b64encode(body).decode(),
            )
            got = json.loads(text)
            assert got["arrays"]  # plain arrays: a live poll appends to them
            expected = unpack_series(body)
            # A JS number holds a step beyond 2**53 as the nearest float64, as JSON.parse of the JSON answer does.
            for series in (*got["answer"]["series"], *expected["series"]):
                series["steps"] = [int(float(step)) for step in series["steps"]]
            _same(got["answer"], expected)
        browser.close()
    assert errors == []


def test_keys_all_reads_every_metric_each_run_logs(server):
    every = server.get("/api/series?project=p&run=long&run=huge&keys=all").json()
    listed = server.get("/api/series?project=p&run=long&run=huge&key=a&key=b&key=c").json()
    assert [(s["run"], s["key"]) for s in every["series"]] == [
        ("long", "a"),
        ("long", "b"),
        ("long", "c"),
        ("huge", "a"),
    ]
    assert every == listed
    packed = unpack_series(server.get("/api/series?project=p&run=huge&run=long&keys=all&format=packed").content)
    _same(packed, server.get("/api/series?project=p&run=huge&run=long&keys=all").json())


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("keys=all&key=a", "give either key=... or keys=all, not both"),
        ("keys=some", "keys must be one of 'listed', 'all', got 'some'"),
        ("keys=listed", "query parameter 'key' is required (repeat it for several), got []"),
    ],
)
def test_keys_all_refuses_what_it_cannot_mean(server, query, error):
    response = server.get(f"/api/series?project=p&run=long&{query}")
    assert (response.status_code, response.json()) == (400, {"error": error})
