"""System metrics: `SystemSampler` against a fake NVML with known values, psutil for real, and a real run."""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field

import pytest

import trackio_callback as tc
from tests.helpers import run_python
from trackio_callback.settings import system_metrics_interval as interval_from_env
from trackio_callback.telemetry import system
from trackio_callback.telemetry.nodes import default_node_name, should_sample_on_this_process
from trackio_callback.telemetry.system import BYTES_PER_GB, SystemSampler, visible_devices

GiB = 2**30
PID = os.getpid()


# -- a fake pynvml ------------------------------------------------------------------------------------


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's name
    pass


class NVMLError_DriverNotLoaded(NVMLError):  # noqa: N801
    pass


class NVMLError_Uninitialized(NVMLError):  # noqa: N801
    pass


class NVMLError_NotFound(NVMLError):  # noqa: N801
    pass


@dataclass
class FakeGPU:
    uuid: str
    name: str
    utilization: int
    used: int  # bytes
    total: int  # bytes
    power_mw: int
    temperature: int
    sm_clock: int
    processes: list[tuple[int, int | None]] = field(default_factory=list)  # (pid, usedGpuMemory bytes)
    unsupported: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Handle:
    key: str


@dataclass
class Utilization:
    gpu: int
    memory: int


@dataclass
class Memory:
    total: int
    free: int
    used: int


@dataclass
class Process:
    pid: int
    usedGpuMemory: int | None  # noqa: N815 - pynvml's name


def physical_gpus() -> list[FakeGPU]:
    return [
        FakeGPU(
            "GPU-aaaa1111-0000-0000-0000-000000000000",
            "Fake H100",
            utilization=97,
            used=int(12.5 * GiB),
            total=80 * GiB,
            power_mw=312_500,
            temperature=61,
            sm_clock=1980,
            processes=[(PID, 3 * GiB), (PID + 100_000, GiB), (PID, GiB // 2)],
        ),
        FakeGPU(
            "GPU-aaaa2222-0000-0000-0000-000000000000",
            "Fake A100 (no power reading)",
            utilization=10,
            used=GiB,
            total=40 * GiB,
            power_mw=99_000,
            temperature=45,
            sm_clock=1410,
            processes=[(PID + 100_000, 7 * GiB)],
            unsupported={"power"},
        ),
        FakeGPU(
            "GPU-bbbb3333-0000-0000-0000-000000000000",
            "Fake L40S",
            utilization=55,
            used=30 * GiB,
            total=48 * GiB,
            power_mw=250_000,
            temperature=70,
            sm_clock=1755,
            processes=[(PID, 2 * GiB), (PID, None)],  # None: NVML could not say
        ),
        FakeGPU(
            "GPU-cccc4444-0000-0000-0000-000000000000",
            "Fake L4",
            utilization=0,
            used=3 * GiB // 4,
            total=24 * GiB,
            power_mw=21_250,
            temperature=30,
            sm_clock=210,
        ),
    ]


# What each physical GPU must read as, by key suffix: the values above, in the documented units.
EXPECTED = [
    {
        "utilization": 97.0,
        "memory_used_gb": 12.5,
        "memory_total_gb": 80.0,
        "memory_percent": 15.625,
        "power_w": 312.5,
        "temperature_c": 61.0,
        "sm_clock_mhz": 1980.0,
        "process_memory_gb": 3.5,
    },
    {
        "utilization": 10.0,
        "memory_used_gb": 1.0,
        "memory_total_gb": 40.0,
        "memory_percent": 2.5,
        "temperature_c": 45.0,
        "sm_clock_mhz": 1410.0,
    },
    {
        "utilization": 55.0,
        "memory_used_gb": 30.0,
        "memory_total_gb": 48.0,
        "memory_percent": 62.5,
        "power_w": 250.0,
        "temperature_c": 70.0,
        "sm_clock_mhz": 1755.0,
        "process_memory_gb": 2.0,
    },
    {
        "utilization": 0.0,
        "memory_used_gb": 0.75,
        "memory_total_gb": 24.0,
        "memory_percent": 3.125,
        "power_w": 21.25,
        "temperature_c": 30.0,
        "sm_clock_mhz": 210.0,
    },
]


class FakeNVML:
    """The part of pynvml the sampler uses; queries need nvmlInit first, as the real one's do."""

    NVML_TEMPERATURE_GPU = 0
    NVML_CLOCK_SM = 1
    NVMLError = NVMLError
    NVMLError_NotSupported = NVMLError_NotSupported

    def __init__(self, gpus: list[FakeGPU] | None = None, init_error: Exception | None = None, mig=None):
        self.gpus = physical_gpus() if gpus is None else gpus
        self.mig: dict[str, FakeGPU] = mig or {}
        self.init_error = init_error
        self.init_calls = 0
        self.shutdown_calls = 0
        self.initialized = 0

    def nvmlInit(self):
        self.init_calls += 1
        if self.init_error is not None:
            raise self.init_error
        self.initialized += 1

    def nvmlShutdown(self):
        self._check()
        self.shutdown_calls += 1
        self.initialized -= 1

    def _check(self):
        if self.initialized <= 0:
            raise NVMLError_Uninitialized("Uninitialized")

    def _gpu(self, handle: Handle, query: str) -> FakeGPU:
        self._check()
        gpu = self.mig[handle.key] if handle.key.startswith("MIG-") else self.gpus[int(handle.key)]
        if query in gpu.unsupported:
            raise NVMLError_NotSupported("Not Supported")
        return gpu

    def nvmlDeviceGetCount(self):
        self._check()
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index):
        self._check()
        if not 0 <= index < len(self.gpus):
            raise NVMLError("Invalid Argument")
        return Handle(str(index))

    def nvmlDeviceGetHandleByUUID(self, uuid):
        self._check()
        if uuid in self.mig:
            return Handle(uuid)
        for index, gpu in enumerate(self.gpus):
            if gpu.uuid == uuid:
                return Handle(str(index))
        raise NVMLError_NotFound("Not Found")

    def nvmlDeviceGetUUID(self, handle):
        return self._gpu(handle, "uuid").uuid

    def nvmlDeviceGetName(self, handle):
        return self._gpu(handle, "name").name.encode()  # older pynvml returns bytes

    def nvmlDeviceGetUtilizationRates(self, handle):
        return Utilization(gpu=self._gpu(handle, "utilization").utilization, memory=0)

    def nvmlDeviceGetMemoryInfo(self, handle):
        gpu = self._gpu(handle, "memory")
        return Memory(total=gpu.total, free=gpu.total - gpu.used, used=gpu.used)

    def nvmlDeviceGetPowerUsage(self, handle):
        return self._gpu(handle, "power").power_mw

    def nvmlDeviceGetTemperature(self, handle, sensor):
        assert sensor == self.NVML_TEMPERATURE_GPU
        return self._gpu(handle, "temperature").temperature

    def nvmlDeviceGetClockInfo(self, handle, clock):
        assert clock == self.NVML_CLOCK_SM
        return self._gpu(handle, "clock").sm_clock

    def nvmlDeviceGetComputeRunningProcesses(self, handle):
        return [Process(pid, used) for pid, used in self._gpu(handle, "processes").processes]


def gpu_keys(metrics: dict[str, float]) -> dict[str, float]:
    return {key: value for key, value in metrics.items() if key.startswith("system/gpu")}


def expected_for(mapping: dict[int, int]) -> dict[str, float]:
    """The GPU keys for ``{cuda index: physical index}``."""
    return {
        f"system/gpu{logical}/{name}": value
        for logical, physical in mapping.items()
        for name, value in EXPECTED[physical].items()
    }


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for variable in (
        "CUDA_VISIBLE_DEVICES",
        "TRACKIO_SYSTEM_METRICS",
        "LOCAL_RANK",
        "SLURM_LOCALID",
        "WORLD_SIZE",
        "LOCAL_WORLD_SIZE",
        "GROUP_RANK",
        "NODE_RANK",
        "SLURM_NODEID",
        "SLURM_NNODES",
        "SLURM_JOB_NUM_NODES",
    ):
        monkeypatch.delenv(variable, raising=False)


def no_record(metrics, node):
    raise AssertionError("record must not be called by sample()")


def sample_with(fake: FakeNVML, **kwargs) -> dict[str, float]:
    sampler = SystemSampler(no_record, nvml=fake, **kwargs)
    try:
        return sampler.sample()
    finally:
        sampler.stop()


# -- reading GPUs -----------------------------------------------------------------------------------


def test_all_gpus_read_exactly_in_documented_units():
    fake = FakeNVML()
    metrics = sample_with(fake)
    assert BYTES_PER_GB == 2**30
    assert gpu_keys(metrics) == expected_for({0: 0, 1: 1, 2: 2, 3: 3})
    # spelled out for one GPU: bytes / 2**30, milliwatts / 1000, this process's entries summed
    assert metrics["system/gpu0/memory_used_gb"] == 12.5
    assert metrics["system/gpu0/power_w"] == 312.5
    assert metrics["system/gpu0/process_memory_gb"] == (3 * GiB + GiB // 2) / 2**30 == 3.5
    assert metrics["system/gpu3/power_w"] == 21.25
    assert all(type(value) is float for value in metrics.values())
    assert fake.init_calls == 1 and fake.shutdown_calls == 1 and fake.initialized == 0


def test_an_unsupported_query_leaves_out_that_key_only(caplog):
    caplog.set_level(logging.DEBUG, logger="trackio_callback.telemetry.system")
    metrics = sample_with(FakeNVML())
    assert "system/gpu1/power_w" not in metrics
    assert metrics["system/gpu1/utilization"] == 10.0
    assert metrics["system/gpu1/temperature_c"] == 45.0
    assert "system/gpu1/process_memory_gb" not in metrics  # only another process uses GPU 1
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("cuda:1" in r.getMessage() and "power" in r.getMessage() for r in caplog.records)


def test_a_gpu_that_answers_nothing_leaves_the_others_whole(caplog):
    gpus = physical_gpus()
    gpus[0].unsupported = {"utilization", "memory", "power", "temperature", "clock", "processes"}
    fake = FakeNVML(gpus)
    sampler = SystemSampler(no_record, nvml=fake)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        first, second = sampler.sample(), sampler.sample()
    sampler.stop()
    assert gpu_keys(first) == gpu_keys(second)
    assert gpu_keys(first) == expected_for({1: 1, 2: 2, 3: 3})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_queries_raising_other_exceptions_are_contained():
    class Broken(FakeNVML):
        def nvmlDeviceGetTemperature(self, handle, sensor):
            raise ValueError("not an NVMLError")

        def nvmlDeviceGetComputeRunningProcesses(self, handle):
            raise AttributeError("old pynvml")

    metrics = sample_with(Broken())
    assert not any(key.endswith(("temperature_c", "process_memory_gb")) for key in metrics)
    assert metrics["system/gpu2/utilization"] == 55.0


def test_gpus_false_reads_no_gpu():
    fake = FakeNVML()
    metrics = sample_with(fake, gpus=False)
    assert gpu_keys(metrics) == {}
    assert fake.init_calls == 0


# -- CUDA_VISIBLE_DEVICES -------------------------------------------------------------------------

UUIDS = [gpu.uuid for gpu in physical_gpus()]


@pytest.mark.parametrize(
    ("value", "devices"),
    [
        (None, [0, 1, 2, 3]),
        ("2,0", [2, 0]),
        ("3", [3]),
        (" 1, 2 ", [1, 2]),
        ("", []),
        ("-1", []),
        ("0,-1,2", [0]),
        ("1,foo,2", [1]),
        ("foo,1", []),
        ("1,,2", [1]),
        ("1,7,2", [1]),  # past the device count: stops there
        ("4", []),
        ("1gpu,3", [1, 3]),  # read as strtoul reads it, as CUDA does
        ("1,1", []),  # a device named twice: none
        ("GPU-bbbb3333-0000-0000-0000-000000000000", [2]),
        ("GPU-bbbb", [2]),  # a unique prefix
        ("GPU-c,GPU-aaaa2", [3, 1]),
        ("GPU-aaaa", []),  # ambiguous prefix: stops
        ("2,GPU-zzzz,0", [2]),  # unknown UUID: stops
        ("GPU-bbbb,2", []),  # the same device twice
        ("GPU-cccc,0", [3, 0]),
        ("MIG-4f1c9a2e-1111-2222-3333-444455556666", ["MIG-4f1c9a2e-1111-2222-3333-444455556666"]),
    ],
)
def test_visible_devices_mapping(value, devices):
    assert visible_devices(value, UUIDS) == devices


def test_visible_devices_without_gpus():
    assert visible_devices(None, []) == []
    assert visible_devices("0", []) == []


@pytest.mark.parametrize(
    ("value", "mapping"),
    [
        (None, {0: 0, 1: 1, 2: 2, 3: 3}),
        ("2,0", {0: 2, 1: 0}),
        ("GPU-bbbb", {0: 2}),
        ("GPU-cccc4444-0000-0000-0000-000000000000,1", {0: 3, 1: 1}),
        ("1,foo,2", {0: 1}),
        ("", {}),
        ("-1", {}),
    ],
)
def test_sampler_names_gpus_as_the_training_process_sees_them(monkeypatch, value, mapping):
    if value is not None:
        monkeypatch.setenv("CUDA_VISIBLE_DEVICES", value)
    assert gpu_keys(sample_with(FakeNVML())) == expected_for(mapping)


def test_cuda_visible_devices_is_read_when_the_sampler_is_created(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")
    sampler = SystemSampler(no_record, nvml=FakeNVML())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    assert gpu_keys(sampler.sample()) == expected_for({0: 3})
    sampler.stop()


def test_mig_devices_open_by_uuid_and_unknown_ones_are_skipped(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG, logger="trackio_callback.telemetry.system")
    mig = physical_gpus()[3]
    mig.unsupported = {"utilization", "power"}  # as on MIG devices
    fake = FakeNVML(mig={"MIG-good": mig})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-good")
    metrics = gpu_keys(sample_with(fake))
    assert metrics == {k: v for k, v in expected_for({0: 3}).items() if not k.endswith(("utilization", "power_w"))}

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "MIG-unknown")
    assert gpu_keys(sample_with(FakeNVML())) == {}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("MIG-unknown" in r.getMessage() for r in caplog.records)


# -- without NVML, without psutil ----------------------------------------------------------------


def assert_host_metrics(metrics: dict[str, float]) -> None:
    import psutil

    assert 0.0 <= metrics["system/cpu_percent"] <= 100.0
    total_gb = psutil.virtual_memory().total / 2**30
    assert 0.0 < metrics["system/memory_used_gb"] <= total_gb
    assert 0.0 < metrics["system/memory_percent"] <= 100.0
    rss_gb = psutil.Process().memory_info().rss / 2**30
    assert 0.0 < metrics["system/process_rss_gb"] <= total_gb
    assert metrics["system/process_rss_gb"] == pytest.approx(rss_gb, rel=0.5)


@pytest.mark.parametrize("how", ["init raises", "no module"])
def test_without_nvml_it_is_silent_and_still_samples_the_host(monkeypatch, caplog, how):
    caplog.set_level(logging.DEBUG, logger="trackio_callback.telemetry.system")
    if how == "init raises":
        fake = FakeNVML(init_error=NVMLError_DriverNotLoaded("Driver Not Loaded"))
    else:
        fake = None
        monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = SystemSampler(no_record, nvml=fake)
        readings = [sampler.sample() for _ in range(3)]
        assert sampler.stop()
    for metrics in readings:
        assert gpu_keys(metrics) == {}
        assert_host_metrics(metrics)
    assert caught == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    nvml_lines = [r for r in caplog.records if "NVML" in r.getMessage()]
    assert len(nvml_lines) == 1 and nvml_lines[0].levelno == logging.DEBUG
    if fake is not None:
        assert fake.init_calls == 1 and fake.shutdown_calls == 0


def test_real_pynvml_is_read_or_silent(caplog):
    import pynvml  # a core dependency

    try:
        pynvml.nvmlInit()
        gpus = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        gpus = 0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sampler = SystemSampler(no_record)
        metrics = sampler.sample()
        sampler.stop()
    if gpus and os.environ.get("CUDA_VISIBLE_DEVICES", "x").strip() not in ("", "-1"):
        assert "system/gpu0/utilization" in gpu_keys(metrics)  # a machine with NVIDIA GPUs: read for real
    else:
        assert gpu_keys(metrics) == {}  # no NVML here: no GPU keys, and not a word above DEBUG
    assert_host_metrics(metrics)
    assert caught == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_without_psutil_only_gpus_are_read(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "psutil", None)
    metrics = sample_with(FakeNVML())
    assert metrics == expected_for({0: 0, 1: 1, 2: 2, 3: 3})
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_host_metrics_are_plausible():
    metrics = sample_with(FakeNVML(), gpus=False)
    assert set(metrics) == {
        "system/cpu_percent",
        "system/memory_used_gb",
        "system/memory_percent",
        "system/process_rss_gb",
    }
    assert_host_metrics(metrics)


def test_cpu_percent_sees_a_busy_thread():
    sampler = SystemSampler(no_record, gpus=False)
    sampler.sample()
    done = time.monotonic() + 0.5
    while time.monotonic() < done:  # keep one CPU busy
        pass
    busy = sampler.sample()["system/cpu_percent"]
    sampler.stop()
    assert busy >= 100.0 / (os.cpu_count() or 1) * 0.5


def test_importing_the_module_loads_neither_pynvml_nor_psutil():
    result = run_python(
        """
        import sys
        import trackio_callback, trackio_callback.telemetry.system
        print([m for m in ("pynvml", "psutil") if m in sys.modules])
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


# -- the thread -----------------------------------------------------------------------------------


class Recorder:
    def __init__(self, wanted: int, fail_first: int = 0):
        self.calls: list[tuple[dict[str, float], str | None, str]] = []
        self.wanted = wanted
        self.fail_first = fail_first
        self.attempts = 0
        self.enough = threading.Event()

    def __call__(self, metrics, node):
        self.attempts += 1
        if self.attempts <= self.fail_first:
            raise RuntimeError("the callback failed")
        self.calls.append((metrics, node, threading.current_thread().name))
        if len(self.calls) >= self.wanted:
            self.enough.set()


def test_thread_records_every_interval_and_stops(caplog):
    fake = FakeNVML()
    recorder = Recorder(wanted=3)
    sampler = SystemSampler(recorder, interval=0.05, node="node3", nvml=fake)
    assert not sampler.running
    sampler.start()
    assert sampler.running
    assert recorder.enough.wait(10)
    assert sampler.stop(timeout=5) is True
    assert not sampler.running
    count = len(recorder.calls)
    time.sleep(0.3)
    assert len(recorder.calls) == count  # nothing after stop()
    for metrics, node, thread in recorder.calls:
        assert node == "node3"
        assert thread != threading.current_thread().name
        assert gpu_keys(metrics) == expected_for({0: 0, 1: 1, 2: 2, 3: 3})
        assert_host_metrics(metrics)
    assert fake.init_calls == 1 and fake.shutdown_calls == 1 and fake.initialized == 0
    assert sampler.stop() is True  # idempotent
    assert fake.shutdown_calls == 1
    with pytest.raises(RuntimeError, match="already started"):
        sampler.start()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_thread_survives_a_failing_callback_and_warns_once(caplog):
    recorder = Recorder(wanted=2, fail_first=3)
    with SystemSampler(recorder, interval=0.05, nvml=FakeNVML()) as sampler:
        assert recorder.enough.wait(10)
    assert not sampler.running
    assert recorder.attempts >= 5
    warnings_logged = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == system.__name__]
    assert len(warnings_logged) == 1
    assert "RuntimeError: the callback failed" in warnings_logged[0].getMessage()


def test_stop_before_the_first_interval_records_nothing():
    recorder = Recorder(wanted=1)
    fake = FakeNVML()
    sampler = SystemSampler(recorder, interval=60, nvml=fake).start()
    started = time.monotonic()
    assert sampler.stop(timeout=5)
    assert time.monotonic() - started < 5
    assert recorder.calls == []
    assert fake.initialized == 0


@pytest.mark.parametrize("interval", [0, -1, 0.0, math.nan, math.inf, True, "10", None])
def test_interval_must_be_positive_seconds(interval):
    with pytest.raises(ValueError, match=rf"interval must be a .*number of seconds > 0, got {interval!r}"):
        SystemSampler(no_record, interval=interval)


# -- switches and node tags -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "interval"),
    [
        (None, 10.0),
        ("", 10.0),
        ("  ", 10.0),
        ("0", None),
        ("0.0", None),
        ("false", None),
        ("OFF", None),
        ("no", None),
        ("true", 10.0),
        ("On", 10.0),
        ("yes", 10.0),
        ("1", 1.0),
        ("2.5", 2.5),
        (" 30 ", 30.0),
    ],
)
def test_interval_from_env(monkeypatch, value, interval):
    if value is not None:
        monkeypatch.setenv("TRACKIO_SYSTEM_METRICS", value)
    assert interval_from_env(10.0) == interval


@pytest.mark.parametrize("value", ["fast", "-5", "nan", "inf", "10s"])
def test_interval_from_env_rejects_other_values(monkeypatch, value):
    monkeypatch.setenv("TRACKIO_SYSTEM_METRICS", value)
    with pytest.raises(ValueError, match=rf"TRACKIO_SYSTEM_METRICS='{value}'.*0/false/off.*seconds > 0"):
        interval_from_env(10.0)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, True),
        ({"LOCAL_RANK": "0"}, True),
        ({"LOCAL_RANK": "1"}, False),
        ({"LOCAL_RANK": "7"}, False),
        ({"SLURM_LOCALID": "0"}, True),
        ({"SLURM_LOCALID": "3"}, False),
        ({"LOCAL_RANK": "0", "SLURM_LOCALID": "3"}, True),  # torchrun inside one srun task per node
    ],
)
def test_should_sample_on_this_process(monkeypatch, env, expected):
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert should_sample_on_this_process() is expected


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "8", "GROUP_RANK": "0"}, None),
        ({"WORLD_SIZE": "1", "LOCAL_WORLD_SIZE": "1"}, None),
        ({"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8", "GROUP_RANK": "1"}, "node1"),
        ({"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8", "NODE_RANK": "0"}, "node0"),
        ({"WORLD_SIZE": "16", "LOCAL_WORLD_SIZE": "8", "GROUP_RANK": "1", "NODE_RANK": "5"}, "node1"),
        ({"SLURM_NNODES": "2", "SLURM_NODEID": "1"}, "node1"),
        ({"SLURM_JOB_NUM_NODES": "4", "SLURM_NODEID": "3"}, "node3"),
        ({"SLURM_NNODES": "1", "SLURM_NODEID": "0"}, None),
        ({"WORLD_SIZE": "8", "LOCAL_WORLD_SIZE": "8", "SLURM_NNODES": "2", "SLURM_NODEID": "1"}, None),
    ],
)
def test_default_node_name(monkeypatch, env, expected):
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)
    assert default_node_name() == expected


def test_default_node_name_without_a_rank_is_the_hostname(monkeypatch):
    import socket

    monkeypatch.setenv("WORLD_SIZE", "16")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert default_node_name() == socket.gethostname()


# -- end to end, with a real run -------------------------------------------------------------------


def test_end_to_end_with_a_run(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0")
    run = tc.init(project="p", name="r", dir=tmp_path)
    recorder = Recorder(wanted=3)

    def record(metrics, node):
        run.log_system(metrics, step=run.step, node=node)
        recorder(metrics, node)

    for step in range(5):
        run.log({"train/loss": 1.0 / (step + 1)})
    sampler = SystemSampler(record, interval=0.05, node="node1", nvml=FakeNVML())
    sampler.start()
    assert recorder.enough.wait(10)
    assert sampler.stop(timeout=5)
    run.finish()
    count = len(recorder.calls)

    reader = tc.Reader(tmp_path)
    keys = set(reader.system_keys("p", "r"))
    assert set(expected_for({0: 2, 1: 0})) <= keys
    assert {"system/cpu_percent", "system/memory_used_gb", "system/memory_percent", "system/process_rss_gb"} <= keys
    assert not any(key.startswith(("system/gpu2/", "system/gpu3/")) for key in keys)
    for key, value in expected_for({0: 2, 1: 0}).items():
        points = reader.system_series("p", "r", key)
        assert [point["value"] for point in points] == [value] * count, key
        assert {point["node"] for point in points} == {"node1"}
        assert all(point["step"] == 5 for point in points)
    assert reader.system_series("p", "r", "system/gpu0/utilization")[0]["value"] == 55.0
    assert reader.system_series("p", "r", "system/gpu1/power_w")[0]["value"] == 312.5
    timestamps = [point["timestamp"] for point in reader.system_series("p", "r", "system/gpu0/utilization")]
    assert timestamps == sorted(timestamps) and len(set(timestamps)) == count
    for point in reader.system_series("p", "r", "system/cpu_percent"):
        assert 0.0 <= point["value"] <= 100.0
    assert all(point["value"] > 0 for point in reader.system_series("p", "r", "system/memory_used_gb"))
    reader.close()
