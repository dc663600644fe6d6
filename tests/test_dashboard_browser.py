"""The dashboard in a real headless browser (Debian's Chromium driven by Playwright), on real data.

Two hosts of the same page: the local server (``show``) over SQLite files, and the static Space the
package deploys, served from its own origin and reading the dataset from the Hub emulator over
CORS (with the visitor's OAuth sign-in for a private dataset). The page describes what it drew
through ``window.trackioDashboard.state()``; the tests compare that with the logged values.
Screenshots go to ``$TRACKIO_TEST_ARTIFACTS`` (default ``.artifacts/``, not committed).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import trackio_callback as trackio
from tests.browser import open_dashboard, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback.core.table import Table
from trackio_callback.server.show import show

STEPS = 300


def loss(run: str, step: int) -> float:
    return {"a": 2.0, "b": 3.0, "c": 2.5}[run] * math.exp(-step / 100) + 0.01 * (step % 7)


def debiased_ema(values: list[float], weight: float) -> list[float]:
    out, last = [], 0.0
    for n, value in enumerate(values, 1):
        last = last * weight + (1 - weight) * value
        out.append(last / (1 - weight**n))
    return out


@pytest.fixture
def project(tmp_path) -> Path:
    """Project "exp": runs a, b (group base) and c (group sweep); system samples, a table and an alert."""
    directory = tmp_path / "runs"
    configs = {
        "a": {"lr": 1e-3, "batch": 8},
        "b": {"lr": 2e-3, "batch": 8},
        "c": {"lr": 1e-3, "batch": 8, "warmup": 10},
    }
    for name, group in (("a", "base"), ("b", "base"), ("c", "sweep")):
        run = trackio.init(project="exp", name=name, group=group, config=configs[name], dir=directory)
        for step in range(STEPS):
            metrics = {"train/loss": loss(name, step), "train/learning_rate": 1e-3 * (1 - step / STEPS)}
            if step % 50 == 49:
                metrics["eval/accuracy"] = 0.5 + step / 1000
            run.log(metrics, step=step)
        if name == "a":
            for i in range(5):
                run.log_system({"system/gpu.0.utilization": 50.0 + i, "system/gpu.0.memory_allocated": 10.0 * i})
        if name == "b":
            run.log({"completions": Table(columns=["prompt", "completion"], data=[["2+2=", "4"], ["1+1=", "2"]])})
        if name == "c":
            run.record_health_alert("loss_spike", "train/loss jumped", step=120, value=9.5)
        run.finish()
    return directory


@pytest.fixture
def dashboard(project):
    with show(dir=project, open_browser=False, block=False, port=0) as running:
        yield running


def test_every_metric_of_every_run_is_drawn_with_its_values(page, dashboard):
    drawn = open_dashboard(page, dashboard.url)
    assert drawn["mode"] == "server" and drawn["project"] == "exp"
    assert set(drawn["charts"]) == {"train/loss", "train/learning_rate", "eval/accuracy"}
    assert drawn["groups"] == {"base": ["b", "a"], "sweep": ["c"]}  # newest first
    assert len(set(drawn["colors"].values())) == 3
    chart = drawn["charts"]["train/loss"]
    assert sorted(chart["runs"]) == ["a", "b", "c"] and chart["section"] == "train"
    for name in "abc":
        assert chart["points"][name] == STEPS
        assert chart["last"][name] == loss(name, STEPS - 1)
        assert chart["x"][name] == [0, STEPS - 1]
    accuracy = drawn["charts"]["eval/accuracy"]
    assert accuracy["points"] == {"a": 6, "b": 6, "c": 6} and accuracy["section"] == "eval"
    assert accuracy["last"]["a"] == pytest.approx(0.5 + 299 / 1000)
    sections = page.eval_on_selector_all("details.section", "els => els.map(e => e.dataset.section)")
    assert sections == ["train", "eval"]
    assert page.locator(".chart canvas").count() == 3


def test_run_and_metric_filters_and_visibility(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.fill("#run-filter", "^(a|c)$")
    shown = wait_for(page, lambda s: s["shownRuns"] == ["c", "a"])
    assert sorted(shown["charts"]["train/loss"]["runs"]) == ["a", "c"]
    page.fill("#run-filter", "")
    wait_for(page, lambda s: len(s["shownRuns"]) == 3)

    page.fill("#metric-filter", "^eval/")
    filtered = wait_for(page, lambda s: set(s["charts"]) == {"eval/accuracy"})
    assert sorted(filtered["charts"]["eval/accuracy"]["runs"]) == ["a", "b", "c"]
    page.fill("#metric-filter", "")
    wait_for(page, lambda s: len(s["charts"]) == 3)

    page.uncheck("input.run-toggle[data-run=b]")
    hidden = wait_for(page, lambda s: s["visibleRuns"] == ["c", "a"])
    assert sorted(hidden["charts"]["train/loss"]["runs"]) == ["a", "c"]
    page.click("input.group-toggle[data-group=base]")  # partly hidden: the group's box shows them all
    wait_for(page, lambda s: s["visibleRuns"] == ["c", "b", "a"])
    page.click("input.group-toggle[data-group=base]")  # and hides them all
    only_c = wait_for(page, lambda s: s["visibleRuns"] == ["c"])
    assert only_c["charts"]["train/loss"]["runs"] == ["c"]

    page.fill("#run-limit", "1")
    page.dispatch_event("#run-limit", "change")
    latest = wait_for(page, lambda s: s["shownRuns"] == ["c"])
    assert latest["groups"] == {"sweep": ["c"]}


def test_smoothing_is_a_debiased_ema_drawn_over_the_faint_raw_line(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.eval_on_selector("#smoothing", "el => { el.value = '0.9'; el.dispatchEvent(new Event('input')); }")
    smoothed = wait_for(page, lambda s: s["smoothing"] == 0.9 and s["charts"]["train/loss"]["series"] == 6)
    chart = smoothed["charts"]["train/loss"]
    for name in "abc":
        expected = debiased_ema([loss(name, step) for step in range(STEPS)], 0.9)
        assert chart["firstSmoothed"][name] == pytest.approx(loss(name, 0))  # debiased: no pull towards 0
        assert chart["lastSmoothed"][name] == pytest.approx(expected[-1], rel=1e-12)
        assert chart["last"][name] == loss(name, STEPS - 1)  # the raw line is still drawn
    assert "smoothing=0.9" in page.url  # the view survives a reload
    page.reload()
    page.wait_for_selector("body[data-state=ready]")
    assert state(page)["smoothing"] == 0.9


def test_x_axis_step_wall_and_relative_time_and_log_scale(page, dashboard, project):
    open_dashboard(page, dashboard.url)
    reader = trackio.Reader(project)
    times = reader.series("exp", "a", "train/loss").timestamps
    created = reader.run("exp", "a")["created_at"]

    page.select_option("#x-axis", "wall")
    wall = wait_for(page, lambda s: s["xAxis"] == "wall")["charts"]["train/loss"]
    assert wall["xTime"] is True
    assert wall["x"]["a"] == [pytest.approx(times[0]), pytest.approx(times[-1])]

    page.select_option("#x-axis", "relative")
    relative = wait_for(page, lambda s: s["xAxis"] == "relative")["charts"]["train/loss"]
    assert relative["xTime"] is False
    assert relative["x"]["a"] == [pytest.approx(times[0] - created), pytest.approx(times[-1] - created)]
    assert 0 <= relative["x"]["a"][0] < 5

    page.check("#log-y")
    logged = wait_for(page, lambda s: s["logY"])["charts"]["train/loss"]
    assert logged["yDistr"] == 3
    page.select_option("#x-axis", "step")
    assert wait_for(page, lambda s: s["xAxis"] == "step")["charts"]["train/loss"]["x"]["a"] == [0, STEPS - 1]


def test_hover_shows_the_value_of_every_visible_run(page, dashboard):
    open_dashboard(page, dashboard.url)
    box = page.locator(".chart[data-key='train/loss'] .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] - 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#tooltip:not([hidden])")
    rows = page.eval_on_selector_all("#tooltip .tip-row", "rows => rows.map(r => [r.dataset.run, r.textContent])")
    assert sorted(run for run, _ in rows) == ["a", "b", "c"]
    title = page.text_content("#tooltip .tip-title")
    step = int(title.split("step ")[1].replace(",", ""))
    for run, text in rows:
        assert text.endswith(str(+float(f"{loss(run, step):.6g}")))


def test_a_spike_survives_downsampling_of_a_long_run(page, tmp_path):
    run = trackio.init(project="long", name="spiky", dir=tmp_path)
    for step in range(50_000):
        run.log({"train/loss": 1.0 if step != 31_337 else 1e6}, step=step)
    run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        chart = open_dashboard(page, running.url)["charts"]["train/loss"]
        assert chart["points"]["spiky"] <= 1000
        assert chart["max"]["spiky"] == 1e6
        assert chart["x"]["spiky"] == [0, 49_999]

        # Dragging over a narrow range fetches it again at full resolution: every step is there.
        box = page.locator(".chart[data-key='train/loss'] .u-over").bounding_box()
        y = box["y"] + box["height"] / 2
        page.mouse.move(box["x"] + box["width"] * 0.40, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.41, y, steps=5)
        page.mouse.up()
        zoomed = wait_for(page, lambda s: s["charts"]["train/loss"]["zoom"] is not None)["charts"]["train/loss"]
        low, high = zoomed["zoom"]
        assert 19_000 < low < high < 21_500
        assert zoomed["x"]["spiky"] == [max(low, 0), high]
        assert zoomed["points"]["spiky"] == high - low + 1
        page.dblclick(".chart[data-key='train/loss'] .u-over")
        reset = wait_for(page, lambda s: s["charts"]["train/loss"]["zoom"] is None)["charts"]["train/loss"]
        assert reset["x"]["spiky"] == [0, 49_999]


def test_a_run_that_is_still_logging_updates_live(page, tmp_path):
    run = trackio.init(project="live", name="training", dir=tmp_path)
    for step in range(10):
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)
    run.flush()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        first = open_dashboard(page, running.url)
        assert first["charts"]["train/loss"]["points"]["training"] == 10
        for step in range(10, 50):
            run.log({"train/loss": 1.0 / (step + 1), "train/new_metric": float(step)}, step=step)
        run.flush()
        grown = wait_for(page, lambda s: s["charts"]["train/loss"]["points"]["training"] == 50)
        assert grown["charts"]["train/loss"]["last"]["training"] == 1.0 / 50
        new = wait_for(page, lambda s: "train/new_metric" in s["charts"])["charts"]["train/new_metric"]
        assert new["points"]["training"] == 40 and new["last"]["training"] == 49.0
        # Polls carry only what is new: 40 calls of 2 metrics fit in a few kB, never the whole history.
        assert 0 < max(grown["pollBytes"]) < 8_000
        run.finish()
        wait_for(page, lambda s: page.text_content("label.run[data-run=training] .status") == "finished", timeout=30)


def test_runs_table_config_diff_tables_alerts_and_system_tabs(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.click("#tabs button[data-tab=runs]")
    page.wait_for_selector(".runs-table")
    headers = page.eval_on_selector_all(".runs-table th", "ths => ths.map(t => t.textContent)")
    assert {"config.lr", "config.batch", "config.warmup", "last step", "train/loss"} <= set(headers)
    rows = page.eval_on_selector_all(".runs-table tbody tr", "trs => trs.map(t => t.dataset.run)")
    assert rows == ["c", "b", "a"]
    page.check("#diff-only")
    headers = page.eval_on_selector_all(".runs-table th", "ths => ths.map(t => t.textContent)")
    assert "config.lr" in headers and "config.warmup" in headers and "config.batch" not in headers
    column = headers.index("train/loss") + 1
    last_loss = page.text_content(f".runs-table tr[data-run=a] td:nth-child({column})")
    assert float(last_loss) == pytest.approx(loss("a", STEPS - 1), rel=1e-5)

    page.click("#tabs button[data-tab=tables]")
    page.wait_for_selector(".data-table[data-key=completions]")
    cells = page.eval_on_selector_all(".data-table tbody td", "tds => tds.map(t => t.textContent)")
    assert cells == ["2+2=", "4", "1+1=", "2"]

    page.click("#tabs button[data-tab=alerts]")
    page.wait_for_selector(".alerts tbody tr")
    alert = page.eval_on_selector_all(".alerts tbody tr td", "tds => tds.map(t => t.textContent)")
    assert alert[0] == "c" and alert[2:] == ["120", "warn", "loss_spike", "train/loss jumped", "9.5"]

    page.click("#tabs button[data-tab=system]")
    system = wait_for(page, lambda s: len(s["systemCharts"]) == 2)["systemCharts"]
    assert system["system/gpu.0.utilization"] == {"lines": ["a"], "points": [5]}


def test_downloads_give_the_full_series(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.hover(".chart[data-key='train/loss']")
    link = page.locator(".chart[data-key='train/loss'] .downloads a", has_text="CSV a")
    with page.expect_download() as download:
        link.click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "step,timestamp,value" and len(lines) == STEPS + 1
    assert float(lines[-1].split(",")[2]) == loss("a", STEPS - 1)


# -- the static Space, reading the dataset from the Hub emulator ---------------------------------------


def _synced_run(space: str, name: str, private: bool, steps: int) -> trackio.Run:
    run = trackio.init(project="hubexp", name=name, space_id=space, private=private, config={"lr": 0.1})
    for step in range(steps):
        run.log({"train/loss": loss("a", step), "eval/score": float(step)}, step=step)
    return run


def test_static_space_reads_the_dataset_and_follows_new_syncs(page, hub):
    run = _synced_run("board", "hubrun", private=False, steps=120)
    run.flush()
    run._uploader.sync()
    assert run._uploader.deploy_space()
    files = hub.repo_files("alice/board", repo_type="space")
    assert {"index.html", "config.json", "README.md", "static/app.js", "static/vendor/hyparquet.min.js"} <= set(files)
    with SpaceHost(hub, "alice/board") as host:
        drawn = open_dashboard(page, host.url)
        assert drawn["mode"] == "hub" and drawn["project"] == "hubexp"
        chart = drawn["charts"]["train/loss"]
        assert chart["runs"] == ["hubrun"] and chart["points"]["hubrun"] == 120
        assert chart["last"]["hubrun"] == loss("a", 119)
        assert drawn["charts"]["eval/score"]["x"]["hubrun"] == [0, 119]
        assert drawn["cursors"]["hubrun"] == 119

        for step in range(120, 200):
            run.log({"train/loss": loss("a", step), "eval/score": float(step)}, step=step)
        run.flush()
        run._uploader.sync()
        page.evaluate("window.trackioDashboard.pollNow()")
        grown = wait_for(page, lambda s: s["charts"]["train/loss"]["points"]["hubrun"] == 200)
        assert grown["charts"]["eval/score"]["last"]["hubrun"] == 199.0
    run.finish()
    cross_origin = [r for r in hub.requests() if r.endpoint in ("tree", "resolve") and r.user is None]
    assert cross_origin, "the page read the public dataset without credentials"


def test_private_dataset_is_read_with_the_visitors_sign_in(page, hub):
    run = _synced_run("secret-board", "private-run", private=True, steps=30)
    run.finish()
    space = hub.repo("alice/secret-board", repo_type="space")
    assert space.private and hub.repo("alice/secret-board-dataset").private
    for content in hub.repo_files("alice/secret-board", repo_type="space").values():
        assert b"hf_test_token" not in content
    with SpaceHost(hub, "alice/secret-board") as host:
        page.goto(host.url)
        page.wait_for_selector("#error button", timeout=30_000)  # the dataset is invisible without a sign-in
        assert "sign in" in page.text_content("#error").lower()
        page.click("#error button")  # to the Hub's consent page (auto-approved), and back with a code
        page.wait_for_selector("body[data-state=ready]", timeout=30_000)
        drawn = state(page)
        assert drawn["charts"]["train/loss"]["points"]["private-run"] == 30
        assert "code=" not in page.url
        token = page.evaluate("JSON.parse(sessionStorage.getItem('trackio-oauth')).token")
        assert token.startswith("hf_oauth_")
    reads = [r for r in hub.requests() if r.endpoint == "resolve" and r.repo_id == "alice/secret-board-dataset"]
    assert reads and {r.user for r in reads} == {"alice"}


def test_polling_backs_off_while_the_tab_is_hidden(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.evaluate("window.trackioDashboard.pollNow()")
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => true});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    hidden = wait_for(page, lambda s: s["pollDelays"][-2:] == [4000, 8000], timeout=15)
    assert hidden["pollDelays"][0] == 2000  # visible: every 2 s
    polls = hidden["polls"]
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", {configurable: true, get: () => false});
            document.dispatchEvent(new Event("visibilitychange"));
        }"""
    )
    shown = wait_for(page, lambda s: s["polls"] > polls and s["pollDelays"][-1] == 2000, timeout=5)
    assert shown["polls"] == polls + 1  # shown again: one poll at once, then every 2 s
