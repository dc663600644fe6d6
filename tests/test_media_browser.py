"""The dashboard's Media, Histograms and Reports tabs and the images in Tables, in headless Chromium.

Both hosts of the page: the local server over SQLite (the files from ``/api/file``), and the static Space reading
the dataset's media, histograms, traces and texts Parquet and the media files from the Hub emulator in the
browser. What is drawn is read through ``window.trackioDashboard.state()`` (which reads the elements themselves:
an image's natural size, a player's duration) and compared with what was logged; screenshots are checked PNGs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page

import trackio_callback as trackio
from tests.browser import ARTIFACTS, open_dashboard, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback import Reader
from trackio_callback.media.encoding import encode_video
from trackio_callback.server.show import show

PNG = b"\x89PNG\r\n\x1a\n"
MARKDOWN = (
    '# Step {step}\n\n**bold** and `code`\n\n<img src="x" onerror="window.pwned = 1"><script>window.pwned = 2</script>'
)
HTML = (
    '<p id="p">html {step}</p><script>try {{ parent.document.body.dataset.pwned = "1" }} '
    'catch (e) {{ document.body.append("blocked") }}</script>'
)


def pixels(run: str, step: int) -> np.ndarray:
    """A distinct image per run and step: 24 px wide, 12 + 4 * step px high."""
    image = np.zeros((12 + 4 * step, 24, 3), np.uint8)
    image[..., 0 if run == "a" else 2] = 60 * (step + 1)
    return image


def counts(run: str, step: int) -> list[float]:
    return [step + 1.0, 2.0, 5.0 if run == "a" else 1.0, 1.0]


def edges(step: int) -> list[float]:
    return [-1.0, 0.0, 1.0, 2.0, 3.0 + step]


def messages(step: int) -> list[dict]:
    return [
        {"role": "system", "content": "You add numbers."},
        {"role": "user", "content": f"{step} + 2 = ?"},
        {"role": "assistant", "content": [{"type": "text", "text": f"{step + 2}"}]},
    ]


def log_everything(run: trackio.Run, clip: Path, image_steps=(0, 1, 2)) -> None:
    """Steps 0-2: images (at ``image_steps``), a histogram, Markdown, HTML, a trace and a string; step 2 also
    audio, an MP4 file, a point cloud and a table with images."""
    for step in range(3):
        values = {
            "train/loss": 1.0 / (step + 1),
            "weights": trackio.Histogram(np_histogram=(counts(run.name, step), edges(step))),
            "report": trackio.Markdown(MARKDOWN.format(step=step)),
            "figure": trackio.Html(HTML.format(step=step)),
            "rollout": trackio.Trace(messages(step), metadata={"reward": float(step), "env": "math"}),
            "note": f"{run.name} note {step}",
        }
        if step in image_steps:
            values["samples/image"] = trackio.Image(pixels(run.name, step), caption=f"{run.name} at {step}")
        run.log(values, step=step)
    table = trackio.Table(
        columns=["prompt", "images"],
        data=[
            ["one", trackio.Image(np.full((10, 14, 3), 200, np.uint8), caption="a cell")],
            ["two", [trackio.Image(np.zeros((6, 6, 3), np.uint8)), trackio.Image(np.ones((8, 4, 3), np.uint8))]],
        ],
    )
    tone = np.sin(np.linspace(0, 2 * np.pi * 220, 4000)).astype(np.float32)
    run.log(
        {
            "voice": trackio.Audio(tone, sample_rate=8000, caption="a tone"),
            "clip": trackio.Video(str(clip), caption="a clip"),
            "cloud": trackio.Object3D(np.arange(24, dtype=np.float64).reshape(8, 3), caption="points"),
            "completions": table,
        },
        step=2,
    )


@pytest.fixture
def clip(tmp_path) -> Path:
    """An MP4 (H.264) of 8 frames at 8 fps, 48×32: one second."""
    frames = np.zeros((8, 32, 48, 3), np.uint8)
    frames[..., 1] = np.arange(8, dtype=np.uint8)[:, None, None] * 30
    path = tmp_path / "clip.mp4"
    path.write_bytes(encode_video(frames, 8).data)
    return path


def media_state(view: Page, key: str) -> dict:
    return state(view)["media"].get(key, {})


def screenshot(view: Page, path: Path) -> None:
    view.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000, (path, len(data))


def slide(view: Page, panel: str, *keys: str) -> None:
    """Moves the panel's step slider by keyboard (Home: the first step, ArrowRight: the next...)."""
    view.focus(f"{panel} .step-slider")
    for key in keys:
        view.keyboard.press(key)


def item(drawn: dict, key: str, run: str, index: int = 0) -> dict:
    return drawn["media"][key]["runs"][run]["items"][index]


# -- the local server -------------------------------------------------------------------------------------------


def test_media_tab_shows_each_key_per_step_with_runs_side_by_side(page, tmp_path, clip):
    a = trackio.init(project="m", name="a", dir=tmp_path, auto_log_cpu=False)
    log_everything(a, clip)
    a.finish()
    b = trackio.init(project="m", name="b", dir=tmp_path, auto_log_cpu=False)  # still running: polled
    log_everything(b, clip, image_steps=(0, 2))
    b.flush()
    with Reader(tmp_path) as reader:
        urls = {
            (run, m["step"]): f"/api/file?project=m&digest={m['digest']}"
            for run in "ab"
            for m in reader.media("m", run, "samples/image")
        }
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=media]")
        drawn = wait_for(page, lambda s: len(s["media"]) == 4 and item(s, "samples/image", "a")["ready"])
        assert sorted(drawn["media"]) == ["clip", "cloud", "samples/image", "voice"]
        assert page.locator("#chart-controls").is_hidden()  # smoothing, x axis, log y: the charts' only
        assert page.locator("#metric-filter").is_visible()  # the key filter serves every tab
        images = drawn["media"]["samples/image"]
        assert (images["step"], images["steps"], sorted(images["runs"])) == (2, 3, ["a", "b"])
        for run in "ab":
            shown = images["runs"][run]
            assert shown["step"] == 2 and len(shown["items"]) == 1
            image = shown["items"][0]
            assert (image["tag"], image["src"], image["caption"]) == ("img", urls[(run, 2)], f"{run} at 2")
        assert (item(drawn, "samples/image", "a")["width"], item(drawn, "samples/image", "a")["height"]) == (24, 20)

        players = wait_for(page, lambda s: item(s, "voice", "a")["ready"] >= 1 and item(s, "clip", "a")["ready"] >= 1)
        voice, video = item(players, "voice", "a"), item(players, "clip", "a")
        assert (voice["tag"], voice["controls"], voice["caption"]) == ("audio", True, "a tone")
        assert voice["duration"] == pytest.approx(0.5, abs=0.01)
        assert (video["tag"], video["controls"], video["width"], video["height"]) == ("video", True, 48, 32)
        assert video["duration"] == pytest.approx(1.0, abs=0.05) and video["caption"] == "a clip"
        cloud = item(players, "cloud", "a")
        assert (cloud["tag"], cloud["kind"], cloud["format"], cloud["caption"]) == ("a", "object3d", "ply", "points")
        ply = page.evaluate("(href) => fetch(href).then((r) => r.text())", cloud["href"])
        assert ply.startswith("ply\n") and "element vertex 8" in ply

        # A poll that brings nothing new redraws nothing (a playing audio would restart).
        page.evaluate("document.querySelector('.media-panel[data-key=voice] audio').mark = 1")
        polls = state(page)["polls"]
        page.evaluate("window.trackioDashboard.pollNow()")
        wait_for(page, lambda s: s["polls"] > polls)
        assert page.evaluate("document.querySelector('.media-panel[data-key=voice] audio').mark") == 1

        # The live run logs a new step: the slider grows and, following the newest, shows it.
        b.log({"samples/image": trackio.Image(pixels("b", 3), caption="b at 3")}, step=3)
        b.flush()
        page.evaluate("window.trackioDashboard.pollNow()")
        grown = wait_for(page, lambda s: s["media"]["samples/image"]["steps"] == 4)["media"]["samples/image"]
        assert grown["step"] == 3 and grown["runs"]["b"]["step"] == 3 and grown["runs"]["a"]["step"] == 2

        panel = ".media-panel[data-key='samples/image']"
        slide(page, panel, "Home")
        first = media_state(page, "samples/image")
        assert first["step"] == 0 and {r: first["runs"][r]["items"][0]["src"] for r in "ab"} == {
            "a": urls[("a", 0)],
            "b": urls[("b", 0)],
        }
        slide(page, panel, "ArrowRight")
        second = media_state(page, "samples/image")
        assert second["step"] == 1 and second["runs"]["a"]["step"] == 1
        assert second["runs"]["b"]["step"] == 0  # b logged no image at 1: its last one before
        assert second["runs"]["b"]["items"][0]["src"] == urls[("b", 0)]

        page.click(f"{panel} .step-cell[data-run=a] img")
        zoomed = wait_for(page, lambda s: s["zoom"] is not None and s["zoom"]["width"] > 0)["zoom"]
        # Full size, and a small image scaled up to be seen (320 px wide, pixels kept sharp).
        assert zoomed == {"src": urls[("a", 1)], "width": 24, "height": 16, "caption": "a at 1", "shownWidth": 320}
        screenshot(page, tmp_path / "zoom.png")
        page.keyboard.press("Escape")
        assert state(page)["zoom"] is None
        screenshot(page, tmp_path / "media.png")
        assert state(page)["error"] is None
    b.finish()


def test_histograms_tab_draws_a_heatmap_and_the_chosen_steps_distribution(page, tmp_path, clip):
    for name in "ab":
        run = trackio.init(project="h", name=name, dir=tmp_path, auto_log_cpu=False)
        log_everything(run, clip)
        run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=histograms]")
        drawn = wait_for(page, lambda s: "weights" in s["histograms"])["histograms"]["weights"]
        assert (drawn["step"], drawn["steps"], sorted(drawn["runs"])) == (2, 3, ["a", "b"])
        for run in "ab":
            shown = drawn["runs"][run]
            assert (shown["columns"], shown["rows"], shown["column"], shown["bins"]) == (3, 48, 2, 4)
            assert shown["counts"] == counts(run, 2) and shown["edges"] == edges(2)
            assert shown["range"] == [-1.0, 5.0]  # every step's edges: the y axis all runs of the key share
        canvas = ".histogram-panel[data-key=weights] .step-cell[data-run=a] canvas.heatmap"
        inked = page.eval_on_selector(
            canvas,
            """(c) => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0;
                for (let i = 0; i < d.length; i += 4) if (d[i] < 200 && d[i + 2] > 90) n++; return n; }""",
        )
        assert inked > 500  # shaded cells (blue), not an empty canvas
        # The distribution under it: bars in each run's own colour (its swatch), the value range labelled.
        for run in "ab":
            bars = f".histogram-panel[data-key=weights] .step-cell[data-run={run}] canvas.distribution"
            swatch = page.eval_on_selector(
                f".histogram-panel[data-key=weights] .step-cell[data-run={run}] .swatch",
                "(s) => getComputedStyle(s).backgroundColor.match(/\\d+/g).slice(0, 3).map(Number)",
            )
            colours = page.eval_on_selector(
                bars,
                """(c) => { const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; const seen = {};
                    for (let i = 0; i < d.length; i += 4) { const k = [d[i], d[i + 1], d[i + 2]].join(",");
                      seen[k] = (seen[k] || 0) + 1; } return seen; }""",
            )
            assert colours.get(",".join(map(str, swatch)), 0) > 200, (run, swatch)

        page.click(canvas, position={"x": 60, "y": 60})  # the first column: step 0
        chosen = wait_for(page, lambda s: s["histograms"]["weights"]["step"] == 0)["histograms"]["weights"]
        assert {run: chosen["runs"][run]["counts"] for run in "ab"} == {"a": counts("a", 0), "b": counts("b", 0)}
        assert chosen["runs"]["a"]["column"] == 0 and chosen["runs"]["a"]["edges"] == edges(0)
        slide(page, ".histogram-panel[data-key=weights]", "ArrowRight")
        assert state(page)["histograms"]["weights"]["runs"]["b"]["counts"] == counts("b", 1)
        screenshot(page, tmp_path / "histograms.png")


def test_reports_tab_renders_markdown_sandboxes_html_and_shows_traces(page, tmp_path, clip):
    run = trackio.init(project="r", name="a", dir=tmp_path, auto_log_cpu=False)
    log_everything(run, clip)
    run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=reports]")
        drawn = wait_for(page, lambda s: {"report", "figure", "rollout"} <= set(s["reports"]))
        report = drawn["reports"]["report"]
        assert (report["kind"], report["step"], report["steps"]) == ("markdown", 2, 3)
        html = report["runs"]["a"]["entries"][0]["html"]
        assert "<h1>Step 2</h1>" in html and "<strong>bold</strong>" in html and "<code>code</code>" in html
        assert "onerror" not in html and "<script" not in html  # sanitised
        assert page.evaluate("window.pwned") is None
        assert page.inner_text(".markdown-panel[data-key=report] h1") == "Step 2"

        figure = drawn["reports"]["figure"]["runs"]["a"]["entries"][0]
        assert figure == {"kind": "html", "sandbox": "allow-scripts", "srcdoc": HTML.format(step=2)}
        frame = page.frame_locator(".html-panel[data-key=figure] iframe").locator("body")
        frame.locator("text=blocked").wait_for()  # its script ran, in its own origin: the page was out of reach
        assert frame.locator("#p").inner_text() == "html 2"
        assert page.evaluate("document.body.dataset.pwned") is None

        trace = drawn["reports"]["rollout"]["runs"]["a"]["entries"][0]["traces"][0]
        assert trace["messages"] == [
            {"role": "system", "content": "You add numbers."},
            {"role": "user", "content": "2 + 2 = ?"},
            {"role": "assistant", "content": "4"},
        ]
        assert trace["metadata"] == {"reward": 2.0, "env": "math"}
        roles = page.eval_on_selector_all(
            ".trace-panel[data-key=rollout] .trace-message", "m => m.map(e => e.dataset.role)"
        )
        assert roles == ["system", "user", "assistant"]
        assert drawn["texts"] == {"note": {"a": [{"step": s, "value": f"a note {s}"} for s in (2, 1, 0)]}}

        slide(page, ".markdown-panel[data-key=report]", "ArrowLeft")
        earlier = state(page)["reports"]["report"]
        assert earlier["step"] == 1 and "<h1>Step 1</h1>" in earlier["runs"]["a"]["entries"][0]["html"]
        assert state(page)["reports"]["figure"]["step"] == 2  # each panel has its own slider
        screenshot(page, tmp_path / "reports.png")


def test_table_cells_show_their_images(page, tmp_path, clip):
    run = trackio.init(project="t", name="a", dir=tmp_path, auto_log_cpu=False)
    log_everything(run, clip)
    run.finish()
    with Reader(tmp_path) as reader:
        rows = reader.tables("t", "a")[0]["rows"]
    digests = [rows[0][1]["digest"], rows[1][1][0]["digest"], rows[1][1][1]["digest"]]
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=tables]")
        shown = wait_for(page, lambda s: len(s["tableImages"]) == 3 and all(i["width"] for i in s["tableImages"]))
        assert [(i["row"], i["column"], i["width"], i["height"]) for i in shown["tableImages"]] == [
            (0, "images", 14, 10),
            (1, "images", 6, 6),
            (1, "images", 4, 8),
        ]
        assert [i["src"] for i in shown["tableImages"]] == [f"/api/file?project=t&digest={d}" for d in digests]
        assert shown["tableImages"][0]["caption"] == "a cell"
        assert page.eval_on_selector_all(".data-table tbody td:first-child", "t => t.map(e => e.textContent)") == [
            "one",
            "two",
        ]
        page.click(".data-table img.cell-image >> nth=0")
        zoomed = wait_for(page, lambda s: s["zoom"] is not None and s["zoom"]["width"] == 14)["zoom"]
        assert zoomed["caption"] == "a cell" and zoomed["src"].endswith(digests[0])
        screenshot(page, tmp_path / "table.png")


# -- the static Space ---------------------------------------------------------------------------------------------


def test_static_space_shows_media_histograms_reports_and_table_images(page, hub, tmp_path, clip):
    run = trackio.init(project="hubmedia", name="synced", space_id="media-board", private=False, auto_log_cpu=False)
    log_everything(run, clip)
    run.finish()
    dataset = "alice/media-board-dataset"
    files = hub.repo_files(dataset)
    with Reader() as reader:
        logged = reader.media("hubmedia", "synced")
    for m in logged:  # each file once, where the page looks for it
        assert files[f"media/hubmedia/files/{m['digest'][:2]}/{m['digest']}.{m['format']}"] == m["path"].read_bytes()

    with SpaceHost(hub, "alice/media-board") as host:
        drawn = open_dashboard(page, host.url)
        assert drawn["mode"] == "hub" and drawn["charts"]["train/loss"]["points"]["synced"] == 3
        page.click("#tabs button[data-tab=media]")
        shown = wait_for(
            page,
            lambda s: (
                len(s["media"]) == 4
                and item(s, "samples/image", "synced")["ready"]
                and item(s, "voice", "synced")["ready"] >= 1
                and item(s, "clip", "synced")["ready"] >= 1
            ),
        )
        image = item(shown, "samples/image", "synced")
        newest = next(m for m in logged if m["key"] == "samples/image" and m["step"] == 2)
        resolve = f"{hub.url}/datasets/{dataset}/resolve/main/media/hubmedia/files/{newest['digest'][:2]}/"
        assert image["src"] == f"{resolve}{newest['digest']}.png" and (image["width"], image["height"]) == (24, 20)
        assert item(shown, "voice", "synced")["duration"] == pytest.approx(0.5, abs=0.01)
        assert item(shown, "clip", "synced")["width"] == 48
        assert item(shown, "clip", "synced")["duration"] == pytest.approx(1.0, abs=0.05)
        slide(page, ".media-panel[data-key='samples/image']", "Home")
        first = wait_for(page, lambda s: item(s, "samples/image", "synced")["height"] == 12)
        assert first["media"]["samples/image"]["step"] == 0
        screenshot(page, tmp_path / "space-media.png")

        page.click("#tabs button[data-tab=histograms]")
        weights = wait_for(page, lambda s: "weights" in s["histograms"])["histograms"]["weights"]
        assert weights["steps"] == 3 and weights["runs"]["synced"]["counts"] == counts("synced", 2)

        page.click("#tabs button[data-tab=reports]")
        reports = wait_for(page, lambda s: {"report", "figure", "rollout"} <= set(s["reports"]))
        assert "<h1>Step 2</h1>" in reports["reports"]["report"]["runs"]["synced"]["entries"][0]["html"]
        assert reports["reports"]["figure"]["runs"]["synced"]["entries"][0]["srcdoc"] == HTML.format(step=2)
        trace = reports["reports"]["rollout"]["runs"]["synced"]["entries"][0]["traces"][0]
        assert [m["role"] for m in trace["messages"]] == ["system", "user", "assistant"]
        assert trace["metadata"] == {"reward": 2.0, "env": "math"}
        assert reports["texts"] == {"note": {"synced": [{"step": s, "value": f"synced note {s}"} for s in (2, 1, 0)]}}

        page.click("#tabs button[data-tab=tables]")
        cells = wait_for(page, lambda s: len(s["tableImages"]) == 3 and all(i["width"] for i in s["tableImages"]))
        assert [(i["width"], i["height"]) for i in cells["tableImages"]] == [(14, 10), (6, 6), (4, 8)]
        screenshot(page, tmp_path / "space-table.png")
        assert state(page)["error"] is None
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "media-space.png").write_bytes((tmp_path / "space-media.png").read_bytes())


def test_a_private_datasets_media_are_read_with_the_visitors_sign_in(page, hub, tmp_path, clip):
    run = trackio.init(project="secretmedia", name="hidden", space_id="secret-media", private=True, auto_log_cpu=False)
    run.log({"samples/image": trackio.Image(pixels("a", 1), caption="private")}, step=0)
    run.finish()
    with SpaceHost(hub, "alice/secret-media") as host:
        page.goto(host.url)
        page.wait_for_selector("#error button", timeout=30_000)
        page.click("#error button")  # sign in (the emulator approves), back with a token for this tab
        page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        page.click("#tabs button[data-tab=media]")
        shown = wait_for(page, lambda s: "samples/image" in s["media"] and item(s, "samples/image", "hidden")["ready"])
        image = item(shown, "samples/image", "hidden")
        assert (image["width"], image["height"], image["caption"]) == (24, 16, "private")
        loaded = page.eval_on_selector(".media-panel img", "i => i.src")
        assert loaded.startswith("blob:")  # fetched with the token (an <img> cannot send one), shown from memory
    reads = [r for r in hub.requests() if r.endpoint == "resolve" and "/files/" in r.path]
    assert reads and {r.user for r in reads} == {"alice"}
