"""The per-chart tools and the parallel-coordinates view, in a real headless browser (Debian's Chromium).

Runs are logged with the real API into temporary folders and served by ``show`` (and, once, deployed as
a static Space read from the Hub emulator). Each chart's "⋯" menu: fullscreen (a big copy of the chart
with its legend; Escape closes it), PNG and SVG downloads (checked as files: the PNG's signature and
size, the SVG parsed as XML with one path per run in the run's colour and the y tick labels the page
drew), and a copied link that opens the same view with that chart in fullscreen. The Parallel tab: an
axis per differing config key and one for the chosen metric's last value, each run's polyline through
its own values; brushing an axis keeps only the runs in range. Screenshots go to ``.artifacts/``.
"""

from __future__ import annotations

import base64
import math
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from playwright.sync_api import Page

import trackio_callback as trackio
from tests.browser import ARTIFACTS, VIEWPORT, new_context, open_dashboard, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback.server.show import show

STEPS = 200
SVG = "{http://www.w3.org/2000/svg}"
CONFIGS = {  # four runs of a sweep: learning rate and optimizer vary, batch size is shared
    "lr-1e-5-adamw": {"learning_rate": 1e-5, "optimizer": "adamw", "batch_size": 8, "output_dir": "out/1"},
    "lr-1e-4-adamw": {"learning_rate": 1e-4, "optimizer": "adamw", "batch_size": 8, "output_dir": "out/2"},
    "lr-1e-3-sgd": {"learning_rate": 1e-3, "optimizer": "sgd", "batch_size": 8, "output_dir": "out/3"},
    "lr-3e-3-sgd": {"learning_rate": 3e-3, "optimizer": "sgd", "batch_size": 8, "output_dir": "out/4", "warmup": 10},
}


def train_loss(run: str, step: int) -> float:
    scale = 1 + list(CONFIGS).index(run) * 0.4
    return scale * math.exp(-step / 60) + 0.3 + 0.01 * (step % 5)


def eval_loss(run: str, step: int) -> float:
    return train_loss(run, step) + 0.05


def log_sweep(directory: Path | None = None, space_id: str | None = None) -> list[trackio.Run]:
    runs = []
    for name, config in CONFIGS.items():
        where = {"space_id": space_id, "private": False} if space_id else {"dir": directory}
        run = trackio.init(project="sweep", name=name, config=config, **where)
        for step in range(STEPS):
            learning_rate = config["learning_rate"] * (1 - step / STEPS)
            metrics = {"train/loss": train_loss(name, step), "train/learning_rate": learning_rate}
            if step % 40 == 39:
                metrics["eval/loss"] = eval_loss(name, step)
            run.log(metrics, step=step)
        runs.append(run)
    return runs


@pytest.fixture
def dashboard(tmp_path):
    directory = tmp_path / "runs"
    for run in log_sweep(directory):
        run.finish()
    with show(dir=directory, open_browser=False, block=False, port=0) as running:
        yield running


def open_menu(page: Page, key: str) -> None:
    page.hover(f".chart[data-key='{key}']")
    page.click(f".chart[data-key='{key}'] .chart-menu-button")
    page.wait_for_selector(f".chart[data-key='{key}'] .chart-menu:not([hidden])")


def download(page: Page, key: str, action: str) -> tuple[str, bytes]:
    open_menu(page, key)
    with page.expect_download() as event:
        page.click(f".chart[data-key='{key}'] .chart-menu-item[data-action={action}]")
    return event.value.suggested_filename, Path(event.value.path()).read_bytes()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def drawn_axis(page: Page, key: str, axis: int) -> dict:
    """The tick labels uPlot drew on the page's chart ``key`` (axis 0: x, 1: y), and the chart's size."""
    return page.evaluate(
        """([key, i]) => { const u = S.charts.get(key).u;
            return {labels: u.axes[i]._values, width: u.width, height: u.height}; }""",
        [key, axis],
    )


def svg_download(page: Page, key: str) -> ET.Element:
    name, data = download(page, key, "svg")
    assert name == f"sweep-{key.replace('/', '_')}.svg"
    return ET.fromstring(data)


def svg_paths(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{SVG}g[@class='series']/{SVG}path")


# -- the menu ---------------------------------------------------------------------------------------


def test_every_metric_chart_has_a_keyboard_menu_with_the_four_tools(page, dashboard):
    drawn = open_dashboard(page, dashboard.url)
    assert set(drawn["charts"]) == {"train/loss", "train/learning_rate", "eval/loss"}
    assert page.locator(".chart .chart-menu-button").count() == 3
    assert drawn["chartTools"] == {"fullscreen": None, "lastExport": None, "copied": None, "view": None}
    button = page.locator(".chart[data-key='train/loss'] .chart-menu-button")
    assert button.get_attribute("aria-haspopup") == "menu" and "train/loss" in button.get_attribute("title")
    button.focus()
    page.keyboard.press("Enter")
    items = page.locator(".chart[data-key='train/loss'] .chart-menu-item")
    assert items.all_text_contents() == ["Fullscreen", "Download PNG", "Download SVG", "Copy link"]
    assert all(items.nth(i).get_attribute("title") for i in range(4))
    assert page.evaluate("document.activeElement.dataset.action") == "fullscreen"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.action") == "png"
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.dataset.action") == "link"
    page.keyboard.press("Escape")
    assert page.locator(".chart[data-key='train/loss'] .chart-menu").is_hidden()
    assert page.evaluate("document.activeElement.classList.contains('chart-menu-button')")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # Fullscreen, the first item
    assert wait_for(page, lambda s: s["chartTools"]["fullscreen"] == "train/loss")
    page.keyboard.press("Escape")
    assert wait_for(page, lambda s: s["chartTools"]["fullscreen"] is None)
    assert page.evaluate("document.activeElement.closest('.chart').dataset.key") == "train/loss"  # back on its button


def test_fullscreen_shows_the_chart_big_with_every_run_and_closes_on_escape(page, dashboard):
    open_dashboard(page, dashboard.url)
    open_menu(page, "eval/loss")
    page.click(".chart[data-key='eval/loss'] .chart-menu-item[data-action=fullscreen]")
    page.wait_for_selector(".chart-fullscreen[data-key='eval/loss'] canvas")
    assert state(page)["chartTools"]["fullscreen"] == "eval/loss"
    assert page.text_content(".chart-fullscreen-title") == "eval/loss"
    legend = page.eval_on_selector_all(
        ".chart-fullscreen-legend .legend-item",
        "els => els.map(e => [e.dataset.run, e.textContent, getComputedStyle(e.firstChild).backgroundColor])",
    )
    assert sorted([run, text] for run, text, _ in legend) == sorted([name, name] for name in CONFIGS)
    colors = state(page)["colors"]
    swatches = [(run, rgb) for run, _, rgb in legend]
    for run, rgb in swatches:
        hex_color = colors[run]
        assert rgb == "rgb({}, {}, {})".format(*(int(hex_color[i : i + 2], 16) for i in (1, 3, 5)))
    view = state(page)["chartTools"]["view"]
    small = drawn_axis(page, "eval/loss", 1)
    assert view["width"] > 2 * small["width"] and view["height"] > 2.5 * small["height"]
    assert view["width"] > 1200 and view["height"] > 600  # near the whole 1400x900 window
    assert sorted(view["series"]) == sorted(CONFIGS) and view["points"] == STEPS // 40
    canvas = page.eval_on_selector(".chart-fullscreen canvas", "c => [c.clientWidth, c.clientHeight]")
    assert canvas == [view["width"], view["height"]]

    # Hovering the big chart shows every run's value at that step, above the overlay.
    box = page.locator(".chart-fullscreen .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 3, box["y"] + box["height"] / 2)
    page.wait_for_selector("#tooltip:not([hidden])")
    rows = page.eval_on_selector_all("#tooltip .tip-row", "rows => rows.map(r => r.dataset.run)")
    assert sorted(rows) == sorted(CONFIGS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "test_fullscreen_open.png"))
    page.keyboard.press("Escape")
    wait_for(page, lambda s: s["chartTools"]["fullscreen"] is None)
    assert page.locator(".chart-fullscreen").count() == 0
    assert drawn_axis(page, "eval/loss", 1) == small  # the page's chart is untouched

    # The close button closes it too; the page's own record of its ticks is untouched by the big copy.
    before = state(page)["charts"]["train/loss"]
    page.evaluate("openFullscreen('train/loss')")
    page.wait_for_selector(".chart-fullscreen[data-key='train/loss'] canvas")
    page.click(".chart-fullscreen-close")
    after = wait_for(page, lambda s: s["chartTools"]["fullscreen"] is None)
    assert after["charts"]["train/loss"] == before


def test_png_download_is_the_drawn_chart_at_the_device_pixel_ratio(browser, dashboard):
    context = new_context(browser, scale=2)
    page = context.new_page()
    try:
        open_dashboard(page, dashboard.url)
        name, data = download(page, "train/loss", "png")
        assert name == "sweep-train_loss.png"
        width, height = png_size(data)
        drawn = drawn_axis(page, "train/loss", 1)
        assert width == 2 * (drawn["width"] + 24)  # the chart and a 12 px margin each side, at 2x
        assert height > 2 * (drawn["height"] + 24 + 24)  # plus the title band and the legend
        assert len(data) > 10_000
        export = state(page)["chartTools"]["lastExport"]
        assert export == {"key": "train/loss", "format": "png", "name": name, "bytes": len(data)}
        # The image holds the drawn lines: pixels of each run's colour (decoded by the browser itself).
        colors = state(page)["colors"]
        found = page.evaluate(
            """async ([bytes, colors]) => {
                const blob = new Blob([new Uint8Array(bytes)], {type: 'image/png'});
                const image = await createImageBitmap(blob);
                const canvas = new OffscreenCanvas(image.width, image.height);
                const ctx = canvas.getContext('2d');
                ctx.drawImage(image, 0, 0);
                const pixels = ctx.getImageData(0, 0, image.width, image.height).data;
                const seen = {};
                for (const [run, hex] of Object.entries(colors)) {
                    const n = parseInt(hex.slice(1), 16), want = [n >> 16, (n >> 8) & 255, n & 255];
                    let count = 0;
                    const near = (i) => [0, 1, 2].every((c) => Math.abs(pixels[i + c] - want[c]) < 8);
                    for (let i = 0; i < pixels.length; i += 4) if (near(i)) count++;
                    seen[run] = count;
                }
                const corner = Array.from(pixels.slice(0, 4));
                return {seen, corner};
            }""",
            [list(data), colors],
        )
        assert found["corner"] == [255, 255, 255, 255]  # an opaque white background
        for run in CONFIGS:
            assert found["seen"][run] > 200, (run, found["seen"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "test_png_download.png").write_bytes(data)
    finally:
        context.close()


def test_svg_download_is_a_vector_chart_with_the_drawn_ticks_and_a_path_per_run(page, dashboard):
    drawn_state = open_dashboard(page, dashboard.url)
    for key in ("train/learning_rate", "train/loss"):
        name, data = download(page, key, "svg")
        assert name == f"sweep-{key.replace('/', '_')}.svg"
        root = ET.fromstring(data)  # well-formed XML
        assert root.tag == f"{SVG}svg"
        paths = root.findall(f".//{SVG}g[@class='series']/{SVG}path")
        assert sorted(p.get("data-series") for p in paths) == sorted(CONFIGS)
        colors = drawn_state["colors"]
        for path in paths:
            assert path.get("stroke") == colors[path.get("data-series")]
            points = path.get("d").count("L") + 1
            assert points == STEPS if key.startswith("train") else points == STEPS // 40
        y_labels = [t.text for t in root.findall(f".//{SVG}g[@data-axis='1']/{SVG}text")]
        x_labels = [t.text for t in root.findall(f".//{SVG}g[@data-axis='0']/{SVG}text")]
        assert y_labels == [v for v in drawn_axis(page, key, 1)["labels"] if v is not None]
        assert x_labels == [v for v in drawn_axis(page, key, 0)["labels"] if v is not None]
        assert len(y_labels) >= 3 and len(set(y_labels)) == len(y_labels)
        legend = [t.text for t in root.findall(f".//{SVG}g[@class='legend']//{SVG}text")]
        assert sorted(legend) == sorted(CONFIGS)
        titles = [t.text for t in root.findall(f"{SVG}text[@class='chart-title']")]
        assert titles == [key]
        export = state(page)["chartTools"]["lastExport"]
        assert export == {"key": key, "format": "svg", "name": name, "bytes": len(data)}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "test_svg_download.svg").write_bytes(data)
    # The SVG draws as an image (what a person opening the file sees).
    page.set_content(f'<img id="svg" src="data:image/svg+xml;base64,{base64.b64encode(data).decode()}">')
    page.wait_for_function("document.getElementById('svg').complete")
    size = page.evaluate("[document.getElementById('svg').naturalWidth, document.getElementById('svg').naturalHeight]")
    assert size == [int(root.get("width")), int(root.get("height"))]


def test_svg_download_of_smoothed_lines_and_of_group_bands(page, dashboard):
    """Smoothing draws each run twice (faint raw, smoothed); grouping by a config key draws a mean line
    and a min/max band per group: the SVG has the same series, and the bands as filled areas."""
    open_dashboard(page, f"{dashboard.url}?project=sweep&smoothing=0.6")
    paths = svg_paths(svg_download(page, "train/loss"))
    labels = sorted(p.get("data-series") for p in paths)
    assert labels == sorted([*CONFIGS, *(f"{run} (raw)" for run in CONFIGS)])
    colors = state(page)["colors"]
    for path in paths:
        run = path.get("data-series").removesuffix(" (raw)")
        if path.get("data-series").endswith("(raw)"):
            assert path.get("stroke").startswith("rgba(")  # the faint copy
        else:
            assert path.get("stroke") == colors[run]

    drawn = open_dashboard(page, f"{dashboard.url}?project=sweep&group_by=optimizer")
    root = svg_download(page, "train/loss")
    legend = sorted(t.text for t in root.findall(f".//{SVG}g[@class='legend']//{SVG}text"))
    assert legend == sorted(drawn["charts"]["train/loss"]["legend"]) and len(legend) == 2
    bands = root.findall(f".//{SVG}g[@class='bands']/{SVG}path")
    assert len(bands) == 2 and all(b.get("d").endswith("Z") and b.get("fill").startswith("rgba(") for b in bands)
    assert len(svg_paths(root)) == 6  # per group: the mean, the max and the min


def test_fullscreen_follows_a_run_that_is_still_logging(page, tmp_path):
    run = trackio.init(project="live", name="training", dir=tmp_path)
    for step in range(10):
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)
    run.flush()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.evaluate("openFullscreen('train/loss')")
        assert wait_for(page, lambda s: s["chartTools"]["view"] is not None)["chartTools"]["view"]["points"] == 10
        for step in range(10, 40):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        run.flush()
        grown = wait_for(page, lambda s: s["chartTools"]["view"]["points"] == 40)
        assert (
            grown["chartTools"]["fullscreen"] == "train/loss"
            and grown["charts"]["train/loss"]["points"]["training"] == 40
        )
        run.finish()


def test_a_copied_chart_link_opens_the_same_view_with_that_chart_fullscreen(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.uncheck("input.run-toggle[data-run='lr-1e-3-sgd']")
    wait_for(page, lambda s: len(s["visibleRuns"]) == 3)
    open_menu(page, "train/loss")
    item = page.locator(".chart[data-key='train/loss'] .chart-menu-item[data-action=link]")
    item.click()
    copied = wait_for(page, lambda s: s["chartTools"]["copied"])["chartTools"]["copied"]
    assert page.evaluate("navigator.clipboard.readText()") == copied  # really on the clipboard
    assert "copied" in item.text_content().lower()
    assert copied.startswith(dashboard.url.rstrip("/")) and "chart=train%2Floss" in copied
    assert "project=sweep" in copied

    other = page.context.new_page()
    other.goto(copied)
    other.wait_for_selector("body[data-state=ready]", timeout=30_000)
    opened = wait_for(other, lambda s: s["chartTools"]["fullscreen"] == "train/loss")
    assert opened["project"] == "sweep"
    legend = other.eval_on_selector_all(".chart-fullscreen-legend .legend-item", "els => els.map(e => e.dataset.run)")
    assert sorted(legend) == sorted(set(CONFIGS) - {"lr-1e-3-sgd"})  # the hidden run stays hidden
    assert sorted(opened["chartTools"]["view"]["series"]) == sorted(legend)
    other.screenshot(path=str(ARTIFACTS / "test_copied_link_opened.png"))
    other.close()


def test_copy_link_falls_back_without_clipboard_permission(browser, dashboard):
    context = browser.new_context(viewport=VIEWPORT)  # no clipboard permission
    page = context.new_page()
    try:
        open_dashboard(page, dashboard.url)
        page.evaluate(
            """() => {
                const denied = () => Promise.reject(new Error('denied'));
                Object.defineProperty(navigator, 'clipboard', {value: {writeText: denied}});
                window.__copies = [];
                document.addEventListener('copy', () => window.__copies.push(document.getSelection().toString()));
            }"""
        )
        open_menu(page, "eval/loss")
        page.click(".chart[data-key='eval/loss'] .chart-menu-item[data-action=link]")
        copied = wait_for(page, lambda s: s["chartTools"]["copied"])["chartTools"]["copied"]
        assert "chart=eval%2Floss" in copied
        assert page.evaluate("window.__copies") == [copied]  # the textarea route copied the link
    finally:
        context.close()


# -- parallel coordinates ------------------------------------------------------------------------------


def test_parallel_view_has_an_axis_per_differing_key_and_each_run_s_values(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.click("#tabs button[data-tab=parallel]")
    page.wait_for_selector(".parallel-plot .parallel-line")
    view = state(page)["parallel"]
    assert view["metric"] == "train/loss"  # the default when logged
    axes = {a["key"]: a for a in view["axes"]}
    assert list(axes) == ["learning_rate", "warmup", "optimizer", "output_dir", "train/loss"]  # numbers, shared, unique
    assert "batch_size" not in axes  # the same in every run
    assert axes["learning_rate"]["kind"] == "numeric" and axes["learning_rate"]["scale"] == "log"  # 1e-5 .. 3e-3
    assert axes["optimizer"]["kind"] == "categorical" and axes["optimizer"]["ticks"] == ["adamw", "sgd"]
    assert axes["train/loss"]["kind"] == "numeric" and axes["train/loss"]["metric"] is True
    for run, config in CONFIGS.items():
        assert view["lines"][run] == [
            config["learning_rate"], config.get("warmup"), config["optimizer"], config["output_dir"],
            train_loss(run, STEPS - 1),
        ]  # fmt: skip
    assert sorted(view["selected"]) == sorted(CONFIGS)
    colors = state(page)["colors"]
    strokes = page.eval_on_selector_all(
        ".parallel-line", "ls => ls.map(l => [l.dataset.run, l.getAttribute('stroke')])"
    )
    assert dict(strokes) == colors
    legend = page.eval_on_selector_all(".parallel-legend .legend-item", "items => items.map(i => i.dataset.run)")
    assert sorted(legend) == sorted(CONFIGS)
    # Each line passes through its run's place on every axis: the y of the "optimizer" axis is the category's.
    ys = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.parallel-line')].map(l =>
             [l.dataset.run, l.getAttribute('points').split(' ').map(p => +p.split(',')[1])]))"""
    )
    assert ys["lr-1e-5-adamw"][2] == ys["lr-1e-4-adamw"][2] != ys["lr-1e-3-sgd"][2] == ys["lr-3e-3-sgd"][2]
    assert ys["lr-1e-5-adamw"][0] > ys["lr-1e-4-adamw"][0] > ys["lr-1e-3-sgd"][0] > ys["lr-3e-3-sgd"][0]  # up = larger
    assert ys["lr-1e-5-adamw"][1] == ys["lr-1e-4-adamw"][1] > ys["lr-3e-3-sgd"][1]  # missing: below the axis

    # Hover names the run and its values.
    page.hover(".parallel-hit[data-run='lr-1e-3-sgd']", position=_point_on(page, "lr-1e-3-sgd"))
    page.wait_for_selector("#tooltip:not([hidden])")
    tip = page.text_content("#tooltip")
    assert "lr-1e-3-sgd" in tip and "optimizer: sgd" in tip and "warmup: missing" in tip

    # The metric selector: eval/loss's last value becomes the last axis.
    page.select_option(".parallel-metric", "eval/loss")
    view = wait_for(page, lambda s: s["parallel"]["metric"] == "eval/loss")["parallel"]
    assert view["axes"][-1]["key"] == "eval/loss"
    for run in CONFIGS:
        assert view["lines"][run][-1] == eval_loss(run, STEPS - 1)
    page.mouse.move(5, 5)


def _point_on(page: Page, run: str) -> dict:
    """A point on the run's polyline, relative to the polyline's box (the middle of its first segment)."""
    return page.evaluate(
        """(run) => { const l = document.querySelector(`.parallel-hit[data-run='${run}']`);
            const box = l.getBBox(), p = l.getAttribute('points').split(' ').map(s => s.split(',').map(Number));
            return {x: (p[0][0] + p[1][0]) / 2 - box.x, y: (p[0][1] + p[1][1]) / 2 - box.y}; }""",
        run,
    )


def test_brushing_an_axis_keeps_only_the_runs_in_range(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.click("#tabs button[data-tab=parallel]")
    page.wait_for_selector(".parallel-plot .parallel-line")
    grip = page.locator(".parallel-axis[data-key='optimizer'] .parallel-grip").bounding_box()
    ys = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.parallel-line')].map(l =>
             [l.dataset.run, +l.getAttribute('points').split(' ')[2].split(',')[1]]))"""
    )
    top = page.locator(".parallel-plot").bounding_box()["y"]
    x = grip["x"] + grip["width"] / 2
    sgd = top + ys["lr-1e-3-sgd"]
    page.mouse.move(x, sgd - 10)
    page.mouse.down()
    page.mouse.move(x, sgd + 15, steps=4)
    page.mouse.up()
    view = wait_for(page, lambda s: s["parallel"]["brushes"])["parallel"]
    assert view["brushes"] == {"optimizer": ["sgd"]}
    assert sorted(view["selected"]) == ["lr-1e-3-sgd", "lr-3e-3-sgd"]
    dimmed = page.eval_on_selector_all(".parallel-line.dimmed", "ls => ls.map(l => l.dataset.run)")
    assert sorted(dimmed) == ["lr-1e-4-adamw", "lr-1e-5-adamw"]

    # A second brush on the numeric learning-rate axis: only 3e-3 stays.
    lr_grip = page.locator(".parallel-axis[data-key='learning_rate'] .parallel-grip").bounding_box()
    lr_y = page.evaluate(
        """() => +document.querySelector(".parallel-line[data-run='lr-3e-3-sgd']")
            .getAttribute('points').split(' ')[0].split(',')[1]"""
    )
    x = lr_grip["x"] + lr_grip["width"] / 2
    page.mouse.move(x, top + lr_y - 10)
    page.mouse.down()
    page.mouse.move(x, top + lr_y + 10, steps=4)
    page.mouse.up()
    view = wait_for(page, lambda s: "learning_rate" in s["parallel"]["brushes"])["parallel"]
    low, high = view["brushes"]["learning_rate"]
    assert low < 3e-3 < high and low > 1e-3
    assert view["selected"] == ["lr-3e-3-sgd"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "test_parallel_brushed.png"), full_page=True)
    # The view downloads as an SVG file: every run's line, the filtered ones grey, and the legend.
    with page.expect_download() as event:
        page.click(".parallel-download")
    assert event.value.suggested_filename == "sweep-parallel.svg"
    root = ET.fromstring(Path(event.value.path()).read_bytes())
    lines = {line.get("data-run"): line.get("stroke") for line in root.iter(f"{SVG}polyline")}
    colors = state(page)["colors"]
    assert lines == {run: colors[run] if run == "lr-3e-3-sgd" else "#d1d5db" for run in CONFIGS}
    assert sorted(t.text for t in root.findall(f".//{SVG}g[@class='legend']//{SVG}text")) == sorted(CONFIGS)
    titles = [t.findtext(f"{SVG}tspan") for t in root.iter(f"{SVG}text") if t.get("class") == "axis-title"]
    assert titles == ["learning_rate", "warmup", "optimizer", "output_dir", "train/loss"]
    assert state(page)["chartTools"]["lastExport"]["key"] == "parallel"

    # A click on the axis clears its brush; "Clear filters" clears the rest.
    page.mouse.click(x, top + lr_y + 40)
    view = wait_for(page, lambda s: "learning_rate" not in s["parallel"]["brushes"])["parallel"]
    assert sorted(view["selected"]) == ["lr-1e-3-sgd", "lr-3e-3-sgd"]
    page.click(".parallel-clear")
    view = wait_for(page, lambda s: not s["parallel"]["brushes"])["parallel"]
    assert sorted(view["selected"]) == sorted(CONFIGS)


def test_parallel_axes_are_chosen_among_many_differing_keys(page, tmp_path):
    """A Trainer-sized config (hundreds of keys, tens differing): at most 12 axes, chosen in a list."""
    shared = {f"shared_{i:03d}": i for i in range(300)}
    for n in range(3):
        config = {**shared, **{f"knob_{i:02d}": n * 10 + i for i in range(20)}, "model": ["tiny", "small", "tiny"][n]}
        run = trackio.init(project="wide", name=f"run{n}", config=config, dir=tmp_path)
        run.log({"eval/loss": 1.0 / (n + 1)}, step=0)
        run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=parallel]")
        page.wait_for_selector(".parallel-plot .parallel-line")
        view = state(page)["parallel"]
        assert view["metric"] == "eval/loss"  # no train/loss: eval/loss
        assert len(view["differing"]) == 21 and not any(k.startswith("shared_") for k in view["differing"])
        keys = [a["key"] for a in view["axes"]]
        assert keys == [f"knob_{i:02d}" for i in range(12)] + ["eval/loss"]
        page.click(".parallel-axes-chooser summary")
        assert page.locator(".parallel-axis-option").count() == 21
        assert page.locator(".parallel-axis-option input:disabled").count() == 9  # 12 chosen: the rest wait
        page.uncheck(".parallel-axis-option[data-key='knob_00'] input")
        page.check(".parallel-axis-option[data-key='model'] input")
        view = wait_for(page, lambda s: "model" in [a["key"] for a in s["parallel"]["axes"]])["parallel"]
        keys = [a["key"] for a in view["axes"]]
        assert "knob_00" not in keys and len(keys) == 13
        assert view["lines"]["run1"][keys.index("model")] == "small"
        assert view["lines"]["run2"][keys.index("knob_05")] == 25
        page.fill(".parallel-axes-filter", "mod")
        assert page.locator(".parallel-axis-option:visible").count() == 1


def test_parallel_view_explains_when_there_is_nothing_to_compare(page, tmp_path):
    for name in ("one", "two"):
        run = trackio.init(project="same", name=name, config={"lr": 0.1}, dir=tmp_path)
        run.log({"train/loss": 1.0}, step=0)
        run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=parallel]")
        page.wait_for_selector(".parallel-empty")
        assert "same config" in page.text_content(".parallel-empty")
        assert state(page)["parallel"]["axes"] == []
        page.uncheck("input.run-toggle[data-run=one]")
        wait_for(page, lambda s: "at least 2 runs" in (s["parallel"]["message"] or ""))


# -- the static Space ------------------------------------------------------------------------------------


def test_the_static_space_has_the_chart_tools_and_the_parallel_view(page, hub):
    runs = log_sweep(space_id="toolsboard")
    for run in runs:
        run.finish()
    assert runs[-1]._uploader is not None
    with SpaceHost(hub, "alice/toolsboard") as host:
        drawn = open_dashboard(page, host.url)
        assert drawn["mode"] == "hub" and sorted(drawn["charts"]["train/loss"]["runs"]) == sorted(CONFIGS)
        name, data = download(page, "train/loss", "svg")
        paths = ET.fromstring(data).findall(f".//{SVG}g[@class='series']/{SVG}path")
        assert name == "sweep-train_loss.svg" and len(paths) == 4
        open_menu(page, "train/loss")
        page.click(".chart[data-key='train/loss'] .chart-menu-item[data-action=fullscreen]")
        wait_for(page, lambda s: s["chartTools"]["fullscreen"] == "train/loss")
        page.keyboard.press("Escape")
        page.click("#tabs button[data-tab=parallel]")
        page.wait_for_selector(".parallel-plot .parallel-line")
        view = state(page)["parallel"]
        assert [a["key"] for a in view["axes"]] == ["learning_rate", "warmup", "optimizer", "output_dir", "train/loss"]
        for run, config in CONFIGS.items():
            assert view["lines"][run][0] == config["learning_rate"]
            assert view["lines"][run][-1] == train_loss(run, STEPS - 1)
