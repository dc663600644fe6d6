"""Sampling system metrics (GPU, CPU, memory) in a background thread while a run trains.

`SystemSampler` reads, every ``interval`` seconds, the GPUs visible to this process through NVML
(the ``nvidia-ml-py`` package, module ``pynvml``) and the CPU and memory through ``psutil``, and
hands each reading to a callback, typically `Run.log_system`::

    from trackio_callback import settings
    from trackio_callback.telemetry.nodes import default_node_name, should_sample_on_this_process
    from trackio_callback.telemetry.system import SystemSampler

    interval = settings.system_metrics_interval(default=10.0)  # None when $TRACKIO_SYSTEM_METRICS is off
    if interval is not None and should_sample_on_this_process():
        sampler = SystemSampler(
            lambda metrics, node: run.log_system(metrics, step=run.step, node=node),
            interval=interval,
            node=default_node_name(),
        )
        sampler.start()
        ...  # train
        sampler.stop()

One reading by hand, with the same keys: `telemetry.manual` (``read_once``, ``gpu_available``, ...).

Keys (``i`` is the GPU's index as this process sees it, ``cuda:i``, after ``CUDA_VISIBLE_DEVICES``)::

    system/gpu{i}/utilization        %   (NVML's GPU utilization over the last sample period)
    system/gpu{i}/memory_used_gb     GB
    system/gpu{i}/memory_total_gb    GB
    system/gpu{i}/memory_percent     %   (used / total)
    system/gpu{i}/power_w            W
    system/gpu{i}/temperature_c      degrees Celsius
    system/gpu{i}/sm_clock_mhz       MHz
    system/gpu{i}/process_memory_gb  GB  (GPU memory of this process, os.getpid(); absent when it has none)
    system/cpu_percent               %   (all CPUs together, since the previous reading; 0..100)
    system/memory_used_gb            GB  (RAM of the machine)
    system/memory_percent            %
    system/process_rss_gb            GB  (resident memory of this process)

"GB" in these keys is ``2**30`` bytes (GiB, `BYTES_PER_GB`), the unit ``torch.cuda`` users divide by.
A query the GPU does not support (power on some models, utilization of MIG devices, ...) leaves
out that key only. Without NVML (no package, no driver, no GPU) the sampler logs one debug line
and samples CPU and memory only; without ``psutil`` it leaves those out.

Nothing here is imported by ``import trackio_callback``, and this module imports ``pynvml`` and
``psutil`` only when a sampler first reads them.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .. import settings

logger = logging.getLogger(__name__)

BYTES_PER_GB = 2**30
MIN_CPU_WINDOW_S = 0.1  # a CPU percentage over less time is noise (the kernel counts in 10 ms ticks)

Record = Callable[[dict[str, float], "str | None"], None]


# -- CUDA_VISIBLE_DEVICES --------------------------------------------------------------------------


def visible_devices(value: str | None, uuids: Sequence[str]) -> list[int | str]:
    """The devices a CUDA process sees, in its order: entry ``i`` is what ``cuda:i`` is.

    ``value`` is ``CUDA_VISIBLE_DEVICES``; ``uuids`` are the UUIDs of all the machine's GPUs in NVML
    order (``"GPU-..."``; their number is the device count). Entries of the result are NVML indices,
    or a ``"MIG-..."`` string for a MIG device (to open with ``nvmlDeviceGetHandleByUUID``).

    As CUDA reads it: unset, all GPUs; an entry is an index (leading digits, as ``strtoul`` reads
    them: ``"1"``, ``" 2"``), a ``GPU-`` UUID or a unique prefix of one, or a ``MIG-`` UUID. The list
    stops at the first entry that is none of those (``""``, ``"-1"``, ``"foo"``, an index past the
    device count, an unknown or ambiguous UUID prefix); a device named twice empties it.

    Indices are NVML's (PCI bus) order, which is CUDA's when ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and on
    machines whose GPUs are all the same model (CUDA's default orders the fastest first).
    """
    count = len(uuids)
    if value is None:
        return list(range(count))
    devices: list[int | str] = []
    for raw in value.split(","):
        entry = raw.strip()
        device: int | str | None
        if entry.startswith("GPU-"):
            matches = [index for index, uuid in enumerate(uuids) if uuid and uuid.startswith(entry)]
            device = matches[0] if len(matches) == 1 else None
        elif entry.startswith("MIG-"):
            device = entry
        else:
            digits = len(entry) - len(entry.lstrip("0123456789"))
            device = int(entry[:digits]) if digits else None
            if device is not None and device >= count:
                device = None
        if device is None:
            break
        if device in devices:
            return []
        devices.append(device)
    return devices


# -- the sampler -----------------------------------------------------------------------------------


class SystemSampler:
    """Reads GPU, CPU and memory metrics every ``interval`` seconds and passes them to ``record``.

    Args:
        record: called as ``record(metrics, node)`` from the sampler's thread with each reading
            (a dict of floats; see the module docstring for the keys), e.g.
            ``lambda metrics, node: run.log_system(metrics, step=run.step, node=node)``.
        interval: seconds between readings, > 0. The first reading comes one interval after `start`.
        node: the tag passed to ``record`` (see `default_node_name`); None on a single machine.
        gpus: False to read no GPU (CPU and memory only).
        host: False to read no CPU and memory (GPUs only).
        nvml: the NVML module to use; None imports ``pynvml`` at the first reading. For tests.

    ``CUDA_VISIBLE_DEVICES`` is read when the sampler is created (see `visible_devices`).

    Example::

        sampler = SystemSampler(lambda metrics, node: print(node, metrics), interval=5.0)
        sampler.sample()  # one reading, now, in this thread:
                          # {"system/gpu0/utilization": 97.0, "system/gpu0/memory_used_gb": 61.5, ...}
        sampler.start()   # a reading every 5 s, in a daemon thread
        ...
        sampler.stop()    # stops the thread, waits for it, releases NVML

    or ``with SystemSampler(record) as sampler: ...``, which starts and stops it.

    A reading that fails is logged (a warning the first time, then at debug level) and the thread
    goes on; nothing it does raises into training.
    """

    def __init__(
        self,
        record: Record,
        *,
        interval: float = settings.DEFAULT_SYSTEM_INTERVAL_S,
        node: str | None = None,
        gpus: bool = True,
        host: bool = True,
        nvml: Any = None,
    ):
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or not interval > 0:
            raise ValueError(f"interval must be a number of seconds > 0, got {interval!r}")
        if not math.isfinite(interval):
            raise ValueError(f"interval must be a finite number of seconds > 0, got {interval!r}")
        if node is not None and not isinstance(node, str):
            raise TypeError(f"node must be a string or None, got {type(node).__name__}: {node!r}")
        self.record = record
        self.interval = float(interval)
        self.node = node
        self.gpus = gpus
        self.host = host
        self._nvml_module = nvml
        self._cuda_visible_devices = settings.cuda_visible_devices()
        self._pid = os.getpid()
        self._lock = threading.Lock()  # one reading at a time; guards the NVML session
        self._stop_event = threading.Event()
        self._thread: threading.Thread | None = None
        self._ready = False
        self._nvml: Any = None  # the module, once nvmlInit succeeded
        self._handles: list[tuple[int, Any]] = []  # (cuda index, NVML handle)
        self._psutil: Any = None
        self._process: Any = None
        self._cpu_read_at: dict[int, float] = {}  # thread id -> time.monotonic() of its last cpu_percent()
        self._failed: set[tuple[int, str]] = set()  # (gpu, query) already logged
        self._loop_failed = False

    def __repr__(self) -> str:
        return f"SystemSampler(interval={self.interval}, node={self.node!r}, running={self.running})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> SystemSampler:
        """Start the sampling thread. A sampler starts once."""
        if self._thread is not None:
            raise RuntimeError("this SystemSampler was already started; create a new one")
        self._thread = threading.Thread(target=self._loop, name="trackio-system-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> bool:
        """Stop the thread, wait up to ``timeout`` seconds for it, release NVML. False if it is still running.

        ``record`` is not called after ``stop`` returns True. Idempotent.
        """
        self._stop_event.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("the system metrics thread did not stop within %s s", timeout)
                return False  # it releases NVML itself when it ends
        self._close()
        return True

    def __enter__(self) -> SystemSampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _loop(self) -> None:
        try:
            with self._lock:
                self._setup()  # primes psutil's CPU counter: the first reading covers one interval
        except Exception as error:
            logger.warning("system metrics: setup failed: %s: %s", type(error).__name__, error)
        while not self._stop_event.wait(self.interval):
            try:
                metrics = self.sample()
                if metrics and not self._stop_event.is_set():
                    self.record(metrics, self.node)
            except Exception as error:  # never into training
                level = logging.DEBUG if self._loop_failed else logging.WARNING
                self._loop_failed = True
                logger.log(level, "system metrics: a reading failed: %s: %s", type(error).__name__, error)
        self._close()

    # -- reading ------------------------------------------------------------------------------

    def sample(self, *, device: int | None = None) -> dict[str, float]:
        """One reading, now, in the calling thread: ``{key: value}`` (see the module docstring).

        ``device``: only that GPU (its ``cuda:`` index) and, with ``host``, CPU and memory.
        """
        with self._lock:
            if not self._ready:
                self._setup()
            metrics: dict[str, float] = {}
            if self._nvml is not None:
                for index, handle in self._handles:
                    if device is None or index == device:
                        self._read_gpu(index, handle, metrics)
            if self._psutil is not None:
                self._read_host(metrics)
            return metrics

    def gpu_indices(self) -> list[int]:
        """The ``cuda:`` indices of the GPUs this sampler reads (none without NVML or ``gpus=False``)."""
        with self._lock:
            if not self._ready:
                self._setup()
            return [index for index, _ in self._handles]

    def reads_host(self) -> bool:
        """Whether readings include CPU and memory (psutil is installed and works)."""
        with self._lock:
            if not self._ready:
                self._setup()
            return self._psutil is not None

    def _setup(self) -> None:
        self._ready = True
        if self.host:
            self._setup_psutil()
        if self.gpus:
            self._setup_nvml()

    def _setup_psutil(self) -> None:
        try:
            import psutil
        except ImportError:
            logger.debug("system metrics: psutil is not installed; no CPU and memory metrics")
            return
        try:
            self._process = psutil.Process(self._pid)
            psutil.cpu_percent(interval=None)  # the first call in a thread only starts its counter
            self._cpu_read_at[threading.get_ident()] = time.monotonic()
        except Exception as error:
            logger.debug(
                "system metrics: psutil failed (%s: %s); no CPU and memory metrics", type(error).__name__, error
            )
            return
        self._psutil = psutil

    def _setup_nvml(self) -> None:
        nvml = self._nvml_module
        try:
            if nvml is None:
                import pynvml as nvml
            nvml.nvmlInit()
        except Exception as error:  # ImportError, NVMLError (no driver, no library, no GPU)
            logger.debug("system metrics: no NVML (%s: %s); no GPU metrics", type(error).__name__, error)
            return
        try:
            count = nvml.nvmlDeviceGetCount()
            uuids = []
            if self._cuda_visible_devices is not None and "GPU-" in self._cuda_visible_devices:
                uuids = [self._uuid(nvml, physical) for physical in range(count)]
            else:
                uuids = [""] * count
            handles = []
            for index, device in enumerate(visible_devices(self._cuda_visible_devices, uuids)):
                try:
                    if isinstance(device, str):
                        handle = nvml.nvmlDeviceGetHandleByUUID(device)
                    else:
                        handle = nvml.nvmlDeviceGetHandleByIndex(device)
                except Exception as error:  # e.g. a MIG UUID this driver cannot open
                    logger.debug("system metrics: cannot open GPU %s (cuda:%d): %s", device, index, error)
                    continue
                handles.append((index, handle))
                logger.debug("system metrics: cuda:%d is NVML device %s (%s)", index, device, _name(nvml, handle))
        except Exception as error:
            logger.debug("system metrics: NVML failed (%s: %s); no GPU metrics", type(error).__name__, error)
            _shutdown(nvml)
            return
        self._nvml = nvml
        self._handles = handles

    @staticmethod
    def _uuid(nvml: Any, physical: int) -> str:
        try:
            return _text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(physical)))
        except Exception:
            return ""

    def _close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                _shutdown(self._nvml)
            self._nvml = None
            self._handles = []
            self._psutil = None
            self._process = None
            self._cpu_read_at.clear()
            self._ready = False

    def _read_gpu(self, index: int, handle: Any, metrics: dict[str, float]) -> None:
        nvml = self._nvml
        prefix = f"system/gpu{index}/"
        try:
            metrics[prefix + "utilization"] = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        except Exception as error:  # NVMLError_NotSupported and the like: leave out this key
            self._failure(index, "utilization", error)
        try:
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            used, total = float(memory.used), float(memory.total)
            metrics[prefix + "memory_used_gb"] = used / BYTES_PER_GB
            metrics[prefix + "memory_total_gb"] = total / BYTES_PER_GB
            if total > 0:
                metrics[prefix + "memory_percent"] = 100.0 * used / total
        except Exception as error:
            self._failure(index, "memory", error)
        try:
            metrics[prefix + "power_w"] = nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
        except Exception as error:
            self._failure(index, "power", error)
        try:
            metrics[prefix + "temperature_c"] = float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        except Exception as error:
            self._failure(index, "temperature", error)
        try:
            metrics[prefix + "sm_clock_mhz"] = float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))
        except Exception as error:
            self._failure(index, "SM clock", error)
        try:
            mine = [
                process.usedGpuMemory
                for process in nvml.nvmlDeviceGetComputeRunningProcesses(handle)
                if process.pid == self._pid and process.usedGpuMemory is not None
            ]
            if mine:  # none: this process holds no memory there (or NVML sees another pid namespace)
                metrics[prefix + "process_memory_gb"] = float(sum(mine)) / BYTES_PER_GB
        except Exception as error:
            self._failure(index, "processes", error)

    def _cpu_percent(self) -> float:
        # psutil keeps the previous reading per thread: a thread's first reading, or one right after
        # the previous, is measured over MIN_CPU_WINDOW_S instead (sample() from a new thread blocks that long).
        thread = threading.get_ident()
        last = self._cpu_read_at.get(thread)
        if last is None or time.monotonic() - last < MIN_CPU_WINDOW_S:
            percent = self._psutil.cpu_percent(interval=MIN_CPU_WINDOW_S)
        else:
            percent = self._psutil.cpu_percent(interval=None)
        self._cpu_read_at[thread] = time.monotonic()
        return float(percent)

    def _failure(self, index: int, what: str, error: Exception) -> None:
        """Log a query that failed at debug level, once per GPU and query (they fail the same way each time)."""
        if (index, what) not in self._failed:
            self._failed.add((index, what))
            where = "psutil" if index < 0 else f"cuda:{index}"
            logger.debug("system metrics: %s: no %s (%s: %s)", where, what, type(error).__name__, error)

    def _read_host(self, metrics: dict[str, float]) -> None:
        psutil = self._psutil
        try:
            metrics["system/cpu_percent"] = self._cpu_percent()
            memory = psutil.virtual_memory()
            metrics["system/memory_used_gb"] = memory.used / BYTES_PER_GB
            metrics["system/memory_percent"] = float(memory.percent)
            metrics["system/process_rss_gb"] = self._process.memory_info().rss / BYTES_PER_GB
        except Exception as error:
            self._failure(-1, "CPU and memory metrics", error)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _name(nvml: Any, handle: Any) -> str:
    try:
        return _text(nvml.nvmlDeviceGetName(handle))
    except Exception:
        return "unknown"


def _shutdown(nvml: Any) -> None:
    try:
        nvml.nvmlShutdown()
    except Exception as error:
        logger.debug("system metrics: nvmlShutdown failed: %s", error)
