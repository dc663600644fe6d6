"""One system reading by hand, with the automatic sampler's keys, units and code (`system.SystemSampler`).

What trackio's ``log_gpu`` / ``log_cpu`` write (``integrations/manual_system.py`` writes it to a run) and
its availability checks::

    read_once(gpus=False)            # CPU and memory: {"system/cpu_percent": 12.5, "system/memory_used_gb": ...}
    read_once(host=False)            # every GPU this process sees; device=0: cuda:0 only
    gpu_available(), cpu_available(), apple_gpu_available()

Each call opens NVML and closes it again (a by-hand call is rare; a held session would outlive the run).
Like `system`, this imports ``pynvml`` and ``psutil`` only when called.
"""

from __future__ import annotations

import platform
import subprocess
from typing import Any

from .. import settings
from .system import SystemSampler


def read_once(*, gpus: bool = True, host: bool = True, device: int | None = None, nvml: Any = None) -> dict[str, float]:
    """One reading now, by a sampler made for it and closed after (NVML released): the sampler's keys.

    ``gpus``/``host`` choose the GPU and the CPU-and-memory parts (as in `SystemSampler`), ``device`` one GPU.
    ``system/cpu_percent`` is then measured over `MIN_CPU_WINDOW_S`, which this call waits.
    """
    sampler = SystemSampler(record_nothing, gpus=gpus, host=host, nvml=nvml)
    try:
        return sampler.sample(device=device)
    finally:
        sampler.stop()


def gpu_indices(nvml: Any = None) -> list[int]:
    """The ``cuda:`` indices of the NVIDIA GPUs this process sees and NVML can open (after ``CUDA_VISIBLE_DEVICES``)."""
    sampler = SystemSampler(record_nothing, host=False, nvml=nvml)
    try:
        return sampler.gpu_indices()
    finally:
        sampler.stop()


def gpu_available(nvml: Any = None) -> bool:
    """True when NVML (``nvidia-ml-py`` and a driver) sees at least one NVIDIA GPU visible to this process."""
    return bool(gpu_indices(nvml))


def cpu_available() -> bool:
    """True when CPU and memory can be read (``psutil`` is installed and works)."""
    sampler = SystemSampler(record_nothing, gpus=False)
    try:
        return sampler.reads_host()
    finally:
        sampler.stop()


def apple_gpu_available() -> bool:
    """True on Apple Silicon (an M-series chip, also under Rosetta) with ``psutil``: its GPU shares the RAM,
    so the CPU-and-memory reading is its reading (NVML does not exist there)."""
    if platform.system() != "Darwin" or not cpu_available():
        return False
    if platform.machine() == "arm64":
        return True
    try:  # an x86_64 Python under Rosetta reports the emulated machine; the CPU's brand says what it is
        brand = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=1, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return brand.startswith("Apple")


def record_nothing(metrics: dict[str, float], node: str | None) -> None:
    """The ``record`` of a sampler only read by hand (`SystemSampler.sample`), never started: never called."""


def sampling_plan(
    auto_log_gpu: bool | None, gpu_log_interval: float, auto_log_cpu: bool | None, cpu_log_interval: float
) -> tuple[float, bool, bool] | None:
    """``(interval, gpus, host)`` of the sampler `init` starts for a run, or None for none: trackio's defaults.

    ``auto_log_cpu=None``: on; ``auto_log_gpu=None``: on when an NVIDIA GPU is visible; both defaults off
    when ``$TRACKIO_SYSTEM_METRICS`` switches sampling off (an explicit True still samples). One sampler
    reads both, at the shorter of the two intervals asked for.
    """
    for label, value in (("auto_log_gpu", auto_log_gpu), ("auto_log_cpu", auto_log_cpu)):
        if value is not None and not isinstance(value, bool):
            raise TypeError(f"{label} must be True, False or None (automatic), got {value!r}")
    for label, value in (("gpu_log_interval", gpu_log_interval), ("cpu_log_interval", cpu_log_interval)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ValueError(f"{label} must be a number of seconds > 0, got {value!r}")
    switched_on = settings.system_metrics_interval() is not None
    if auto_log_cpu is None:
        auto_log_cpu = switched_on
    if auto_log_gpu is None:
        auto_log_gpu = switched_on and gpu_available()
    intervals = [
        interval for on, interval in ((auto_log_gpu, gpu_log_interval), (auto_log_cpu, cpu_log_interval)) if on
    ]
    return (float(min(intervals)), auto_log_gpu, auto_log_cpu) if intervals else None
