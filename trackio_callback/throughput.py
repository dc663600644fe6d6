"""Training throughput, MFU and ETA from the cumulative counters a trainer already keeps.

`Throughput` is plain arithmetic with no knowledge of the trainer: at each log event it is given the
clock, the optimizer step and the cumulative sample and token counts, and it returns the rates for the
most recent events. `training_flops_per_token` and `peak_flops` supply the two numbers MFU (model FLOPs
utilization: achieved training FLOP/s over the hardware's peak) needs. Only the standard library is
imported, so this module costs nothing where no training happens.

    >>> from trackio_callback.throughput import Throughput, peak_flops, training_flops_per_token
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
import re
from collections import deque
from typing import NamedTuple

__all__ = [
    "DEFAULT_WINDOW",
    "Throughput",
    "format_eta",
    "parse_flops",
    "peak_flops",
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


# Peak dense FLOP/s (OPS for int8) of ONE device, by chip and dtype. NVIDIA's datasheets print most
# tensor-core figures "with sparsity" (2:4 structured), twice the dense rate training gets, so those
# appear here as "/ 2". "fp32" is the non-tensor CUDA-core rate (what fp32 training gets with TF32
# disabled); "tf32" is the tensor-core rate fp32 matmuls get with TF32 enabled. Where a datasheet gives
# figures for FP16 with FP16 and with FP32 accumulation, the FP32 one is used: mixed-precision
# training accumulates in FP32. A dtype missing from a chip means the chip has no tensor-core support
# for it (T4 and V100 have no bf16, A100 no fp8), and `peak_flops` returns None.
_PEAK_FLOPS: dict[str, dict[str, float]] = {
    # NVIDIA H100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/h100/), SXM column.
    # H200 SXM (https://www.nvidia.com/en-us/data-center/h200/) and the GH200 superchip's Hopper GPU
    # (https://www.nvidia.com/en-us/data-center/grace-hopper-superchip/) print the same figures.
    "h100-sxm": {
        "fp32": 67e12,
        "tf32": 989e12 / 2,
        "bf16": 1979e12 / 2,
        "fp16": 1979e12 / 2,
        "fp8": 3958e12 / 2,
        "int8": 3958e12 / 2,
    },
    # Same datasheet, PCIe column.
    "h100-pcie": {
        "fp32": 51e12,
        "tf32": 756e12 / 2,
        "bf16": 1513e12 / 2,
        "fp16": 1513e12 / 2,
        "fp8": 3026e12 / 2,
        "int8": 3026e12 / 2,
    },
    # Same datasheet, H100 NVL column (per GPU; early editions printed the figures of the pair of GPUs).
    # H200 NVL prints the same figures.
    "h100-nvl": {
        "fp32": 60e12,
        "tf32": 835e12 / 2,
        "bf16": 1671e12 / 2,
        "fp16": 1671e12 / 2,
        "fp8": 3341e12 / 2,
        "int8": 3341e12 / 2,
    },
    # NVIDIA HGX B200 specifications (https://www.nvidia.com/en-us/data-center/hgx/): totals for 8 GPUs,
    # 72 PFLOPS FP8, 36 PFLOPS FP16/BF16, 18 PFLOPS TF32 (sparse), 600 TFLOPS FP32.
    "b200": {
        "fp32": 600e12 / 8,
        "tf32": 18e15 / 8 / 2,
        "bf16": 36e15 / 8 / 2,
        "fp16": 36e15 / 8 / 2,
        "fp8": 72e15 / 8 / 2,
        "int8": 72e15 / 8 / 2,
    },
    # NVIDIA GB200 NVL72 specifications (https://www.nvidia.com/en-us/data-center/gb200-nvl72/): totals
    # for 72 GPUs, 720 PFLOPS FP8, 360 PFLOPS FP16/BF16, 180 PFLOPS TF32 (sparse), 5,760 TFLOPS FP32.
    "gb200": {
        "fp32": 5760e12 / 72,
        "tf32": 180e15 / 72 / 2,
        "bf16": 360e15 / 72 / 2,
        "fp16": 360e15 / 72 / 2,
        "fp8": 720e15 / 72 / 2,
        "int8": 720e15 / 72 / 2,
    },
    # NVIDIA A100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/a100/): SXM and PCIe,
    # 40 GB and 80 GB, print the same figures.
    "a100": {"fp32": 19.5e12, "tf32": 312e12 / 2, "bf16": 624e12 / 2, "fp16": 624e12 / 2, "int8": 1248e12 / 2},
    # NVIDIA A10 datasheet (https://www.nvidia.com/en-us/data-center/products/a10-gpu/). The A10G is AWS's
    # variant of the A10, with no datasheet of its own; it gets the A10's figures.
    "a10": {"fp32": 31.2e12, "tf32": 125e12 / 2, "bf16": 250e12 / 2, "fp16": 250e12 / 2, "int8": 500e12 / 2},
    # NVIDIA L4 datasheet (https://www.nvidia.com/en-us/data-center/l4/).
    "l4": {
        "fp32": 30.3e12,
        "tf32": 120e12 / 2,
        "bf16": 242e12 / 2,
        "fp16": 242e12 / 2,
        "fp8": 485e12 / 2,
        "int8": 485e12 / 2,
    },
    # NVIDIA L40S datasheet (https://www.nvidia.com/en-us/data-center/l40s/), which prints the dense figures.
    "l40s": {"fp32": 91.6e12, "tf32": 183e12, "bf16": 362.05e12, "fp16": 362.05e12, "fp8": 733e12, "int8": 733e12},
    # NVIDIA L40 datasheet (https://www.nvidia.com/en-us/data-center/l40/), dense figures, FP32 accumulate.
    "l40": {"fp32": 90.5e12, "tf32": 90.5e12, "bf16": 181.05e12, "fp16": 181.05e12, "fp8": 362e12, "int8": 362e12},
    # NVIDIA T4 datasheet (https://www.nvidia.com/en-us/data-center/tesla-t4/): "mixed precision
    # (FP16/FP32)" for fp16. Turing has no bf16 or tf32 tensor cores.
    "t4": {"fp32": 8.1e12, "fp16": 65e12, "int8": 130e12},
    # NVIDIA V100 datasheet (https://www.nvidia.com/en-us/data-center/v100/): SXM2, PCIe and V100S PCIe
    # columns. "Tensor performance" is fp16 with FP32 accumulation; Volta has no bf16 or tf32.
    "v100-sxm2": {"fp32": 15.7e12, "fp16": 125e12},
    "v100-pcie": {"fp32": 14e12, "fp16": 112e12},
    "v100s-pcie": {"fp32": 16.4e12, "fp16": 130e12},
    # NVIDIA Ada Lovelace GPU architecture whitepaper, appendix A, GeForce RTX 4090 column (FP32
    # accumulate, the half rate GeForce cards run it at).
    "rtx-4090": {
        "fp32": 82.6e12,
        "tf32": 82.6e12,
        "bf16": 165.2e12,
        "fp16": 165.2e12,
        "fp8": 330.3e12,
        "int8": 660.6e12,
    },
    # NVIDIA Ampere GA102 GPU architecture whitepaper, appendix A: GeForce RTX 3090 column (FP32 accumulate
    # at half rate) and RTX A6000 column (full rate; its datasheet's 309.7 TFLOPS is the sparse figure).
    "rtx-3090": {"fp32": 35.6e12, "tf32": 35.6e12, "bf16": 71e12, "fp16": 71e12, "int8": 284e12},
    "rtx-a6000": {"fp32": 38.7e12, "tf32": 77.4e12, "bf16": 154.8e12, "fp16": 154.8e12, "int8": 309.7e12},
}

# The GeForce and workstation names are matched whole after "RTX", so that the RTX 3090 Ti, the
# RTX 4090 D and laptop parts, which are faster or slower, are not taken for the listed cards.
_RTX_MODELS = {"4090": "rtx-4090", "3090": "rtx-3090", "a6000": "rtx-a6000"}

_DTYPES = {
    "float32": "fp32",
    "fp32": "fp32",
    "float": "fp32",
    "tf32": "tf32",
    "tensorfloat32": "tf32",
    "bfloat16": "bf16",
    "bf16": "bf16",
    "float16": "fp16",
    "fp16": "fp16",
    "half": "fp16",
    "int8": "int8",
}


def _chip(device_name: str) -> str | None:
    """The `_PEAK_FLOPS` key for a name as NVML and ``torch.cuda.get_device_name()`` report it."""
    tokens = re.findall(r"[a-z0-9]+", device_name.lower())
    has = set(tokens).__contains__
    # A MIG slice ("NVIDIA A100-SXM4-40GB MIG 1g.5gb") has only part of the chip's SMs.
    if has("mig"):
        return None
    if has("gb200"):
        return "gb200"
    if has("b200"):
        return "b200"
    if has("gh200"):
        return "h100-sxm"
    if has("h100") or has("h200"):
        if has("nvl"):
            return "h100-nvl"
        # "NVIDIA H100 PCIe"; the SXM part reports its memory instead ("NVIDIA H100 80GB HBM3"), as does
        # "NVIDIA H200", which only comes as SXM apart from the NVL.
        if has("pcie") or has("hbm2e"):
            return "h100-pcie"
        return "h100-sxm"
    if has("a100"):
        return "a100"
    if has("a10") or has("a10g"):
        return "a10"
    for chip in ("l40s", "l40", "l4", "t4"):
        if has(chip):
            return chip
    if has("v100s"):
        return "v100s-pcie"
    if has("v100"):
        if has("pcie"):
            return "v100-pcie"
        if has("sxm2"):
            return "v100-sxm2"
        return None  # SXM3 (DGX-2) and DGXS parts run other clocks
    if has("rtx"):
        return _RTX_MODELS.get(" ".join(tokens[tokens.index("rtx") + 1 :]))
    return None


def _dtype_key(dtype: str) -> str | None:
    name = str(dtype).strip().lower().removeprefix("torch.")
    # torch has several fp8 formats (float8_e4m3fn, float8_e5m2, ...); the tensor cores run all at one rate.
    if name.startswith(("float8", "fp8")):
        return "fp8"
    return _DTYPES.get(name)


def peak_flops(device_name: str, dtype: str) -> float | None:
    """Peak dense FLOP/s of one NVIDIA GPU for a dtype, or None if the device or dtype is not known.

    `device_name` is the name NVML or ``torch.cuda.get_device_name()`` reports, such as
    ``"NVIDIA H100 80GB HBM3"`` or ``"Tesla T4"``. `dtype` is one of ``"float32"``/``"fp32"``,
    ``"tf32"``, ``"bfloat16"``/``"bf16"``, ``"float16"``/``"fp16"``, ``"float8"``/``"fp8"`` or ``"int8"``,
    with or without torch's ``"torch."`` prefix, so ``str(torch.bfloat16)`` works. MIG slices give None.
    """
    chip = _chip(device_name)
    key = _dtype_key(dtype)
    if chip is None or key is None:
        return None
    return _PEAK_FLOPS[chip].get(key)


# The exponent needs digits, so "312E" reads as 312 exa rather than as a malformed exponent.
_FLOPS_PATTERN = re.compile(
    r"(?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)\s*(?P<prefix>[kmgtpe]?)(?:flops?|flop/s)?", re.IGNORECASE
)
_PREFIXES = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15, "e": 1e18}


def parse_flops(value: str | float) -> float:
    """A FLOP/s figure from a number or a string such as ``"312e12"``, ``"312 TFLOPS"`` or ``"1.2PFLOPS"``.

    Strings are a number, optionally followed by a unit: ``FLOPS``, ``FLOP/s`` or ``FLOPs``, each with an
    optional K, M, G, T, P or E prefix, or the prefix alone (``"312T"``); case does not matter. Raises
    ValueError naming the value when it is not one of these or not a positive finite number.
    """
    if isinstance(value, bool):
        # bool is an int: True would silently read as 1 FLOP/s.
        raise ValueError(_bad_flops(value))
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _FLOPS_PATTERN.fullmatch(str(value).strip())
        if match is None:
            raise ValueError(_bad_flops(value))
        number = float(match["number"]) * _PREFIXES[match["prefix"].lower()]
    if not (math.isfinite(number) and number > 0):
        raise ValueError(_bad_flops(value))
    return number


def _bad_flops(value: object) -> str:
    return (
        f"invalid FLOP/s value {value!r}: expected a positive number, optionally with a unit, "
        "such as 312e12, '312e12', '312 TFLOPS', '312T' or '1.2PFLOPS'"
    )


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
