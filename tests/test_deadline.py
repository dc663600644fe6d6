"""Deadline awareness: parsing a job's time limit, the decisions, and a real Trainer alerted and checkpointed."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from tests import tiny
from trackio_callback import Reader, TrackioWarning, settings
from trackio_callback.errors import DeadlineError
from trackio_callback.integrations.callback import TrackioCallback
from trackio_callback.telemetry.deadline import (
    Deadline,
    DeadlineWatch,
    check_lead_time,
    parse_deadline,
    parse_unix_time,
    resolve,
)
from trackio_callback.telemetry.throughput import format_eta

pytestmark = pytest.mark.filterwarnings(*tiny.KNOWN_WARNINGS)

PROJECT = "huggingface"
ACCEPTED = "a number of seconds > 0 (such as 3600) or an ISO-8601 time (such as 2025-06-01T18:00:00+02:00)"
UTC_1600 = datetime(2025, 6, 1, 16, 0, tzinfo=timezone.utc).timestamp()

# -- parsing (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3600, 1000.0 + 3600),
        (1.5, 1001.5),
        ("3600", 4600.0),
        (" 90.5 ", 1090.5),
        ("1e3", 2000.0),
        ("2025-06-01T16:00:00Z", UTC_1600),
        ("2025-06-01T18:00:00+02:00", UTC_1600),
        ("2025-06-01T16:00:00.250+00:00", UTC_1600 + 0.25),
        (datetime(2025, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=-4))), UTC_1600),
    ],
)
def test_deadlines_in_every_accepted_form(value, expected):
    assert parse_deadline(value, start=1000.0) == expected


def test_a_time_without_zone_is_local_time():
    local = datetime(2025, 6, 1, 18, 0).timestamp()  # what this machine's zone makes of it
    assert parse_deadline("2025-06-01T18:00", start=0) == local
    assert parse_deadline(datetime(2025, 6, 1, 18, 0), start=0) == local


@pytest.mark.parametrize("value", [0, -5, math.nan, math.inf, "0", "-60", "nan", "inf"])
def test_seconds_must_be_positive_and_finite(value):
    with pytest.raises(DeadlineError) as raised:
        parse_deadline(value, start=0)
    assert str(raised.value) == f"deadline={value!r} is not a deadline; use {ACCEPTED}"


@pytest.mark.parametrize("value", ["soon", "", "2025-13-01T00:00", "18:00 tomorrow"])
def test_text_that_is_neither_seconds_nor_iso_is_named(value):
    with pytest.raises(DeadlineError) as raised:
        parse_deadline(value, start=0, name="TRACKIO_DEADLINE")
    assert str(raised.value) == f"TRACKIO_DEADLINE={value!r} is not understood; use {ACCEPTED}"
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize("value", [True, [3600], b"3600"])
def test_other_types_are_refused(value):
    with pytest.raises(DeadlineError) as raised:
        parse_deadline(value, start=0)
    assert str(raised.value) == f"deadline={value!r} is not a deadline; use {ACCEPTED}, or a datetime"


def test_slurm_end_time():
    assert parse_unix_time("1767225600") == 1767225600.0
    assert parse_unix_time(" 1767225600 ") == 1767225600.0
    assert parse_unix_time("0") is None  # no time limit
    for bad in ("soon", "-1", "nan", ""):
        with pytest.raises(DeadlineError) as raised:
            parse_unix_time(bad)
        assert str(raised.value) == (
            f"SLURM_JOB_END_TIME={bad!r} is not understood; it should be a Unix time in seconds (0: no limit)"
        )


def test_sources_in_order():
    def found(argument=None, env=None, slurm=None):
        return resolve(argument, env, slurm, created=1000.0, process_start=900.0)

    assert found() is None
    assert found(slurm="5000") == Deadline(5000.0, "SLURM_JOB_END_TIME")
    assert found(slurm="0") is None
    assert found(env="60", slurm="5000") == Deadline(960.0, "TRACKIO_DEADLINE")  # seconds from the process start
    assert found(env="2025-06-01T16:00Z") == Deadline(UTC_1600, "TRACKIO_DEADLINE")
    assert found(argument=60, env="3600", slurm="5000") == Deadline(1060.0, "deadline=")  # seconds from creation
    with pytest.raises(DeadlineError, match="^TRACKIO_DEADLINE='1 hour' is not understood"):
        found(argument=60, env="1 hour")  # a typo in the environment is said even when deadline= is given
    with pytest.raises(DeadlineError, match="^SLURM_JOB_END_TIME='x' is not understood"):
        found(env="60", slurm="x")


def test_lead_time():
    assert check_lead_time(None) is None
    assert check_lead_time(600) == 600.0
    for bad in (0, -1, math.nan, math.inf, "600", True):
        with pytest.raises(DeadlineError) as raised:
            check_lead_time(bad)
        assert str(raised.value) == f"save_before_deadline={bad!r} is not a number of seconds > 0 (such as 600)"


def test_the_watch_decides_each_thing_once():
    watch = DeadlineWatch(deadline=1000.0, save_before=100.0)
    assert watch.remaining(850.0) == 150.0
    assert not watch.will_miss(now=800.0, eta=200.0)  # exactly in time
    assert not watch.will_miss(now=800.0, eta=None)  # no ETA yet (training by epochs, first log)
    assert not watch.will_miss(now=800.0, eta=math.inf)
    assert watch.will_miss(now=800.0, eta=200.5)
    assert not watch.will_miss(now=990.0, eta=500.0)  # said once
    assert not watch.save_due(now=899.9)
    assert watch.save_due(now=900.0)
    assert not watch.save_due(now=950.0)
    late = DeadlineWatch(deadline=1000.0, save_before=100.0)
    assert late.save_due(now=2000.0)  # already past it: save at the first chance
    assert late.will_miss(now=2000.0, eta=0.0)
    assert not DeadlineWatch(deadline=1000.0).save_due(now=999.0)  # no save_before_deadline: never


def test_settings_read_the_environment(monkeypatch):
    assert settings.deadline_text() is None and settings.slurm_job_end_time() is None
    monkeypatch.setenv("TRACKIO_DEADLINE", "2025-06-01T18:00")
    monkeypatch.setenv("SLURM_JOB_END_TIME", "1767225600")
    assert settings.deadline_text() == "2025-06-01T18:00"
    assert settings.slurm_job_end_time() == "1767225600"
    monkeypatch.setenv("TRACKIO_DEADLINE", "")
    assert settings.deadline_text() is None  # empty counts as unset


def test_trackio_deadline_seconds_count_from_the_process_start(tmp_path):
    """Resolved a second after the process started, ``TRACKIO_DEADLINE=60`` is 60 s after the start, not after now."""
    script = (
        "import time; t0 = time.time(); time.sleep(1.0)\n"
        "from trackio_callback.integrations.alert_actions import process_start_time\n"
        "from trackio_callback.telemetry.deadline import resolve\n"
        "found = resolve(None, '60', None, created=time.time(), process_start=process_start_time())\n"
        "print(t0, found.at)"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    t0, at = map(float, done.stdout.split())
    assert t0 - 5 < at - 60 <= t0 + 0.05  # the start precedes the first line of the script, by the interpreter's start


def test_bad_callback_arguments_fail_when_built():
    with pytest.raises(DeadlineError, match="^deadline='tomorrow' is not understood"):
        TrackioCallback(deadline="tomorrow")
    with pytest.raises(DeadlineError, match="^save_before_deadline=-5 is not a number of seconds > 0"):
        TrackioCallback(deadline=3600, save_before_deadline=-5)


# -- real Trainer runs ----------------------------------------------------------------------------


class Clock:
    """Callbacks around TrackioCallback: one sleeps in every step and notes the time, the other notes it after."""

    def __init__(self, sleep: float):
        from transformers import TrainerCallback

        self.before: dict[int, float] = {}
        self.after: dict[int, float] = {}
        clock = self

        class Before(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                time.sleep(sleep)
                clock.before[state.global_step] = time.time()

        class After(TrainerCallback):
            def on_step_end(self, args, state, control, **kwargs):
                clock.after[state.global_step] = time.time()

        self.before_callback, self.after_callback = Before(), After()


def checkpoints(output_dir) -> list[str]:
    return sorted(p.name for p in output_dir.iterdir() if p.name.startswith("checkpoint-"))


def test_a_deadline_alert_fires_once_and_a_checkpoint_is_forced_before_it(store_dir, tmp_path):
    out = tmp_path / "out"
    clock = Clock(sleep=0.2)
    trainer = tiny.make_trainer(out, max_steps=10, run_name="deadline", callbacks=[clock.before_callback])
    deadline = time.time() + 1.6  # 10 steps of over 0.2 s cannot end in time
    trainer.add_callback(TrackioCallback(deadline=datetime.fromtimestamp(deadline, timezone.utc),
                                         save_before_deadline=0.8, system_metrics=False))  # fmt: skip
    trainer.add_callback(clock.after_callback)
    trainer.train()
    assert trainer.state.global_step == 10  # the checkpoint does not stop training
    reader = Reader(store_dir)
    alerts = reader.alerts(PROJECT, "deadline")

    (missed,) = [a for a in alerts if a["title"] == "will miss deadline"]  # once, though every later ETA says so too
    eta = reader.series(PROJECT, "deadline", "train/eta_seconds")
    assert missed["level"] == "warn" and missed["step"] == eta.steps[0] == 2  # the first ETA already says it
    assert missed["text"].startswith(f"training needs {format_eta(eta.values[0])} more (eta at step 2) but ")
    assert missed["text"].endswith(" (from deadline=)")

    (folder,) = checkpoints(out)
    step = int(folder.removeprefix("checkpoint-"))
    # the first step ending at most 0.8 s before the deadline: the one before it ended earlier than that
    assert clock.before.get(step - 1, 0.0) < deadline - 0.8 <= clock.after[step]
    (saved,) = [a for a in alerts if a["title"] == "checkpoint before deadline"]
    assert saved["step"] == step and saved["level"] == "warn"
    assert saved["text"].startswith(f"checkpoint-{step} is saved: ")
    assert saved["text"].endswith("(from deadline=; save_before_deadline=0.8 s)")
    assert reader.store(PROJECT).run("deadline").end_reason["kind"] == "finished"


@pytest.mark.parametrize(
    ("environment", "source"),
    [
        ({"TRACKIO_DEADLINE": "past", "SLURM_JOB_END_TIME": "future"}, "TRACKIO_DEADLINE"),  # in that order
        ({"SLURM_JOB_END_TIME": "past"}, "SLURM_JOB_END_TIME"),
    ],
)
def test_the_deadline_comes_from_the_environment(store_dir, tmp_path, monkeypatch, environment, source):
    now = time.time()
    values = {
        ("TRACKIO_DEADLINE", "past"): datetime.fromtimestamp(now - 30, timezone.utc).isoformat(),
        ("SLURM_JOB_END_TIME", "past"): str(int(now) - 30),
        ("SLURM_JOB_END_TIME", "future"): str(int(now) + 10**6),
    }
    for variable, when in environment.items():
        monkeypatch.setenv(variable, values[variable, when])
    trainer = tiny.make_trainer(tmp_path / "out", max_steps=3, run_name="env", callbacks=[TrackioCallback()])
    trainer.train()
    (missed,) = [a for a in Reader(store_dir).alerts(PROJECT, "env") if a["title"] == "will miss deadline"]
    assert missed["step"] == 2
    assert "but none (passed 0:00:3" in missed["text"] and missed["text"].endswith(f" (from {source})")


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [("TRACKIO_DEADLINE", "in an hour", ACCEPTED), ("SLURM_JOB_END_TIME", "12:00", "a Unix time in seconds")],
)
def test_a_bad_environment_deadline_fails_before_training(tmp_path, monkeypatch, variable, value, accepted):
    monkeypatch.setenv(variable, value)
    with pytest.raises(DeadlineError) as raised:
        tiny.make_trainer(tmp_path / "out", callbacks=[TrackioCallback()])  # when the Trainer is built
    assert str(raised.value).startswith(f"{variable}={value!r} is not understood") and accepted in str(raised.value)


def test_no_deadline_means_no_alert_and_save_before_deadline_warns(store_dir, tmp_path):
    callback = TrackioCallback(save_before_deadline=60, system_metrics=False)
    with pytest.warns(TrackioWarning, match="save_before_deadline=60 does nothing without a deadline"):
        trainer = tiny.make_trainer(tmp_path / "out", max_steps=3, run_name="none", callbacks=[callback])
    trainer.train()
    titles = {a["title"] for a in Reader(store_dir).alerts(PROJECT, "none")}
    assert not titles & {"will miss deadline", "checkpoint before deadline"}
    assert checkpoints(tmp_path / "out") == []
