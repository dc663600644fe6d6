"""The dashboard API's media endpoints, against the real server (`show`) over a real store, with real HTTP.

One run logs every kind the page shows: images at several steps (and a list of two under one key), audio, an MP4
given as a file, a point cloud, histograms, Markdown, HTML, plain text, traces and a table holding images. Each
answer is compared with `Reader` (what was logged); every file is fetched back byte for byte.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import httpx2 as httpx
import numpy as np
import pytest

import trackio_callback as trackio
from trackio_callback import Reader
from trackio_callback.media.encoding import encode_video
from trackio_callback.server.show import show

HEX = "0123456789abcdef"


def _reject_constant(name: str):
    raise AssertionError(f"non-strict JSON constant {name}")


def pixels(step: int, height: int = 12) -> np.ndarray:
    image = np.zeros((height + 4 * step, 20, 3), np.uint8)
    image[..., 0] = 40 * step
    return image


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    directory = tmp_path_factory.mktemp("media-api")
    clip = directory / "clip.mp4"
    clip.write_bytes(encode_video(np.full((6, 16, 24, 3), 90, np.uint8), 6).data)
    artifact = directory / "weights.bin"
    artifact.write_bytes(b"not a media file")
    run = trackio.init(project="media", name="r", dir=directory, auto_log_cpu=False)
    for step in range(3):
        run.log(
            {
                "samples/image": trackio.Image(pixels(step), caption=f"step {step}"),
                "weights": trackio.Histogram(np_histogram=([1.0, step + 2.0, 3.0], [0.0, 1.0, 2.0, 3.0 + step])),
                "report": trackio.Markdown(f"# Step {step}"),
                "figure": trackio.Html(f"<p>{step}</p>"),
                "note": f"plain {step}",
                "rollout": trackio.Trace([{"role": "user", "content": f"q{step}"}], metadata={"reward": step / 2}),
            },
            step=step,
        )
    run.log(
        {
            "pair": [trackio.Image(pixels(0, 4), caption="left"), trackio.Image(pixels(1, 4), caption="right")],
            "voice": trackio.Audio(np.zeros(800, np.float32), sample_rate=8000, caption="silence"),
            "clip": trackio.Video(str(clip), caption="a clip"),
            "cloud": trackio.Object3D(np.arange(30, dtype=np.float64).reshape(10, 3)),
            "completions": trackio.Table(
                columns=["prompt", "image"],
                data=[["a", trackio.Image(pixels(2, 2), caption="cell")], ["b", [trackio.Image(pixels(0, 2))]]],
            ),
        },
        step=3,
    )
    run.log_artifact(str(artifact), name="weights")
    run.finish()
    with show(dir=directory, open_browser=False, block=False, port=0) as running:
        yield {"dir": directory, "url": running.url, "artifact": hashlib.sha256(artifact.read_bytes()).hexdigest()}


@pytest.fixture(scope="module")
def client(served):
    with httpx.Client(base_url=served["url"], trust_env=False, timeout=30) as http:
        yield http


@pytest.fixture
def reader(served):
    with Reader(served["dir"]) as opened:
        yield opened


def get(client: httpx.Client, path: str, status: int = 200) -> dict:
    response = client.get(path)
    assert response.status_code == status, (path, response.text)
    assert response.headers["content-type"] == "application/json"
    return json.loads(response.text, parse_constant=_reject_constant)


def test_keys_list_media_histogram_and_trace_keys(client):
    keys = get(client, "/api/keys?project=media&run=r")["runs"]["r"]
    assert keys["media"] == ["clip", "cloud", "pair", "samples/image", "voice"]
    assert keys["histograms"] == ["weights"] and keys["traces"] == ["rollout"]
    assert keys["texts"] == ["figure", "note", "report"] and keys["tables"] == ["completions"]


def test_media_rows_are_the_readers_with_a_url_serving_the_stored_bytes(client, reader):
    rows = get(client, "/api/media?project=media&run=r")["media"]
    logged = reader.media("media", "r")
    assert [{k: v for k, v in row.items() if k != "url"} for row in rows] == [
        {k: v for k, v in item.items() if k != "path"} for item in logged
    ]
    assert sorted((r["step"], r["key"], r["item"], r["kind"], r["format"]) for r in rows) == [
        (0, "samples/image", 0, "image", "png"),
        (1, "samples/image", 0, "image", "png"),
        (2, "samples/image", 0, "image", "png"),
        (3, "clip", 0, "video", "mp4"),
        (3, "cloud", 0, "object3d", "ply"),
        (3, "pair", 0, "image", "png"),
        (3, "pair", 1, "image", "png"),
        (3, "voice", 0, "audio", "wav"),
    ]
    types = {"png": "image/png", "wav": "audio/wav", "mp4": "video/mp4", "ply": "application/octet-stream"}
    for row, item in zip(rows, logged):
        assert row["url"] == f"/api/file?project=media&digest={row['digest']}"
        response = client.get(row["url"])
        assert response.status_code == 200 and response.content == item["path"].read_bytes()
        assert hashlib.sha256(response.content).hexdigest() == row["digest"] and len(response.content) == row["size"]
        assert response.headers["content-type"] == types[row["format"]]
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["etag"] == f'"{row["digest"]}"'
        assert response.headers["x-content-type-options"] == "nosniff"
    images = [r for r in rows if r["key"] == "samples/image"]
    assert [(r["width"], r["height"], r["caption"]) for r in images] == [
        (20, 12, "step 0"),
        (20, 16, "step 1"),
        (20, 20, "step 2"),
    ]
    voice = next(r for r in rows if r["key"] == "voice")
    assert voice["duration"] == pytest.approx(0.1)


def test_one_keys_media_and_a_missing_key(client):
    pair = get(client, "/api/media?project=media&run=r&key=pair")["media"]
    assert [(r["item"], r["caption"]) for r in pair] == [(0, "left"), (1, "right")]
    message = get(client, "/api/media?project=media&run=r&key=pairs", 404)["error"]
    assert "media 'pairs' not found" in message and "'pair'" in message


def test_a_video_is_served_in_ranges(client):
    row = get(client, "/api/media?project=media&run=r&key=clip")["media"][0]
    whole = client.get(row["url"]).content
    part = client.get(row["url"], headers={"Range": "bytes=4-11"})
    assert part.status_code == 206 and part.content == whole[4:12] and whole[4:8] == b"ftyp"  # an MP4 box


@pytest.mark.parametrize(
    ("digest", "status", "words"),
    [
        ("abc", 400, ["invalid media digest 'abc'", "64 lowercase hex digits"]),
        ("A" * 64, 400, ["invalid media digest"]),
        ("0" * 63 + "g", 400, ["invalid media digest"]),
        ("../" + "0" * 61, 400, ["invalid media digest"]),
        ("0" * 64, 404, ["media file " + "0" * 64, "is not recorded"]),
    ],
)
def test_a_bad_or_unknown_digest_is_refused(client, digest, status, words):
    message = get(client, f"/api/file?project=media&digest={digest}", status)["error"]
    for word in words:
        assert word in message, message


def test_only_media_files_are_served_not_other_blobs_of_the_store(client, served, reader):
    blob = reader.media_path("media", served["artifact"])  # the artifact's bytes share the blob store
    assert blob.read_bytes() == b"not a media file"
    message = get(client, f"/api/file?project=media&digest={served['artifact']}", 404)["error"]
    assert "is not recorded" in message
    assert "invalid project name" in get(client, "/api/file?project=..&digest=" + "0" * 64, 400)["error"]
    assert "project 'nope' not found" in get(client, "/api/file?project=nope&digest=" + "0" * 64, 404)["error"]
    assert client.post(f"/api/file?project=media&digest={'0' * 64}").status_code == 405


def test_a_recorded_file_without_its_bytes_is_a_404(tmp_path):
    run = trackio.init(project="pulled", name="r", dir=tmp_path, auto_log_cpu=False)
    run.log({"image": trackio.Image(pixels(1))})
    run.finish()
    with Reader(tmp_path) as opened:
        path = opened.media("pulled", "r")[0]["path"]
        digest = opened.media("pulled", "r")[0]["digest"]
    Path(path).unlink()  # as a pull that brought the rows but not (yet) the files
    with (
        show(dir=tmp_path, open_browser=False, block=False, port=0) as running,
        httpx.Client(base_url=running.url, trust_env=False) as http,
    ):
        assert get(http, "/api/media?project=pulled&run=r")["media"][0]["digest"] == digest
        message = get(http, f"/api/file?project=pulled&digest={digest}", 404)["error"]
    assert "is not stored here" in message


def test_histograms_are_steps_edges_and_counts(client, reader):
    answer = get(client, "/api/histograms?project=media&run=r&key=weights")
    assert answer["steps"] == [0, 1, 2]
    assert answer["counts"] == [[1.0, s + 2.0, 3.0] for s in range(3)]
    assert answer["edges"] == [[0.0, 1.0, 2.0, 3.0 + s] for s in range(3)]
    logged = reader.histograms("media", "r", "weights")
    assert answer["timestamps"] == [h["timestamp"] for h in logged]
    assert "'weights'" in get(client, "/api/histograms?project=media&run=r&key=weight", 404)["error"]
    assert "'key'" in get(client, "/api/histograms?project=media&run=r", 400)["error"]
    assert answer["total"] == 3
    # A long series: at most max_steps columns, evenly spread, the first and the last kept.
    thinned = get(client, "/api/histograms?project=media&run=r&key=weights&max_steps=2")
    assert (thinned["steps"], thinned["total"]) == ([0, 2], 3)
    assert thinned["counts"] == [answer["counts"][0], answer["counts"][2]]
    assert "max_steps" in get(client, "/api/histograms?project=media&run=r&key=weights&max_steps=1", 400)["error"]


def test_traces_texts_and_tables_as_logged(client, reader):
    traces = get(client, "/api/traces?project=media&run=r")["traces"]
    assert traces == reader.traces("media", "r")
    assert [t["value"]["messages"] for t in traces] == [[{"role": "user", "content": f"q{s}"}] for s in range(3)]
    assert [t["value"]["metadata"] for t in traces] == [{"reward": s / 2} for s in range(3)]
    texts = get(client, "/api/texts?project=media&run=r")["texts"]
    kinds = {(t["key"], t["step"]): (t["kind"], t["value"]) for t in texts}
    assert kinds[("report", 1)] == ("markdown", "# Step 1")
    assert kinds[("figure", 2)] == ("html", "<p>2</p>")
    assert kinds[("note", 0)] == ("text", "plain 0")

    table = get(client, "/api/tables?project=media&run=r")["tables"][0]
    logged = reader.tables("media", "r")[0]
    cell, listed = table["rows"][0][1], table["rows"][1][1]
    assert cell == logged["rows"][0][1] | {"url": f"/api/file?project=media&digest={cell['digest']}"}
    assert (cell["_type"], cell["caption"], cell["width"], cell["height"]) == ("trackio.image", "cell", 20, 10)
    assert isinstance(listed, list) and listed[0]["url"].endswith(listed[0]["digest"])
    for image in (cell, listed[0]):
        assert client.get(image["url"]).content == reader.media_bytes("media", image["digest"])
    assert table["rows"][0][0] == "a" and math.isfinite(table["step"])
