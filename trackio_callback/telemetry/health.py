"""`HealthMonitor`: spots a training run going wrong from the numbers it logs (pure, no I/O).

Fed the loss and gradient norm of each logging step, it returns the alerts to record:

- ``nan_loss``: the loss is NaN or infinite;
- ``loss_spike``: the loss exceeds ``spike_factor`` times its running average (an exponential
  moving average over roughly the last ``1 / ema`` logging steps, started after ``warmup`` steps);
- ``grad_norm_explosion``: the gradient norm is NaN/infinite, or exceeds ``grad_norm_factor`` times
  its running average.

Example::

    monitor = HealthMonitor(spike_factor=3.0)
    for step, loss in enumerate(losses):
        for alert in monitor.update(step, loss=loss, grad_norm=None):
            run.record_health_alert(alert.kind, alert.message, step=step, value=alert.value)
"""

from __future__ import annotations

import math
from typing import NamedTuple


class Alert(NamedTuple):
    kind: str
    message: str
    value: float


class HealthMonitor:
    """Running averages of loss and gradient norm, and the alerts their next values raise."""

    def __init__(
        self,
        spike_factor: float = 3.0,
        grad_norm_factor: float = 10.0,
        ema: float = 0.1,
        warmup: int = 5,
    ):
        for name, value, low in (("spike_factor", spike_factor, 1.0), ("grad_norm_factor", grad_norm_factor, 1.0)):
            if not isinstance(value, (int, float)) or not value > low:
                raise ValueError(f"{name} must be a number > {low:g}, got {value!r}")
        if not 0 < ema <= 1:
            raise ValueError(f"ema must be in (0, 1], got {ema!r}")
        self.spike_factor = spike_factor
        self.grad_norm_factor = grad_norm_factor
        self.ema = ema
        self.warmup = warmup
        self._loss = _Average(ema)
        self._grad_norm = _Average(ema)

    def update(self, step: int, loss: float | None = None, grad_norm: float | None = None) -> list[Alert]:
        alerts = []
        if loss is not None:
            alerts += self._check(step, "loss", loss, self._loss, self.spike_factor, "nan_loss", "loss_spike")
        if grad_norm is not None:
            alerts += self._check(
                step, "gradient norm", grad_norm, self._grad_norm, self.grad_norm_factor, *["grad_norm_explosion"] * 2
            )
        return alerts

    def _check(
        self, step: int, label: str, value: float, average: _Average, factor: float, non_finite: str, too_high: str
    ) -> list[Alert]:
        if not math.isfinite(value):
            return [Alert(non_finite, f"{label} is {value} at step {step}", value)]
        mean = average.value
        alerts = []
        if average.count >= self.warmup and mean > 0 and value > factor * mean:
            message = f"{label} {value:.4g} at step {step} is {value / mean:.1f}x its running average {mean:.4g}"
            alerts.append(Alert(too_high, message, value))
        average.add(value)  # spikes count too: a new level becomes the normal one
        return alerts


class _Average:
    """Exponential moving average, a plain mean until it has ``1 / weight`` values (no start-up bias)."""

    def __init__(self, weight: float):
        self.weight = weight
        self.value = 0.0
        self.count = 0

    def add(self, x: float) -> None:
        self.count += 1
        self.value += (x - self.value) * max(self.weight, 1 / self.count)
