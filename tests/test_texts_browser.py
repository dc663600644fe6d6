"""The dashboard's Texts tab in headless Chromium: a panel per text key, each run's strings newest first.

Both hosts of the page: the local server over SQLite, and the static Space reading the dataset's texts
Parquet files from the Hub emulator in the browser.
"""

from __future__ import annotations

import trackio_callback as trackio
from tests.browser import open_dashboard, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback.server.show import show

KEY = "samples/generation"


def generation(run: str, step: int) -> str:
    return f"{run} at step {step}:\n  indented line, <b>not markup</b> & ünïcode ✓"


def log_generations(run: trackio.Run, steps: range) -> None:
    for step in steps:
        run.log({"train/loss": 1.0 / (step + 1), KEY: generation(run.name, step)}, step=step)


def newest_first(run: str, steps: range) -> list[dict]:
    return [{"step": step, "value": generation(run, step)} for step in reversed(steps)]


def shown_values(shown_page, key: str, run: str) -> list[str]:
    selector = f".text-panel[data-key='{key}'] .text-run[data-run='{run}'] .text-value"
    return shown_page.eval_on_selector_all(selector, "els => els.map(e => e.textContent)")


def test_local_dashboard_shows_each_text_key_and_follows_a_live_run(page, tmp_path):
    finished = trackio.init(project="gen", name="done", dir=tmp_path)
    log_generations(finished, range(5))
    finished.log({"samples/prompt": "What is 2+2?"}, step=0)
    finished.finish()
    live = trackio.init(project="gen", name="live", dir=tmp_path)
    log_generations(live, range(2))
    live.flush()
    with show(dir=tmp_path, open_browser=False, block=False, port=0) as running:
        open_dashboard(page, running.url)
        page.click("#tabs button[data-tab=reports]")
        shown = wait_for(page, lambda s: KEY in s["texts"])["texts"]
        assert shown == {
            KEY: {"done": newest_first("done", range(5)), "live": newest_first("live", range(2))},
            "samples/prompt": {"done": [{"step": 0, "value": "What is 2+2?"}]},
        }
        assert shown_values(page, KEY, "done") == [generation("done", s) for s in (4, 3, 2, 1, 0)]
        assert page.locator(".text-panel[data-key='samples/generation'] b").count() == 0  # text, never HTML
        steps = page.eval_on_selector_all(
            ".text-panel[data-key='samples/generation'] .text-run[data-run=done] .text-entry",
            "els => els.map(e => e.dataset.step)",
        )
        assert steps == ["4", "3", "2", "1", "0"]

        log_generations(live, range(2, 4))
        live.log({KEY: "a string-only call"})  # step 4
        live.flush()
        grown = wait_for(page, lambda s: len(s["texts"][KEY]["live"]) == 5, timeout=30)
        assert grown["texts"][KEY]["live"][0] == {"step": 4, "value": "a string-only call"}
        assert grown["texts"][KEY]["live"][1:] == newest_first("live", range(4))
        live.finish()

        page.fill("#metric-filter", "prompt")  # the metric filter narrows the panels too
        narrowed = wait_for(page, lambda s: list(s["texts"]) == ["samples/prompt"])
        assert narrowed["texts"]["samples/prompt"] == {"done": [{"step": 0, "value": "What is 2+2?"}]}
        assert state(page)["error"] is None


def test_static_space_reads_the_texts_parquet(page, hub):
    run = trackio.init(project="hubgen", name="synced", space_id="gen-board", private=False)
    log_generations(run, range(6))
    run.flush()
    run._uploader.sync()
    assert run._uploader.deploy_space()
    with SpaceHost(hub, "alice/gen-board") as host:
        drawn = open_dashboard(page, host.url)
        assert drawn["mode"] == "hub" and drawn["charts"]["train/loss"]["points"]["synced"] == 6
        page.click("#tabs button[data-tab=reports]")
        shown = wait_for(page, lambda s: KEY in s["texts"])["texts"]
        assert shown == {KEY: {"synced": newest_first("synced", range(6))}}
        assert shown_values(page, KEY, "synced") == [generation("synced", s) for s in (5, 4, 3, 2, 1, 0)]

        log_generations(run, range(6, 8))
        run.flush()
        run._uploader.sync()
        page.evaluate("window.trackioDashboard.pollNow()")
        grown = wait_for(page, lambda s: len(s["texts"][KEY]["synced"]) == 8, timeout=30)
        assert grown["texts"][KEY]["synced"] == newest_first("synced", range(8))
    run.finish()
