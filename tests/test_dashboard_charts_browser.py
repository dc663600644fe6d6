"""The charts for a real comparison of four runs, in headless Chromium: readable axes, legends, any
metric as the x axis, combined charts, grouping by a config key, and trackio's link parameters.

The project is what a person comparing four Trainer runs has: a loss that falls, an eval loss every
20 steps, a learning rate that warms up and decays to 0, a token count past a billion, and two config
keys that differ. The page reports what it drew (`window.trackioDashboard.state()`): the tick labels of
each chart, its legend, the lines' points; the tests compare them with the logged values. Every test
leaves a full-page screenshot in ``.artifacts/``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import trackio_callback as trackio
from tests.browser import open_dashboard, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback.server.show import show

STEPS = 200
SEQ_LEN = 512
RUNS = {  # name: (learning_rate, optimizer, batch size, loss scale)
    "lr1e-3-adamw": (1e-3, "adamw", 16, 2.0),
    "lr1e-3-sgd": (1e-3, "sgd", 8, 2.6),
    "lr3e-4-adamw": (3e-4, "adamw", 8, 2.2),
    "lr3e-4-sgd": (3e-4, "sgd", 16, 2.9),
}
EXPONENTS = (-8, -6, -4, -2, 0, 3, 6, 9, 12)  # one metric per magnitude, 1e-8 to 1e12


def loss(name: str, step: int) -> float:
    return RUNS[name][3] * math.exp(-step / 80) + 0.1 + 0.01 * (step % 5)


def learning_rate(name: str, step: int) -> float:
    return RUNS[name][0] * min(1.0, step / 20) * (1 - step / STEPS)


def tokens(name: str, step: int) -> float:
    return float((step + 1) * RUNS[name][2] * SEQ_LEN * 1000)  # 1.6e9 for the largest batch


def scaled(exponent: int, step: int) -> float:
    return 10.0**exponent * (1 + 0.5 * math.sin(step / 30) + step / 400)


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """Project "cmp": the four runs, created in RUNS' order (the last is the newest)."""
    directory = tmp_path_factory.mktemp("runs")
    for name, (lr, optimizer, batch, _) in RUNS.items():
        config = {"learning_rate": lr, "optimizer": optimizer, "per_device_train_batch_size": batch, "seed": 42}
        run = trackio.init(project="cmp", name=name, config=config, dir=directory)
        for step in range(STEPS):
            metrics = {
                "train/loss": loss(name, step),
                "train/learning_rate": learning_rate(name, step),
                "train/num_tokens": tokens(name, step),
            }
            metrics.update({f"scale/1e{e}": scaled(e, step) for e in EXPONENTS})
            if step % 20 == 19:
                metrics["eval/loss"] = loss(name, step) + 0.05
            run.log(metrics, step=step)
        run.finish()
    return directory


@pytest.fixture(scope="module")
def dashboard(compared):
    with show(dir=compared, open_browser=False, block=False, port=0) as running:
        yield running


SI = {"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}


def parse_label(label: str) -> float:
    """A tick label back to its number: plain, scientific (3e-8) or SI-prefixed (1.2G)."""
    if label[-1] in SI:
        return float(label[:-1]) * SI[label[-1]]
    return float(label)


def assert_readable(chart: dict, key: str) -> None:
    # a log axis leaves its minor ticks unlabelled (uPlot passes them as null): only the labelled count
    pairs = [(label, split) for label, split in zip(chart["yTicks"], chart["ySplits"]) if split is not None and label]
    labels, splits = [p[0] for p in pairs], [p[1] for p in pairs]
    assert len(labels) >= 2, (key, chart["yTicks"])
    assert len(set(labels)) == len(labels), f"{key}: duplicate tick labels {labels}"
    spacing = min(b - a for a, b in zip(splits, splits[1:]))
    for label, split in zip(labels, splits):
        assert re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+|[kMGT])?", label), f"{key}: unreadable label {label!r}"
        assert abs(parse_label(label) - split) < spacing / 2, f"{key}: {label!r} does not say {split}"
        assert len(label) <= 8, f"{key}: label {label!r} too long to read at a glance"
    assert chart["yAxisWidth"] >= chart["yLabelWidth"] + 8, f"{key}: axis {chart['yAxisWidth']}px clips labels"


def test_tick_labels_are_distinct_and_readable_from_1e_minus_8_to_1e12(page, dashboard):
    drawn = open_dashboard(page, dashboard.url)
    charts = drawn["charts"]
    for exponent in EXPONENTS:
        assert_readable(charts[f"scale/1e{exponent}"], f"scale/1e{exponent}")
    assert_readable(charts["train/learning_rate"], "train/learning_rate")  # once "0.001, 0.001, 0.001, 0, 0"
    assert_readable(charts["train/num_tokens"], "train/num_tokens")  # once clipped to "000,000"
    assert any(label.endswith("G") for label in charts["train/num_tokens"]["yTicks"])
    assert all("e-" in label or label == "0" for label in charts["scale/1e-8"]["yTicks"])

    page.check("#log-y")  # a log scale: decades
    logged = wait_for(page, lambda s: s["logY"] and s["charts"]["scale/1e12"]["yDistr"] == 3)
    for exponent in (-8, 12):
        assert_readable(logged["charts"][f"scale/1e{exponent}"], f"log scale/1e{exponent}")


def test_every_chart_has_a_legend_and_hover_highlights_a_run_everywhere(page, dashboard):
    drawn = open_dashboard(page, dashboard.url)
    for key in ("train/loss", "eval/loss", "train/learning_rate"):
        assert sorted(drawn["charts"][key]["legend"]) == sorted(RUNS), key
    entry = page.locator('.chart[data-key="train/loss"] .legend-entry[data-run="lr3e-4-sgd"]')
    entry.hover()
    lit = wait_for(page, lambda s: s["highlighted"] == "lr3e-4-sgd")
    assert lit["highlighted"] == "lr3e-4-sgd"
    dim = page.locator('.chart[data-key="eval/loss"] .legend-entry.dim').evaluate_all(
        "es => es.map(e => e.dataset.run)"
    )
    assert sorted(dim) == sorted(set(RUNS) - {"lr3e-4-sgd"})  # the other charts follow
    page.mouse.move(5, 5)
    page.locator("#sidebar").hover()
    wait_for(page, lambda s: s["highlighted"] is None)

    page.uncheck("#legends")  # folded away, and back
    assert page.locator(".legend:visible").count() == 0
    page.check("#legends")
    assert page.locator(".legend:visible").count() == len(drawn["charts"])


def test_a_long_legend_shows_six_runs_and_the_rest_on_demand(page, tmp_path):
    for i in range(9):
        run = trackio.init(project="many", name=f"run-{i}", dir=tmp_path)
        run.log({"train/loss": 1.0 + i}, step=0)
        run.log({"train/loss": 0.5 + i}, step=1)
        run.finish()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        drawn = open_dashboard(page, running.url)
        chart = drawn["charts"]["train/loss"]
        assert len(chart["legend"]) == 6 and chart["legendMore"] == "+3 more"
        page.click('.chart[data-key="train/loss"] .legend-more')
        opened = wait_for(page, lambda s: len(s["charts"]["train/loss"]["legend"]) == 9)
        assert sorted(opened["charts"]["train/loss"]["legend"]) == sorted(f"run-{i}" for i in range(9))


def test_any_metric_is_the_x_axis_aligned_by_step(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.select_option("#x-axis", "train/num_tokens")
    drawn = wait_for(page, lambda s: s["xAxis"] == "train/num_tokens")
    for name in RUNS:
        assert drawn["charts"]["train/loss"]["x"][name] == [tokens(name, 0), tokens(name, STEPS - 1)]
        assert drawn["charts"]["train/loss"]["last"][name] == loss(name, STEPS - 1)
        assert drawn["charts"]["eval/loss"]["x"][name] == [tokens(name, 19), tokens(name, STEPS - 1)]
        assert drawn["charts"]["eval/loss"]["points"][name] == STEPS // 20
    assert "x_axis=train%2Fnum_tokens" in drawn["url"]
    assert_readable_x = drawn["charts"]["train/loss"]["xScale"]
    assert assert_readable_x[1] >= tokens("lr1e-3-adamw", STEPS - 1)

    page.reload()  # the link keeps it
    page.wait_for_selector("body[data-state=ready]")
    again = state(page)
    assert again["xAxis"] == "train/num_tokens"
    assert again["charts"]["train/loss"]["x"]["lr1e-3-sgd"] == [
        tokens("lr1e-3-sgd", 0),
        tokens("lr1e-3-sgd", STEPS - 1),
    ]


def test_train_and_eval_loss_combined_on_one_chart(page, dashboard):
    open_dashboard(page, dashboard.url)
    page.fill("#combine", "/loss$")
    page.press("#combine", "Enter")
    drawn = wait_for(page, lambda s: "combined:/loss$" in s["charts"])
    combined = drawn["charts"]["combined:/loss$"]
    assert combined["keys"] == ["eval/loss", "train/loss"] and combined["section"] == "combined"
    assert sorted(combined["labels"]) == sorted(f"{n} · {k}" for n in RUNS for k in ("eval/loss", "train/loss"))
    for name in RUNS:
        assert combined["points"][f"{name} · train/loss"] == STEPS
        assert combined["last"][f"{name} · eval/loss"] == pytest.approx(loss(name, STEPS - 1) + 0.05)
    assert drawn["charts"]["train/loss"]["keys"] == ["train/loss"]  # each metric keeps its own chart

    menu = '.chart[data-key="train/learning_rate"] .chart-combine'
    page.focus(menu)  # the list of metrics is built on first use
    page.select_option(menu, "train/num_tokens")
    pair = r"combined:^(train/learning_rate|train/num_tokens)$"
    both = wait_for(page, lambda s: pair in s["charts"])
    assert both["charts"][pair]["keys"] == ["train/learning_rate", "train/num_tokens"]
    assert both["merges"] == ["/loss$", pair[len("combined:") :]]

    page.reload()  # kept in the link
    page.wait_for_selector("body[data-state=ready]")
    assert {"combined:/loss$", pair} <= set(state(page)["charts"])
    page.click(f'.chart[data-key="{pair}"] .chart-uncombine')
    assert pair not in wait_for(page, lambda s: len(s["merges"]) == 1)["charts"]


def test_grouped_by_a_config_key_the_mean_with_a_band(page, dashboard):
    open_dashboard(page, dashboard.url)
    options = page.eval_on_selector_all("#group-by option", "os => os.map(o => o.value)")
    # the keys that group: two values each; "seed" is the same everywhere
    assert {"learning_rate", "optimizer", "per_device_train_batch_size"} <= set(options) and "seed" not in options
    page.select_option("#group-by", "optimizer")
    drawn = wait_for(page, lambda s: s["groupBy"] == "optimizer")
    chart = drawn["charts"]["train/loss"]
    assert sorted(chart["labels"]) == ["optimizer=adamw (2 runs)", "optimizer=sgd (2 runs)"]
    members = {"adamw": ["lr1e-3-adamw", "lr3e-4-adamw"], "sgd": ["lr1e-3-sgd", "lr3e-4-sgd"]}
    for value, runs in members.items():
        group = chart["groups"][value]
        assert sorted(group["runs"]) == runs and group["x"] == list(range(STEPS))
        for step in range(STEPS):
            values = [loss(r, step) for r in runs]
            assert group["mean"][step] == pytest.approx(sum(values) / 2)
            assert (group["lo"][step], group["hi"][step]) == (pytest.approx(min(values)), pytest.approx(max(values)))
    assert chart["series"] == 6  # a mean and the band's two edges per group

    page.select_option("#band", "std")
    std = wait_for(page, lambda s: s["band"] == "std")["charts"]["train/loss"]["groups"]["sgd"]
    a, b = loss("lr1e-3-sgd", 10), loss("lr3e-4-sgd", 10)
    assert std["hi"][10] - std["mean"][10] == pytest.approx(abs(a - b) / 2)
    assert "group_by=optimizer" in state(page)["url"] and "band=std" in state(page)["url"]


def trackio_link(**params: str) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in params.items())


def test_trackio_link_parameters_open_the_view_they_name(page, dashboard):
    link = trackio_link(
        project="cmp",
        metrics="train/loss,eval/loss",
        runs="lr1e-3-adamw,lr3e-4-sgd",
        sidebar="hidden",
        x_axis="train/num_tokens",
        smoothing="10",
        xmin="1e8",
        xmax="1e9",
        accordion="hidden",
    )
    drawn = open_dashboard(page, dashboard.url + link)
    assert set(drawn["charts"]) == {"train/loss", "eval/loss"}
    assert sorted(drawn["visibleRuns"]) == ["lr1e-3-adamw", "lr3e-4-sgd"]
    assert drawn["xAxis"] == "train/num_tokens" and drawn["smoothing"] == pytest.approx(9 / 11, abs=0.005)
    for chart in drawn["charts"].values():
        assert chart["xScale"] == [1e8, 1e9]
    assert not page.is_visible("#sidebar") and not page.is_visible("#sidebar-toggle")
    assert page.locator("details.section").count() == 0  # accordion=hidden: no section headers

    collapsed = open_dashboard(page, dashboard.url + trackio_link(project="cmp", sidebar="collapsed", x_axis="time"))
    assert collapsed["xAxis"] == "relative" and collapsed["sidebar"] == "collapsed"
    assert not page.is_visible("#sidebar")
    page.click("#sidebar-toggle")
    assert page.is_visible("#sidebar")
    assert wait_for(page, lambda s: s["sidebar"] == "open")["charts"]


def test_the_same_link_parameters_work_in_the_static_space(page, hub):
    other = trackio.init(project="hubcmp", name="otherrun", space_id="cmpboard", private=False)
    other.log({"train/loss": 1.0}, step=0)
    other.finish()
    run = trackio.init(project="hubcmp", name="spacerun", space_id="cmpboard", private=False, config={"lr": 0.1})
    for step in range(60):
        run.log({"train/loss": loss("lr1e-3-adamw", step), "train/num_tokens": tokens("lr1e-3-adamw", step)}, step=step)
        if step % 20 == 19:
            run.log({"eval/loss": 1.0}, step=step)
    run.flush()
    run._uploader.sync()
    assert run._uploader.deploy_space()
    # the link TRL writes into a model card for the current run (through `import trackio`)
    from trl.trainer.utils import get_trackio_space_url

    card_link = get_trackio_space_url()
    assert card_link == "https://alice-cmpboard.hf.space?project=hubcmp&runs=spacerun&sidebar=collapsed"
    with SpaceHost(hub, "alice/cmpboard") as host:
        from_card = open_dashboard(page, host.url + "/?" + card_link.split("?", 1)[1])
        assert from_card["project"] == "hubcmp" and from_card["visibleRuns"] == ["spacerun"]
        assert from_card["sidebar"] == "collapsed" and not page.is_visible("#sidebar")
        assert sorted(from_card["charts"]["train/loss"]["runs"]) == ["spacerun"]

        link = trackio_link(project="hubcmp", metrics="train/loss", x_axis="train/num_tokens", sidebar="hidden")
        drawn = open_dashboard(page, host.url + "/" + link)
        assert drawn["mode"] == "hub" and set(drawn["charts"]) == {"train/loss"}
        assert drawn["charts"]["train/loss"]["x"]["spacerun"] == [tokens("lr1e-3-adamw", 0), tokens("lr1e-3-adamw", 59)]
        assert not page.is_visible("#sidebar")
    run.finish()


AXES_JS = Path(trackio.__file__).parent / "server" / "static" / "axes.js"


@pytest.fixture(scope="module")
def axes_page(browser):
    context = browser.new_context()
    blank = context.new_page()
    blank.set_content("<html><body></body></html>")
    blank.add_script_tag(path=str(AXES_JS))
    yield blank
    context.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    exponent=st.integers(min_value=-12, max_value=14),
    mantissa=st.sampled_from([1, 2, 2.5, 5]),
    start_units=st.integers(min_value=-50, max_value=1000),
    count=st.integers(min_value=2, max_value=14),
)
def test_tick_labels_of_any_nice_ticks_are_distinct_and_say_their_value(
    axes_page, exponent, mantissa, start_units, count
):
    """uPlot's ticks are multiples of a 1/2/2.5/5 × 10^k increment: every such axis, 1e-12 to 1e16, reads right."""
    step = mantissa * 10.0**exponent
    splits = [float(f"{(start_units + i) * step:.12g}") for i in range(count)]
    labels = axes_page.evaluate("splits => tickLabels(splits)", splits)
    assert len(set(labels)) == len(labels), (splits, labels)
    for label, split in zip(labels, splits):
        assert abs(parse_label(label) - split) < step / 2, (label, split)
        assert len(label) <= 10, (label, splits)
