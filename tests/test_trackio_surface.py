"""trackio's whole API under both names: `import trackio` (the start-up hook's module) and `import trackio_callback`.

Signatures are compared with the real trackio 0.43 in tests/test_real_trackio.py (it has the real package in a
venv of its own); here: every name exists and is the same object under both names, the names with no meaning
raise errors that say so, `init`'s trackio parameters behave, `show(block_thread=False)` returns at once, and
`sync`/`freeze` (which transformers' own TrackioCallback calls) reach the Hub emulator.
"""

from __future__ import annotations

import json
import time
import warnings

import pytest
import trackio

import trackio_callback
from tests import tiny
from trackio_callback import Reader, TrackioWarning
from trackio_callback.compat.trackio_names import ABSENT, EXTRA_ATTRIBUTES, TRACKIO_ALL, TRACKIO_VERSION
from trackio_callback.errors import TrackioError, UnknownNameError, UnsupportedFeatureError
from trackio_callback.hub.pull import pull

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS)

PLACEHOLDERS = ("ArtifactTTL", "Classes", "EvalTable", "Graph", "JoinedTable", "Molecule", "Plotly", "Settings")


def test_import_trackio_is_this_package_and_both_names_give_the_same_objects():
    assert trackio.__name__ == "trackio" and trackio.__file__.endswith("trackio_module.py")
    assert trackio.__version__ == TRACKIO_VERSION == "0.43.0"  # transformers gates freeze() on trackio's version
    for name in TRACKIO_ALL:
        ours = getattr(trackio_callback, name)
        assert getattr(trackio, name) is ours, name
    assert set(TRACKIO_ALL) <= set(trackio.__all__) == set(trackio_callback.__all__)
    for name in EXTRA_ATTRIBUTES:
        assert name == "config" or hasattr(trackio, name), name  # config needs a run (below)


def test_placeholders_raise_a_trackio_error_that_names_the_alternative():
    for name in PLACEHOLDERS:
        with pytest.raises(UnsupportedFeatureError) as raised:
            getattr(trackio, name)()
        assert isinstance(raised.value, NotImplementedError) and isinstance(raised.value, TrackioError)
        message = str(raised.value)
        assert f"trackio.{name} has no meaning in trackio-callback" in message and ": " in message
    with pytest.raises(UnsupportedFeatureError, match=r"trackio\.Html\(figure\)"):
        trackio.Plotly({"data": []})


def test_trackio_internals_and_unknown_names_say_why_and_stay_attribute_errors():
    for name, instead in ABSENT.items():
        with pytest.raises(UnknownNameError) as raised:
            getattr(trackio, name)
        assert isinstance(raised.value, AttributeError) and instead in str(raised.value)
        assert not hasattr(trackio, name)  # code probing trackio's features keeps working
    with pytest.raises(UnknownNameError, match="has no attribute 'no_such_thing'"):
        trackio.no_such_thing  # noqa: B018
    assert getattr(trackio, "no_such_thing", "default") == "default"


def test_context_vars_and_config_follow_the_current_run(store_dir):
    assert trackio.context_vars.current_run.get() is None and trackio.context_vars.current_project.get() is None
    run = trackio.init(project="ctx", name="r", config={"lr": 0.1})
    assert trackio.context_vars.current_run.get() is run
    assert trackio.context_vars.current_project.get() == "ctx"
    assert trackio.context_vars.current_space_id.get() is None
    trackio.config.update({"epochs": 3}, allow_val_change=True)  # as transformers' TrackioCallback does
    trackio.finish()
    assert Reader(store_dir).run("ctx", "r")["config"] == {"lr": 0.1, "epochs": 3}
    assert trackio.context_vars.current_run.get() is None


def test_init_takes_trackios_eighteen_parameters_positionally_in_trackios_order(store_dir):
    import inspect

    params = list(inspect.signature(trackio.init).parameters.values())
    positional = [p.name for p in params if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == [
        "project", "name", "group", "space_id", "server_url", "dataset_id", "bucket_id", "config", "resume",
        "settings", "private", "embed", "auto_log_gpu", "gpu_log_interval", "auto_log_cpu", "cpu_log_interval",
        "webhook_url", "webhook_min_level",
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # settings= and embed= are accepted without a word, as documented
        run = trackio.init("pos", "r", "g", None, None, None, None, {"a": 1}, "never", object(), None, False)
    assert (run.project, run.name, run.group) == ("pos", "r", "g")
    trackio.finish()
    assert Reader(store_dir).run("pos", "r")["settings"]["private"] is True  # private=None: private


def test_init_refuses_a_trackio_server_and_warns_that_buckets_are_not_used(store_dir):
    with pytest.raises(UnsupportedFeatureError, match=r"server_url='http://h:7860'.*dataset_id= or space_id="):
        trackio.init(project="p", server_url="http://h:7860")
    with pytest.warns(TrackioWarning, match=r"bucket_id='alice/b'.*Buckets are not used.*dataset_id="):
        trackio.init(project="p", name="b", bucket_id="alice/b")
    trackio.finish()
    with pytest.raises(ValueError, match=r"cpu_log_interval must be a number of seconds > 0, got 0"):
        trackio.init(project="p", cpu_log_interval=0)
    with pytest.raises(TypeError, match=r"auto_log_gpu must be True, False or None"):
        trackio.init(project="p", auto_log_gpu="yes")


def test_auto_log_cpu_samples_the_samplers_keys_until_finish(store_dir):
    run = trackio.init(project="sys", name="on", auto_log_cpu=True, cpu_log_interval=0.1)
    trackio.log({"loss": 1.0})
    time.sleep(0.6)
    trackio.finish()
    reader = Reader(store_dir)
    keys = set(reader.system_keys("sys", "on"))
    assert {"system/cpu_percent", "system/memory_used_gb", "system/memory_percent", "system/process_rss_gb"} == keys
    samples = reader.system_series("sys", "on", "system/memory_used_gb")
    assert len(samples) >= 3 and all(s["value"] > 0 for s in samples)
    after = len(samples)
    time.sleep(0.3)
    assert len(Reader(store_dir).system_series("sys", "on", "system/memory_used_gb")) == after  # stopped at finish
    assert run.finished

    trackio.init(project="sys", name="off", auto_log_cpu=False, cpu_log_interval=0.1)
    time.sleep(0.4)
    trackio.finish()
    assert Reader(store_dir).system_keys("sys", "off") == []


def test_system_metrics_switched_off_by_the_environment_turn_off_the_default(store_dir, monkeypatch):
    monkeypatch.setenv("TRACKIO_SYSTEM_METRICS", "off")
    trackio.init(project="sys", name="env-off", cpu_log_interval=0.1)
    time.sleep(0.4)
    trackio.finish()
    assert Reader(store_dir).system_keys("sys", "env-off") == []
    trackio.init(project="sys", name="asked", auto_log_cpu=True, cpu_log_interval=0.1)  # asking wins
    time.sleep(0.4)
    trackio.finish()
    assert "system/cpu_percent" in Reader(store_dir).system_keys("sys", "asked")


def test_log_system_by_hand_is_stored_with_its_time_and_no_step(store_dir):
    trackio.init(project="sys", name="hand", auto_log_cpu=False)
    trackio.log({"loss": 1.0})
    trackio.log({"loss": 0.5})
    trackio.log_system({"gpu/0/power": 120.5})
    trackio.finish()
    (sample,) = Reader(store_dir).system_series("sys", "hand", "gpu/0/power")
    assert sample["value"] == 120.5 and sample["step"] is None and sample["timestamp"] <= time.time()


def test_show_with_block_thread_false_returns_at_once_and_unpacks_like_trackios(store_dir):
    trackio.init(project="shown", name="r", auto_log_cpu=False)
    trackio.log({"loss": 1.0})
    trackio.finish()
    started = time.monotonic()
    dashboard = trackio.show(project="shown", block_thread=False, open_browser=False, server_port=0)
    try:
        assert time.monotonic() - started < 15
        app, url, share_url, full_url = dashboard
        assert app is dashboard and url == full_url == dashboard.url and share_url is None
        assert dashboard[3] == dashboard.url and dashboard[1:3] == (dashboard.url, None) and len(dashboard) == 4
        import urllib.request

        with urllib.request.urlopen(url + "api/projects", timeout=10) as response:
            assert "shown" in json.loads(response.read())["projects"]
    finally:
        dashboard.close()
    with pytest.warns(TrackioWarning, match=r"show\(share=True\): no public tunnel"):
        trackio.show(project="shown", block_thread=False, open_browser=False, server_port=0, share=True).close()


def _two_runs(store_dir, project: str = "pub") -> dict[str, list[float]]:
    values = {}
    for name, scale in (("a", 1.0), ("b", 2.0)):
        trackio.init(project=project, name=name, auto_log_cpu=False)
        values[name] = [scale / (step + 1) for step in range(20)]
        for value in values[name]:
            trackio.log({"train/loss": value})
        trackio.finish()
    return values


def _pulled(tmp_path, dataset_id: str, project: str) -> dict[str, list[float]]:
    directory = tmp_path / f"pulled-{len(list(tmp_path.iterdir()))}"
    pull(dataset_id, directory=directory)
    with Reader(directory) as reader:
        return {run["name"]: reader.series(project, run["name"], "train/loss").values for run in reader.runs(project)}


def test_sync_sends_the_project_to_its_dataset_and_deploys_the_space(hub, store_dir, tmp_path):
    values = _two_runs(store_dir)
    assert trackio.sync("pub", space_id="board", sdk="static") == "alice/board"
    assert _pulled(tmp_path, "alice/board-dataset", "pub") == values
    space = hub.repo_files("alice/board", repo_type="space")
    assert json.loads(space["config.json"])["dataset_id"] == "alice/board-dataset"
    assert hub.repo("alice/board", repo_type="space").private and hub.repo("alice/board-dataset").private
    commits = hub.commit_count("alice/board-dataset")
    assert trackio.sync("pub", space_id="alice/board", sdk="static", force=True) == "alice/board"
    assert hub.commit_count("alice/board-dataset") == commits  # nothing new: nothing sent, nothing doubled
    assert _pulled(tmp_path, "alice/board-dataset", "pub") == values


def test_sync_warns_about_what_it_cannot_do_and_checks_its_arguments(hub, store_dir):
    _two_runs(store_dir)
    with pytest.warns(TrackioWarning, match=r"sync\(bucket_id='alice/bucket'\).*dataset"):
        trackio.sync("pub", space_id="board", sdk="static", bucket_id="alice/bucket")
    with pytest.raises(ValueError, match="sdk"):
        trackio.sync("pub", space_id="board", sdk="streamlit")


def test_freeze_deploys_a_static_snapshot_pinned_to_the_datasets_commit(hub, store_dir, tmp_path):
    values = _two_runs(store_dir)
    trackio.sync("pub", space_id="board", sdk="gradio")
    frozen = trackio.freeze("board", "pub")
    assert frozen == "alice/board_static"
    config = json.loads(hub.repo_files(frozen, repo_type="space")["config.json"])
    head = hub.api().dataset_info("alice/board-dataset").sha
    assert config == {"mode": "hub", "dataset_id": "alice/board-dataset", "hub": hub.url, "revision": head,
                      "project": "pub"}  # fmt: skip
    assert hub.card_data(frozen, "space")["sdk"] == "static"

    trackio.init(project="pub", name="c", auto_log_cpu=False)
    trackio.log({"train/loss": 9.0})
    trackio.finish()
    trackio.sync("pub", space_id="board", sdk="gradio")
    assert hub.api().dataset_info("alice/board-dataset").sha != head
    snapshot = hub.repo_files("alice/board-dataset", revision=head)
    later = hub.repo_files("alice/board-dataset")
    assert len(later) > len(snapshot) and set(snapshot) < set(later)  # the snapshot does not move
    assert _pulled(tmp_path, "alice/board-dataset", "pub") == {**values, "c": [9.0]}


def test_transformers_own_trackio_callback_logs_syncs_and_freezes(hub, store_dir, tmp_path):
    """`callbacks=[transformers.integrations.TrackioCallback()]`: transformers' class, calling `import trackio`."""
    from transformers.integrations import TrackioCallback as TransformersTrackioCallback

    callback = TransformersTrackioCallback()
    assert callback._trackio is trackio
    trainer = tiny.make_trainer(
        tmp_path / "out", report_to="none", callbacks=[callback], run_name="tf-own", max_steps=4,
        logging_steps=1, project="tf-project", trackio_space_id="tf-board", trackio_static_space_id="tf-snapshot",
    )  # fmt: skip
    trainer.train()
    reader = Reader(store_dir)
    (run,) = reader.runs("tf-project")
    assert run["name"] == "tf-own" and run["status"] == "finished"
    logged = [(e["step"], e["loss"]) for e in trainer.state.log_history if "loss" in e]
    series = reader.series("tf-project", "tf-own", "train/loss")
    # transformers' callback logs without a step (trackio counts calls from 0) and adds train/global_step
    assert series.values == pytest.approx([loss for _, loss in logged])
    global_step = reader.series("tf-project", "tf-own", "train/global_step")
    trainer_steps = dict(zip(global_step.steps, global_step.values))
    assert {step: trainer_steps[step] for step in series.steps} == dict(zip(series.steps, [s for s, _ in logged]))
    assert run["config"]["max_steps"] == 4 and run["config"]["model/num_parameters"] > 0

    config = json.loads(hub.repo_files("alice/tf-snapshot", repo_type="space")["config.json"])
    assert config["dataset_id"] == "alice/tf-board-dataset" and config["project"] == "tf-project"
    assert config["revision"] == hub.api().dataset_info("alice/tf-board-dataset").sha
    assert "trackio:https://huggingface.co/spaces/alice/tf-snapshot" in trainer.model.model_tags
    pulled = _pulled(tmp_path, "alice/tf-board-dataset", "tf-project")
    assert pulled["tf-own"] == pytest.approx(series.values)


def test_transformers_own_trackio_callback_syncs_a_static_space_on_push(hub, store_dir, tmp_path):
    """``on_push_begin`` (``push_to_hub`` during training, no Gradio Space): transformers calls
    ``trackio.sync(project, sdk="static", space_id=..., force=True)`` and links the model card to the Space."""
    from transformers import TrainerControl, TrainerState
    from transformers.integrations import TrackioCallback as TransformersTrackioCallback

    args = tiny.trainer_args(tmp_path / "out", project="push-project", run_name="pushed", report_to="none",
                             trackio_static_space_id="push-board")  # fmt: skip
    model = tiny.build_model("gpt2", tokenizer=tiny.build_tokenizer())
    callback, state, control = TransformersTrackioCallback(), TrainerState(), TrainerControl()
    callback.on_train_begin(args, state, control, model=model)
    for step in range(1, 4):
        state.global_step = step
        callback.on_log(args, state, control, model=model, logs={"loss": 1.0 / step})
    callback.on_push_begin(args, state, control, model=model)
    assert callback._static_space_id == "alice/push-board"
    config = json.loads(hub.repo_files("alice/push-board", repo_type="space")["config.json"])
    assert config["dataset_id"] == "alice/push-board-dataset" and "revision" not in config  # live, not frozen
    assert "trackio:https://huggingface.co/spaces/alice/push-board" in model.model_tags
    assert hub.repo("alice/push-board", repo_type="space").private  # hub_private_repo unset: private here
    callback.on_train_end(args, state, control, model=model)
    pulled = _pulled(tmp_path, "alice/push-board-dataset", "push-project")
    assert pulled == {"pushed": [1.0, 0.5, 1.0 / 3]}
