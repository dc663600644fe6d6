"""TrackioCallback on real Trainer / TRL runs of tiny offline models (CPU)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import trackio_callback as trackio
from tests import tiny
from trackio_callback import InvalidNameError, Reader, TrackioWarning
from trackio_callback.integrations.callback import SUMMARY_KEYS, TrackioCallback, rewrite_keys

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS)

THROUGHPUT_KEYS = {"train/step_time", "train/samples_per_second", "train/tokens_per_second", "train/eta_seconds"}


def logged_by_trainer(trainer) -> dict[str, dict[int, float]]:
    """What the Trainer logged, renamed as the callback names it: ``{key: {step: value}}`` (summary left out)."""
    expected: dict[str, dict[int, float]] = {}
    for entry in trainer.state.log_history:
        entry = dict(entry)
        step = entry.pop("step")
        if SUMMARY_KEYS & set(entry):
            continue
        for key, value in rewrite_keys(entry).items():
            expected.setdefault(key, {})[step] = value
    return expected


def assert_run_matches(reader: Reader, project: str, run: str, trainer) -> dict:
    expected = logged_by_trainer(trainer)
    stored_keys = set(reader.metric_keys(project, run))
    assert set(expected) <= stored_keys, set(expected) - stored_keys
    for key, by_step in expected.items():
        series = reader.series(project, run, key, latest_per_step=True)
        assert dict(zip(series.steps, series.values)) == pytest.approx(by_step, rel=1e-6), key
    summary = reader.run(project, run)["summary"]
    final = next(e for e in trainer.state.log_history if "train_runtime" in e)
    assert summary == pytest.approx({k: final[k] for k in SUMMARY_KEYS if k in final})
    assert not SUMMARY_KEYS & {k.split("/", 1)[1] for k in stored_keys}  # summary values are not series
    return expected


def test_plain_trainer_report_to_trackio(store_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value_never_stored")
    trainer = tiny.make_trainer(tmp_path / "out", eval_steps=2, report_to="trackio", run_name="plain", max_steps=6)
    assert [type(c) for c in trainer.callback_handler.callbacks].count(TrackioCallback) == 1
    trainer.train()
    reader = Reader(store_dir)
    (run,) = reader.runs("huggingface")
    assert run["name"] == "plain" and run["status"] == "finished" and run["last_step"] == 6
    expected = assert_run_matches(reader, "huggingface", "plain", trainer)
    assert {"train/loss", "train/grad_norm", "train/learning_rate", "eval/loss"} <= set(expected)
    keys = set(reader.metric_keys("huggingface", "plain"))
    assert keys >= THROUGHPUT_KEYS and "train/mfu" not in keys  # no peak FLOP/s known for a CPU
    samples = reader.series("huggingface", "plain", "train/samples_per_second")
    assert all(0 < v < 1e7 for v in samples.values)
    tokens = reader.series("huggingface", "plain", "train/tokens_per_second").values
    # rows of at most 16 tokens, padded to the longest of their batch
    assert all(1 <= t / s <= 16 for t, s in zip(tokens, samples.values))
    config = run["config"]
    assert config["learning_rate"] == 1e-3 and config["max_steps"] == 6 and config["model/n_layer"] == 2
    assert config["model/num_parameters"] == trainer.model.num_parameters()
    assert config["model/trainable_parameters"] == config["model/num_parameters"]
    assert config["throughput/tokens_source"] == "batch_shapes"
    assert "hub_token" not in config and "hf_secret_value_never_stored" not in json.dumps(config)
    db_bytes = b"".join(p.read_bytes() for p in store_dir.iterdir())
    assert b"hf_secret_value_never_stored" not in db_bytes

    metrics = trainer.evaluate()  # after train(): reopens the same run
    predictions = trainer.predict(tiny.lm_dataset(trainer.processing_class, n=4))
    trackio.finish()
    loss = reader.series("huggingface", "plain", "eval/loss")
    assert loss.values[-1] == pytest.approx(metrics["eval_loss"]) and loss.steps[-1] == 6
    assert reader.series("huggingface", "plain", "test/loss").values == pytest.approx(
        [predictions.metrics["test_loss"]]
    )
    assert [r["name"] for r in reader.runs("huggingface")] == ["plain"]


def test_sft_trainer(store_dir, tmp_path):
    trainer = tiny.make_sft_trainer(tmp_path / "out", report_to="trackio", run_name="sft", conversational=True)
    trainer.train()
    reader = Reader(store_dir)
    expected = assert_run_matches(reader, "huggingface", "sft", trainer)
    assert {"train/num_tokens", "train/mean_token_accuracy", "train/entropy"} <= set(expected)
    assert reader.run("huggingface", "sft")["config"]["throughput/tokens_source"] == "trl_num_tokens"
    # tokens/s is the growth of TRL's num_tokens over time between logs
    num_tokens = reader.series("huggingface", "sft", "train/num_tokens").values
    step_time = reader.series("huggingface", "sft", "train/step_time").values
    tokens_per_second = reader.series("huggingface", "sft", "train/tokens_per_second").values
    assert tokens_per_second[0] == pytest.approx((num_tokens[1] - num_tokens[0]) / step_time[0])


def test_dpo_trainer(store_dir, tmp_path):
    trainer = tiny.make_dpo_trainer(tmp_path / "out", report_to=["trackio"], run_name="dpo")
    trainer.train()
    expected = assert_run_matches(Reader(store_dir), "huggingface", "dpo", trainer)
    assert {"train/rewards/chosen", "train/rewards/margins", "train/logps/rejected"} <= set(expected)


def test_grpo_trainer_logs_completions_as_tables(store_dir, tmp_path):
    trainer = tiny.make_grpo_trainer(tmp_path / "out", report_to="trackio", run_name="grpo")
    trainer.train()
    reader = Reader(store_dir)
    expected = assert_run_matches(reader, "huggingface", "grpo", trainer)
    assert {"train/reward", "train/completions/mean_length", "train/rewards/reward_len/mean"} <= set(expected)
    tables = reader.tables("huggingface", "grpo", "completions")
    assert [t["step"] for t in tables] == [1, 2, 3, 4]  # one per logging step, at that step
    first = tables[0]
    assert first["columns"][:3] == ["step", "prompt", "completion"] and "reward_len" in first["columns"]
    assert len(first["rows"]) == 4  # 2 prompts x 2 generations
    rewards = [row[first["columns"].index("reward_len")] for row in first["rows"]]
    completions = [row[first["columns"].index("completion")] for row in first["rows"]]
    assert rewards == pytest.approx([len(c) / 10 for c in completions])
    assert reader.table_keys("huggingface", "grpo") == ["completions"]


def test_explicit_callback_and_no_double_logging(store_dir, tmp_path):
    callback = TrackioCallback(peak_flops="2 TFLOPS")  # a CPU has no entry in the peak table: give one
    alone = tiny.make_trainer(tmp_path / "a", report_to="none", run_name="alone", callbacks=[callback])
    alone.train()
    reader = Reader(store_dir)
    mfu = reader.series("huggingface", "alone", "train/mfu").values
    flops = reader.series("huggingface", "alone", "train/flops_per_second").values
    assert mfu == pytest.approx([f / 2e12 for f in flops]) and all(0 < m < 1 for m in mfu)
    tokens = reader.series("huggingface", "alone", "train/tokens_per_second").values
    parameters = alone.model.num_parameters()
    assert flops == pytest.approx([t * 6 * parameters for t in tokens])  # 6·N FLOPs per token
    assert reader.run("huggingface", "alone")["config"]["throughput/peak_flops"] == 2e12
    both = tiny.make_trainer(tmp_path / "b", report_to="trackio", run_name="both", callbacks=[TrackioCallback()])
    both.train()
    for name, trainer in (("alone", alone), ("both", both)):
        loss = reader.series("huggingface", name, "train/loss")
        assert loss.steps == [1, 2, 3, 4]  # each step once
        assert_run_matches(reader, "huggingface", name, trainer)
    assert [r["name"] for r in reader.runs("huggingface")] == ["alone", "both"]


def test_a_run_opened_with_init_is_reused_and_left_open(store_dir, tmp_path):
    run = trackio.init(project="mine", name="my-run", group="baseline", config={"learning_rate": 42.0, "model": "x"})
    trainer = tiny.make_trainer(tmp_path / "out", report_to="trackio", run_name="ignored", project="ignored")
    trainer.train()
    assert trackio.current_run() is run and not run.finished  # the user's run: the user finishes it
    run.log({"after/extra": 1.0})
    trackio.finish()
    trainer.evaluate(tiny.lm_dataset(trainer.processing_class, n=4))  # after the user's finish: the same run again
    trackio.finish()
    reader = Reader(store_dir)
    assert reader.projects() == ["mine"] and [r["name"] for r in reader.runs("mine")] == ["my-run"]
    info = reader.run("mine", "my-run")
    assert info["group"] == "baseline" and info["status"] == "finished"
    assert info["config"]["learning_rate"] == 42.0 and info["config"]["model"] == "x"  # the user's values win
    assert info["config"]["max_steps"] == 4
    assert_run_matches(reader, "mine", "my-run", trainer)


def test_configuration_from_environment_only(store_dir, tmp_path, monkeypatch, hub):
    monkeypatch.setenv("TRACKIO_PROJECT", "from-env")
    monkeypatch.setenv("TRACKIO_SPACE_ID", "alice/trackio")
    tiny.make_trainer(tmp_path / "out", report_to="trackio", run_name="env").train()
    info = Reader(store_dir).run("from-env", "env")
    assert info["settings"]["space_id"] == "alice/trackio" and info["settings"]["private"] is True
    assert "metrics/from-env/" in "".join(hub.repo_files("alice/trackio-dataset"))  # synced at the end of training
    assert hub.repo("alice/trackio-dataset").private


def test_training_arguments_give_the_defaults(store_dir, tmp_path):
    tiny.make_trainer(
        tmp_path / "out", report_to="trackio", project="args-project", run_name="r", hub_private_repo=False
    ).train()
    assert Reader(store_dir).run("args-project", "r")["settings"]["private"] is False


def test_misconfiguration_fails_before_training(store_dir, tmp_path):
    with pytest.raises(InvalidNameError, match="'bad/project'"):
        tiny.make_trainer(tmp_path / "out", report_to="trackio", project="bad/project")
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OSError, match="cannot write to"):
        tiny.make_trainer(tmp_path / "out", report_to="none", callbacks=[TrackioCallback(dir=blocker / "sub")])


def test_a_failing_tracker_never_stops_training(store_dir, tmp_path, monkeypatch):
    trainer = tiny.make_trainer(tmp_path / "out", report_to="trackio", run_name="broken")

    def explode(*args, **kwargs):
        raise RuntimeError("tracker bug")

    monkeypatch.setattr(trackio.Run, "log", explode)
    with pytest.warns(TrackioWarning, match="tracker bug"):
        trainer.train()
    assert trainer.state.global_step == 4


def test_health_alerts_are_stored_and_printed_once(store_dir, tmp_path):
    from transformers import TrainerControl, TrainerState

    args = tiny.trainer_args(tmp_path / "out", report_to="none", run_name="health")
    state = TrainerState(max_steps=100)
    callback = TrackioCallback(system_metrics=False)
    callback.on_train_begin(args, state, TrainerControl())
    losses = [2.0, 1.9, 1.8, 1.7, 1.6, 1.5, 9.0, 1.4, math.nan, math.nan, 1.3]
    with pytest.warns(TrackioWarning) as caught:
        for step, loss in enumerate(losses, start=1):
            state.global_step = step
            grad_norm = 1e6 if step == 8 else 1.0
            callback.on_log(args, state, TrainerControl(), logs={"loss": loss, "grad_norm": grad_norm})
    callback.on_train_end(args, state, TrainerControl())
    alerts = Reader(store_dir).alerts("huggingface", "health")
    assert {a["level"] for a in alerts} == {"warn"}
    assert [(a["title"], a["step"]) for a in alerts] == [
        ("loss_spike", 7),
        ("grad_norm_explosion", 8),
        ("nan_loss", 9),
        ("nan_loss", 10),
    ]
    assert alerts[0]["value"] == 9.0 and "running average" in alerts[0]["text"]
    printed = [str(w.message) for w in caught if "alert" in str(w.message)]
    assert len(printed) == 3  # one line per kind


def test_only_world_process_zero_records(store_dir, tmp_path):
    from transformers import TrainerControl, TrainerState

    args = tiny.trainer_args(tmp_path / "out", report_to="none")
    state = TrainerState(is_world_process_zero=False)
    callback = TrackioCallback()
    callback.on_init_end(args, state, TrainerControl())
    callback.on_train_begin(args, state, TrainerControl())
    callback.on_log(args, state, TrainerControl(), logs={"loss": 1.0})
    callback.on_train_end(args, state, TrainerControl())
    assert trackio.current_run() is None and not store_dir.exists()


def test_torchrun_two_processes_make_one_run(store_dir, tmp_path):
    script = Path(__file__).parent / "scripts" / "ddp_train.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
         str(tmp_path / "out")],
        env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    history = json.loads((tmp_path / "out" / "log_history.json").read_text())
    reader = Reader(store_dir)
    (run,) = reader.runs("ddp-project")
    assert run["status"] == "finished" and run["num_logs"] == len(history)
    loss = reader.series("ddp-project", "ddp", "train/loss")
    assert loss.steps == [1, 2, 3, 4, 5, 6]
    assert loss.values == pytest.approx([e["loss"] for e in history if "loss" in e])
    assert run["config"]["world_size"] == 2


def test_other_nodes_sample_their_gpus_into_the_run(store_dir, tmp_path, monkeypatch):
    import time

    from transformers import TrainerControl, TrainerState

    args = tiny.trainer_args(tmp_path / "out", report_to="none")  # built first: it would start a process group
    # torchrun's variables on node 1 of a 2-node job, one process per node
    for variable, value in {"WORLD_SIZE": "2", "LOCAL_WORLD_SIZE": "1", "GROUP_RANK": "1", "LOCAL_RANK": "0",
                            "RANK": "1", "TORCHELASTIC_RUN_ID": "job42"}.items():  # fmt: skip
        monkeypatch.setenv(variable, value)
    observer = TrackioCallback(system_metrics=0.05)
    other = TrainerState(is_world_process_zero=False)
    observer.on_train_begin(args, other, TrainerControl())
    observer.on_log(args, other, TrainerControl(), logs={"loss": 1.0})  # not recorded here
    time.sleep(0.5)
    observer.on_train_end(args, other, TrainerControl())

    monkeypatch.setenv("GROUP_RANK", "0")  # node 0's process zero, later: the same run, found by the job's id
    main = TrackioCallback(system_metrics=False)
    zero = TrainerState(max_steps=2)
    main.on_train_begin(args, zero, TrainerControl())
    zero.global_step = 1
    main.on_log(args, zero, TrainerControl(), logs={"loss": 2.0})
    main.on_train_end(args, zero, TrainerControl())

    reader = Reader(store_dir)
    (run,) = reader.runs("huggingface")
    assert run["name"] == "job-job42" and run["status"] == "finished"
    assert reader.metric_keys("huggingface", "job-job42") == ["train/loss"]
    assert reader.series("huggingface", "job-job42", "train/loss").values == [2.0]
    memory = reader.system_series("huggingface", "job-job42", "system/memory_used_gb")
    assert len(memory) >= 1 and {p["node"] for p in memory} == {"node1"} and all(p["value"] > 0 for p in memory)
