"""`analysis.analyze` on synthetic curves of known shape: the findings, their steps and their numbers."""

from __future__ import annotations

import doctest
import json
import math
import random

import pytest

from trackio_callback.analysis import diagnosis as analysis
from trackio_callback.analysis.diagnosis import Curve, analyze

STEPS = list(range(0, 5000, 5))  # 1,000 log events, every 5 optimizer steps


def decay(step: float, start: float = 3.0, floor: float = 1.0, tau: float = 1000.0) -> float:
    """A clean loss curve: exponential decay from `start` towards `floor`."""
    return floor + (start - floor) * math.exp(-step / tau)


def noisy(rng: random.Random, values: list[float], noise: float) -> list[float]:
    """Multiplicative Gaussian noise: the loss of a minibatch scatters in proportion to its level."""
    return [v * (1 + noise * rng.gauss(0, 1)) for v in values]


def loss_curve(seed: int = 0, noise: float = 0.03, steps: list[int] = STEPS, **shape) -> Curve:
    return Curve(steps, noisy(random.Random(seed), [decay(s, **shape) for s in steps], noise))


def cosine_lr(step: int, peak: float = 3e-4, warmup: int = 100, total: int = 5000) -> float:
    """transformers' get_cosine_schedule_with_warmup."""
    if step < warmup:
        return peak * step / warmup
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warmup) / (total - warmup)))


def by_kind(result: dict) -> dict[str, dict]:
    kinds = [f["kind"] for f in result["findings"]]
    assert len(kinds) == len(set(kinds)), kinds
    return {f["kind"]: f for f in result["findings"]}


def serious(result: dict) -> list[dict]:
    return [f for f in result["findings"] if f["severity"] in ("warning", "critical")]


def roundtrips(result: dict) -> dict:
    text = json.dumps(result, allow_nan=False)
    assert json.loads(text) == result
    return result


# --- healthy runs ----------------------------------------------------------------------------------


def test_clean_decay_is_healthy_with_a_falling_trend():
    result = roundtrips(analyze({"train/loss": loss_curve()}))
    assert result["loss_key"] == "train/loss"
    assert result["points"] == result["finite_points"] == 1000
    assert result["steps"] == [0, 4995]
    assert result["status"] == "healthy"
    assert serious(result) == []
    assert result["verdict"].startswith("healthy: train/loss fell")
    assert "still improving" in result["verdict"]
    trend = result["trend"]
    assert trend["slope_per_1k_steps"] < 0
    assert trend["initial_step"] == 0 and trend["last_step"] == 4995
    assert trend["initial"] == pytest.approx(3.0, rel=0.1)
    assert trend["initial_level"] == pytest.approx(decay(20), rel=0.05)  # median of the first 9 points
    assert trend["recent_level"] == pytest.approx(decay(4750), rel=0.03)
    assert trend["min_level"] <= trend["recent_level"] * 1.02
    assert trend["noise"] == pytest.approx(0.03 * 1.1, rel=0.3)  # 3% of a loss that is mostly near 1.1
    windows = {w["fraction"]: w for w in trend["windows"]}
    assert [w["fraction"] for w in trend["windows"]] == [0.1, 0.25, 0.5]
    for fraction, window in windows.items():
        assert window["to_step"] == 4995
        assert window["from_step"] == pytest.approx(4995 * (1 - fraction), abs=5)
        assert window["slope_per_1k_steps"] < 0
        expected = (decay(4995) - decay(window["from_step"])) / decay(window["from_step"])
        assert window["relative_change"] == pytest.approx(expected, abs=0.015)
    assert windows[0.5]["relative_change"] < windows[0.25]["relative_change"] < 0


def test_trend_numbers_of_a_noise_free_line_are_exact():
    steps = list(range(0, 10000, 10))
    result = analyze({"train/loss": Curve(steps, [3.0 - 0.0002 * s for s in steps])})
    trend = result["trend"]
    assert trend["slope_per_1k_steps"] == pytest.approx(-0.2)
    assert (trend["initial"], trend["min"], trend["min_step"], trend["last"]) == (3.0, 1.002, 9990, 1.002)
    quarter = trend["windows"][1]
    assert (quarter["from_step"], quarter["to_step"], quarter["points"]) == (7500, 9990, 250)
    assert quarter["fit_start"] == pytest.approx(1.5)
    assert quarter["fit_end"] == pytest.approx(1.002)
    assert quarter["relative_change"] == pytest.approx((1.002 - 1.5) / 1.5)
    assert trend["noise"] == pytest.approx(0, abs=1e-12)
    assert result["findings"] == [] and result["status"] == "healthy"


# points, log interval, decay time constant in steps
CLEAN_SHAPES = {"long": (3000, 1, 1000), "fast": (1000, 10, 800), "short": (40, 25, 300), "sparse": (150, 50, 4000)}


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("noise", [0.0, 0.01, 0.05, 0.1])
@pytest.mark.parametrize("shape", ["long", "fast", "short", "sparse"])
def test_a_clean_run_is_never_flagged(seed, noise, shape):
    rng = random.Random(seed * 1000 + int(noise * 100))
    points, every, tau = CLEAN_SHAPES[shape]
    steps = [every * (i + 1) for i in range(points)]
    total = steps[-1]
    floor = rng.uniform(0.2, 2)
    start = floor + rng.uniform(1, 9)
    loss = noisy(rng, [decay(s, start, floor, tau * rng.uniform(0.5, 2)) for s in steps], noise)
    eval_steps = steps[:: max(1, points // 20)]
    evals = noisy(rng, [decay(s, start, floor * 1.1, tau) for s in eval_steps], min(noise, 0.005))
    throughput = noisy(rng, [12000.0] * points, 0.03)
    lr = [cosine_lr(s, warmup=total // 20, total=total) for s in steps]
    metrics = {
        "train/loss": Curve(steps, loss),
        "eval/loss": Curve(eval_steps, evals),
        "train/learning_rate": Curve(steps, lr),
        "train/tokens_per_second": Curve(steps, throughput),
        "train/grad_norm": Curve(steps, noisy(rng, [1.0] * points, 0.2)),
    }
    result = roundtrips(analyze(metrics))
    assert serious(result) == [], result["findings"]
    assert result["status"] == "healthy"
    assert result["verdict"].startswith("healthy")


# --- problems ---------------------------------------------------------------------------------------


def test_a_single_spike_is_reported_with_its_step_and_value():
    curve = loss_curve(seed=1)
    values = list(curve.values)
    values[STEPS.index(2500)] = 6.0
    result = roundtrips(analyze({"train/loss": Curve(STEPS, values)}))
    spike = by_kind(result)["spike"]
    assert spike["severity"] == "warning"
    assert spike["count"] == 1
    assert spike["threshold_sigmas"] == analysis.SPIKE_SIGMAS
    (reported,) = spike["spikes"]
    assert reported["step"] == 2500
    assert reported["value"] == 6.0
    assert reported["baseline"] == pytest.approx(decay(2500), rel=0.03)
    assert reported["ratio"] == pytest.approx(6.0 / decay(2500), rel=0.03)
    assert reported["sigmas"] > analysis.SPIKE_SIGMAS
    assert result["status"] == "warning"
    assert result["verdict"].startswith("loss spike to 6 at step 2500")
    assert "divergence" not in by_kind(result)
    # the spike does not tilt the trend: same slope as without it, to within noise
    clean = analyze({"train/loss": curve})
    assert result["trend"]["slope_per_1k_steps"] == pytest.approx(clean["trend"]["slope_per_1k_steps"], rel=0.02)


def test_the_largest_five_spikes_are_listed_largest_first():
    values = list(loss_curve(seed=2).values)
    spikes = {500: 4.0, 1500: 9.0, 2000: 5.0, 2500: 3.5, 3000: 8.0, 3500: 7.0, 4000: 6.0}
    for step, value in spikes.items():
        values[STEPS.index(step)] = value
    spike = by_kind(analyze({"train/loss": Curve(STEPS, values)}))["spike"]
    assert spike["count"] == 7
    assert [s["step"] for s in spike["spikes"]] == [1500, 3000, 3500, 4000, 2000]
    assert [s["value"] for s in spike["spikes"]] == [9.0, 8.0, 7.0, 6.0, 5.0]


def test_the_steep_fall_at_the_start_is_not_a_spike():
    steps = list(range(0, 2000, 10))
    values = noisy(random.Random(3), [2 + 9 * math.exp(-s / 30) for s in steps], 0.02)
    result = analyze({"train/loss": Curve(steps, values)})
    assert "spike" not in by_kind(result)
    assert serious(result) == []


def test_nan_from_a_known_step_is_critical():
    values = [v if s < 3000 else math.nan for s, v in zip(STEPS, loss_curve().values)]
    result = roundtrips(analyze({"train/loss": Curve(STEPS, values)}))
    finding = result["findings"][0]
    assert finding["kind"] == "nan_or_inf" and finding["severity"] == "critical"
    assert finding["key"] == "train/loss"
    assert finding["first_step"] == 3000
    assert finding["last_finite_step"] == 2995
    assert (finding["count"], finding["nan_count"], finding["inf_count"], finding["finite_after"]) == (400, 400, 0, 0)
    assert result["status"] == "critical"
    assert result["verdict"] == "loss became NaN at step 3000"
    assert (result["points"], result["finite_points"]) == (1000, 600)
    assert result["trend"]["last_step"] == 2995  # the trend is over the finite points


def test_a_single_infinity_is_counted_and_the_run_goes_on():
    values = list(loss_curve().values)
    values[STEPS.index(530)] = math.inf
    finding = by_kind(roundtrips(analyze({"train/loss": Curve(STEPS, values)})))["nan_or_inf"]
    assert (finding["first_step"], finding["inf_count"], finding["nan_count"]) == (530, 1, 0)
    assert finding["last_finite_step"] == 525
    assert finding["finite_after"] == len(STEPS) - STEPS.index(530) - 1


def test_all_nan_loss():
    result = roundtrips(analyze({"train/loss": Curve(STEPS, [math.nan] * len(STEPS))}))
    assert result["trend"] is None
    assert (result["points"], result["finite_points"]) == (1000, 0)
    finding, no_data = result["findings"]
    assert (finding["kind"], finding["severity"], finding["first_step"], finding["count"]) == (
        "nan_or_inf",
        "critical",
        0,
        1000,
    )
    assert finding["last_finite_step"] is None
    assert (no_data["kind"], no_data["message"]) == ("insufficient_data", "train/loss has no finite value")
    assert result["verdict"] == "loss became NaN at step 0"
    assert result["status"] == "critical"


def test_an_empty_loss_curve_is_too_little_data():
    result = roundtrips(analyze({"train/loss": Curve([], [])}))
    assert (result["status"], result["verdict"], result["points"], result["steps"]) == (
        "unknown",
        "train/loss has no points",
        0,
        None,
    )


def test_non_finite_gradient_norm_is_a_warning():
    norms = [1.0] * len(STEPS)
    norms[STEPS.index(300)] = math.inf
    result = analyze({"train/loss": loss_curve(), "train/grad_norm": Curve(STEPS, norms)})
    finding = by_kind(result)["nan_or_inf"]
    assert (finding["key"], finding["severity"], finding["first_step"]) == ("train/grad_norm", "warning", 300)
    assert result["grad_norm_key"] == "train/grad_norm"
    assert result["status"] == "warning"


def divergent(rise_per_step: float, seed: int = 4, turn: int = 2000) -> tuple[Curve, list[float]]:
    truth = [decay(s) + max(0, s - turn) * rise_per_step for s in STEPS]
    return Curve(STEPS, noisy(random.Random(seed), truth, 0.02)), truth


def test_divergence_after_a_known_step_is_critical():
    curve, truth = divergent(0.001)
    result = roundtrips(analyze({"train/loss": curve}))
    finding = result["findings"][0]
    assert finding["kind"] == "divergence" and finding["severity"] == "critical"
    assert finding["min_step"] == pytest.approx(2000, abs=150)
    assert finding["min_level"] == pytest.approx(decay(2000), rel=0.03)
    recent_truth = sorted(truth[STEPS.index(4500) :])[len(truth[STEPS.index(4500) :]) // 2]
    assert finding["recent_from_step"] == 4500
    assert finding["recent_level"] == pytest.approx(recent_truth, rel=0.03)
    assert finding["ratio"] == pytest.approx(recent_truth / decay(2000), rel=0.05)
    assert finding["giveback"] > 1  # above where it started
    assert result["verdict"].startswith(f"diverging: loss rose {finding['ratio']:.2g}x above its minimum at step")
    assert "plateau" not in by_kind(result)


def test_a_moderate_rise_is_a_divergence_warning():
    curve, truth = divergent(0.0002)
    finding = by_kind(analyze({"train/loss": curve}))["divergence"]
    assert finding["severity"] == "warning"
    lowest = min(truth)  # at step 2305, where the rise overtakes the decay
    assert finding["min_step"] == pytest.approx(STEPS[truth.index(lowest)], abs=250)
    assert finding["ratio"] == pytest.approx(truth[-50] / lowest, rel=0.05)
    assert 1.1 < finding["ratio"] < 2


def test_divergence_of_a_loss_with_a_negative_minimum_uses_the_improvement_given_back():
    steps = list(range(0, 2000, 2))
    truth = [(-0.5 + 1.5 * math.exp(-s / 200)) if s < 1000 else -0.5 + (s - 1000) * 0.001 for s in steps]
    values = [v + 0.02 * g for v, g in zip(truth, (random.Random(5).gauss(0, 1) for _ in steps))]
    finding = by_kind(analyze({"train/loss": Curve(steps, values)}))["divergence"]
    assert finding["ratio"] is None
    # risen by 0.95 of an improvement of 1.5 (from 1.0 down to -0.5)
    assert finding["giveback"] == pytest.approx(0.95 / (finding["initial_level"] + 0.5), rel=0.1)
    assert finding["severity"] == "warning"


def test_plateau_after_a_fast_decay_is_information():
    result = roundtrips(analyze({"train/loss": loss_curve(seed=6, tau=200)}))
    plateau = by_kind(result)["plateau"]
    assert plateau["severity"] == "info"
    assert plateau["from_step"] == 3750
    assert abs(plateau["relative_change"]) < analysis.PLATEAU_MIN_IMPROVEMENT
    assert plateau["level"] == pytest.approx(1.0, rel=0.02)
    assert plateau["total_improvement"] == pytest.approx(1 - 1.0 / decay(20, tau=200), abs=0.03)
    assert result["status"] == "healthy"
    assert result["verdict"].endswith("levelled off over the last 25% of steps")


def test_a_loss_that_never_moved_is_not_learning():
    steps = list(range(0, 3000, 5))
    values = noisy(random.Random(7), [2.3] * len(steps), 0.03)
    result = roundtrips(analyze({"train/loss": Curve(steps, values)}))
    plateau = by_kind(result)["plateau"]
    assert plateau["severity"] == "warning"
    assert plateau["level"] == pytest.approx(2.3, rel=0.01)
    assert abs(plateau["total_improvement"]) < 0.02
    assert result["verdict"].startswith("not learning")


def test_no_plateau_warning_during_warmup():
    steps = list(range(0, 3000, 5))
    values = noisy(random.Random(7), [2.3] * len(steps), 0.03)
    lr = [3e-4 * s / 5000 for s in steps]
    result = analyze({"train/loss": Curve(steps, values), "train/learning_rate": Curve(steps, lr)})
    assert by_kind(result)["plateau"]["severity"] == "info"
    assert "warming up" in by_kind(result)["plateau"]["message"]


def test_a_converged_loss_is_not_a_plateau():
    steps = list(range(0, 3000, 5))
    values = [3.0 * math.exp(-s / 100) for s in steps]
    result = analyze({"train/loss": Curve(steps, values)})
    assert "plateau" not in by_kind(result)
    assert result["status"] == "healthy"


def overfitting_metrics(turn: int = 2000) -> dict[str, Curve]:
    eval_steps = list(range(250, 5000, 250))
    evals = [1.1 + 2 * math.exp(-s / 400) + max(0, s - turn) * 1e-4 for s in eval_steps]
    evals = noisy(random.Random(8), evals, 0.002)
    return {"train/loss": loss_curve(seed=8), "eval/loss": Curve(eval_steps, evals)}


def test_overfitting_eval_turns_up_at_a_known_step_while_train_falls():
    result = roundtrips(analyze(overfitting_metrics()))
    finding = by_kind(result)["overfitting"]
    assert finding["severity"] == "warning"
    assert (finding["key"], finding["train_key"]) == ("eval/loss", "train/loss")
    assert finding["eval_min_step"] == 2000
    eval_min = 1.1 + 2 * math.exp(-2000 / 400)
    assert finding["eval_min"] == pytest.approx(eval_min, rel=0.01)
    recent = 1.1 + 2 * math.exp(-4500 / 400) + 2500e-4  # median of the last three evaluations
    assert finding["eval_rise"] == pytest.approx((recent - eval_min) / eval_min, abs=0.02)
    assert finding["eval_last_step"] == 4750
    assert finding["train_at_eval_min"] == pytest.approx(decay(2000), rel=0.03)
    assert finding["train_last"] == pytest.approx(decay(4995), rel=0.03)
    assert finding["gap_end_step"] == 4750
    assert finding["gap_end"] == pytest.approx(1.1 + 2750e-4 - decay(4750), abs=0.05)
    assert finding["gap_start"] < finding["gap_end"]
    assert result["verdict"].startswith("overfitting: eval loss up")
    assert result["eval_loss_key"] == "eval/loss"


def test_eval_falling_with_train_is_not_overfitting():
    eval_steps = list(range(250, 5000, 250))
    evals = noisy(random.Random(8), [decay(s) + 0.1 for s in eval_steps], 0.002)
    result = analyze({"train/loss": loss_curve(seed=8), "eval/loss": Curve(eval_steps, evals)})
    assert "overfitting" not in by_kind(result)
    # nor when the eval loss falls faster than the train loss and levels off
    assert "overfitting" not in by_kind(analyze(overfitting_metrics(turn=10**9)))


def test_a_widening_gap_alone_is_information():
    eval_steps = list(range(250, 5000, 250))
    # eval falls, but far less than train: the gap grows from ~0.1 to ~1.0
    evals = [2.1 + 0.9 * math.exp(-s / 400) for s in eval_steps]
    result = analyze({"train/loss": loss_curve(seed=9), "eval/loss": Curve(eval_steps, evals)})
    finding = by_kind(result)["overfitting"]
    assert finding["severity"] == "info"
    assert finding["gap_end"] - finding["gap_start"] > 0.5
    assert result["status"] == "healthy"


@pytest.mark.parametrize(
    ("end", "phase", "fraction", "warmup_end"),
    [
        (50, "warmup", 1.0, None),
        (100, "warmup", 1.0, None),
        (2550, "decay", 0.5, 100),
        (4020, "decay", 0.5 * (1 + math.cos(math.pi * 3920 / 4900)), 100),
        (4900, "finished-decay", cosine_lr(4900) / 3e-4, 100),
    ],
)
def test_warmup_and_cosine_phases(end, phase, fraction, warmup_end):
    steps = list(range(10, end + 1, 10))
    metrics = {"train/learning_rate": Curve(steps, [cosine_lr(s) for s in steps]), "train/loss": loss_curve()}
    result = roundtrips(analyze(metrics))
    finding = by_kind(result)["lr_schedule"]
    assert (finding["severity"], finding["phase"], finding["step"]) == ("info", phase, end)
    assert finding["current_lr"] == pytest.approx(cosine_lr(end), rel=1e-5)
    assert finding["peak_lr"] == pytest.approx(cosine_lr(min(end, 100)), rel=1e-5)
    assert finding["fraction_of_peak"] == pytest.approx(fraction, rel=1e-5)
    assert finding["warmup_end_step"] == warmup_end
    assert finding["initial_lr"] == pytest.approx(cosine_lr(10))
    assert result["learning_rate_key"] == "train/learning_rate"


def test_constant_learning_rate():
    finding = by_kind(analyze({"learning_rate": Curve(STEPS, [5e-5] * len(STEPS)), "train/loss": loss_curve()}))[
        "lr_schedule"
    ]
    assert (finding["phase"], finding["current_lr"], finding["fraction_of_peak"]) == ("constant", 5e-5, 1.0)
    assert finding["warmup_end_step"] is None
    assert finding["key"] == "learning_rate"


def test_constant_after_warmup_and_linear_decay():
    lr = [5e-5 * min(1, s / 200) for s in STEPS]
    finding = by_kind(analyze({"lr": Curve(STEPS, lr)}))["lr_schedule"]
    assert (finding["phase"], finding["warmup_end_step"], finding["peak_step"]) == ("constant", 200, 200)
    linear = [1e-4 * (1 - s / 5000) for s in range(0, 2501, 10)]
    finding = by_kind(analyze({"lr": Curve(list(range(0, 2501, 10)), linear)}))["lr_schedule"]
    assert (finding["phase"], finding["fraction_of_peak"], finding["peak_step"]) == ("decay", 0.5, 0)


def test_throughput_drop_in_the_last_fifth():
    rng = random.Random(10)
    tokens = [10000 * (1 + 0.02 * rng.gauss(0, 1)) * (0.5 if s >= 4000 else 1) for s in STEPS]
    result = roundtrips(analyze({"train/loss": loss_curve(), "train/tokens_per_second": Curve(STEPS, tokens)}))
    finding = by_kind(result)["throughput_drop"]
    assert finding["severity"] == "warning"
    assert finding["key"] == "train/tokens_per_second"
    assert finding["since_step"] == 4000
    assert finding["recent_from_step"] == 4500
    assert finding["recent_median"] == pytest.approx(5000, rel=0.01)
    assert finding["run_median"] == pytest.approx(10000, rel=0.01)
    assert finding["ratio"] == pytest.approx(0.5, rel=0.02)
    assert result["verdict"] == "throughput dropped to 50% of its median since step 4000"


def test_steady_throughput_and_samples_fallback():
    rng = random.Random(11)
    samples = [8 * (1 + 0.03 * rng.gauss(0, 1)) for _ in STEPS]
    samples[:5] = [2.0] * 5  # a slow start (compilation, warm caches) is not a drop
    result = analyze({"train/loss": loss_curve(), "train/samples_per_second": Curve(STEPS, samples)})
    assert result["throughput_key"] == "train/samples_per_second"
    assert "throughput_drop" not in by_kind(result)
    samples[-150:] = [5.0] * 150
    finding = by_kind(analyze({"train/samples_per_second": Curve(STEPS, samples)}))["throughput_drop"]
    assert (finding["since_step"], finding["ratio"]) == (STEPS[-150], pytest.approx(5 / 8, rel=0.02))


# --- odd input ---------------------------------------------------------------------------------------


def test_empty_metrics():
    result = roundtrips(analyze({}))
    assert result["loss_key"] is None and result["available_keys"] == []
    assert (result["points"], result["steps"], result["trend"]) == (0, None, None)
    assert result["status"] == "unknown"
    assert result["verdict"] == "the run has no metrics"
    assert [f["kind"] for f in result["findings"]] == ["insufficient_data"]


def test_missing_loss_lists_the_keys_and_still_reads_the_rest():
    metrics = {"system/gpu_util": Curve([1, 2], [50.0, 60.0]), "train/learning_rate": Curve([1, 2], [1e-4, 1e-4])}
    result = roundtrips(analyze(metrics))
    assert result["loss_key"] is None
    assert result["available_keys"] == ["system/gpu_util", "train/learning_rate"]
    assert result["verdict"] == "no loss metric among the 2 logged keys"
    assert set(by_kind(result)) == {"insufficient_data", "lr_schedule"}
    result = analyze(metrics, loss_key="train/policy_loss")
    assert result["loss_key"] is None
    assert result["verdict"] == "no metric 'train/policy_loss' among the 2 logged keys"


def test_short_curve_says_there_is_too_little_data():
    result = roundtrips(analyze({"train/loss": Curve([10, 20, 30, 40, 50, 60, 70], [3, 2.5, 2.2, 2.0, 1.9, 1.8, 1.7])}))
    assert result["status"] == "unknown"
    assert result["verdict"] == "too little data: 7 finite train/loss points"
    (finding,) = result["findings"]
    assert finding["kind"] == "insufficient_data" and finding["severity"] == "info"
    trend = result["trend"]
    assert (trend["initial"], trend["min"], trend["min_step"]) == (3, 1.7, 70)
    assert (trend["last"], trend["last_step"]) == (1.7, 70)
    assert trend["windows"] is None and trend["slope_per_1k_steps"] is None


def test_short_curve_with_nan_is_still_critical():
    result = analyze({"train/loss": Curve([1, 2, 3], [2.0, math.nan, 1.0])})
    assert result["status"] == "critical"
    assert [f["kind"] for f in result["findings"]] == ["nan_or_inf", "insufficient_data"]


def test_constant_curve():
    result = roundtrips(analyze({"train/loss": Curve(list(range(200)), [2.0] * 200)}))
    assert result["trend"]["slope_per_1k_steps"] == 0
    assert result["trend"]["noise"] == 0
    assert all(w["relative_change"] == 0 for w in result["trend"]["windows"])
    assert list(by_kind(result)) == ["plateau"]
    assert by_kind(result)["plateau"]["severity"] == "warning"
    assert result["verdict"] == "not learning: loss constant at 2"
    # a loss constant at zero has converged
    assert analyze({"train/loss": Curve(list(range(200)), [0.0] * 200)})["findings"] == []


def test_resumed_run_keeps_the_last_value_per_step():
    rng = random.Random(12)
    first = [(s, decay(s) * (1 + 0.02 * rng.gauss(0, 1))) for s in range(0, 601)]
    first[450] = (450, 50.0)  # a spike that the resumed run overwrote
    first[550:] = [(s, math.nan) for s in range(550, 601)]  # the crash that made it resume
    second = [(s, decay(s) * (1 + 0.02 * rng.gauss(0, 1))) for s in range(400, 1001)]
    steps, values = zip(*(first + second))
    result = roundtrips(analyze({"train/loss": Curve(list(steps), list(values))}))
    assert (result["points"], result["finite_points"], result["steps"]) == (1001, 1001, [0, 1000])
    assert result["findings"] == []
    assert result["trend"]["last"] == pytest.approx(second[-1][1], rel=1e-5)  # 6 significant digits
    assert result["trend"]["min"] <= min(v for _, v in second)


def test_unsorted_steps_give_the_same_result():
    curve = loss_curve(seed=13)
    pairs = list(zip(curve.steps, curve.values))
    random.Random(13).shuffle(pairs)
    steps, values = zip(*pairs)
    assert analyze({"train/loss": Curve(steps, values)}) == analyze({"train/loss": curve})


def test_key_choice():
    curve = loss_curve()
    assert analyze({"loss": curve, "eval/loss": curve})["loss_key"] == "loss"
    result = analyze({"train/policy_loss": curve, "eval/eval_loss": curve, "eval/accuracy": curve})
    assert (result["loss_key"], result["eval_loss_key"]) == ("train/policy_loss", "eval/eval_loss")
    result = analyze({"train/loss": curve, "train/sft_loss": curve}, loss_key="train/sft_loss")
    assert result["loss_key"] == "train/sft_loss"
    result = analyze({"eval/loss": curve}, loss_key="eval/loss")
    assert (result["loss_key"], result["eval_loss_key"]) == ("eval/loss", None)
    assert analyze({"eval/loss": curve})["loss_key"] is None
    assert analyze({"train/loss": curve, "train/lr": curve})["learning_rate_key"] == "train/lr"


def test_array_likes_and_none_values():
    import numpy

    curve = loss_curve()
    result = analyze({"train/loss": Curve(numpy.array(curve.steps), numpy.array(curve.values))})
    assert roundtrips(result) == analyze({"train/loss": curve})
    values = list(curve.values)
    values[10] = None
    finding = by_kind(analyze({"train/loss": Curve(curve.steps, values)}))["nan_or_inf"]
    assert (finding["first_step"], finding["nan_count"]) == (50, 1)
    result = analyze({"train/loss": Curve([float(s) for s in curve.steps], curve.values)})
    assert result["steps"] == [0, 4995] and isinstance(result["trend"]["min_step"], int)


def test_curve_lengths_must_match():
    with pytest.raises(ValueError, match="one value per step"):
        Curve([1, 2, 3], [1.0, 2.0])


def test_the_verdict_comes_first():
    assert list(analyze({"train/loss": loss_curve()}))[:2] == ["status", "verdict"]


def test_every_result_is_strict_json():
    curve = loss_curve()
    cases = [
        {},
        {"train/loss": Curve([], [])},
        {"train/loss": Curve([0], [math.inf])},
        {"train/loss": Curve(STEPS, [math.nan if i % 3 else -math.inf for i in range(len(STEPS))])},
        {"train/loss": Curve([0, 1, 2, 3] * 5, [0.0] * 20)},
        {"train/loss": curve, "train/learning_rate": Curve(STEPS, [0.0] * len(STEPS))},
        {"train/loss": curve, "eval/loss": Curve([0, 10, 20], [0.0, 0.0, 0.0])},
        {"train/loss": Curve(STEPS, [1e308 * (1 + i % 2) for i in range(len(STEPS))])},
        overfitting_metrics(),
    ]
    for metrics in cases:
        result = roundtrips(analyze(metrics))
        assert result["verdict"] and result["status"] in ("healthy", "warning", "critical", "unknown")
        for finding in result["findings"]:
            assert finding["severity"] in ("info", "warning", "critical")
            assert isinstance(finding["message"], str) and finding["message"]


def test_numbers_that_overflow_follow_the_packages_json_policy():
    # Values near the float limit: their differences overflow, so the fitted slopes are NaN. The result holds
    # them as the package's JSON strings ("NaN", "Infinity", "-Infinity"), as every JSON it writes does.
    result = roundtrips(analyze({"train/loss": Curve(STEPS, [1e308 * (1 + i % 2) for i in range(len(STEPS))])}))
    trend = result["trend"]
    assert trend["slope_per_1k_steps"] == "NaN"
    assert [(w["fit_start"], w["fit_end"], w["relative_change"]) for w in trend["windows"]] == [("NaN",) * 3] * 3
    assert trend["initial"] == 1e308 and trend["min"] == 1e308  # finite numbers stay numbers


def test_result_numbers_are_rounded_and_strict_json():
    value = {"a": math.inf, "b": -math.inf, "c": math.nan, "d": 1.23456789, "e": (7, 2.5e-9), "f": None, "g": True}
    assert analysis._jsonable(value) == {
        "a": "Infinity",
        "b": "-Infinity",
        "c": "NaN",
        "d": 1.23457,
        "e": [7, 2.5e-9],
        "f": None,
        "g": True,
    }
    assert analysis._jsonable([0.1234567891, [1 / 3]]) == [0.123457, [0.333333]]


def test_interquartile_range_is_the_inclusive_quartiles_spread():
    # statistics.quantiles(method="inclusive"): positions q * (n - 1), linear between sorted points
    assert analysis._interquartile_range([1.0, 2.0, 4.0, 8.0, 16.0]) == 8.0 - 2.0
    assert analysis._interquartile_range([0.0, 1.0]) == 0.75 - 0.25
    assert analysis._interquartile_range([5.0]) == 0.0  # one point: no spread (and no error before Python 3.13)


def test_findings_are_sorted_most_severe_first():
    values = [v if s < 4000 else math.nan for s, v in zip(STEPS, divergent(0.001)[0].values)]
    values[STEPS.index(1000)] = 20.0
    lr = [cosine_lr(s) for s in STEPS]
    result = analyze({"train/loss": Curve(STEPS, values), "train/learning_rate": Curve(STEPS, lr)})
    severities = [f["severity"] for f in result["findings"]]
    assert severities == sorted(severities, key=["critical", "warning", "info"].index)
    assert [f["kind"] for f in result["findings"]][:3] == ["nan_or_inf", "divergence", "spike"]
    assert result["verdict"].startswith("loss became NaN at step 4000; diverging: loss rose")
    assert result["verdict"].endswith("; 1 more problem")


def test_docstring_example():
    failures, tried = doctest.testmod(analysis, raise_on_error=False, verbose=False)
    assert tried > 0 and failures == 0
