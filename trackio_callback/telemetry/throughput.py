"""Training throughput, MFU and ETA from the cumulative counters a trainer already keeps.

`Throughput` is plain arithmetic with no knowledge of the trainer: at each log event it is given the
clock, the optimizer step and the cumulative sample and token counts, and it returns the rates for the
most recent events. `training_flops_per_token` and `flops.peak_flops` supply the two numbers MFU (model FLOPs
utilization: achieved training FLOP/s over the hardware's peak) needs. Only the standard library is
imported, so this module costs nothing where no training happens.

    >>> from trackio_callback.telemetry.flops import peak_flops
    >>> from trackio_callback.telemetry.throughput import Throughput, training_flops_per_token
    >>> meter = Throughput(
    ...     peak_flops=peak_flops("NVIDIA H100 80GB HBM3", "torch.bfloat16"),  # 989.5 TFLOP/s dense
    ...     world_size=8,
    ...     flops_per_token=training_flops_per_token(7_000_000_000),  # 6 * N
    ...     max_steps=1000,
    ... )
    >>> meter.update(time=0.0, step=0, samples=0, tokens=0)  # the first event is the baseline
    {}
    >>> metrics = meter.update(time=40.0, step=10, samples=240, tokens=240 * 4096)
    >>> {key: round(value, 4) for key, value in metrics.items()}  # doctest: +NORMALIZE_WHITESPACE
    {'train/step_time': 4.0, 'train/samples_per_second': 6.0, 'train/tokens_per_second': 24576.0,
     'train/flops_per_second': 1032192000000000.0, 'train/mfu': 0.1304, 'train/eta_seconds': 3960.0}
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

__all__ = [
    "DEFAULT_WINDOW",
    "Throughput",
    "format_eta",
    "training_flops_per_token",
]

# Five log events (2,500 optimizer steps at transformers' default logging_steps=500, 50 at
# logging_steps=10): enough that one checkpoint save or evaluation between two events is diluted rather
# than reported as the run's speed, few enough that a real slowdown shows within a few events.
DEFAULT_WINDOW = 5


class _Point(NamedTuple):
    time: float
    step: int
    samples: float | None
    tokens: float | None


class Throughput:
    """Rates over the last `window` intervals between log events, from cumulative counters.

    Args:
        peak_flops: peak FLOP/s of one device for the training dtype (see `peak_flops()`); with
            `flops_per_token` and token counts it gives ``train/mfu``.
        world_size: number of devices doing the training; MFU divides by ``peak_flops * world_size``.
        flops_per_token: training FLOPs per token, forward and backward (see `training_flops_per_token()`).
        max_steps: the optimizer step training ends at, for ``train/eta_seconds``. Zero or negative means
            unknown (transformers' ``TrainingArguments.max_steps`` is -1 when training is set by epochs).
        window: how many of the most recent intervals the rates are averaged over, as total counter
            progress over total elapsed time (not a mean of per-interval rates), so a slow interval weighs
            by its length and leaves the window after `window` more events. ``window=1`` gives the rates of
            the latest interval alone.

    Everything between two events counts as training time, evaluation and checkpointing included.
    """

    def __init__(
        self,
        *,
        peak_flops: float | None = None,
        world_size: int = 1,
        flops_per_token: float | None = None,
        max_steps: int | None = None,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if peak_flops is not None and not (math.isfinite(peak_flops) and peak_flops > 0):
            raise ValueError(f"peak_flops must be a positive number of FLOP/s, got {peak_flops!r}")
        if world_size < 1:
            raise ValueError(f"world_size must be at least 1, got {world_size!r}")
        if flops_per_token is not None and not (math.isfinite(flops_per_token) and flops_per_token > 0):
            raise ValueError(f"flops_per_token must be a positive number, got {flops_per_token!r}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window!r}")
        self.peak_flops = peak_flops
        self.world_size = world_size
        self.flops_per_token = flops_per_token
        self.max_steps = max_steps
        self.window = window
        # window + 1 points bound `window` intervals; counters are cumulative, so the window's total
        # progress is simply newest minus oldest.
        self._points: deque[_Point] = deque(maxlen=window + 1)

    def reset(self) -> None:
        """Forget all events; the next `update` is a new baseline."""
        self._points.clear()

    def update(
        self, *, time: float, step: int, samples: int | None = None, tokens: int | None = None
    ) -> dict[str, float]:
        """Record one log event and return the metrics computable from it, possibly none.

        Args:
            time: seconds on a clock that does not jump, such as ``time.perf_counter()``; ``time.time()``
                works unless the system clock is set back or forward during training.
            step: optimizer steps completed.
            samples: samples processed since training started, all devices together, or None if unknown.
            tokens: tokens processed since training started, all devices together, or None if unknown.

        Returns a dict with those of these keys that can be computed: ``train/step_time`` (seconds per
        optimizer step), ``train/samples_per_second``, ``train/tokens_per_second``,
        ``train/flops_per_second`` (achieved, all devices), ``train/mfu`` (0..1) and
        ``train/eta_seconds``. It is empty for the first event, for an event at the step of the previous
        one (an evaluation logged right after the training log), for an event with no time elapsed, and
        after the clock or any counter went backwards: that starts a new baseline, as a resumed run does,
        rather than report rates across the discontinuity.
        """
        if not math.isfinite(time):
            raise ValueError(f"time must be a finite number of seconds, got {time!r}")
        for name, value in (("step", step), ("samples", samples), ("tokens", tokens)):
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative cumulative count, got {value!r}")
        point = _Point(float(time), step, samples, tokens)
        if not self._points:
            self._points.append(point)
            return {}
        last = self._points[-1]
        if step < last.step or time < last.time or self._went_down(point):
            self._points.clear()
            self._points.append(point)
            return {}
        if step == last.step or time == last.time:
            # Keep the earlier baseline: the steps and time since it still belong to the next interval.
            return {}
        self._points.append(point)
        return self._metrics()

    def _went_down(self, point: _Point) -> bool:
        for field in ("samples", "tokens"):
            value = getattr(point, field)
            previous = self._latest(field)
            if value is not None and previous is not None and value < getattr(previous, field):
                return True
        return False

    def _latest(self, field: str) -> _Point | None:
        return next((p for p in reversed(self._points) if getattr(p, field) is not None), None)

    def _rate(self, field: str) -> float | None:
        """Progress per second of a counter from the oldest point in the window that has it."""
        last = self._points[-1]
        if getattr(last, field) is None:
            return None
        # A counter may be missing at some events; being cumulative, any earlier value is a valid base.
        first = next(p for p in self._points if getattr(p, field) is not None)
        if first is last:
            return None
        return (getattr(last, field) - getattr(first, field)) / (last.time - first.time)

    def _metrics(self) -> dict[str, float]:
        first, last = self._points[0], self._points[-1]
        step_time = (last.time - first.time) / (last.step - first.step)
        metrics = {"train/step_time": step_time}
        samples_per_second = self._rate("samples")
        if samples_per_second is not None:
            metrics["train/samples_per_second"] = samples_per_second
        tokens_per_second = self._rate("tokens")
        if tokens_per_second is not None:
            metrics["train/tokens_per_second"] = tokens_per_second
            if self.flops_per_token is not None:
                flops_per_second = tokens_per_second * self.flops_per_token
                metrics["train/flops_per_second"] = flops_per_second
                if self.peak_flops is not None:
                    metrics["train/mfu"] = flops_per_second / (self.peak_flops * self.world_size)
        if self.max_steps is not None and self.max_steps > 0:
            metrics["train/eta_seconds"] = max(self.max_steps - last.step, 0) * step_time
        return metrics


def training_flops_per_token(
    num_parameters: int,
    *,
    num_layers: int | None = None,
    hidden_size: int | None = None,
    seq_len: int | None = None,
) -> float:
    """Training FLOPs per token of a dense transformer: forward plus backward.

    ``6 * num_parameters``, plus ``12 * num_layers * hidden_size * seq_len`` for attention when all three
    are given. `num_parameters` should count the weights that take part in matrix multiplies; by
    convention (Kaplan et al.) that excludes the input embedding table, whose lookup costs no FLOPs.
    The estimate assumes every weight gets a gradient: for LoRA or frozen layers it overstates the work.
    """
    # Every weight does one multiply-add (2 FLOPs) per token in the forward pass and twice that in the
    # backward pass (gradients for the activations and for the weight): 6N. The attention scores QK^T and
    # their product with V add 2 * 2 * seq_len * hidden_size per layer forward, times 3 with the
    # backward: 12 * L * H * S. This is the formula PaLM uses for MFU (Chowdhery et al. 2022,
    # arXiv:2204.02311, appendix B: 6N + 12LHQT with H heads of size Q, i.e. H*Q = hidden size); it
    # ignores causal masking, as PaLM does, so published MFU figures stay comparable.
    if not (isinstance(num_parameters, int) and num_parameters > 0):
        raise ValueError(f"num_parameters must be a positive integer, got {num_parameters!r}")
    attention = {"num_layers": num_layers, "hidden_size": hidden_size, "seq_len": seq_len}
    given = {name: value for name, value in attention.items() if value is not None}
    if not given:
        return 6.0 * num_parameters
    if len(given) < len(attention):
        missing = ", ".join(name for name in attention if name not in given)
        raise ValueError(f"the attention term needs num_layers, hidden_size and seq_len together; missing {missing}")
    for name, value in given.items():
        if not (isinstance(value, int) and value > 0):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return 6.0 * num_parameters + 12.0 * num_layers * hidden_size * seq_len


def format_eta(seconds: float) -> str:
    """Seconds as ``"H:MM:SS"``, or ``"Nd HH:MM:SS"`` from one day on, to the nearest second."""
    if not (math.isfinite(seconds) and seconds >= 0):
        raise ValueError(f"seconds must be a non-negative finite number, got {seconds!r}")
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{hours}:{minutes:02d}:{secs:02d}"
