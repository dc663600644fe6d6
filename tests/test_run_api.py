"""The trackio-compatible API: init defaults, names, resume, steps, config, lifecycle."""

from __future__ import annotations

import re
import warnings

import pytest

import trackio_callback as trackio
from trackio_callback import InvalidNameError, Reader, RunNotFoundError, TrackioWarning


def test_defaults_come_from_the_environment(monkeypatch, tmp_path, hub):
    monkeypatch.setenv("TRACKIO_PROJECT", "from-env")
    monkeypatch.setenv("TRACKIO_SPACE_ID", "alice/trackio")
    monkeypatch.setenv("TRACKIO_DATASET_ID", "alice/trackio-data")
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "elsewhere"))
    run = trackio.init(name="env-run")
    assert run.project == "from-env"
    assert run.path == tmp_path / "elsewhere" / "from-env.db"
    run.finish()
    info = Reader(tmp_path / "elsewhere").run("from-env", "env-run")
    assert info["settings"] == {
        "space_id": "alice/trackio",
        "space_sdk": "static",
        "dataset_id": "alice/trackio-data",
        "private": True,
        "sync_every": 300,
    }


def test_explicit_arguments_beat_the_environment(monkeypatch, store_dir, hub):
    monkeypatch.setenv("TRACKIO_PROJECT", "from-env")
    monkeypatch.setenv("TRACKIO_SPACE_ID", "bob/trackio")
    run = trackio.init(project="explicit", space_id="trackio", name="r")
    run.finish()
    settings = Reader(store_dir).run("explicit", "r")["settings"]
    # a bare name is the token owner's; the dataset follows the Space's name
    assert (settings["space_id"], settings["dataset_id"]) == ("alice/trackio", "alice/trackio-dataset")


def test_project_defaults_to_huggingface(store_dir):
    assert trackio.init().project == "huggingface"


def test_default_storage_dir_is_in_the_hf_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("TRACKIO_DIR")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    run = trackio.init(project="p")
    assert run.path == tmp_path / "hf" / "trackio-callback" / "p.db"


def test_generated_names_are_readable_and_unique(store_dir):
    names = []
    for _ in range(12):
        run = trackio.init(project="names")
        names.append(run.name)
        run.finish()
    assert len(set(names)) == 12
    assert all(re.fullmatch(r"[a-z]+-[a-z]+-\d+", name) for name in names)
    assert [r["name"] for r in Reader(store_dir).runs("names")] == names


@pytest.mark.parametrize("bad", ["../evil", "a/b", "a\\b", "", ".hidden", "x\x00y", "a..b", "trailing ", "x" * 129, 5])
def test_bad_project_names_are_clear_errors(bad):
    with pytest.raises((InvalidNameError, TypeError)) as error:
        trackio.init(project=bad)
    assert repr(bad) in str(error.value)


@pytest.mark.parametrize("good", ["qwen-capybara-sft", "My Project 2", "v1.0_run", "проект"])
def test_reasonable_project_names_are_accepted(good, store_dir):
    trackio.init(project=good).finish()
    assert good in Reader(store_dir).projects()


def test_bad_arguments_name_the_value(store_dir):
    with pytest.raises(ValueError, match=r"resume='sometimes'.*'never', 'allow', 'must'"):
        trackio.init(project="p", resume="sometimes")
    with pytest.raises(ValueError, match=r"sync_every=10.*from 60 to"):
        trackio.init(project="p", sync_every=10)
    with pytest.raises(TypeError, match="config must be a dict"):
        trackio.init(project="p", config=[1, 2])
    with pytest.raises(TypeError, match=r"private must be True, False or None \(private\)"):
        trackio.init(project="p", private="yes")
    with pytest.raises(InvalidNameError, match="run name"):
        trackio.init(project="p", name="")


def test_unwritable_storage_dir_fails_at_init(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match=r"cannot open the project file .*file/sub/p\.db.*TRACKIO_DIR"):
        trackio.init(project="p", dir=blocker / "sub")
    (tmp_path / "dir.db").mkdir()  # a directory where the database file should be
    with pytest.raises(OSError, match="cannot open the project file"):
        trackio.init(project="dir", dir=tmp_path)


def test_resume_never_suffixes_a_taken_name(store_dir):
    trackio.init(project="p", name="baseline").finish()
    with pytest.warns(TrackioWarning, match="'baseline-2'"):
        second = trackio.init(project="p", name="baseline")
    assert second.name == "baseline-2" and not second.resumed
    second.finish()
    with pytest.warns(TrackioWarning):
        assert trackio.init(project="p", name="baseline").name == "baseline-3"


def test_resume_allow_continues_steps_and_config(store_dir):
    first = trackio.init(project="p", name="long", config={"lr": 0.1, "epochs": 1})
    for _ in range(5):
        first.log({"loss": 1.0})
    first.finish()
    again = trackio.init(project="p", name="long", resume="allow", config={"epochs": 2})
    assert again.resumed and again.step == 5
    again.log({"loss": 0.5})
    again.finish()
    reader = Reader(store_dir)
    assert reader.series("p", "long", "loss").steps == [0, 1, 2, 3, 4, 5]
    assert reader.run("p", "long")["config"] == {"lr": 0.1, "epochs": 2}
    assert reader.run("p", "long")["num_logs"] == 6
    assert [r["name"] for r in reader.runs("p")] == ["long"]


def test_resume_allow_creates_a_missing_run(store_dir):
    run = trackio.init(project="p", name="fresh", resume="allow")
    assert not run.resumed and run.name == "fresh"


def test_resume_must_requires_the_run(store_dir):
    trackio.init(project="p", name="exists").finish()
    with pytest.raises(RunNotFoundError, match="'exits'.*did you mean: 'exists'"):
        trackio.init(project="p", name="exits", resume="must")
    assert trackio.init(project="p", name="exists", resume="must").resumed


def test_rewound_steps_are_kept_and_readable_both_ways(store_dir):
    run = trackio.init(project="p", name="rewind")
    for step in range(6):
        run.log({"loss": float(step)}, step=step)
    for step in range(3, 8):  # restored from the step-3 checkpoint
        run.log({"loss": 100.0 + step}, step=step)
    run.finish()
    reader = Reader(store_dir)
    logged = reader.series("p", "rewind", "loss")
    assert logged.steps == [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7]
    latest = reader.series("p", "rewind", "loss", latest_per_step=True)
    assert latest.steps == [0, 1, 2, 3, 4, 5, 6, 7]
    assert latest.values == [0.0, 1.0, 2.0, 103.0, 104.0, 105.0, 106.0, 107.0]
    assert reader.run("p", "rewind")["last_step"] == 7


def test_auto_steps_follow_the_last_explicit_step(store_dir):
    run = trackio.init(project="p", name="steps")
    run.log({"a": 1.0})
    run.log({"a": 2.0}, step=10)
    run.log({"a": 3.0})
    run.finish()
    assert Reader(store_dir).series("p", "steps", "a").steps == [0, 10, 11]


def test_config_is_a_live_dict(store_dir):
    run = trackio.init(project="p", name="cfg", config={"model": "tiny"})
    trackio.config["lr"] = 2e-5
    run.config.update({"epochs": 3, "dtype": object.__new__(type("Dtype", (), {"__str__": lambda s: "bf16"}))})
    del run.config["model"]
    assert dict(run.config) == {"lr": 2e-5, "epochs": 3, "dtype": run.config["dtype"]}
    with pytest.raises(TypeError, match="config keys must be strings"):
        run.config[1] = 2
    run.finish()
    assert Reader(store_dir).run("p", "cfg")["config"] == {"lr": 2e-5, "epochs": 3, "dtype": "bf16"}


def test_config_changes_are_saved_while_running(store_dir):
    run = trackio.init(project="p", name="live-cfg", flush_every=0.05)
    run.config["phase"] = "warmup"
    assert run.flush(timeout=10)
    assert Reader(store_dir).run("p", "live-cfg")["config"] == {"phase": "warmup"}


def test_context_manager_and_current_run(store_dir):
    assert trackio.current_run() is None
    with trackio.init(project="p", name="ctx") as run:
        assert trackio.current_run() is run
        trackio.log({"x": 1.0})
    assert trackio.current_run() is None and run.finished
    assert Reader(store_dir).run("p", "ctx")["status"] == "finished"
    with pytest.raises(ZeroDivisionError), trackio.init(project="p", name="boom"):
        raise ZeroDivisionError
    assert Reader(store_dir).run("p", "boom")["status"] == "crashed"


def test_init_while_active_finishes_the_previous_run(store_dir):
    first = trackio.init(project="p", name="one")
    first.log({"x": 1.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as trackio: finished first, without a warning (nothing is lost)
        second = trackio.init(project="p", name="two")
    assert first.finished and trackio.current_run() is second
    assert Reader(store_dir).run("p", "one")["status"] == "finished"


def test_module_level_calls_without_a_run(store_dir):
    with pytest.warns(TrackioWarning, match=r"trackio.log\(\) without an active run: dropped \(call init\(\) first\)"):
        trackio.log({"x": 1.0})  # TRL logs from inside training: a warning, never an error
    with pytest.raises(RuntimeError, match="call trackio_callback.init"):
        _ = trackio.config
    with pytest.raises(RuntimeError, match="call trackio_callback.init"):
        trackio.log_system({"gpu": 1.0})
    trackio.finish()  # nothing to finish: no error


def test_finish_is_idempotent_and_status_is_recorded(store_dir):
    run = trackio.init(project="p", name="done", group="g")
    run.log({"x": 1.0})
    run.finish()
    run.finish()
    info = Reader(store_dir).run("p", "done")
    assert info["status"] == "finished" and info["group"] == "g"
    assert info["finished_at"] >= info["created_at"]


def test_running_run_is_visible_and_alive(store_dir):
    run = trackio.init(project="p", name="live", flush_every=0.05)
    run.log({"x": 1.0})
    assert run.flush(timeout=10)
    info = Reader(store_dir).run("p", "live")
    assert info["status"] == "running" and info["last_step"] == 0


def test_no_warning_on_the_happy_path(store_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = trackio.init(project="p", name="quiet", config={"a": 1})
        for step in range(100):
            run.log({"train/loss": 1.0 / (step + 1), "train/lr": 1e-3}, step=step)
        run.finish()


def test_relative_storage_dir(store_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    run = trackio.init(project="p", name="rel", dir="relative/runs")
    run.log({"x": 1.0})
    run.finish()
    assert (tmp_path / "relative" / "runs" / "p.db").exists()
    assert Reader("relative/runs").series("p", "rel", "x").values == [1.0]
