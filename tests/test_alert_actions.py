"""Acting on health alerts: divergence detection, and ``TrackioCallback(on_nan=, on_divergence=)`` on real Trainers."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from tests import tiny
from trackio_callback import Reader
from trackio_callback.integrations.alert_actions import AlertActions, check_action
from trackio_callback.integrations.callback import TrackioCallback
from trackio_callback.telemetry.health import Alert, HealthMonitor, is_nan_alert

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS, "ignore::trackio_callback.TrackioWarning")

PROJECT = "huggingface"

# -- divergence (pure) ----------------------------------------------------------------------------


def alerts_of(monitor: HealthMonitor, losses: list[float], first_step: int = 1) -> list[tuple[str, int, float]]:
    found = []
    for step, loss in enumerate(losses, start=first_step):
        found += [(a.kind, step, a.value) for a in monitor.update(step, loss=loss)]
    return found


def test_a_sustained_rise_is_a_divergence_once():
    monitor = HealthMonitor(ema=0.5, warmup=2, divergence_factor=2.0, divergence_patience=3)
    # averages (EMA 0.5; the first value taken whole): 4, 3, 1.5, 1.5, 1.25 (lowest), 2.125, 3.0625, 3.53125, 3.765625
    losses = [4, 2, 0, 1.5, 1, 3, 4, 4, 4, 4, 4, 4]
    divergences = [a for a in alerts_of(monitor, losses) if a[0] == "loss_divergence"]
    # above 2 x 1.25 = 2.5 from step 7 (3.0625): the third such step in a row is step 9
    assert divergences == [("loss_divergence", 9, 3.765625)]


def test_divergence_message_and_threshold_values():
    monitor = HealthMonitor(ema=1.0, warmup=1, divergence_factor=1.5, divergence_patience=2)
    (alert,) = [a for a in sum((monitor.update(s, loss=v) for s, v in enumerate([2, 1, 1.6, 1.6], 1)), [])]
    assert alert.kind == "loss_divergence" and alert.value == 1.6
    assert alert.message == (
        "loss is diverging: its running average 1.6 at step 4 has stayed above 1.5x its lowest 1 for 2 logging steps"
    )


def test_one_spike_or_a_short_rise_is_no_divergence():
    monitor = HealthMonitor(ema=0.5, warmup=2, divergence_factor=2.0, divergence_patience=3)
    # the spike lifts the average above 2.5 for two steps only, then it comes back down
    found = alerts_of(monitor, [4, 2, 1, 1, 1, 1, 9, 1, 1, 1, 1, 1])
    assert [kind for kind, _, _ in found] == ["loss_spike"]


def test_a_rise_that_dips_back_restarts_the_count():
    monitor = HealthMonitor(ema=1.0, warmup=1, divergence_factor=2.0, divergence_patience=3)
    found = alerts_of(monitor, [1, 1, 3, 3, 1.5, 3, 3, 3, 3])  # 3, 3, then a dip: the count restarts at step 6
    assert [(kind, step) for kind, step, _ in found if kind == "loss_divergence"] == [("loss_divergence", 8)]


def test_no_divergence_is_judged_from_losses_at_or_below_zero():
    monitor = HealthMonitor(ema=1.0, warmup=1, divergence_factor=2.0, divergence_patience=1)
    assert alerts_of(monitor, [0.5, -0.2, 0.4, 0.9, 2.0]) == []  # an RL loss around zero: no ratio to judge


def test_nan_values_neither_count_nor_reset_the_rise():
    monitor = HealthMonitor(ema=1.0, warmup=1, divergence_factor=2.0, divergence_patience=2)
    found = alerts_of(monitor, [1, 1, 3, math.nan, 3])
    assert [(kind, step) for kind, step, _ in found] == [("nan_loss", 4), ("loss_divergence", 5)]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"divergence_factor": 1.0}, "divergence_factor must be a number > 1, got 1.0"),
        ({"divergence_factor": "2"}, "divergence_factor must be a number > 1, got '2'"),
        ({"divergence_patience": 0}, "divergence_patience must be an integer >= 1 logging steps, got 0"),
        ({"divergence_patience": 2.5}, "divergence_patience must be an integer >= 1 logging steps, got 2.5"),
    ],
)
def test_bad_divergence_settings_are_named(arguments, message):
    with pytest.raises(ValueError) as raised:
        HealthMonitor(**arguments)
    assert str(raised.value) == message
    with pytest.raises(ValueError) as raised:
        TrackioCallback(**arguments)  # checked when the callback is built, before any Trainer
    assert str(raised.value) == message


def test_which_alerts_mean_nan():
    assert is_nan_alert(Alert("nan_loss", "", math.nan))
    assert is_nan_alert(Alert("nan_loss", "", math.inf))
    assert is_nan_alert(Alert("grad_norm_explosion", "", math.nan))
    assert not is_nan_alert(Alert("grad_norm_explosion", "", 1e6))  # finite: large, not NaN
    assert not is_nan_alert(Alert("loss_spike", "", 9.0))


# -- the actions (pure) ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["Stop", "save", None, 1, ""])
def test_bad_actions_are_named_with_the_accepted_ones(value):
    accepted = "use one of 'warn', 'checkpoint', 'stop'"
    with pytest.raises(ValueError, match=f"^on_nan={value!r} is not an action; {accepted}$"):
        TrackioCallback(on_nan=value)
    with pytest.raises(ValueError, match=f"^on_divergence={value!r} is not an action; {accepted}$"):
        TrackioCallback(on_divergence=value)
    assert check_action("on_nan", "checkpoint") == "checkpoint"


def test_each_setting_acts_once():
    actions = AlertActions(on_nan="checkpoint", on_divergence="stop")
    nan = Alert("nan_loss", "loss is nan at step 3", math.nan)
    grad = Alert("grad_norm_explosion", "gradient norm is nan at step 3", math.nan)
    big = Alert("grad_norm_explosion", "gradient norm 1e+06 ...", 1e6)
    divergence = Alert("loss_divergence", "loss is diverging ...", 7.0)
    assert actions.decide([big, Alert("loss_spike", "", 9.0)]) == []
    assert [(a.setting, a.action, a.alert) for a in actions.decide([nan, grad])] == [("on_nan", "checkpoint", nan)]
    assert actions.decide([nan, grad]) == []  # NaN repeats at every later step: one checkpoint
    assert [(a.setting, a.action) for a in actions.decide([divergence])] == [("on_divergence", "stop")]
    assert actions.decide([divergence]) == []
    assert AlertActions().decide([nan, divergence]) == []  # "warn": the alert only


# -- real Trainer runs --------------------------------------------------------------------------


def poison_at(step: int):
    """A callback that writes a NaN into the model's output layer just before optimizer step ``step``."""
    import torch
    from transformers import TrainerCallback

    class Poison(TrainerCallback):
        def on_step_begin(self, args, state, control, model=None, **kwargs):
            if state.global_step + 1 == step:
                with torch.no_grad():
                    model.lm_head.weight[0, 0] = math.nan

    return Poison()


def checkpoints(output_dir) -> list[str]:
    return sorted(p.name for p in output_dir.iterdir() if p.name.startswith("checkpoint-"))


def action_alerts(reader: Reader, run: str) -> list[tuple[str, str, int]]:
    titles = {"training stopped", "checkpoint forced"}
    return [(a["title"], a["level"], a["step"]) for a in reader.alerts(PROJECT, run) if a["title"] in titles]


@pytest.mark.parametrize(
    ("nan_inf_filter", "alert"),
    # transformers' default filter logs a NaN loss as the previous average: the gradient norm shows the NaN
    [(False, "nan_loss"), (True, "grad_norm_explosion")],
)
def test_on_nan_stop_saves_a_checkpoint_and_stops_the_trainer(store_dir, tmp_path, nan_inf_filter, alert):
    out = tmp_path / "out"
    callback = TrackioCallback(on_nan="stop", system_metrics=False)
    trainer = tiny.make_trainer(
        out, max_steps=8, run_name="nan-stop", logging_nan_inf_filter=nan_inf_filter, callbacks=[poison_at(3), callback]
    )
    trainer.train()
    assert trainer.state.global_step == 3  # the step whose log showed the NaN: no GPU-hours after it
    assert checkpoints(out) == ["checkpoint-3"]  # save_strategy="no": this one is the forced one
    reader = Reader(store_dir)
    titles = [(a["title"], a["step"]) for a in reader.alerts(PROJECT, "nan-stop")]
    assert (alert, 3) in titles
    assert action_alerts(reader, "nan-stop") == [("training stopped", "error", 3)]
    stopped = next(a for a in reader.alerts(PROJECT, "nan-stop") if a["title"] == "training stopped")
    # the weights are NaN after that step's update; the alert says so rather than call the checkpoint good
    assert "checkpoint-3 is saved and training stops" in stopped["text"] and "already NaN" in stopped["text"]
    row = reader.store(PROJECT).run("nan-stop")
    assert row.status == "finished"
    assert row.end_reason["kind"] == "health_stop"
    assert row.end_reason["alert"] == alert and row.end_reason["step"] == 3
    assert row.end_reason["message"].startswith("training stopped by on_nan='stop': ")
    assert reader.series(PROJECT, "nan-stop", "train/grad_norm").steps == [1, 2, 3]
    # the checkpoint is a real one: the Trainer state in it is at step 3
    assert json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())["global_step"] == 3


def test_on_nan_checkpoint_saves_once_and_training_goes_on(store_dir, tmp_path):
    out = tmp_path / "out"
    callback = TrackioCallback(on_nan="checkpoint", system_metrics=False)
    trainer = tiny.make_trainer(out, max_steps=7, run_name="nan-checkpoint", callbacks=[poison_at(4), callback])
    trainer.train()
    assert trainer.state.global_step == 7
    assert checkpoints(out) == ["checkpoint-4"]  # the NaN repeats at steps 5..7: one checkpoint
    reader = Reader(store_dir)
    nan_steps = [a["step"] for a in reader.alerts(PROJECT, "nan-checkpoint") if a["title"] == "grad_norm_explosion"]
    assert nan_steps == [4, 5, 6, 7]
    assert action_alerts(reader, "nan-checkpoint") == [("checkpoint forced", "warn", 4)]
    assert reader.store(PROJECT).run("nan-checkpoint").end_reason["kind"] == "finished"


def test_on_nan_warn_only_records_the_alert(store_dir, tmp_path):
    out = tmp_path / "out"
    callback = TrackioCallback(system_metrics=False)  # the default: "warn"
    trainer = tiny.make_trainer(
        out, max_steps=5, run_name="nan-warn", logging_nan_inf_filter=False, callbacks=[poison_at(2), callback]
    )
    trainer.train()
    assert trainer.state.global_step == 5
    assert checkpoints(out) == []
    reader = Reader(store_dir)
    assert [a["step"] for a in reader.alerts(PROJECT, "nan-warn") if a["title"] == "nan_loss"] == [2, 3, 4, 5]
    assert action_alerts(reader, "nan-warn") == []
    assert reader.store(PROJECT).run("nan-warn").end_reason["kind"] == "finished"


def scaled_loss_trainer(output_dir, factor: float, from_step: int, callbacks, **args):
    """A plain ``Trainer`` whose loss is multiplied by ``factor`` from optimizer step ``from_step`` on."""
    from transformers import Trainer

    class ScaledLossTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            loss = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            return loss * factor if self.state.global_step + 1 >= from_step else loss

    tokenizer = tiny.build_tokenizer()
    return ScaledLossTrainer(
        model=tiny.build_model("gpt2", tokenizer=tokenizer),
        args=tiny.trainer_args(output_dir, **args),
        train_dataset=tiny.lm_dataset(tokenizer),
        data_collator=tiny.lm_collator(tokenizer),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def test_on_divergence_stop_on_a_rising_loss(store_dir, tmp_path):
    out = tmp_path / "out"
    callback = TrackioCallback(on_divergence="stop", divergence_factor=2.0, divergence_patience=2, system_metrics=False)
    trainer = scaled_loss_trainer(out, factor=20.0, from_step=7, callbacks=[callback], max_steps=14, run_name="div")
    trainer.train()
    losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
    # HealthMonitor's default warmup (5) and ema (0.1): a plain mean of the first 10 values; the lowest mean
    # after warmup is that of steps 1..6, the loss x20 from step 7 lifts it above twice that at once.
    means = [statistics.fmean(losses[:n]) for n in range(6, len(losses) + 1)]
    assert means[0] == min(means) and means[1] > 2 * means[0] and means[2] > 2 * means[0]
    assert trainer.state.global_step == 8  # two logging steps in a row above 2x the lowest: 7 and 8
    assert checkpoints(out) == ["checkpoint-8"]
    reader = Reader(store_dir)
    (divergence,) = [a for a in reader.alerts(PROJECT, "div") if a["title"] == "loss_divergence"]
    assert divergence["step"] == 8 and divergence["value"] == pytest.approx(statistics.fmean(losses[:8]))
    assert action_alerts(reader, "div") == [("training stopped", "error", 8)]
    end = reader.store(PROJECT).run("div").end_reason
    assert (end["kind"], end["alert"], end["step"]) == ("health_stop", "loss_divergence", 8)


def test_on_divergence_checkpoint_keeps_training(store_dir, tmp_path):
    out = tmp_path / "out"
    callback = TrackioCallback(on_divergence="checkpoint", divergence_patience=2, system_metrics=False)
    trainer = scaled_loss_trainer(out, factor=20.0, from_step=7, callbacks=[callback], max_steps=10, run_name="div2")
    trainer.train()
    assert trainer.state.global_step == 10 and checkpoints(out) == ["checkpoint-8"]
    assert action_alerts(Reader(store_dir), "div2") == [("checkpoint forced", "warn", 8)]


def test_report_to_and_an_explicit_callback_act_once(store_dir, tmp_path):
    """report_to="trackio" adds its own TrackioCallback, which records: the explicit one's on_nan still acts."""
    out = tmp_path / "out"
    explicit = TrackioCallback(on_nan="stop", system_metrics=False)
    trainer = tiny.make_trainer(
        out, max_steps=6, run_name="both", report_to="trackio", callbacks=[poison_at(2), explicit]
    )
    trainer.train()
    assert trainer.state.global_step == 2 and checkpoints(out) == ["checkpoint-2"]
    reader = Reader(store_dir)
    assert action_alerts(reader, "both") == [("training stopped", "error", 2)]
    assert reader.series(PROJECT, "both", "train/loss").steps == [1, 2]  # one run, each step once


def test_every_process_of_a_torchrun_job_acts_at_the_same_step(store_dir, tmp_path):
    script = Path(__file__).parent / "scripts" / "ddp_actions.py"
    out = tmp_path / "out"
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script), str(out)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((out / f"rank{rank}.json").read_text()) for rank in (0, 1)]
    # step 1: the deadline's checkpoint, as process zero decided; step 5: the NaN, seen by all in the logs
    assert ranks[0] == ranks[1] == {"saves": [1, 5], "stopped_at": 5}
    assert checkpoints(out) == ["checkpoint-1", "checkpoint-5"]
    reader = Reader(store_dir)
    titles = [(a["title"], a["step"]) for a in reader.alerts("ddp-project", "ddp-actions")]
    assert ("checkpoint before deadline", 1) in titles and ("training stopped", 5) in titles
    assert reader.store("ddp-project").run("ddp-actions").end_reason["kind"] == "health_stop"
