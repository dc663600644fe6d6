"""The static page's JavaScript copies of Python code, run in headless Chromium against their originals.

``server/static/sources.js`` carries two copies the static Space needs (it reads the dataset's Parquet
files in the browser, with no Python behind it):

- ``minmaxIndices``: the min/max downsampler, a copy of `store.downsample.minmax_indices`;
- ``parseDatasetPath`` (regexes ``SHARD`` / ``RUN_FILE``): the dataset's path layout, a copy of
  `hub.layout` (`parse`, reading what `shard_path` and `run_path` write).

The real sources.js is loaded into a blank page (it exposes both on ``window.trackioSources``); each case,
hand-written or drawn by hypothesis, goes through the JS function and through the Python one, and the
answers must be equal. Values cross into the page as strict JSON (`jsontext.dumps`: NaN and infinities
as strings), turned back into numbers there.
"""

from __future__ import annotations

import math
import string
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, sync_playwright

import trackio_callback.server
from tests.strategies import VALUE, long_series
from trackio_callback.errors import InvalidNameError
from trackio_callback.hub import layout
from trackio_callback.store.downsample import minmax_indices
from trackio_callback.store.files import validate_project
from trackio_callback.utils.jsontext import dumps

CHROMIUM = "/usr/bin/chromium"
SOURCES = Path(trackio_callback.server.__file__).parent / "static" / "sources.js"
NAN, INF = math.nan, math.inf
MAX_SEQ = 2**53 - 1  # JS numbers hold every integer up to here; seqs count log() calls, far below it

JS_MINMAX = """([text, maxPoints]) => {
  const special = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
  const values = JSON.parse(text).map((v) => (typeof v === "string" ? special[v] : v));
  return window.trackioSources.minmaxIndices(values, maxPoints);
}"""
JS_PARSE = "(paths) => paths.map((path) => window.trackioSources.parseDatasetPath(path))"


@pytest.fixture(scope="module")
def page():
    """One blank page with the real sources.js loaded (no server: the file's text is injected)."""
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_content("<!doctype html><title>sources.js</title>")
        page.add_script_tag(path=str(SOURCES))
        assert page.evaluate("Object.keys(window.trackioSources).sort()") == ["minmaxIndices", "parseDatasetPath"]
        yield page
        browser.close()
    assert not errors, errors


# -- the downsampler --------------------------------------------------------------------------------


def check_minmax(page: Page, values: list[float], max_points: int) -> list[int]:
    """JS and Python keep the same indices (JS answers null for "keep everything"); returns them."""
    expected = minmax_indices(values, max_points)
    got = page.evaluate(JS_MINMAX, [dumps(values), max_points])
    if len(values) <= max_points:
        assert got is None and expected == list(range(len(values)))
    else:
        assert got == expected, (values, max_points)
        assert len(got) <= max_points and got[-1] == len(values) - 1
    return expected


def _with(base: list[float], changes: dict[int, float]) -> list[float]:
    values = list(base)
    for i, v in changes.items():
        values[i] = v
    return values


@pytest.mark.parametrize(
    ("values", "max_points", "kept"),
    [
        ([], 4, None),
        ([1.0, 2.0], 4, None),
        ([0.0] * 40, 8, [0, 19, 20, 39]),  # flat: first and last of each bucket
        (_with([0.0] * 40, {17: 9.0}), 8, [0, 17, 19, 20, 39]),  # the spike survives
        ([NAN] * 20, 4, [0, 19]),
        (_with([0.5] * 100, {10: INF, 11: -INF}), 8, [0, 10, 11, 49, 50, 99]),  # both infinities kept
        (_with([5.0] * 80, {5: NAN, 9: NAN, 20: 1.0, 30: 9.0}), 8, [5, 20, 30, 39, 40, 79]),  # first NaN first
        ([-0.0, 0.0] * 40, 8, None),  # equal values: the first one reached wins in both languages
        ([0.0, 0.0, INF, -INF] * 30, 8, None),  # +inf and -inf in one bucket, no NaN
        ([1e308, 1e308, -INF, 0.0] * 30, 12, None),  # the bucket sum overflows to +inf and meets -inf
        ([INF] * 30 + [NAN] + [-INF] * 30, 4, None),
        ([float(i % 7) for i in range(1001)], 5, None),  # 5 // 4: one bucket
    ],
)
def test_the_js_downsampler_keeps_what_python_keeps(page, values, max_points, kept):
    expected = check_minmax(page, values, max_points)
    if kept is not None:  # the cases that spell out the answer: the Python side is pinned too
        assert expected == kept


@given(values=st.one_of(st.lists(VALUE, max_size=400), long_series()), max_points=st.integers(4, 600))
@settings(max_examples=200, deadline=None)
def test_the_js_downsampler_keeps_what_python_keeps_on_drawn_series(page, values, max_points):
    check_minmax(page, values, max_points)


# -- the path layout --------------------------------------------------------------------------------


def as_js(file: layout.DatasetFile | None) -> dict | None:
    """A `layout.parse` answer in the shape of ``parseDatasetPath``'s."""
    if file is None:
        return None
    return {
        "kind": file.kind,
        "project": file.project,
        "uid": file.run_uid,
        "node": file.node,
        "first": file.first_seq,
        "last": file.last_seq,
    }


def js_parse(page: Page, paths: list[str]) -> list[dict | None]:
    return page.evaluate(JS_PARSE, paths)


def written(kind: str, project: str, uid: str, node: str | None, first: int, last: int) -> tuple[str, dict | None]:
    """The path Python writes for these fields, and what reading it back must give (None: rejected)."""
    if kind == "runs":  # a runs file has no node and no seqs
        return layout.run_path(project, uid), {
            "kind": "runs", "project": project, "uid": uid, "node": None, "first": None, "last": None
        }  # fmt: skip
    path = layout.shard_path(kind, project, uid, first, last, node=node)
    if node is not None and kind != "system":
        return path, None  # only system samples live in a node's folder: parse rejects the rest
    return path, {"kind": kind, "project": project, "uid": uid, "node": node, "first": first, "last": last}


UID = "0123456789abcdef0123456789abcdef"
WRITTEN = [
    ("metrics", "qwen-sft", UID, None, 0, 41),
    ("system", "qwen-sft", UID, None, 7, 7),
    ("system", "qwen-sft", UID, "node1", 0, 10**12 - 1),
    ("system", "my project", UID, "gpu-host.example.com", 12, 13),  # a hostname as the node
    ("tables", "v1.2.3", UID, None, 10**12, 10**13 + 5),  # past 12 digits: longer, still read
    ("alerts", "a b-c.d_e", "r", None, 3, 4),
    ("runs", "my project", UID, None, 0, 0),
    ("runs", "v1.2", "123-456", None, 0, 0),  # a uid that looks like seqs
    ("system", "日本語 run", UID, "ノード", 1, 2),
    ("system", "p", "u", "000000000001-000000000002.parquet", 1, 2),  # a node named like a shard file
    ("metrics", "p", UID, "node1", 0, 1),  # written with a node, but not system: rejected
    ("tables", "p", UID, "node1", 0, 1),
    ("alerts", "p", UID, "n", 0, 1),
    ("texts", "p", UID, None, 0, 999),
    ("media", "qwen-vl", UID, None, 0, 249),
    ("media", "p", "files", None, 3, 4),  # a run whose uid is the media files' folder name: still a shard
    ("histograms", "p", UID, None, 1000, 1999),
    ("traces", "p", UID, None, 5, 5),
    ("media", "p", UID, "node1", 0, 1),  # only system samples have node folders
    ("histograms", "p", UID, "n", 0, 1),
]


@pytest.mark.parametrize(("kind", "project", "uid", "node", "first", "last"), WRITTEN)
def test_the_js_parser_reads_back_what_python_writes(page, kind, project, uid, node, first, last):
    path, fields = written(kind, project, uid, node, first, last)
    assert as_js(layout.parse(path)) == fields
    assert js_parse(page, [path]) == [fields]


OUTSIDE = [
    "README.md",
    ".gitattributes",
    "runs/p.parquet",  # no uid
    "runs/p/u/x.parquet",  # a runs file has no deeper folder
    "runs/p/u.parquet.tmp",
    "metrics/p/u/1-2.csv",
    "metrics/p/1-2.parquet",  # no uid
    "metrics/p/u/a/b/1-2.parquet",  # two node folders
    "metrics/p/u/1_2.parquet",
    "metrics/p/u/-1-2.parquet",
    "metrics/p/u/1-2-3.parquet",
    "metrics//u/1-2.parquet",  # an empty project
    "/metrics/p/u/1-2.parquet",
    "logs/p/u/1-2.parquet",  # not a kind
    "Metrics/p/u/1-2.parquet",
    "metrics/p/u/1-2xparquet",  # the dot is a dot
    "system/p/u/n/1-2.parquet/",
    "Media/p/u/1-2.parquet",
    "histogram/p/u/1-2.parquet",  # the kind is plural
    # a media file (written by `layout.media_file_path`, read by `layout.parse_media_file`) is no shard
    "media/p/files/ab/ab" + "0" * 62 + ".png",
    "media/p/files/00/" + "0" * 64 + ".parquet",
    "media/p/files/00/000000000000-000000000001.parquet",  # a node folder named like a digest's: media has none
]


def test_the_js_parser_rejects_what_python_rejects(page):
    assert [layout.parse(path) for path in OUTSIDE] == [None] * len(OUTSIDE)
    assert js_parse(page, OUTSIDE) == [None] * len(OUTSIDE)


def test_media_file_paths_read_back_and_are_no_shards(page):
    """A media file's path is its content's (project, sha256, format); neither parser takes it for a shard."""
    digest = "ab" + "c" * 62
    path = layout.media_file_path("my project", digest, "png")
    assert path == f"media/my project/files/ab/{digest}.png"
    assert layout.parse_media_file(path) == layout.MediaFilePath("my project", digest, "png")
    assert layout.parse(path) is None and js_parse(page, [path]) == [None]
    wrong_folder = f"media/p/files/cd/{digest}.png"
    assert [layout.parse_media_file(p) for p in (wrong_folder, f"media/p/files/ab/{digest[:-1]}.png")] == [None, None]
    shard = layout.shard_path("media", "p", "files", 0, 1)  # a run whose uid is "files"
    assert layout.parse_media_file(shard) is None and layout.parse(shard).run_uid == "files"
    # The run's files never include the project's media files, whatever the run's uid.
    listing = [path.replace("my project", "p"), shard, "media/p/u1/000000000000-000000000001.parquet"]
    assert layout.run_files(listing, "p", "files") == [shard]
    assert layout.run_files(listing, "p", "u1") == ["media/p/u1/000000000000-000000000001.parquet"]


def _valid_project(name: str) -> bool:
    try:
        validate_project(name)
    except InvalidNameError:
        return False
    return True


PROJECT = st.text(
    st.one_of(st.characters(categories=("L", "Nd")), st.sampled_from("-_. .")), min_size=1, max_size=40
).filter(_valid_project)
NO_SLASH = st.text(st.characters(exclude_characters="/", exclude_categories=("Cs",)), min_size=1, max_size=40)
SEQ = st.integers(0, MAX_SEQ)


@given(
    kind=st.sampled_from([*layout.KINDS, "runs"]),
    project=PROJECT,
    uid=st.one_of(st.uuids().map(lambda u: u.hex), NO_SLASH),
    node=st.one_of(st.none(), st.sampled_from(["node0", "node12", "gpu-host.example.com"]), NO_SLASH),
    seqs=st.tuples(SEQ, SEQ).map(sorted),
)
@example(kind="system", project="a b", uid="u", node="n", seqs=[0, 0])
@example(kind="metrics", project="a.b-c", uid="u", node="n", seqs=[1, 2])  # Python writes it, parse rejects it
@settings(max_examples=200, deadline=None)
def test_the_js_parser_reads_back_drawn_paths(page, kind, project, uid, node, seqs):
    path, fields = written(kind, project, uid, node, *seqs)
    assert as_js(layout.parse(path)) == fields
    assert js_parse(page, [path]) == [fields]


PIECES = st.sampled_from(
    [
        *layout.KINDS, "runs", "logs", "p", "my project", "u1", "node0", "", ".", "007", "1-2", "-",
        "000000000001-000000000009.parquet", "1-2.parquet", "12-.parquet", "-3.parquet", "x.parquet",
        ".parquet", "a-b.parquet", "1-2.parquet.tmp", "1-2parquet", "README.md", " ",
    ]
)  # fmt: skip


@given(pieces=st.lists(PIECES, min_size=1, max_size=7), lead=st.sampled_from(["", "/", "./"]))
@settings(max_examples=200, deadline=None)
def test_the_js_parser_agrees_on_path_like_text(page, pieces, lead):
    """Near misses built from the layout's own pieces: both accept the same paths, with the same fields."""
    path = lead + "/".join(pieces)
    assert js_parse(page, [path]) == [as_js(layout.parse(path))]


@given(path=st.text(string.printable + "/é日٣\u2028", max_size=60) | st.text(max_size=60))
@settings(max_examples=100, deadline=None)
def test_the_js_parser_accepts_nothing_python_rejects(page, path):
    """Any text: what Python's parse rejects, the page rejects. (The page is stricter on two points Python
    accepts: a non-ASCII digit in a seq, which Python's ``\\d`` matches, and a newline after
    ``.parquet``, which Python's ``$`` allows; Python never writes either.)"""
    python = as_js(layout.parse(path))
    (js,) = js_parse(page, [path])
    if python is None or js is not None:
        assert js == python
    else:  # Python accepts, the page does not: only for the two reasons above
        assert path.endswith(".parquet\n") or any(c.isdigit() and not c.isascii() for c in path), path
