"""Telemetry: what a run measures about its machine and its speed, beside the user's metrics.

Owns: ``system`` (the NVML/psutil sampler thread), ``manual`` (one reading of it by hand: trackio's
``log_gpu`` / ``log_cpu``), ``nodes`` (which process samples, node and job identity in multi-node
jobs), ``throughput`` (the pure `Throughput` meter and FLOPs per token), ``flops`` (the peak-FLOP/s
table and parsing), ``health`` (the pure `HealthMonitor`: spikes, NaNs, divergence), ``deadline``
(the pure job time limit: `deadline.resolve` from its sources, `deadline.DeadlineWatch`'s decisions).

May import: the standard library, `.settings`, `.errors`; ``pynvml`` and ``psutil`` lazily, inside
the sampler. Nothing here imports the core: the integrations wire telemetry to a run.
"""
