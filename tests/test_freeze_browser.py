"""A frozen Space (`trackio.freeze`) in headless Chromium: it shows the dataset as it was, not as it became."""

from __future__ import annotations

import trackio

from tests.browser import open_dashboard
from tests.space_host import SpaceHost


def test_the_frozen_page_shows_the_snapshot_while_the_live_page_follows(page, hub, store_dir):
    trackio.init(project="frozen", name="before", auto_log_cpu=False, private=False)
    for step in range(30):
        trackio.log({"train/loss": 1.0 / (step + 1)})
    trackio.finish()
    trackio.sync("frozen", space_id="live", sdk="static", private=False)
    assert trackio.freeze("live", "frozen", private=False) == "alice/live_static"

    trackio.init(project="frozen", name="after", auto_log_cpu=False, private=False)
    for _ in range(10):
        trackio.log({"train/loss": 2.0})
    trackio.finish()
    trackio.sync("frozen", space_id="live", sdk="static", private=False)

    with SpaceHost(hub, "alice/live_static") as host:
        snapshot = open_dashboard(page, host.url)
    assert snapshot["project"] == "frozen"
    assert snapshot["charts"]["train/loss"]["runs"] == ["before"]
    assert snapshot["charts"]["train/loss"]["points"]["before"] == 30
    with SpaceHost(hub, "alice/live") as host:
        live = open_dashboard(page, host.url)
    assert sorted(live["charts"]["train/loss"]["runs"]) == ["after", "before"]
