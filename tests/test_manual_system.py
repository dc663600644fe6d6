"""System metrics by hand (trackio's ``log_gpu``, ``log_cpu``, ``log_system``, ``*_available``): one reading
with the automatic sampler's keys, written to a real run and read back from its store. NVML is faked at
its boundary (the ``pynvml`` module) with the fake of ``tests/test_system.py``; psutil is real."""

from __future__ import annotations

import platform
import sys
import warnings

import pytest

import trackio_callback as tc
from tests.test_system import EXPECTED, FakeNVML, NVMLError_DriverNotLoaded, expected_for, gpu_keys
from trackio_callback.core.shortcuts import log_system
from trackio_callback.errors import TrackioWarning
from trackio_callback.integrations.manual_system import log_cpu, log_gpu
from trackio_callback.store.reader import Reader
from trackio_callback.telemetry.manual import apple_gpu_available, cpu_available, gpu_available, read_once
from trackio_callback.telemetry.system import SystemSampler

HOST_KEYS = {"system/cpu_percent", "system/memory_used_gb", "system/memory_percent", "system/process_rss_gb"}


@pytest.fixture(autouse=True)
def one_machine(monkeypatch):
    monkeypatch.setenv("TRACKIO_SYSTEM_METRICS", "off")  # no automatic sampler: every sample here is by hand
    for variable in ("CUDA_VISIBLE_DEVICES", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "SLURM_NNODES", "SLURM_JOB_NUM_NODES"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def fake_nvml(monkeypatch) -> FakeNVML:
    fake = FakeNVML()
    monkeypatch.setitem(sys.modules, "pynvml", fake)  # `import pynvml` gets the fake
    return fake


@pytest.fixture
def no_nvml(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNVML(init_error=NVMLError_DriverNotLoaded("Driver Not Loaded")))


def stored(store_dir, run) -> dict[str, float]:
    """The run's system samples as ``{key: value}`` (each key sampled once here), after a flush."""
    assert run.flush(10)
    with Reader(store_dir) as reader:
        samples = reader.system_samples(run.project, run.name)
    assert len({s["key"] for s in samples}) == len(samples)
    assert all(s["node"] is None and s["step"] is None for s in samples)
    return {s["key"]: s["value"] for s in samples}


def test_log_cpu_logs_the_samplers_host_keys_and_returns_what_it_stored(store_dir, no_nvml):
    run = tc.init(project="p", name="r")
    sampler = SystemSampler(lambda metrics, node: None, gpus=False)
    sampler_keys = set(sampler.sample())
    sampler.stop()
    metrics = log_cpu()
    assert set(metrics) == sampler_keys == HOST_KEYS
    assert 0.0 <= metrics["system/cpu_percent"] <= 100.0 and 0.0 < metrics["system/memory_percent"] <= 100.0
    assert stored(store_dir, run) == metrics
    run.finish()


def test_log_gpu_logs_every_visible_gpu_with_the_samplers_keys(store_dir, fake_nvml):
    run = tc.init(project="p", name="r")
    metrics = log_gpu()
    assert metrics == expected_for({0: 0, 1: 1, 2: 2, 3: 3})  # the sampler's keys, exactly its values
    sampler = SystemSampler(lambda metrics, node: None, nvml=FakeNVML())
    assert gpu_keys(sampler.sample()) == metrics
    sampler.stop()
    assert stored(store_dir, run) == metrics
    assert fake_nvml.init_calls == fake_nvml.shutdown_calls == 1  # one NVML session, released
    run.finish()


def test_log_gpu_of_one_device_follows_cuda_visible_devices(store_dir, fake_nvml, monkeypatch):
    run = tc.init(project="p", name="r")
    assert log_gpu(run, device=0) == expected_for({0: 0})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")  # cuda:0 is the third GPU, cuda:1 the first
    assert log_gpu(run, device=0) == {f"system/gpu0/{name}": value for name, value in EXPECTED[2].items()}
    assert log_gpu(run, device=1) == expected_for({1: 0})
    assert run.flush(10)
    with Reader(store_dir) as reader:
        utilization = reader.system_series("p", "r", "system/gpu0/utilization")
        assert [point["value"] for point in utilization] == [97.0, 55.0]  # device 0, then cuda:0 = physical 2
        assert [point["value"] for point in reader.system_series("p", "r", "system/gpu1/power_w")] == [312.5]
    with pytest.warns(TrackioWarning, match=r"log_gpu\(device=2\): this process sees the GPUs \[0, 1\]"):
        assert log_gpu(run, device=2) == {}
    with pytest.raises(TypeError, match="device must be a CUDA device index"):
        log_gpu(run, device="cuda:0")
    run.finish()


def test_without_a_gpu_log_gpu_warns_and_logs_nothing(store_dir, no_nvml):
    assert not apple_gpu_available()  # this suite runs on Linux
    run = tc.init(project="p", name="r")
    with pytest.warns(TrackioWarning, match="no GPU detected") as caught:
        assert log_gpu() == {}
    assert len(caught) == 1
    assert stored(store_dir, run) == {}
    run.finish()


def test_without_a_run_they_raise(no_nvml):
    for call in (log_gpu, log_cpu, lambda: log_system({"system/x": 1.0})):
        with pytest.raises(RuntimeError, match="init"):
            call()
    with pytest.raises(TypeError, match="run must be a Run"):
        log_cpu(run="r")


def test_an_explicit_run_is_written_not_the_current_one(store_dir, fake_nvml):
    first = tc.Run("p", name="first")
    current = tc.init(project="p", name="current")
    assert set(log_cpu(first)) == HOST_KEYS
    log_gpu(first, device=3)
    assert set(stored(store_dir, first)) == HOST_KEYS | set(expected_for({3: 3}))
    assert stored(store_dir, current) == {}
    first.finish()
    current.finish()


def test_log_system_by_hand_reads_back(store_dir):
    run = tc.init(project="p", name="r")
    log_system({"system/gpu0/utilization": 42.0, "system/fan": 3})
    assert stored(store_dir, run) == {"system/gpu0/utilization": 42.0, "system/fan": 3.0}
    run.finish()


def test_availability(fake_nvml, monkeypatch):
    assert gpu_available() and fake_nvml.initialized == 0
    assert cpu_available()
    assert apple_gpu_available() is (sys.platform == "darwin" and platform.machine() == "arm64")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "-1")  # hides every GPU
    assert not gpu_available()
    monkeypatch.setitem(sys.modules, "pynvml", None)  # nvidia-ml-py not installed
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert not gpu_available()
    monkeypatch.setitem(sys.modules, "psutil", None)
    assert not cpu_available() and read_once(gpus=False) == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run = tc.init(project="p", name="r")
    with pytest.warns(TrackioWarning, match="log_cpu\\(\\) needs psutil"):
        assert log_cpu(run) == {}
    run.finish()


def test_real_nvml_here_agrees_with_the_sampler(store_dir):
    """No fake: on a machine with NVIDIA GPUs log_gpu reads them, elsewhere it says there is none."""
    sampler = SystemSampler(lambda metrics, node: None)
    expected_keys = set(gpu_keys(sampler.sample()))
    sampler.stop()
    run = tc.init(project="p", name="r")
    assert gpu_available() is bool(expected_keys)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metrics = log_gpu()
    assert set(metrics) == expected_keys
    assert bool(caught) is not bool(expected_keys)
    assert stored(store_dir, run) == metrics
    run.finish()
