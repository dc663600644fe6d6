"""Tags, notes and the local page's write actions in headless Chromium, over four real Trainer runs.

The local page (``show`` on loopback) shows each run's tags as chips and its notes, filters the runs by a tag, and,
holding the session's write token, renames, tags, annotates and deletes runs through its Runs tab; each change is
read back from the SQLite file. A POST without the token changes nothing. The static Space shows the same tags and
notes from the dataset, and no action control at all. The Runs tab of four Trainer runs (each with over a hundred
config keys) stays readable: the keys that differ are columns, the others are listed once, folded.
Screenshots go to ``.artifacts/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page

import trackio_callback as trackio
from tests import tiny
from tests.browser import open_dashboard, shot, state, wait_for
from tests.space_host import SpaceHost
from trackio_callback import Reader
from trackio_callback.management import operations
from trackio_callback.server.show import show

PROJECT = "cmp"
RUNS = {"lr-1e-3": 1e-3, "lr-5e-4": 5e-4, "lr-3e-4": 3e-4, "lr-1e-4": 1e-4}  # oldest first
TAGS = {"lr-1e-3": ["baseline", "sweep"], "lr-5e-4": ["sweep"], "lr-3e-4": ["sweep", "best"], "lr-1e-4": []}
NOTES = {"lr-3e-4": "Lowest eval loss.\nWarmup 10% of the steps."}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Four real tiny Trainer runs of project "cmp" (learning rates differ), tagged and annotated."""
    directory = tmp_path_factory.mktemp("trained")
    store = directory / "store"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKIO_DIR", str(store))
        for name, lr in RUNS.items():
            trainer = tiny.make_trainer(
                directory / "out" / name, eval_steps=2, report_to="trackio", run_name=name, project=PROJECT,
                learning_rate=lr,
            )  # fmt: skip
            trainer.train()
    for name, tags in TAGS.items():
        operations.set_run_tags(PROJECT, name, tags, directory=store)
    for name, notes in NOTES.items():
        operations.set_run_notes(PROJECT, name, notes, directory=store)
    return store


@pytest.fixture
def local(trained, tmp_path):
    """The local dashboard over a copy of the trained runs (each test changes its own)."""
    store = tmp_path / "store-copy"
    shutil.copytree(trained, store)
    with show(dir=store, open_browser=False, block=False, port=0) as running:
        yield running, store


def stored(store: Path) -> dict[str, tuple[list[str], str]]:
    with Reader(store) as reader:
        return {r["name"]: (r["tags"], r["notes"]) for r in reader.runs(PROJECT)}


def open_runs_tab(page: Page) -> None:
    page.click("#tabs button[data-tab=runs]")
    page.wait_for_selector(".runs-table tbody tr")


def act(page: Page, run: str, action: str) -> None:
    """Open the run's menu in the Runs tab and choose ``action``: its dialog opens."""
    page.click(f".run-actions[data-run='{run}'] .run-actions-button")
    page.click(f".run-actions[data-run='{run}'] .run-action[data-action={action}]")
    page.wait_for_selector(f"dialog#run-edit[data-action={action}][data-run='{run}']")


def test_the_local_page_shows_tags_and_notes_and_filters_by_tag(page, local):
    dashboard, _ = local
    drawn = open_dashboard(page, dashboard.url)
    assert drawn["tags"]["writable"] is True
    assert drawn["tags"]["runTags"] == TAGS
    assert drawn["tags"]["runNotes"] == {name: NOTES.get(name, "") for name in RUNS}
    chips = page.eval_on_selector_all(
        "#run-groups .run-tags",
        "rows => rows.map(r => [r.dataset.run, [...r.querySelectorAll('.tag-chip')].map(c => c.textContent)])",
    )
    assert dict(chips) == {name: tags for name, tags in TAGS.items() if tags}

    page.click("#run-groups .run-tags[data-run='lr-1e-3'] .tag-chip[data-tag=sweep]")  # a chip sets tag:NAME
    filtered = wait_for(page, lambda s: s["tags"]["filter"] == "tag:sweep" and len(s["shownRuns"]) == 3)
    assert filtered["shownRuns"] == ["lr-3e-4", "lr-5e-4", "lr-1e-3"] and page.input_value("#run-filter") == "tag:sweep"
    assert set(filtered["charts"]["train/loss"]["runs"]) == {"lr-3e-4", "lr-5e-4", "lr-1e-3"}
    page.fill("#run-filter", "tag:best")
    assert wait_for(page, lambda s: s["shownRuns"] == ["lr-3e-4"])["tags"]["filter"] == "tag:best"
    page.fill("#run-filter", "tag:swee")  # a tag filter is exact
    wait_for(page, lambda s: s["shownRuns"] == [])
    page.fill("#run-filter", "basel")  # a plain filter searches names, groups and tags
    wait_for(page, lambda s: s["shownRuns"] == ["lr-1e-3"])
    shot(page, "tags_sidebar_filtered_by_tag")
    page.fill("#run-filter", "")
    wait_for(page, lambda s: len(s["shownRuns"]) == 4)

    open_runs_tab(page)
    rows = page.eval_on_selector_all(
        ".runs-table tbody tr",
        """trs => trs.map(tr => [tr.dataset.run,
                                 [...tr.querySelectorAll('.tags-cell .tag-chip')].map(c => c.textContent),
                                 tr.querySelector('.notes-cell').textContent])""",
    )
    assert rows == [[name, TAGS[name], NOTES.get(name, "")] for name in reversed(RUNS)]
    assert page.locator(".run-actions").count() == 4
    shot(page, "tags_runs_tab_local")


def test_four_trainer_runs_fit_the_runs_tab(page, local):
    dashboard, _ = local
    open_dashboard(page, dashboard.url)
    open_runs_tab(page)
    headers = page.eval_on_selector_all(".runs-table th", "ths => ths.map(t => t.textContent)")
    assert headers[2:6] == ["run", "status", "tags", "notes"]  # after the colour and the actions
    config_columns = [h for h in headers if h.startswith("config.")]
    assert "config.learning_rate" in config_columns and len(config_columns) <= 16
    assert "train/loss" in headers and "eval/loss" in headers
    with Reader(dashboard_dir(local)) as reader:
        keys = len(reader.run(PROJECT, "lr-1e-3")["config"])
    assert keys > 100  # a Trainer's config: every one a column made the table 37,000 px wide
    same = page.text_content("details.config-same summary")
    assert same == f"Config the same in every shown run ({keys - len(config_columns)} keys)"
    box = page.evaluate(
        """() => {
            const scroll = document.querySelector('.runs-scroll'), table = scroll.querySelector('table');
            const left = (name) => [...table.querySelectorAll('th')].find(t => t.textContent === name).offsetLeft;
            return {width: table.scrollWidth, view: scroll.clientWidth, loss: left('train/loss'),
                    lr: left('config.learning_rate'), notes: left('notes')};
        }"""
    )
    assert box["width"] < 4000, box  # the whole table: a few screens at most
    assert box["notes"] < box["view"] and box["lr"] < box["view"], box  # seen without scrolling
    assert box["loss"] < 2 * box["view"], box  # the last metrics: one scroll away at most
    lr = headers.index("config.learning_rate") + 1
    values = page.eval_on_selector_all(f".runs-table tbody td:nth-child({lr})", "tds => tds.map(t => t.textContent)")
    assert [float(v) for v in values] == [RUNS[name] for name in reversed(RUNS)]
    page.click("details.config-same summary")
    assert page.locator("details.config-same .config-list dt").count() == keys - len(config_columns)
    shot(page, "tags_runs_tab_four_trainer_runs")


def dashboard_dir(local) -> Path:
    return local[1]


def test_rename_tag_annotate_and_delete_through_the_page(page, local):
    dashboard, store = local
    open_dashboard(page, dashboard.url)
    open_runs_tab(page)

    act(page, "lr-1e-4", "tags")
    assert page.input_value("dialog#run-edit .run-edit-input") == ""
    page.fill("dialog#run-edit .run-edit-input", "slow,  needs-rerun , slow")
    shot(page, "tags_edit_dialog")
    page.click("dialog#run-edit .run-edit-submit")
    drawn = wait_for(page, lambda s: s["tags"]["runTags"]["lr-1e-4"] == ["slow", "needs-rerun"])
    assert drawn["tags"]["dialog"] is None and drawn["tags"]["last"]["ok"] is True
    assert stored(store)["lr-1e-4"] == (["slow", "needs-rerun"], "")
    assert page.locator(".runs-table tr[data-run='lr-1e-4'] .tag-chip").all_text_contents() == ["slow", "needs-rerun"]

    act(page, "lr-1e-4", "tags")  # a bad tag: the server's message, in the dialog; nothing changed
    page.fill("dialog#run-edit .run-edit-input", "ok, " + "x" * 70)
    page.click("dialog#run-edit .run-edit-submit")
    page.wait_for_selector("dialog#run-edit .run-edit-error:not([hidden])")
    assert "has 70 characters" in page.text_content("dialog#run-edit .run-edit-error")
    assert state(page)["tags"]["last"]["ok"] is False
    page.click("dialog#run-edit .run-edit-cancel")
    assert stored(store)["lr-1e-4"] == (["slow", "needs-rerun"], "")

    act(page, "lr-1e-4", "notes")
    page.fill("dialog#run-edit textarea", "Too slow to converge.\nRerun with warmup.")
    page.click("dialog#run-edit .run-edit-submit")
    wait_for(page, lambda s: s["tags"]["runNotes"]["lr-1e-4"] == "Too slow to converge.\nRerun with warmup.")
    assert stored(store)["lr-1e-4"][1] == "Too slow to converge.\nRerun with warmup."

    act(page, "lr-5e-4", "rename")
    page.fill("dialog#run-edit .run-edit-input", "lr-5e-4-cosine")
    page.click("dialog#run-edit .run-edit-submit")
    renamed = wait_for(page, lambda s: "lr-5e-4-cosine" in s["shownRuns"] and "lr-5e-4" not in s["shownRuns"])
    assert renamed["tags"]["runTags"]["lr-5e-4-cosine"] == ["sweep"]
    assert renamed["charts"]["train/loss"]["points"]["lr-5e-4-cosine"] > 0  # its curves follow the new name
    assert "lr-5e-4-cosine" in stored(store) and "lr-5e-4" not in stored(store)

    open_runs_tab(page)
    act(page, "lr-1e-3", "delete")
    submit = page.locator("dialog#run-edit .run-edit-submit")
    assert submit.is_disabled()
    page.fill("dialog#run-edit .run-edit-input", "lr-1e-")
    assert submit.is_disabled()
    page.fill("dialog#run-edit .run-edit-input", "lr-1e-3")
    assert submit.is_enabled()
    shot(page, "tags_delete_dialog")
    submit.click()
    gone = wait_for(page, lambda s: "lr-1e-3" not in s["tags"]["runTags"])
    assert sorted(gone["shownRuns"]) == ["lr-1e-4", "lr-3e-4", "lr-5e-4-cosine"]
    assert sorted(stored(store)) == ["lr-1e-4", "lr-3e-4", "lr-5e-4-cosine"]

    # A request without the page's token (what another script could forge) is refused, and changes nothing.
    forged = page.evaluate(
        """async () => {
            const post = (action, body, headers = {}) => fetch(`api/runs/${action}`, {
                method: 'POST', headers: {'Content-Type': 'application/json', ...headers},
                body: JSON.stringify({project: 'cmp', ...body}),
            }).then(r => r.status);
            return [await post('delete', {run: 'lr-3e-4', confirm: 'lr-3e-4'}),
                    await post('tags', {run: 'lr-3e-4', tags: ['forged']}, {'X-Trackio-Token': 'guess'}),
                    await post('rename', {run: 'lr-3e-4', new_name: 'forged'})];
        }"""
    )
    assert forged == [403, 403, 403]
    assert stored(store)["lr-3e-4"] == (["sweep", "best"], NOTES["lr-3e-4"])
    open_runs_tab(page)
    shot(page, "tags_runs_tab_after_edits")


def test_the_static_space_shows_tags_and_notes_but_no_action(page, hub):
    runs = {"space-a": (["baseline"], "first notes"), "space-b": (["sweep", "best"], "")}
    for name, (tags, notes) in runs.items():
        run = trackio.init(
            project="hubtags", name=name, space_id="tagboard", private=False, tags=tags, notes=notes, config={"lr": 0.1}
        )
        for step in range(20):
            run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        run.finish()
    assert run._uploader is not None
    with SpaceHost(hub, "alice/tagboard") as host:
        drawn = open_dashboard(page, host.url)
        assert drawn["mode"] == "hub"
        assert drawn["tags"]["writable"] is False
        assert drawn["tags"]["runTags"] == {name: tags for name, (tags, _) in runs.items()}
        assert drawn["tags"]["runNotes"] == {name: notes for name, (_, notes) in runs.items()}
        page.click("#run-groups .tag-chip[data-tag=best]")
        wait_for(page, lambda s: s["shownRuns"] == ["space-b"])
        page.fill("#run-filter", "")
        wait_for(page, lambda s: len(s["shownRuns"]) == 2)
        open_runs_tab(page)
        assert page.locator(".run-actions").count() == 0 and page.locator(".run-actions-button").count() == 0
        assert state(page)["tags"]["actionControls"] == 0
        headers = page.eval_on_selector_all(".runs-table th", "ths => ths.map(t => t.textContent)")
        assert headers[1:5] == ["run", "status", "tags", "notes"]  # no actions column
        assert page.text_content(".runs-table tr[data-run='space-a'] .notes-cell") == "first notes"
        assert page.locator("details.config-same").count() == 0  # one config key: a column, nothing folded
        assert page.text_content("#runs-table").find("null") == -1
        shot(page, "tags_runs_tab_static_space")
