"""`HealthMonitor`: spots a training run going wrong from the numbers it logs (pure, no I/O).

Fed the loss and gradient norm of each logging step, it returns the alerts to record:

- ``nan_loss``: the loss is NaN or infinite;
- ``loss_spike``: the loss exceeds ``spike_factor`` times its running average (an exponential
  moving average over roughly the last ``1 / ema`` logging steps, started after ``warmup`` steps);
- ``grad_norm_explosion``: the gradient norm is NaN/infinite, or exceeds ``grad_norm_factor`` times
  its running average;
- ``loss_divergence`` (once): the loss's running average has stayed above ``divergence_factor`` times
  the lowest it reached (after ``warmup``) for ``divergence_patience`` logging steps in a row: a sustained
  rise, where ``loss_spike`` is one high value.

`is_nan_alert` tells which alerts mean the numbers went NaN/infinite (the loss, or the gradient norm:
transformers' ``logging_nan_inf_filter``, on by default, logs a NaN loss as the previous average,
so the gradient norm is often where a NaN shows).

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
        divergence_factor: float = 2.0,
        divergence_patience: int = 5,
    ):
        for name, value, low in (
            ("spike_factor", spike_factor, 1.0),
            ("grad_norm_factor", grad_norm_factor, 1.0),
            ("divergence_factor", divergence_factor, 1.0),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > low:
                raise ValueError(f"{name} must be a number > {low:g}, got {value!r}")
        if not 0 < ema <= 1:
            raise ValueError(f"ema must be in (0, 1], got {ema!r}")
        if isinstance(divergence_patience, bool) or not isinstance(divergence_patience, int) or divergence_patience < 1:
            raise ValueError(f"divergence_patience must be an integer >= 1 logging steps, got {divergence_patience!r}")
        self.spike_factor = spike_factor
        self.grad_norm_factor = grad_norm_factor
        self.ema = ema
        self.warmup = warmup
        self._loss = _Average(ema)
        self._grad_norm = _Average(ema)
        self.divergence_factor = divergence_factor
        self.divergence_patience = divergence_patience
        self._lowest: float | None = None  # the loss average's lowest value after warmup
        self._rising = 0  # logging steps in a row with the average above divergence_factor x _lowest
        self._diverged = False

    def update(self, step: int, loss: float | None = None, grad_norm: float | None = None) -> list[Alert]:
        alerts = []
        if loss is not None:
            alerts += self._check(step, "loss", loss, self._loss, self.spike_factor, "nan_loss", "loss_spike")
            if math.isfinite(loss):
                alerts += self._check_divergence(step)
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

    def _check_divergence(self, step: int) -> list[Alert]:
        """The loss's running average (this value included) against the lowest it reached since warmup."""
        average = self._loss
        if self._diverged or average.count <= self.warmup:
            return []
        mean = average.value
        if self._lowest is None or mean < self._lowest:
            self._lowest = mean
        # A loss at or below zero (RL objectives) has no meaningful ratio: no divergence is judged from it.
        self._rising = self._rising + 1 if self._lowest > 0 and mean > self.divergence_factor * self._lowest else 0
        if self._rising < self.divergence_patience:
            return []
        self._diverged = True
        message = (
            f"loss is diverging: its running average {mean:.4g} at step {step} has stayed above "
            f"{self.divergence_factor:g}x its lowest {self._lowest:.4g} for {self._rising} logging steps"
        )
        return [Alert("loss_divergence", message, mean)]


def is_nan_alert(alert: Alert) -> bool:
    """Whether ``alert`` says the training numbers went NaN/infinite: a ``nan_loss``, or a non-finite gradient norm."""
    return alert.kind == "nan_loss" or (alert.kind == "grad_norm_explosion" and not math.isfinite(alert.value))


class _Average:
    """Exponential moving average, a plain mean until it has ``1 / weight`` values (no start-up bias)."""

    def __init__(self, weight: float):
        self.weight = weight
        self.value = 0.0
        self.count = 0

    def add(self, x: float) -> None:
        self.count += 1
        self.value += (x - self.value) * max(self.weight, 1 / self.count)
