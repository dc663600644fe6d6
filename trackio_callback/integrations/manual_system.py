"""trackio's by-hand system metric calls: `log_gpu`, `log_cpu` (one reading, written to a run now) and
`gpu_available`, `cpu_available`, `apple_gpu_available`.

A reading is the automatic sampler's (`telemetry.system`: the same keys, units and NVML/psutil code),
taken once in the calling thread and written with `Run.log_system`, timestamped and tagged with this
node in a multi-node job, as the sampler's readings are::

    import trackio_callback as trackio

    run = trackio.init(project="p")
    trackio.log_gpu()          # {"system/gpu0/utilization": 97.0, "system/gpu0/memory_used_gb": 61.5, ...}
    trackio.log_gpu(device=1)  # cuda:1 only
    trackio.log_cpu()          # {"system/cpu_percent": 12.5, "system/memory_used_gb": ..., ...}

Without a run (none given, none current) they raise RuntimeError, as trackio's do.
"""

from __future__ import annotations

import warnings

from ..core.run import Run, current_run
from ..errors import TrackioWarning
from ..telemetry import manual, nodes, system
from ..telemetry.manual import apple_gpu_available, cpu_available, gpu_available

__all__ = ["apple_gpu_available", "cpu_available", "gpu_available", "log_cpu", "log_gpu"]


def log_gpu(run: Run | None = None, device: int | None = None) -> dict[str, float]:
    """Read the GPUs once and log the reading to ``run`` (default: the current run); return what was logged.

    NVIDIA GPUs (through NVML): the ``system/gpu{i}/...`` keys of every GPU this process sees, or of
    ``cuda:{device}`` only. Apple Silicon: its GPU shares the RAM, so the CPU-and-memory reading (`log_cpu`'s
    keys). No GPU: a warning, nothing logged, ``{}``; so is a ``device`` this process does not see.
    """
    run = _run(run, "log_gpu")
    if device is not None and (isinstance(device, bool) or not isinstance(device, int)):
        raise TypeError(f"device must be a CUDA device index (an int) or None, got {type(device).__name__}: {device!r}")
    sampler = system.SystemSampler(manual.record_nothing, host=False)
    try:
        indices = sampler.gpu_indices()
        if indices:
            if device is not None and device not in indices:
                _warn(f"log_gpu(device={device}): this process sees the GPUs {indices}; nothing logged")
                return {}
            metrics = sampler.sample(device=device)
    finally:
        sampler.stop()
    if not indices:
        if not apple_gpu_available():
            _warn("log_gpu(): no GPU detected (NVML sees no NVIDIA GPU, and this is not Apple Silicon); nothing logged")
            return {}
        metrics = manual.read_once(gpus=False)  # Apple Silicon: the GPU's memory is the RAM
    return _write(run, metrics)


def log_cpu(run: Run | None = None) -> dict[str, float]:
    """Read CPU and memory once and log the reading to ``run`` (default: the current run); return what was logged.

    The keys are the sampler's ``system/cpu_percent`` (over the 0.1 s this call waits), ``system/memory_used_gb``,
    ``system/memory_percent`` and ``system/process_rss_gb``. Without psutil: a warning and ``{}``.
    """
    run = _run(run, "log_cpu")
    metrics = manual.read_once(gpus=False)
    if not metrics:
        _warn("log_cpu() needs psutil (pip install psutil); nothing logged")
        return {}
    return _write(run, metrics)


def _run(run: Run | None, what: str) -> Run:
    if run is None:
        run = current_run()
        if run is None:
            raise RuntimeError(f"trackio_callback.{what}() needs a run: call trackio_callback.init() first")
    elif not isinstance(run, Run):
        raise TypeError(f"run must be a Run (what init() returns) or None, got {type(run).__name__}: {run!r}")
    return run


def _write(run: Run, metrics: dict[str, float]) -> dict[str, float]:
    run.log_system(metrics, node=nodes.default_node_name())
    return dict(metrics)


def _warn(message: str) -> None:
    warnings.warn(message, TrackioWarning, stacklevel=3)
