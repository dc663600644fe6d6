"""What `TrackioCallback` does to a Trainer when a health alert or the job's deadline calls for it.

The decisions are made by the pure parts (`telemetry.health`, `telemetry.deadline`); this module turns
them into ``TrainerControl`` flags, alerts and the run's end reason:

- `AlertActions`: ``on_nan`` / ``on_divergence`` = ``"warn"`` (record the alert only), ``"checkpoint"``
  (``control.should_save``: the Trainer saves at the end of this step) or ``"stop"`` (save, then
  ``control.should_training_stop``, and the run's end reason ``health_stop``). Each acts once per run.
- `DeadlineActions`: one ``will miss deadline`` alert when the ETA exceeds the time left, and with
  ``save_before_deadline`` one forced checkpoint when that little time is left.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, NamedTuple

from ..telemetry.deadline import Deadline, DeadlineWatch
from ..telemetry.health import Alert, is_nan_alert
from ..telemetry.throughput import format_eta

logger = logging.getLogger(__name__)

ACTIONS = ("warn", "checkpoint", "stop")
_ACCEPTED = ", ".join(repr(a) for a in ACTIONS)


def check_action(name: str, value: object) -> str:
    """``value`` if it is one of `ACTIONS`; else a ValueError naming ``name``, the value and the accepted ones."""
    if not isinstance(value, str) or value not in ACTIONS:
        raise ValueError(f"{name}={value!r} is not an action; use one of {_ACCEPTED}")
    return value


class Action(NamedTuple):
    setting: str  # "on_nan" or "on_divergence"
    action: str  # "checkpoint" or "stop"
    alert: Alert  # what triggered it


class AlertActions:
    """Which health alerts call for a checkpoint or a stop: the first NaN, the first divergence."""

    def __init__(self, on_nan: str = "warn", on_divergence: str = "warn"):
        self.on_nan = check_action("on_nan", on_nan)
        self.on_divergence = check_action("on_divergence", on_divergence)
        self._done: set[str] = set()

    def decide(self, alerts: list[Alert]) -> list[Action]:
        """The actions ``alerts`` call for, each setting acting once (a NaN repeats at every later step)."""
        actions = []
        for alert in alerts:
            if is_nan_alert(alert):
                setting, action = "on_nan", self.on_nan
            elif alert.kind == "loss_divergence":
                setting, action = "on_divergence", self.on_divergence
            else:
                continue
            if action != "warn" and setting not in self._done:
                self._done.add(setting)
                actions.append(Action(setting, action, alert))
        return actions


def act(action: Action, run: Any | None, control: Any, step: int, model: Any = None) -> None:
    """Set ``control``'s flags for ``action``; with ``run`` (process zero's), record what was done as an alert,
    and for a stop the end reason.

    The checkpoint is the Trainer's, saved at the end of this step (``output_dir/checkpoint-<step>``), after
    this step's optimizer update: where a NaN reached the gradients, the weights in it are NaN too, and the
    alert says so (the checkpoint still holds the optimizer, scheduler and data position at that step).
    """
    control.should_save = True
    if action.action == "stop":
        control.should_training_stop = True
    if run is None:
        return
    weights = _weights_note(model)
    if action.action == "stop":
        message = f"training stopped by {action.setting}='stop': {action.alert.message}"
        run.set_end_reason("health_stop", message, alert=action.alert.kind, step=step)
        run.alert(
            "training stopped",
            f"{action.setting}='stop': {action.alert.message}; checkpoint-{step} is saved and training stops{weights}",
            level="error",
            step=step,
        )
    else:
        run.alert(
            "checkpoint forced",
            f"{action.setting}='checkpoint': {action.alert.message}; checkpoint-{step} is saved{weights}",
            level="warn",
            step=step,
        )


def _weights_note(model: Any) -> str:
    """``""`` when the model's weights are finite (or cannot be read); else a note saying they are not."""
    parameters = getattr(model, "parameters", None)
    if parameters is None:
        return ""
    try:  # once per run: a device sync per tensor is affordable here
        if all(bool(p.isfinite().all()) for p in parameters()):
            return ""
    except Exception as error:  # sharded or exotic parameters: say nothing rather than guess
        logger.debug("could not check the weights for NaN: %s", error)
        return ""
    return " (its weights are already NaN/infinite: resume from an earlier checkpoint)"


class DeadlineActions:
    """The deadline's alert and forced checkpoint, each once."""

    def __init__(self, deadline: Deadline, save_before: float | None):
        self.deadline = deadline
        self.watch = DeadlineWatch(deadline.at, save_before)
        self._save_pending = save_before is not None

    def on_eta(self, run: Any, eta: float | None, step: int, now: float | None = None) -> None:
        """Alert once when ``eta`` (``train/eta_seconds``) says training ends after the deadline."""
        now = time.time() if now is None else now
        if self.watch.will_miss(now, eta):
            remaining = self.watch.remaining(now)
            left = format_eta(remaining) if remaining > 0 else f"none (passed {format_eta(-remaining)} ago)"
            run.alert(
                "will miss deadline",
                f"training needs {format_eta(eta)} more (eta at step {step}) but {left} is left before the "
                f"deadline, {_clock(self.deadline.at)} (from {self.deadline.source})",
                level="warn",
                step=step,
            )

    def on_step(
        self,
        run: Any | None,
        control: Any,
        step: int,
        *,
        process_zero: bool = True,
        world_size: int = 1,
        now: float | None = None,
    ) -> None:
        """Force one checkpoint once no more than ``save_before_deadline`` seconds are left.

        In a multi-process job, process zero's clock decides and every process learns it (a one-number
        broadcast at each step until the save): a checkpoint is saved by all processes at the same step.
        ``run``: process zero's, to record the alert in; None elsewhere.
        """
        if not self._save_pending:
            return
        now = time.time() if now is None else now
        due = self.watch.save_due(now) if process_zero else False
        if world_size > 1:
            due = _broadcast_from_zero(due)
        if not due:
            return
        self._save_pending = False
        control.should_save = True
        if run is not None:
            remaining = self.watch.remaining(now)
            left = format_eta(remaining) if remaining > 0 else "no time"
            run.alert(
                "checkpoint before deadline",
                f"checkpoint-{step} is saved: {left} left before the deadline, {_clock(self.deadline.at)} "
                f"(from {self.deadline.source}; save_before_deadline={self.watch.save_before:g} s)",
                level="warn",
                step=step,
            )


def _broadcast_from_zero(flag: bool) -> bool:
    """Process zero's ``flag``, on every process of the job (accelerate's broadcast: NCCL, gloo, XLA alike)."""
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast

    state = PartialState()
    if state.num_processes <= 1:
        return flag
    return bool(broadcast(torch.tensor([int(flag)], device=state.device), from_process=0).item())


def _clock(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(at))


def process_start_time() -> float:
    """When this process started (Unix seconds): ``TRACKIO_DEADLINE``'s seconds count from it."""
    try:
        import psutil

        return psutil.Process(os.getpid()).create_time()
    except Exception:  # no psutil, or no access to this process's start: the closest time known
        return _IMPORTED_AT


_IMPORTED_AT = time.time()
