"""Each checkpoint recorded with its run, and the model card on a push, with real Trainer runs.

Each save is recorded with the run (step, folder, the eval metrics of that moment, the best metric) and read
back through `Reader`, the CLI, the MCP tools (the real ``mcp`` client) and the page (headless Chromium). Pushes
go to the Hub emulator with the real ``huggingface_hub`` client: the checkpoint pushes of ``hub_strategy`` and a
``trainer.push_to_hub()`` record the repo and the commit, the run is synced at the push, and the model card gets
the trackio badge and tags.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import NamedTuple

import pyarrow.parquet as pq
import pytest

import trackio_callback as trackio
from tests import tiny
from tests.browser import open_dashboard
from tests.test_mcp import call_http, one
from trackio_callback import Reader
from trackio_callback.cli.main import main as cli
from trackio_callback.core.checkpoint_records import MAX_CHECKPOINT_RECORDS
from trackio_callback.hub import layout
from trackio_callback.hub.pull import pull
from trackio_callback.integrations.callback import TrackioCallback
from trackio_callback.integrations.model_card import BADGE_IMAGE, badge, point_card_at_run, space_url
from trackio_callback.server.show import show

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS)

SAVES = {"save_strategy": "steps", "save_steps": 2, "metric_for_best_model": "loss"}


class Trained(NamedTuple):
    directory: Path
    output_dir: Path
    expected: list[dict]  # per save: step, path, eval/loss, best_metric


def eval_losses(trainer) -> dict[int, float]:
    return {entry["step"]: entry["eval_loss"] for entry in trainer.state.log_history if "eval_loss" in entry}


def expected_saves(trainer, output_dir: Path, steps: list[int]) -> list[dict]:
    losses = eval_losses(trainer)
    return [
        {
            "step": step,
            "path": str((output_dir / f"checkpoint-{step}").resolve()),
            "eval/loss": losses[step],
            "best_metric": min(loss for at, loss in losses.items() if at <= step),  # the loss: lower is better
        }
        for step in steps
    ]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    """One real Trainer run ("saves", project "huggingface"): eval and a checkpoint every 2 of its 6 steps."""
    directory = tmp_path_factory.mktemp("checkpoint-store")
    output_dir = directory / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRACKIO_DIR", str(directory))
        trainer = tiny.make_trainer(
            output_dir, eval_steps=2, report_to="trackio", run_name="saves", max_steps=6, **SAVES
        )
        trainer.train()
    return Trained(directory, output_dir, expected_saves(trainer, output_dir, [2, 4, 6]))


def test_each_save_is_recorded_with_the_eval_metric_of_that_moment(trained):
    run = Reader(trained.directory).run("huggingface", "saves")
    saves = run["checkpoints"]
    assert [(c["step"], c["path"]) for c in saves] == [(e["step"], e["path"]) for e in trained.expected]
    for saved, expected in zip(saves, trained.expected):
        assert Path(saved["path"]).is_dir() and (Path(saved["path"]) / "trainer_state.json").is_file()
        assert saved["metrics"]["eval/loss"] == pytest.approx(expected["eval/loss"], rel=1e-12)
        assert saved["best_metric"] == pytest.approx(expected["best_metric"], rel=1e-12)
        assert saved["repo"] is None and saved["revision"] is None  # not pushed
        assert run["created_at"] <= saved["time"] <= run["finished_at"]
    assert [c["time"] for c in saves] == sorted(c["time"] for c in saves)
    # the Trainer's own record of the best checkpoint agrees with the last entry's best metric
    state = json.loads((trained.output_dir / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["best_metric"] == pytest.approx(saves[-1]["best_metric"], rel=1e-12)


def test_the_cli_lists_the_checkpoints(trained, capsys):
    stored = Reader(trained.directory).run("huggingface", "saves")["checkpoints"]
    base = ["--dir", str(trained.directory)]
    assert cli([*base, "list", "checkpoints", "--project", "huggingface", "--run", "saves", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == stored
    assert cli([*base, "list", "checkpoints", "--project", "huggingface", "--run", "saves"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["step", "saved", "(UTC)", "path", "metrics", "best_metric", "pushed"]
    for line, expected in zip(lines[1:], trained.expected, strict=True):
        cells = line.split()
        assert cells[0] == str(expected["step"]) and cells[3] == expected["path"]
        assert cells[4] == f"eval/loss={expected['eval/loss']:.6g}" and cells[-1] == "-"
    assert cli([*base, "get", "run", "--project", "huggingface", "--run", "saves"]) == 0
    text = capsys.readouterr().out
    assert "checkpoints:" in text and all(e["path"] in text for e in trained.expected)
    with pytest.raises(SystemExit, match="--run is required"):
        cli([*base, "list", "checkpoints", "--project", "huggingface"])


def test_mcp_run_summary_gives_the_checkpoints(trained):
    with show(dir=trained.directory, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        summary = one(
            call_http(
                dashboard.url + "gradio_api/mcp/", [("get_run_summary", {"project": "huggingface", "run": "saves"})]
            )
        )
    assert summary["checkpoints_total"] == 3
    for given, expected in zip(summary["checkpoints"], trained.expected, strict=True):
        assert (given["step"], given["path"]) == (expected["step"], expected["path"])
        assert given["metrics"]["eval/loss"] == pytest.approx(expected["eval/loss"], rel=1e-12)
        assert given["best_metric"] == pytest.approx(expected["best_metric"], rel=1e-12)
        assert given["repo"] is None and given["revision"] is None and given["saved_at"].endswith("+00:00")


def test_the_runs_tab_shows_each_checkpoint(trained, page):
    with show(dir=trained.directory, open_browser=False, block=False, port=0) as dashboard:
        open_dashboard(page, dashboard.url)
        page.click("#tabs button[data-tab=runs]")
        page.wait_for_selector(".checkpoints-table tbody tr")
        rows = page.eval_on_selector_all(
            ".checkpoints-table tbody tr",
            "trs => trs.map(t => ({run: t.dataset.run, step: t.dataset.step, "
            "cells: [...t.children].map(c => c.textContent)}))",
        )
    assert [(r["run"], int(r["step"])) for r in rows] == [("saves", e["step"]) for e in trained.expected]
    for row, expected in zip(rows, trained.expected):
        run, step, saved, path, metrics, best, pushed = row["cells"]
        assert path == expected["path"] and pushed == "–"
        (shown,) = [float(pair.split("=")[1]) for pair in metrics.split() if pair.startswith("eval/loss=")]
        assert shown == pytest.approx(expected["eval/loss"], rel=1e-5)  # the page shows 6 significant digits
        assert float(best) == pytest.approx(expected["best_metric"], rel=1e-5)


def test_records_fill_in_survive_a_restart_and_stay_bounded(store_dir):
    run = trackio.init(project="records", name="r")
    run.record_checkpoint(10, "/job/out/checkpoint-10", {"eval/loss": 0.5, "eval/note": "text"}, best_metric=0.5)
    run.record_checkpoint(20, Path("/job/out/checkpoint-20"), {"eval/loss": math.nan})
    assert run.record_checkpoint(10, "/job/out/checkpoint-10", repo="alice/m", revision="c0ffee") is True  # a push
    with pytest.raises(ValueError, match="step must be an integer >= 0, got -1"):
        run.record_checkpoint(-1, "/job/out")
    with pytest.raises(TypeError, match=r"metrics must be a dict of metric names to numbers, got \[1\]"):
        run.record_checkpoint(1, "/job/out", metrics=[1])
    with pytest.raises(TypeError, match="revision must be a non-empty string or None, got 5"):
        run.record_checkpoint(1, "/job/out", revision=5)
    assert run.flush(timeout=10)
    first = Reader(store_dir).run("records", "r")["checkpoints"]
    assert [{k: v for k, v in c.items() if k != "time"} for c in first] == [
        {"step": 10, "path": "/job/out/checkpoint-10", "metrics": {"eval/loss": 0.5}, "best_metric": 0.5,
         "repo": "alice/m", "revision": "c0ffee"},
        {"step": 20, "path": "/job/out/checkpoint-20", "metrics": {"eval/loss": "NaN"}, "best_metric": None,
         "repo": None, "revision": None},
    ]  # fmt: skip
    run.finish()
    assert run.record_checkpoint(30, "/job/out/checkpoint-30") is False  # finished: nothing recorded
    assert Reader(store_dir).run("records", "r")["checkpoints"] == first

    again = trackio.init(project="records", name="r", resume="allow")  # a restart continues the list
    assert again.checkpoints == first
    for step in range(100, 100 + MAX_CHECKPOINT_RECORDS):
        again.record_checkpoint(step, f"/job/out/checkpoint-{step}")
    again.finish()
    kept = Reader(store_dir).run("records", "r")["checkpoints"]
    assert len(kept) == MAX_CHECKPOINT_RECORDS  # the newest kept: the two first entries went
    assert [c["step"] for c in kept] == list(range(100, 100 + MAX_CHECKPOINT_RECORDS))


def test_the_card_points_at_the_latest_space_once(monkeypatch):
    from transformers import modelcard

    monkeypatch.setattr(modelcard, "AUTOGENERATED_TRAINER_COMMENT", modelcard.AUTOGENERATED_TRAINER_COMMENT)
    model = tiny.build_model("gpt2", tokenizer=tiny.build_tokenizer())
    model.model_tags = ["mine", "trackio:https://huggingface.co/spaces/alice/old"]
    point_card_at_run(model, "alice/old")
    point_card_at_run(model, "alice/new")
    point_card_at_run(model, "alice/new")
    assert model.model_tags == ["mine", "trackio", "trackio:https://huggingface.co/spaces/alice/new"]
    comment = modelcard.AUTOGENERATED_TRAINER_COMMENT
    assert comment.startswith(badge(space_url("alice/new"))) and comment.count(BADGE_IMAGE) == 1
    assert "alice/old" not in comment and "This model card has been generated automatically" in comment
    point_card_at_run(model, None)  # a run without a Space: the trackio tag only, the card as it was
    assert model.model_tags == ["mine", "trackio", "trackio:https://huggingface.co/spaces/alice/new"]
    assert comment == modelcard.AUTOGENERATED_TRAINER_COMMENT


# -- pushes to the Hub emulator ---------------------------------------------------------------------------------


@pytest.fixture
def hub_client(hub, monkeypatch):
    """transformers' shared ``HfApi`` built anew against the emulator, and its model card text restored after."""
    import transformers.utils.hub
    from transformers import modelcard

    monkeypatch.setattr(transformers.utils.hub, "_hf_api", None)
    monkeypatch.setattr(modelcard, "AUTOGENERATED_TRAINER_COMMENT", modelcard.AUTOGENERATED_TRAINER_COMMENT)
    return hub


def commit_titled(hub, repo_id: str, title: str) -> str:
    (commit,) = [c for c in hub.commits(repo_id, repo_type="model") if c.title == title]
    return commit.oid


def synced_runs_row(hub, dataset_id: str, project: str, uid: str) -> dict:
    data = hub.repo_files(dataset_id)[layout.run_path(project, uid)]
    (row,) = pq.read_table(io.BytesIO(data)).to_pylist()
    return row


def test_pushes_record_their_commits_sync_the_run_and_link_the_card_to_the_space(hub_client, store_dir, tmp_path):
    hub = hub_client
    output_dir = tmp_path / "out"
    trainer = tiny.make_trainer(
        output_dir, eval_steps=2, callbacks=[TrackioCallback(space_id="board")], run_name="pushed", max_steps=6,
        push_to_hub=True, hub_model_id="alice/tiny-lm", hub_strategy="checkpoint", hub_always_push=True, **SAVES,
    )  # fmt: skip
    trainer.train()
    after = trainer.evaluate()  # after train(): logged to the run reopened, synced only by the push below
    trainer.push_to_hub()
    (pushed,) = [r for r in Reader(store_dir).runs("huggingface")]
    # the run was synced when the push began: the dataset holds the evaluation made after training
    pulled = tmp_path / "pulled"
    pull("alice/board-dataset", directory=pulled)
    losses = Reader(pulled).series("huggingface", "pushed", "eval/loss")
    assert losses.steps == [2, 4, 6, 6] and losses.values[-1] == pytest.approx(after["eval_loss"], rel=1e-12)

    # the model card: the badge linking to the Space, and both tags in its metadata
    readme = hub.repo_files("alice/tiny-lm", repo_type="model")["README.md"].decode()
    assert badge("https://huggingface.co/spaces/alice/board") in readme
    tags = hub.card_data("alice/tiny-lm", repo_type="model")["tags"]
    assert {"trackio", "trackio:https://huggingface.co/spaces/alice/board"} <= set(tags)

    trackio.finish()  # waits for the pushes' commits still being looked for, then syncs a last time
    saves = Reader(store_dir).run("huggingface", "pushed")["checkpoints"]
    expected = expected_saves(trainer, output_dir, [2, 4, 6])
    assert [(c["step"], c["path"]) for c in saves] == [
        *((e["step"], e["path"]) for e in expected),
        (6, str(output_dir.resolve())),  # push_to_hub() saved and pushed output_dir itself
    ]
    for saved, wanted in zip(saves, expected):
        assert saved["repo"] == "alice/tiny-lm"
        assert saved["revision"] == commit_titled(
            hub, "alice/tiny-lm", f"Training in progress, step {wanted['step']}, checkpoint"
        )
        assert saved["metrics"]["eval/loss"] == pytest.approx(wanted["eval/loss"], rel=1e-12)  # kept by the fill-in
        assert saved["best_metric"] == pytest.approx(wanted["best_metric"], rel=1e-12)
    final = saves[-1]
    head = hub.repo("alice/tiny-lm", repo_type="model").head
    assert head.title == "End of training" and (final["repo"], final["revision"]) == ("alice/tiny-lm", head.oid)
    assert final["metrics"]["eval/loss"] == pytest.approx(after["eval_loss"], rel=1e-12)
    # the revision of the last checkpoint holds the checkpoint folder it names
    files = hub.repo_files("alice/tiny-lm", repo_type="model", revision=saves[2]["revision"])
    assert "last-checkpoint/trainer_state.json" in files
    assert json.loads(files["last-checkpoint/trainer_state.json"])["global_step"] == 6

    row = synced_runs_row(hub, "alice/board-dataset", "huggingface", pushed["uid"])
    assert json.loads(row["checkpoints"]) == saves  # synced with the run


def test_the_run_waits_at_its_end_for_the_checkpoint_pushes_in_flight(hub_client, store_dir, tmp_path):
    from transformers import TrainerCallback

    hub = hub_client

    class CommitsAtTheEnd(TrainerCallback):  # before TrackioCallback: what the Hub holds when the run finishes
        def on_train_end(self, args, state, control, **kwargs):
            self.commits = hub.commit_count("alice/slow-lm", repo_type="model")

    probe = CommitsAtTheEnd()
    output_dir = tmp_path / "out"
    trainer = tiny.make_trainer(
        output_dir, eval_steps=2, callbacks=[probe, TrackioCallback(dataset_id="slow-runs")], run_name="inflight",
        max_steps=6, push_to_hub=True, hub_model_id="alice/slow-lm", hub_strategy="all_checkpoints",
        hub_always_push=True, **SAVES,
    )  # fmt: skip
    hub.slow(0.5, endpoint="commit")  # the pushes run behind the training: some are still going when it ends
    trainer.train()  # its end finishes the run
    pushes = hub.commits("alice/slow-lm", repo_type="model")
    assert probe.commits < len(pushes)  # a push was in flight when the run finished
    saves = Reader(store_dir).run("huggingface", "inflight")["checkpoints"]
    assert [c["step"] for c in saves] == [2, 4, 6]
    for saved in saves:
        step = saved["step"]
        assert saved["revision"] == commit_titled(
            hub, "alice/slow-lm", f"Training in progress, step {step}, checkpoint"
        )
        files = hub.repo_files("alice/slow-lm", repo_type="model", revision=saved["revision"])
        assert json.loads(files[f"checkpoint-{step}/trainer_state.json"])["global_step"] == step
    (run,) = Reader(store_dir).runs("huggingface")
    assert json.loads(synced_runs_row(hub, "alice/slow-runs", "huggingface", run["uid"])["checkpoints"]) == saves


def test_a_push_after_training_to_a_new_repo_is_recorded_through_hub_faults(hub_client, store_dir, tmp_path):
    hub = hub_client
    output_dir = tmp_path / "tiny-model"
    trainer = tiny.make_trainer(output_dir, eval_steps=2, callbacks=[TrackioCallback(dataset_id="runs")],
                                run_name="later", max_steps=4)  # fmt: skip
    trainer.train()
    assert not hub.has_repo("alice/tiny-model", repo_type="model")
    # a repo just created may not be found at once (the Hub's replicas lag): the commits are read again
    hub.fail_next(2, status=404, endpoint="commits")
    trainer.push_to_hub()  # creates alice/tiny-model (its namespace: the token's owner)
    trackio.finish()
    (saved,) = Reader(store_dir).run("huggingface", "later")["checkpoints"]
    head = hub.repo("alice/tiny-model", repo_type="model").head
    assert (saved["step"], saved["path"]) == (4, str(output_dir.resolve()))
    assert (saved["repo"], saved["revision"]) == ("alice/tiny-model", head.oid)  # not the repo's initial commit
    assert saved["metrics"]["eval/loss"] == pytest.approx(eval_losses(trainer)[4], rel=1e-12)
    # a run synced to a dataset only has no page to link: the trackio tag, no badge
    readme = hub.repo_files("alice/tiny-model", repo_type="model")["README.md"].decode()
    assert BADGE_IMAGE not in readme
    tags = hub.card_data("alice/tiny-model", repo_type="model")["tags"]
    assert "trackio" in tags and not [t for t in tags if t.startswith("trackio:")]
    (run,) = Reader(store_dir).runs("huggingface")
    assert json.loads(synced_runs_row(hub, "alice/runs", "huggingface", run["uid"])["checkpoints"]) == [saved]
