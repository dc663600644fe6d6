"""Throughput, MFU and ETA arithmetic, peak FLOP/s lookup and FLOP/s parsing: plain numbers, no torch."""

from __future__ import annotations

import doctest
import math
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trackio_callback.telemetry import flops, throughput
from trackio_callback.telemetry.flops import parse_flops, peak_flops
from trackio_callback.telemetry.throughput import (
    DEFAULT_WINDOW,
    Throughput,
    format_eta,
    training_flops_per_token,
)

STEP_TIME = 0.5
SAMPLES_PER_STEP = 8
TOKENS_PER_STEP = 4096


def feed(meter: Throughput, steps: range, *, start_time: float = 0.0, step_time: float = STEP_TIME) -> dict:
    """Events at every step of `steps`, counters proportional to the step; returns the last result."""
    result: dict = {}
    for i, step in enumerate(steps):
        result = meter.update(
            time=start_time + i * step_time,
            step=step,
            samples=step * SAMPLES_PER_STEP,
            tokens=step * TOKENS_PER_STEP,
        )
    return result


# --- rates ---------------------------------------------------------------------------------------


def test_first_event_is_only_the_baseline():
    meter = Throughput(peak_flops=1e15, flops_per_token=6e9, max_steps=100)
    assert meter.update(time=10.0, step=0, samples=0, tokens=0) == {}


def test_rates_are_exact_for_a_steady_sequence():
    # a step every 0.5 s, 8 samples and 4096 tokens per step: every event after the first reports the same
    meter = Throughput()
    assert meter.update(time=0.0, step=0, samples=0, tokens=0) == {}
    for step in range(1, 12):
        result = meter.update(
            time=step * STEP_TIME, step=step, samples=step * SAMPLES_PER_STEP, tokens=step * TOKENS_PER_STEP
        )
        assert result == {
            "train/step_time": 0.5,
            "train/samples_per_second": 16.0,
            "train/tokens_per_second": 8192.0,
        }


def test_rates_over_several_steps_per_event():
    meter = Throughput()
    meter.update(time=100.0, step=0, samples=0, tokens=0)
    # 10 steps in 4 s, 80 samples and 40960 tokens
    result = meter.update(time=104.0, step=10, samples=80, tokens=40960)
    assert result == {"train/step_time": 0.4, "train/samples_per_second": 20.0, "train/tokens_per_second": 10240.0}


def test_mfu_and_achieved_flops():
    flops_per_token = 6 * 125_000_000.0
    meter = Throughput(peak_flops=312e12, world_size=4, flops_per_token=flops_per_token)
    result = feed(meter, range(5))
    tokens_per_second = TOKENS_PER_STEP / STEP_TIME
    assert result["train/tokens_per_second"] == tokens_per_second == 8192.0
    assert result["train/flops_per_second"] == tokens_per_second * flops_per_token == 6.144e12
    assert result["train/mfu"] == pytest.approx(8192.0 * flops_per_token / (312e12 * 4), rel=1e-15)
    assert result["train/mfu"] == pytest.approx(6.144e12 / 1.248e15, rel=1e-15)
    assert 0 < result["train/mfu"] < 1


def test_world_size_only_scales_mfu():
    one = feed(Throughput(peak_flops=1e14, world_size=1, flops_per_token=1e9), range(4))
    eight = feed(Throughput(peak_flops=1e14, world_size=8, flops_per_token=1e9), range(4))
    assert eight["train/tokens_per_second"] == one["train/tokens_per_second"]
    assert eight["train/mfu"] == pytest.approx(one["train/mfu"] / 8, rel=1e-15)


def test_flops_per_second_without_peak_has_no_mfu():
    result = feed(Throughput(flops_per_token=2e9), range(3))
    assert result["train/flops_per_second"] == 8192.0 * 2e9
    assert "train/mfu" not in result


def test_peak_without_flops_per_token_has_no_flops_or_mfu():
    result = feed(Throughput(peak_flops=1e15), range(3))
    assert set(result) == {"train/step_time", "train/samples_per_second", "train/tokens_per_second"}


def test_missing_tokens_gives_no_token_rate_or_mfu():
    meter = Throughput(peak_flops=1e15, flops_per_token=6e9)
    meter.update(time=0.0, step=0, samples=0)
    result = meter.update(time=1.0, step=2, samples=16)
    assert result == {"train/step_time": 0.5, "train/samples_per_second": 16.0}


def test_no_counters_gives_step_time_only():
    meter = Throughput(peak_flops=1e15, flops_per_token=6e9)
    meter.update(time=0.0, step=0)
    assert meter.update(time=3.0, step=2) == {"train/step_time": 1.5}


def test_counter_missing_at_some_events_uses_the_oldest_known_value():
    meter = Throughput(window=10)
    meter.update(time=0.0, step=0, samples=0, tokens=0)
    meter.update(time=1.0, step=2)  # an event where the counters were not available
    result = meter.update(time=2.0, step=4, samples=32, tokens=None)
    assert result == {"train/step_time": 0.5, "train/samples_per_second": 16.0}
    # the baseline's tokens still serve once tokens are known again
    result = meter.update(time=3.0, step=6, samples=48, tokens=300)
    assert result["train/tokens_per_second"] == 100.0


def test_counter_known_only_at_the_newest_event_has_no_rate_yet():
    meter = Throughput()
    meter.update(time=0.0, step=0, samples=0)
    assert meter.update(time=1.0, step=2, samples=16, tokens=500) == {
        "train/step_time": 0.5,
        "train/samples_per_second": 16.0,
    }
    result = meter.update(time=2.0, step=4, samples=32, tokens=4596)
    assert result["train/tokens_per_second"] == 4096.0


def test_no_sample_progress_is_a_zero_rate_not_an_error():
    meter = Throughput()
    meter.update(time=0.0, step=0, samples=10)
    assert meter.update(time=2.0, step=1, samples=10) == {"train/step_time": 2.0, "train/samples_per_second": 0.0}


# --- window smoothing ----------------------------------------------------------------------------


def test_default_window():
    assert DEFAULT_WINDOW == 5
    assert Throughput().window == 5


def test_one_slow_interval_is_diluted_by_the_window_then_forgotten():
    meter = Throughput(window=5, max_steps=100)
    feed(meter, range(5))  # steps 0..4 at t = 0, 0.5, ..., 2.0
    # a checkpoint save makes step 4 -> 5 take 2.5 s instead of 0.5 s
    slow = meter.update(time=4.5, step=5, samples=5 * SAMPLES_PER_STEP, tokens=5 * TOKENS_PER_STEP)
    # window: steps 0..5 over 4.5 s, i.e. (4 * 0.5 + 2.5) / 5
    assert slow["train/step_time"] == pytest.approx(0.9, rel=1e-15)
    assert slow["train/samples_per_second"] == pytest.approx(40 / 4.5, rel=1e-15)
    assert slow["train/tokens_per_second"] == pytest.approx(5 * 4096 / 4.5, rel=1e-15)
    assert slow["train/eta_seconds"] == pytest.approx(95 * 0.9, rel=1e-15)

    # while it is one of the window's five intervals it keeps its full weight, 2.5 s of 4.5 s
    for step in range(6, 10):
        result = meter.update(
            time=2.0 + 2.5 + 0.5 * (step - 5), step=step, samples=step * SAMPLES_PER_STEP, tokens=step * TOKENS_PER_STEP
        )
        assert result["train/step_time"] == pytest.approx(0.9, rel=1e-15)
    # five events after it, the slow interval has left the window
    result = meter.update(time=7.0, step=10, samples=80, tokens=10 * TOKENS_PER_STEP)
    assert result == {
        "train/step_time": 0.5,
        "train/samples_per_second": 16.0,
        "train/tokens_per_second": 8192.0,
        "train/eta_seconds": 45.0,
    }


def test_window_one_reports_the_latest_interval_alone():
    meter = Throughput(window=1)
    feed(meter, range(3))
    slow = meter.update(time=4.0, step=3, samples=24, tokens=3 * TOKENS_PER_STEP)
    assert slow["train/step_time"] == 3.0
    fast = meter.update(time=4.5, step=4, samples=32, tokens=4 * TOKENS_PER_STEP)
    assert fast == {"train/step_time": 0.5, "train/samples_per_second": 16.0, "train/tokens_per_second": 8192.0}


def test_window_is_weighted_by_time_not_a_mean_of_rates():
    meter = Throughput(window=2)
    meter.update(time=0.0, step=0, samples=0)
    meter.update(time=1.0, step=1, samples=100)  # 100 samples/s for 1 s
    result = meter.update(time=4.0, step=2, samples=130)  # 10 samples/s for 3 s
    # 130 samples in 4 s, not the mean of 100 and 10
    assert result["train/samples_per_second"] == 32.5
    assert result["train/step_time"] == 2.0


# --- events that give no rates -------------------------------------------------------------------


def test_same_step_returns_nothing_and_keeps_the_baseline():
    meter = Throughput(peak_flops=1e15, flops_per_token=6e9, max_steps=10)
    meter.update(time=0.0, step=0, samples=0, tokens=0)
    # an evaluation logged at step 0, then again, later: no steps, no rates, no division by zero
    assert meter.update(time=5.0, step=0, samples=0, tokens=0) == {}
    assert meter.update(time=6.0, step=0, samples=0, tokens=0) == {}
    # the interval to the next training log starts at the baseline, eval time included
    result = meter.update(time=8.0, step=4, samples=32, tokens=4 * TOKENS_PER_STEP)
    assert result["train/step_time"] == 2.0
    assert result["train/samples_per_second"] == 4.0
    assert result["train/eta_seconds"] == 12.0


def test_same_step_after_progress_repeats_nothing():
    meter = Throughput()
    feed(meter, range(3))
    assert meter.update(time=1.2, step=2, samples=16, tokens=2 * TOKENS_PER_STEP) == {}
    result = meter.update(time=1.5, step=3, samples=24, tokens=3 * TOKENS_PER_STEP)
    assert result["train/step_time"] == 0.5


def test_zero_elapsed_time_returns_nothing_and_keeps_the_baseline():
    meter = Throughput()
    meter.update(time=1.0, step=0, samples=0)
    assert meter.update(time=1.0, step=3, samples=24) == {}
    assert meter.update(time=3.0, step=4, samples=32) == {"train/step_time": 0.5, "train/samples_per_second": 16.0}


def test_time_going_backwards_rebaselines():
    meter = Throughput()
    feed(meter, range(4), start_time=100.0)
    assert meter.update(time=50.0, step=4, samples=32, tokens=4 * TOKENS_PER_STEP) == {}
    result = meter.update(time=51.0, step=6, samples=48, tokens=6 * TOKENS_PER_STEP)
    assert result == {"train/step_time": 0.5, "train/samples_per_second": 16.0, "train/tokens_per_second": 8192.0}


def test_resume_with_lower_step_rebaselines_without_negative_rates():
    meter = Throughput(max_steps=100)
    feed(meter, range(0, 60, 10), step_time=5.0)  # steps 0..50, at 0..25 s
    # resumed from the checkpoint at step 20, counters from that checkpoint, a fresh clock
    assert meter.update(time=0.0, step=20, samples=160, tokens=20 * TOKENS_PER_STEP) == {}
    result = meter.update(time=5.0, step=30, samples=240, tokens=30 * TOKENS_PER_STEP)
    assert result == {
        "train/step_time": 0.5,
        "train/samples_per_second": 16.0,
        "train/tokens_per_second": 8192.0,
        "train/eta_seconds": 35.0,
    }


@pytest.mark.parametrize("counter", ["samples", "tokens"])
def test_counter_going_down_rebaselines(counter):
    meter = Throughput()
    meter.update(time=0.0, step=0, samples=0, tokens=0)
    meter.update(time=1.0, step=2, samples=16, tokens=8192)
    # the step advances but one counter restarted from zero (a callback re-created on resume)
    counters = {"samples": 16, "tokens": 8192, counter: 4}
    assert meter.update(time=2.0, step=4, **counters) == {}
    counters = {"samples": 32, "tokens": 16384, counter: 4 + (16 if counter == "samples" else 8192)}
    result = meter.update(time=3.0, step=6, **counters)
    assert result["train/step_time"] == 0.5
    assert result["train/samples_per_second"] == 16.0
    assert result["train/tokens_per_second"] == 8192.0


def test_reset_starts_a_new_baseline():
    meter = Throughput()
    feed(meter, range(3))
    meter.reset()
    assert meter.update(time=10.0, step=2, samples=16) == {}
    assert meter.update(time=12.0, step=3, samples=20) == {"train/step_time": 2.0, "train/samples_per_second": 2.0}


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=-5, max_value=5, allow_nan=False),
            st.integers(min_value=-3, max_value=5),
            st.one_of(st.none(), st.integers(min_value=-50, max_value=100)),
            st.one_of(st.none(), st.integers(min_value=-5000, max_value=10000)),
        ),
        max_size=40,
    ),
    st.integers(min_value=1, max_value=6),
)
def test_never_negative_or_non_finite(events, window):
    """Any sequence of jumps, stalls and restarts yields only finite, non-negative numbers."""
    meter = Throughput(peak_flops=1e15, world_size=2, flops_per_token=6e9, max_steps=50, window=window)
    time, step, samples, tokens = 0.0, 0, 0, 0
    for dt, dstep, dsamples, dtokens in events:
        time += dt
        step = max(step + dstep, 0)
        samples = max(samples + dsamples, 0) if dsamples is not None else samples
        tokens = max(tokens + dtokens, 0) if dtokens is not None else tokens
        result = meter.update(
            time=time,
            step=step,
            samples=None if dsamples is None else samples,
            tokens=None if dtokens is None else tokens,
        )
        for key, value in result.items():
            assert math.isfinite(value) and value >= 0, (key, value)
        if "train/step_time" in result:
            assert result["train/step_time"] > 0


# --- ETA -----------------------------------------------------------------------------------------


def test_eta_from_windowed_step_time():
    meter = Throughput(max_steps=1000)
    meter.update(time=0.0, step=0)
    assert meter.update(time=20.0, step=100) == {"train/step_time": 0.2, "train/eta_seconds": 180.0}


def test_eta_is_zero_at_and_past_max_steps():
    meter = Throughput(max_steps=10)
    meter.update(time=0.0, step=0)
    assert meter.update(time=5.0, step=10)["train/eta_seconds"] == 0.0
    assert meter.update(time=6.0, step=12)["train/eta_seconds"] == 0.0


@pytest.mark.parametrize("max_steps", [None, 0, -1])
def test_no_eta_without_a_known_max_steps(max_steps):
    meter = Throughput(max_steps=max_steps)
    meter.update(time=0.0, step=0)
    assert meter.update(time=1.0, step=2) == {"train/step_time": 0.5}


def test_max_steps_can_be_set_after_construction():
    meter = Throughput()
    meter.update(time=0.0, step=0)
    meter.max_steps = 20
    assert meter.update(time=1.0, step=10)["train/eta_seconds"] == 1.0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0:00:00"), (59.4, "0:00:59"), (59.6, "0:01:00"), (3723, "1:02:03"), (86399, "23:59:59"),
     (90061, "1d 01:01:01"), (3 * 86400, "3d 00:00:00")],
)  # fmt: skip
def test_format_eta(seconds, text):
    assert format_eta(seconds) == text


@pytest.mark.parametrize("seconds", [-1.0, math.nan, math.inf])
def test_format_eta_rejects_nonsense(seconds):
    with pytest.raises(ValueError, match="seconds"):
        format_eta(seconds)


# --- argument checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"peak_flops": 0}, "peak_flops"),
        ({"peak_flops": -1e12}, "peak_flops"),
        ({"peak_flops": math.inf}, "peak_flops"),
        ({"world_size": 0}, "world_size"),
        ({"flops_per_token": 0.0}, "flops_per_token"),
        ({"flops_per_token": math.nan}, "flops_per_token"),
        ({"window": 0}, "window"),
    ],
)
def test_constructor_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Throughput(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time": math.nan, "step": 1}, "time"),
        ({"time": math.inf, "step": 1}, "time"),
        ({"time": 1.0, "step": -1}, "step"),
        ({"time": 1.0, "step": 1, "samples": -5}, "samples"),
        ({"time": 1.0, "step": 1, "tokens": math.nan}, "tokens"),
    ],
)
def test_update_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Throughput().update(**kwargs)


# --- training FLOPs per token --------------------------------------------------------------------


def test_training_flops_per_token_is_six_n():
    assert training_flops_per_token(125_000_000) == 750_000_000.0
    assert training_flops_per_token(7_000_000_000) == 42e9
    assert isinstance(training_flops_per_token(1), float)


def test_training_flops_per_token_with_attention():
    # GPT-2 small-like: 12 layers, hidden 768, context 1024
    assert training_flops_per_token(85_000_000, num_layers=12, hidden_size=768, seq_len=1024) == (
        6 * 85_000_000 + 12 * 12 * 768 * 1024
    )
    # 7B, 32 layers, hidden 4096, 4096 tokens: 42e9 + 12 * 32 * 4096 * 4096
    assert training_flops_per_token(7_000_000_000, num_layers=32, hidden_size=4096, seq_len=4096) == 48_442_450_944.0


def test_training_flops_per_token_needs_all_attention_sizes():
    with pytest.raises(ValueError, match="missing hidden_size, seq_len"):
        training_flops_per_token(1000, num_layers=2)
    with pytest.raises(ValueError, match="missing num_layers"):
        training_flops_per_token(1000, hidden_size=64, seq_len=128)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((0,), {}, "num_parameters"),
        ((-10,), {}, "num_parameters"),
        ((1.5e9,), {}, "num_parameters"),
        ((1000,), {"num_layers": 0, "hidden_size": 64, "seq_len": 128}, "num_layers"),
    ],
)
def test_training_flops_per_token_rejects_bad_values(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        training_flops_per_token(*args, **kwargs)


# --- peak FLOP/s ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("device_name", "dtype", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "bfloat16", 989.5e12),
        ("NVIDIA H100 80GB HBM3", "torch.float8_e4m3fn", 1979e12),
        ("NVIDIA H100 80GB HBM3", "tf32", 494.5e12),
        ("NVIDIA H100 80GB HBM3", "float32", 67e12),
        ("NVIDIA H100 PCIe", "bf16", 756.5e12),
        ("NVIDIA H100 PCIe", "fp8", 1513e12),
        ("NVIDIA H100 NVL", "float16", 835.5e12),
        ("NVIDIA H200", "torch.bfloat16", 989.5e12),
        ("NVIDIA H200 NVL", "bf16", 835.5e12),
        ("NVIDIA GH200 480GB", "bf16", 989.5e12),
        ("NVIDIA B200", "bf16", 2.25e15),
        ("NVIDIA B200", "fp8", 4.5e15),
        ("NVIDIA GB200", "bf16", 2.5e15),
        ("NVIDIA A100-SXM4-80GB", "bf16", 312e12),
        ("NVIDIA A100-SXM4-40GB", "torch.float32", 19.5e12),
        ("NVIDIA A100-PCIE-40GB", "tf32", 156e12),
        ("NVIDIA A100 80GB PCIe", "fp16", 312e12),
        ("NVIDIA A100-SXM4-80GB", "int8", 624e12),
        ("NVIDIA A10G", "bf16", 125e12),
        ("NVIDIA A10", "float16", 125e12),
        ("NVIDIA L4", "bf16", 121e12),
        ("NVIDIA L4", "fp8", 242.5e12),
        ("NVIDIA L40S", "bf16", 362.05e12),
        ("NVIDIA L40", "bf16", 181.05e12),
        ("Tesla T4", "fp16", 65e12),
        ("Tesla T4", "torch.float16", 65e12),
        ("Tesla V100-SXM2-16GB", "float16", 125e12),
        ("Tesla V100-SXM2-32GB", "fp32", 15.7e12),
        ("Tesla V100-PCIE-16GB", "float16", 112e12),
        ("Tesla V100S-PCIE-32GB", "float16", 130e12),
        ("NVIDIA GeForce RTX 4090", "bf16", 165.2e12),
        ("NVIDIA GeForce RTX 3090", "bf16", 71e12),
        ("NVIDIA RTX A6000", "bf16", 154.8e12),
        ("  nvidia h100 80gb hbm3  ", " BF16 ", 989.5e12),
    ],
)
def test_peak_flops_known_devices(device_name, dtype, expected):
    assert peak_flops(device_name, dtype) == expected


@pytest.mark.parametrize(
    ("spellings", "expected"),
    [
        (["float32", "fp32", "torch.float32", "FP32", "float"], 19.5e12),
        (["tf32", "TF32", "tensorfloat32"], 156e12),
        (["bfloat16", "bf16", "torch.bfloat16", "BFloat16"], 312e12),
        (["float16", "fp16", "torch.float16", "half"], 312e12),
        (["int8", "torch.int8"], 624e12),
    ],
)
def test_dtype_spellings(spellings, expected):
    assert {spelling: peak_flops("NVIDIA A100-SXM4-80GB", spelling) for spelling in spellings} == dict.fromkeys(
        spellings, expected
    )


def test_fp8_spellings():
    for spelling in ["float8", "fp8", "torch.float8_e4m3fn", "torch.float8_e5m2", "float8_e4m3fnuz", "FP8"]:
        assert peak_flops("NVIDIA H100 PCIe", spelling) == 1513e12


def test_str_of_a_dtype_like_object_works():
    class FakeDtype:  # stands in for torch.bfloat16, whose str() is "torch.bfloat16"
        def __str__(self) -> str:
            return "torch.bfloat16"

    assert peak_flops("NVIDIA L4", FakeDtype()) == 121e12


@pytest.mark.parametrize(
    ("device_name", "dtype"),
    [
        ("NVIDIA GeForce GTX 1080 Ti", "fp32"),  # unknown device
        ("NVIDIA H800", "bf16"),
        ("AMD Instinct MI300X", "bf16"),
        ("", "bf16"),
        ("NVIDIA GeForce RTX 3090 Ti", "bf16"),  # a different, faster card
        ("NVIDIA GeForce RTX 4090 D", "bf16"),
        ("NVIDIA GeForce RTX 4090 Laptop GPU", "bf16"),
        ("NVIDIA RTX 6000 Ada Generation", "bf16"),
        ("NVIDIA A100-SXM4-40GB MIG 1g.5gb", "bf16"),  # a slice, not the chip
        ("Tesla T4", "bf16"),  # the chip has no such tensor cores
        ("Tesla V100-SXM2-16GB", "bfloat16"),
        ("NVIDIA A100-SXM4-80GB", "fp8"),
        ("NVIDIA H100 80GB HBM3", "float64"),  # unknown dtype
        ("NVIDIA H100 80GB HBM3", "int4"),
        ("NVIDIA H100 80GB HBM3", ""),
    ],
)
def test_peak_flops_unknown_is_none(device_name, dtype):
    assert peak_flops(device_name, dtype) is None


def test_a10_and_a100_and_l4_and_l40_are_not_confused():
    bf16 = {
        name: peak_flops(name, "bf16") for name in ["NVIDIA A10", "NVIDIA A100-PCIE-40GB", "NVIDIA L4", "NVIDIA L40"]
    }
    assert bf16 == {
        "NVIDIA A10": 125e12,
        "NVIDIA A100-PCIE-40GB": 312e12,
        "NVIDIA L4": 121e12,
        "NVIDIA L40": 181.05e12,
    }


def test_table_is_consistent():
    for chip, by_dtype in flops._PEAK_FLOPS.items():
        assert set(by_dtype) <= {"fp32", "tf32", "bf16", "fp16", "fp8", "int8"}, chip
        for value in by_dtype.values():
            assert math.isfinite(value) and 1e12 <= value <= 1e16, chip
        # tensor-core rates are never below the plain fp32 rate, and low precision is never slower
        assert by_dtype["fp16"] >= by_dtype.get("tf32", by_dtype["fp32"]) >= by_dtype["fp32"], chip
        if "bf16" in by_dtype:
            assert by_dtype["bf16"] == by_dtype["fp16"], chip
        if "fp8" in by_dtype:
            assert by_dtype["fp8"] >= by_dtype["fp16"], chip


# --- parse_flops ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("312e12", 312e12),
        ("312 TFLOPS", 312e12),
        ("312TFLOPS", 312e12),
        ("312 tflops", 312e12),
        ("312 TFLOP/s", 312e12),
        ("312 TFLOPs", 312e12),
        ("312T", 312e12),
        ("1.2PFLOPS", 1.2e15),
        ("1.2 PFLOPS", 1.2e15),
        ("989.5 TFLOPS", 989.5e12),
        ("65 GFLOPS", 65e9),
        ("2E", 2e18),
        ("3.5e2 TFLOPS", 350e12),
        (".5 PFLOPS", 0.5e15),
        ("  7e14  ", 7e14),
        ("1000 FLOPS", 1000.0),
        ("5000", 5000.0),
        (312e12, 312e12),
        (100, 100.0),
    ],
)
def test_parse_flops(value, expected):
    result = parse_flops(value)
    assert result == pytest.approx(expected, rel=1e-15)
    assert isinstance(result, float)


@pytest.mark.parametrize(
    "value",
    ["", "fast", "TFLOPS", "312 XFLOPS", "312 TB", "1.2.3 TFLOPS", "312 T FLOPS", "0", "-312e12", "0 TFLOPS", "nan",
     "inf", "1e400", math.nan, math.inf, -1.0, 0, True],
)  # fmt: skip
def test_parse_flops_rejects_bad_values_naming_them(value):
    with pytest.raises(ValueError) as raised:
        parse_flops(value)
    message = str(raised.value)
    assert repr(value) in message
    assert "312 TFLOPS" in message and "1.2PFLOPS" in message


# --- module hygiene ------------------------------------------------------------------------------


def test_module_docstring_example_runs():
    failures, tried = doctest.testmod(throughput, raise_on_error=False, verbose=False)
    flops_failures, flops_tried = doctest.testmod(flops, raise_on_error=False, verbose=False)
    failures, tried = failures + flops_failures, tried + flops_tried
    assert tried >= 4
    assert failures == 0


def test_importing_loads_only_the_standard_library():
    code = (
        "import sys; import trackio_callback.telemetry.throughput; "
        "print(sorted(m for m in ('torch', 'transformers', 'numpy', 'accelerate') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
