"""The MCP tools over media, histograms, traces and text kinds, through the official ``mcp`` client.

A real run logs images (single ones at several steps, a list at one step), an audio clip, a histogram of
known values at 120 steps, Markdown, HTML, strings and traces; every answer is compared with what was
logged (pixels, numpy's percentiles of the same values) and with `Reader`.
"""

from __future__ import annotations

import base64
import io
import json

import anyio
import numpy as np
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from PIL import Image as PILImage

import trackio_callback as trackio
from trackio_callback import Reader
from trackio_callback.server.show import show
from trackio_callback.store.downsample import even_indices

PROJECT, RUN = "media", "vision"
IMAGE_STEPS = (0, 5, 10)
HISTOGRAM_STEPS = 120
LONG = "why " * 1250  # 5000 characters


def pixels(step: int) -> np.ndarray:
    return np.random.default_rng(step).integers(0, 256, size=(12, 16, 3), dtype=np.uint8)


def grid(item: int) -> np.ndarray:
    return np.full((4 + item, 6, 3), 40 * item, dtype=np.uint8)


def weights(step: int) -> np.ndarray:
    return np.random.default_rng(1000 + step).normal(loc=step / 40, scale=1 + step / 100, size=3000)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("media-mcp")
    run = trackio.init(project=PROJECT, name=RUN, dir=directory, auto_log_cpu=False)
    for step in range(HISTOGRAM_STEPS):
        values: dict = {"weights": trackio.Histogram(weights(step))}
        if step in IMAGE_STEPS:
            values["samples/image"] = trackio.Image(pixels(step), caption=f"step {step}")
        if step == 10:
            values["samples/grid"] = [trackio.Image(grid(i), caption=f"cell {i}") for i in range(3)]
            tone = np.sin(np.linspace(0, 2 * np.pi * 440, 4000)).astype(np.float32)
            values["voice"] = trackio.Audio(tone, sample_rate=8000, caption="a tone")
        if step == 1:
            values["rewound"] = [trackio.Image(grid(1)), trackio.Image(grid(2))]
        if step == 2:
            values["rollout"] = trackio.Trace(
                [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "explain"},
                    {"role": "assistant", "content": LONG},
                ],
                metadata={"reward": 0.5, "episode": 7},
            )
        if step == 4:
            values["rollout"] = [
                trackio.Trace([{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": f"a{i}"}])
                for i in range(2)
            ]
        if step == 3:
            values |= {"report": trackio.Markdown("# Eval\n- accuracy 0.9"), "panel": trackio.Html("<b>hi</b>")}
            values["samples/text"] = "plain words"
        run.log(values, step=step)
    run.log({"rewound": trackio.Image(grid(3), caption="again")}, step=1)  # resumed from a checkpoint: step 1 again
    run.finish()
    return directory


@pytest.fixture(scope="module")
def url(store):
    with show(dir=store, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        yield dashboard.url + "mcp"


def call(url: str, calls: list[tuple[str, dict]]) -> list:
    """Each call's whole result (its content blocks), in order."""

    async def run() -> list:
        async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
            await session.initialize()
            return [await session.call_tool(name, arguments) for name, arguments in calls]

    return anyio.run(run)


def answers(url: str, calls: list[tuple[str, dict]]) -> list:
    """Each call's JSON answer, or its error text as a string."""
    results = call(url, calls)
    return [r.content[0].text if r.is_error else json.loads(r.content[0].text) for r in results]


def test_run_keys_list_every_kind(url):
    metrics, summary = answers(
        url,
        [
            ("get_metrics_for_run", {"project": PROJECT, "run": RUN}),
            ("get_run_summary", {"project": PROJECT, "run": RUN}),
        ],
    )
    expected = {
        "media": ["rewound", "samples/grid", "samples/image", "voice"],
        "histograms": ["weights"],
        "traces": ["rollout"],
        "texts": ["panel", "report", "samples/text"],
    }
    for answer in (metrics, summary):
        assert {kind: answer[kind] for kind in expected} == expected


def test_get_media_lists_every_medium_as_stored(url, store):
    every, one_key, newest = answers(
        url,
        [
            ("get_media", {"project": PROJECT, "run": RUN}),
            ("get_media", {"project": PROJECT, "run": RUN, "key": "samples/image"}),
            ("get_media", {"project": PROJECT, "run": RUN, "max_items": 2}),
        ],
    )
    stored = Reader(store).media(PROJECT, RUN)
    assert every["total"] == len(stored) == 10 and every["truncated"] is False
    assert every["media_keys"] == ["rewound", "samples/grid", "samples/image", "voice"]
    fields = ("key", "step", "item", "kind", "caption", "format", "size", "width", "height", "duration", "digest")
    assert [{f: m[f] for f in fields} for m in every["media"]] == [{f: m[f] for f in fields} for m in stored]
    assert all(m["stored"] for m in every["media"])
    images = one_key["media"]
    assert [(m["step"], m["caption"], m["width"], m["height"], m["format"]) for m in images] == [
        (step, f"step {step}", 16, 12, "png") for step in IMAGE_STEPS
    ]
    assert sorted((m["key"], m["item"], m["caption"]) for m in every["media"] if m["step"] == 10) == [
        ("samples/grid", 0, "cell 0"), ("samples/grid", 1, "cell 1"), ("samples/grid", 2, "cell 2"),
        ("samples/image", 0, "step 10"), ("voice", 0, "a tone"),
    ]  # fmt: skip
    (voice,) = [m for m in every["media"] if m["kind"] == "audio"]
    assert voice["format"] == "wav" and voice["duration"] == pytest.approx(0.5) and voice["caption"] == "a tone"
    assert newest["total"] == 10 and newest["truncated"] is True
    assert [m["digest"] for m in newest["media"]] == [m["digest"] for m in every["media"][-2:]]


def decoded(block) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(base64.b64decode(block.data))).convert("RGB"))


def test_get_media_item_returns_the_logged_image_as_image_content(url, store):
    latest, early, cell, metadata_only, voice = call(
        url,
        [
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/image"}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/image", "step": 5}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/grid", "step": 10, "item": 2}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/image", "include_image": False}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "voice"}),
        ],
    )
    reader = Reader(store)
    for result, step, expected in ((latest, 10, pixels(10)), (early, 5, pixels(5)), (cell, 10, grid(2))):
        text, image = result.content
        answer = json.loads(text.text)
        assert not result.is_error and image.type == "image" and image.mime_type == "image/png"
        assert answer["step"] == step and answer["image"] == "attached"
        assert base64.b64decode(image.data) == reader.media_bytes(PROJECT, answer["digest"])
        assert np.array_equal(decoded(image), expected)
    assert json.loads(latest.content[0].text)["steps"] == 3 and json.loads(latest.content[0].text)["items"] == 1
    cell_answer = json.loads(cell.content[0].text)
    assert (cell_answer["caption"], cell_answer["item"], cell_answer["items"]) == ("cell 2", 2, 3)
    assert (cell_answer["width"], cell_answer["height"]) == (6, 6)
    (only,) = metadata_only.content
    assert json.loads(only.text)["image"] == "not attached: include_image is false"
    assert json.loads(only.text)["digest"] == json.loads(latest.content[0].text)["digest"]
    (audio,) = voice.content
    audio_answer = json.loads(audio.text)
    assert audio_answer["kind"] == "audio" and audio_answer["image"].startswith("not an image")
    assert audio_answer["duration"] == pytest.approx(0.5)


def test_a_step_logged_again_answers_its_later_value(url):
    again, gone = call(
        url,
        [
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "rewound", "step": 1}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "rewound", "step": 1, "item": 1}),
        ],
    )
    answer = json.loads(again.content[0].text)
    assert (answer["caption"], answer["items"], answer["steps"]) == ("again", 1, 1)
    assert np.array_equal(decoded(again.content[1]), grid(3))
    assert gone.is_error and "no item 1 under 'rewound' at step 1: its items are 0 to 0" in gone.content[0].text


def test_get_media_item_errors_name_what_exists(url):
    missing_step, missing_item, missing_key, bad_item = answers(
        url,
        [
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/image", "step": 7}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/grid", "step": 10, "item": 3}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/imag"}),
            ("get_media_item", {"project": PROJECT, "run": RUN, "key": "samples/grid", "item": -1}),
        ],
    )
    assert "no media under 'samples/image' at step 7" in missing_step and "nearest steps: 0, 5, 10" in missing_step
    assert "no item 3 under 'samples/grid' at step 10: its items are 0 to 2" in missing_item
    assert "'samples/image'" in missing_key
    assert "item must be an integer >= 0, got -1" in bad_item


def test_histogram_percentiles_follow_numpy_within_a_bin(url):
    every, window, ends, too_many, too_few = answers(
        url,
        [
            ("get_histogram", {"project": PROJECT, "run": RUN, "key": "weights", "max_steps": 12}),
            ("get_histogram", {"project": PROJECT, "run": RUN, "key": "weights", "min_step": 30, "max_step": 34}),
            ("get_histogram", {"project": PROJECT, "run": RUN, "key": "weights", "percentiles": [0, 12.5, 100]}),
            ("get_histogram", {"project": PROJECT, "run": RUN, "key": "weights", "percentiles": [50, 150]}),
            ("get_histogram", {"project": PROJECT, "run": RUN, "key": "weights", "max_steps": 1}),
        ],
    )
    assert every["total_steps"] == HISTOGRAM_STEPS and every["downsampled"] is True
    assert [s["step"] for s in every["steps"]] == even_indices(HISTOGRAM_STEPS, 12)  # step == index here
    assert every["steps"][0]["step"] == 0 and every["steps"][-1]["step"] == HISTOGRAM_STEPS - 1
    for point in every["steps"] + window["steps"]:
        data, width = weights(point["step"]), point["bin_width"]
        assert point["count"] == 3000 and point["bins"] == 64
        assert width == pytest.approx((data.max() - data.min()) / 64)
        assert set(point["percentiles"]) == {"5", "25", "50", "75", "95"}
        for name, value in point["percentiles"].items():
            assert abs(value - np.percentile(data, float(name))) <= width, (point["step"], name)
        assert abs(point["mean"] - data.mean()) <= width / 2 and abs(point["std"] - data.std()) <= width
        assert point["min"] == pytest.approx(data.min()) and point["max"] == pytest.approx(data.max())
    assert [s["step"] for s in window["steps"]] == [30, 31, 32, 33, 34] and window["downsampled"] is False
    assert len(ends["steps"]) == 50  # the default max_steps
    for point in ends["steps"]:
        data = weights(point["step"])
        assert point["percentiles"]["0"] == pytest.approx(data.min())
        assert point["percentiles"]["100"] == pytest.approx(data.max())
        assert abs(point["percentiles"]["12.5"] - np.percentile(data, 12.5)) <= point["bin_width"]
    assert "percentiles must be numbers from 0 to 100, got 150" in too_many
    assert "max_steps must be an integer from 2 to 1000, got 1" in too_few


def test_texts_carry_their_kind_and_filter_by_it(url):
    every, markdown, html, bad = answers(
        url,
        [
            ("get_texts", {"project": PROJECT, "run": RUN}),
            ("get_texts", {"project": PROJECT, "run": RUN, "kind": "markdown"}),
            ("get_texts", {"project": PROJECT, "run": RUN, "kind": "html"}),
            ("get_texts", {"project": PROJECT, "run": RUN, "kind": "md"}),
        ],
    )
    assert sorted((t["key"], t["kind"], t["value"]) for t in every["texts"]) == [
        ("panel", "html", "<b>hi</b>"),
        ("report", "markdown", "# Eval\n- accuracy 0.9"),
        ("samples/text", "text", "plain words"),
    ]
    assert [(t["key"], t["value"]) for t in markdown["texts"]] == [("report", "# Eval\n- accuracy 0.9")]
    assert markdown["total"] == 1 and markdown["kind"] == "markdown"
    assert [(t["key"], t["value"]) for t in html["texts"]] == [("panel", "<b>hi</b>")]
    assert "kind must be one of 'text', 'markdown', 'html', got 'md'" in bad


def test_traces_come_by_role_with_metadata_and_cut_contents(url, store):
    every, newest, short = answers(
        url,
        [
            ("get_traces", {"project": PROJECT, "run": RUN}),
            ("get_traces", {"project": PROJECT, "run": RUN, "key": "rollout", "max_traces": 2}),
            ("get_traces", {"project": PROJECT, "run": RUN, "max_messages": 1, "max_chars": 3}),
        ],
    )
    assert every["trace_keys"] == ["rollout"] and every["total"] == 3 and every["truncated"] is False
    first, *pair = every["traces"]
    assert (first["step"], first["item"], first["roles"]) == (2, 0, {"system": 1, "user": 1, "assistant": 1})
    assert first["metadata"] == {"reward": 0.5, "episode": 7} and first["metadata_cut"] is False
    system, user, assistant = first["messages"]
    assert system == {"role": "system", "content": "be brief", "chars": 8, "cut": False}
    assert user == {"role": "user", "content": "explain", "chars": 7, "cut": False}
    assert assistant["content"] == LONG[:2000] and assistant["chars"] == 5000 and assistant["cut"] is True
    assert [(t["step"], t["item"], [m["content"] for m in t["messages"]]) for t in pair] == [
        (4, 0, ["q0", "a0"]), (4, 1, ["q1", "a1"])
    ]  # fmt: skip
    stored = Reader(store).traces(PROJECT, RUN, "rollout")
    assert [m["content"] for m in stored[0]["value"]["messages"]][:2] == ["be brief", "explain"]
    assert newest["total"] == 3 and newest["truncated"] is True and [t["item"] for t in newest["traces"]] == [0, 1]
    assert [t["messages_total"] for t in short["traces"]] == [3, 2, 2]
    assert [t["messages"] for t in short["traces"]] == [
        [{"role": "system", "content": "be ", "chars": 8, "cut": True}],
        [{"role": "user", "content": "q0", "chars": 2, "cut": False}],
        [{"role": "user", "content": "q1", "chars": 2, "cut": False}],
    ]
    assert short["traces"][0]["metadata_cut"] is True and short["traces"][0]["metadata"] == '{"r'


def test_images_past_the_limit_or_not_stored_come_as_metadata_and_jpeg_keeps_its_type(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, size=(1400, 1400, 3), dtype=np.uint8)  # PNG > 5 MB
    photo = io.BytesIO()
    PILImage.fromarray(pixels(3)).save(photo, format="JPEG")
    run = trackio.init(project="edge", name="r", dir=tmp_path, auto_log_cpu=False)
    run.log({"big": trackio.Image(noise), "gone": trackio.Image(pixels(4)), "photo": trackio.Image(photo.getvalue())})
    run.finish()
    reader = Reader(tmp_path)
    reader.media("edge", "r", "gone")[0]["path"].unlink()  # as after a pull without the files' bytes
    with show(dir=tmp_path, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        big, gone, jpeg, listed = call(
            dashboard.url + "mcp",
            [
                ("get_media_item", {"project": "edge", "run": "r", "key": "big"}),
                ("get_media_item", {"project": "edge", "run": "r", "key": "gone"}),
                ("get_media_item", {"project": "edge", "run": "r", "key": "photo"}),
                ("get_media", {"project": "edge", "run": "r"}),
            ],
        )
    (big_text,) = big.content
    big_answer = json.loads(big_text.text)
    assert big_answer["size"] > 5 * 2**20 and big_answer["image"] == (
        f"not attached: {big_answer['size']} bytes, over the {5 * 2**20} an image may have"
    )
    (gone_text,) = gone.content
    assert json.loads(gone_text.text)["image"].startswith("not attached: the file is not stored on this machine")
    text, image = jpeg.content
    assert json.loads(text.text)["format"] == "jpeg" and image.mime_type == "image/jpeg"
    assert base64.b64decode(image.data) == photo.getvalue()  # the file as given, not re-encoded
    stored = {m["key"]: m["stored"] for m in json.loads(listed.content[0].text)["media"]}
    assert stored == {"big": True, "gone": False, "photo": True}
