"""`TrackioCallback`: transformers/TRL Trainer events → a trackio-callback run.

Used by ``report_to="trackio"`` (see `integration`) or explicitly::

    trainer = Trainer(..., args=TrainingArguments(report_to="none"), callbacks=[TrackioCallback()])

What it records, at ``step = state.global_step``:

- every value the Trainer logs, renamed like transformers' ``rewrite_logs`` (``train/loss``,
  ``eval/loss``, ``test/...``), TRL's extras included (``train/num_tokens``, ``train/reward``, ...);
- the end-of-training values (``train_runtime``, ``train_samples_per_second``, ``total_flos``,
  ``train_loss``, ...) as the run's summary, not as one-point series;
- throughput from `throughput.Throughput`: ``train/step_time``, ``train/samples_per_second``,
  ``train/tokens_per_second``, ``train/mfu`` (when the device's peak FLOP/s is known),
  ``train/eta_seconds``, and ``train/peak_memory_gb`` on CUDA;
- health alerts (`health.HealthMonitor`) with the run (level warn), each kind printed and sent to the webhook once;
- system and GPU metrics from a `system.SystemSampler` thread.

Only the world's process zero records training metrics; other ranks do nothing. Errors raised by
misconfiguration (bad project name, unwritable storage directory) surface before training starts;
after that, no exception of the tracker reaches the Trainer: it warns once and training goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any

from transformers import TrainerCallback

from .. import settings
from ..core import run as run_module
from ..store.files import validate_project
from ..telemetry import nodes
from ..telemetry.flops import parse_flops, peak_flops
from ..telemetry.health import HealthMonitor
from ..telemetry.throughput import Throughput, training_flops_per_token
from ..utils.warn import WarnOnce
from .config_capture import trainer_config

logger = logging.getLogger(__name__)

SUMMARY_KEYS = frozenset(
    {"train_runtime", "train_samples_per_second", "train_steps_per_second", "train_loss", "total_flos"}
)
_OWNER = "_trackio_callback_owner"  # set on the TrainerState: one callback instance records per Trainer


def rewrite_keys(logs: dict[str, Any]) -> dict[str, Any]:
    """transformers' naming: ``eval_x`` → ``eval/x``, ``test_x`` → ``test/x``, anything else → ``train/x``."""
    renamed = {}
    for key, value in logs.items():
        if key.startswith("eval_"):
            renamed["eval/" + key[5:]] = value
        elif key.startswith("test_"):
            renamed["test/" + key[5:]] = value
        else:
            renamed["train/" + key] = value
    return renamed


class TrackioCallback(TrainerCallback):
    """Records a Trainer's metrics, throughput, health and system stats in a trackio-callback run.

    Arguments override the run's defaults, which come from the run already opened with
    `trackio_callback.init` (reused, never replaced), else from ``TrainingArguments`` (``project``,
    ``run_name``, ``trackio_space_id``, ``hub_private_repo``) and the ``TRACKIO_*`` environment.

    Args:
        system_metrics: seconds between system/GPU samples, ``False`` to turn sampling off
            (default: ``$TRACKIO_SYSTEM_METRICS``, else 10).
        peak_flops: one device's peak FLOP/s for MFU (number or text like ``"989 TFLOPS"``;
            default: ``$TRACKIO_PEAK_FLOPS``, else looked up from the GPU name and training dtype).
        loss_spike_factor, grad_norm_factor: alert thresholds over the running averages.
    """

    def __init__(
        self,
        project: str | None = None,
        name: str | None = None,
        group: str | None = None,
        config: dict[str, Any] | None = None,
        *,
        space_id: str | None = None,
        dataset_id: str | None = None,
        dir: str | os.PathLike | None = None,  # noqa: A002 - same name as init()
        system_metrics: float | bool | None = None,
        peak_flops: float | str | None = None,
        loss_spike_factor: float = 3.0,
        grad_norm_factor: float = 10.0,
    ):
        self.project = project
        self.name = name
        self.group = group
        self.config = dict(config or {})
        self.space_id = space_id
        self.dataset_id = dataset_id
        self.dir = dir
        self.system_metrics = system_metrics
        self.peak_flops = parse_flops(peak_flops) if peak_flops is not None else None
        self._health = HealthMonitor(spike_factor=loss_spike_factor, grad_norm_factor=grad_norm_factor)
        self._run: run_module.Run | None = None
        self._owns_run = False
        self._active = False
        self._throughput: Throughput | None = None
        self._tokens_source: str | None = None
        self._hook = None
        self._hook_tokens = 0
        self._sampler = None
        self._last_step: int | None = None
        self._other_rank = False  # not the world's process zero: records no training metrics
        self._warn = WarnOnce()

    # -- set-up ---------------------------------------------------------------------------------

    def on_init_end(self, args, state, control, **kwargs):
        """Check what can be checked before training: project name and storage directory."""
        if not state.is_world_process_zero or run_module.current_run() is not None:
            return
        validate_project(self._project(args))
        directory = settings.storage_dir(self.dir)
        try:
            directory.mkdir(parents=True, exist_ok=True)
            probe = directory / f".write-check-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as error:
            raise OSError(
                f"trackio-callback cannot write to {directory} ({error}); pass dir= or set TRACKIO_DIR "
                "to a writable directory"
            ) from error

    def _project(self, args) -> str:
        env_project = settings.env_project()
        args_project = getattr(args, "project", None)
        if args_project == settings.DEFAULT_PROJECT and env_project:
            args_project = None  # transformers' default: let the environment speak
        return self.project or args_project or env_project or settings.DEFAULT_PROJECT

    def _setup(self, args, state, model) -> None:
        owner = getattr(state, _OWNER, None)
        if owner is not None and owner is not self:
            return  # another TrackioCallback of this Trainer records (report_to and callbacks=[...] both given)
        setattr(state, _OWNER, self)
        if not state.is_world_process_zero:
            self._other_rank = True
            self._observe_node(args)
            return
        run = run_module.current_run()
        node = nodes.default_node_name()
        if run is None:
            name = self._run_name(args)
            run = run_module.init(
                project=self._project(args),
                name=name,
                group=self.group,
                space_id=self.space_id or getattr(args, "trackio_space_id", None),
                dataset_id=self.dataset_id,
                private=getattr(args, "hub_private_repo", None) is not False,
                # resumed from a checkpoint, or a multi-node job whose other nodes may have opened it
                resume="allow" if state.global_step > 0 or node is not None else "never",
                dir=self.dir,
                uid=nodes.job_run_uid(self._project(args), name) if node is not None else None,
                auto_log_cpu=False,  # this callback samples system metrics itself, tagged by node and step
                auto_log_gpu=False,
            )
            self._owns_run = True
        if node is not None:
            run.sync_only_node(node)
        self._run = run
        self._active = True
        # A later evaluate()/predict() after the run finished reopens this same run.
        self.project, self.name = run.project, run.name
        try:  # the run is open: from here on, problems are warnings
            self._record_config(run, args, model)
            self._start_throughput(args, state, model)
            self._start_system_sampler(node)
        except Exception as error:
            self._warn_once("setup", f"trackio-callback set-up incomplete: {type(error).__name__}: {error}")

    def _run_name(self, args) -> str | None:
        name = self.name or getattr(args, "run_name", None)
        if name is None and nodes.default_node_name() is not None:
            # Every node must find the same run without talking to the others: name it after the job.
            name = nodes.job_name()
        return name

    def _observe_node(self, args) -> None:
        """On another node's local rank 0: sample this node's GPUs into the run, tagged with the node."""
        node = nodes.default_node_name()
        name = self._run_name(args)
        if node is None or name is None or not nodes.should_sample_on_this_process():
            return
        interval = self._sampling_interval()
        if not interval:
            return
        project = self._project(args)
        self._run = run_module.Run(
            project,
            name=name,
            group=self.group,
            resume="allow",
            directory=self.dir,
            observer=True,
            exit_hooks=run_module.exit_hooks,
            uid=nodes.job_run_uid(project, name),
        )
        self._owns_run = True
        self._start_system_sampler(node)
        try:
            self._sync_observer(args, node)
        except Exception as error:  # this node's samples stay in its local store
            self._warn_once("observer-sync", f"trackio-callback cannot sync {node}'s system metrics: {error}")

    def _sync_observer(self, args, node: str) -> None:
        """Send this node's samples to the run's dataset too: an ephemeral node's disk does not outlive the job."""
        space_id = settings.space_id(self.space_id or getattr(args, "trackio_space_id", None))
        dataset_id = settings.dataset_id(self.dataset_id)
        if not (space_id or dataset_id):
            return
        from ..hub import repo

        target = repo.resolve(space_id, dataset_id)
        private = getattr(args, "hub_private_repo", None) is not False
        self._run.start_sync(target.dataset_id, target.token, private=private, interval=300, node=node)

    def _sampling_interval(self) -> float | None:
        if self.system_metrics is None:
            return settings.system_metrics_interval(10.0)
        if self.system_metrics is True:
            return 10.0
        return float(self.system_metrics) if self.system_metrics else None

    def _record_config(self, run, args, model) -> None:
        derived = trainer_config(args, model, secret=settings.hf_token())
        # The user's own config (init(config=...), TrackioCallback(config=...)) wins over derived values.
        for key, value in {**derived, **self.config}.items():
            if key not in run.config or key in self.config:
                run.config[key] = value

    def _start_throughput(self, args, state, model) -> None:
        num_parameters = self._run.config.get("model/num_parameters")
        dtype = "bfloat16" if getattr(args, "bf16", False) else "float16" if getattr(args, "fp16", False) else "float32"
        device_peak = self.peak_flops or _env_peak_flops() or _cuda_peak_flops(dtype)
        self._throughput = Throughput(
            peak_flops=device_peak,
            world_size=max(1, int(getattr(args, "world_size", 1) or 1)),
            # 6·N per token; the attention term needs the sequence length, which varies per batch.
            flops_per_token=training_flops_per_token(num_parameters) if num_parameters else None,
            max_steps=state.max_steps if state.max_steps and state.max_steps > 0 else None,
        )
        if device_peak:
            self._run.config["throughput/peak_flops"] = device_peak
        if model is not None and hasattr(model, "register_forward_pre_hook"):
            self._hook = model.register_forward_pre_hook(self._count_tokens, with_kwargs=True)

    def _count_tokens(self, module, args, kwargs) -> None:
        if not module.training:
            return
        input_ids = kwargs.get("input_ids") if kwargs else None
        if input_ids is None and args:
            input_ids = args[0]
        numel = getattr(input_ids, "numel", None)
        if numel is not None:
            self._hook_tokens += numel()  # padded shape: no device sync

    def _start_system_sampler(self, node: str | None) -> None:
        from ..telemetry import system

        interval = self._sampling_interval()
        if not interval or not nodes.should_sample_on_this_process():
            return
        run = self._run
        self._sampler = system.SystemSampler(
            lambda metrics, node: run.log_system(metrics, step=self._last_step, node=node), interval=interval, node=node
        )
        self._sampler.start()

    # -- events ---------------------------------------------------------------------------------

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if not self._other_rank and (self._run is None or self._run.finished):
            self._setup(args, state, model)  # errors here stop training before its first step

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        try:
            if self._other_rank:
                return
            if self._run is None or self._run.finished:
                self._setup(args, state, model)
            if self._active and logs:
                self._record(args, state, logs)
        except Exception as error:  # never stop training
            self._warn_once("on_log", f"trackio-callback could not record a log event: {type(error).__name__}: {error}")

    def on_predict(self, args, state, control, metrics=None, **kwargs):
        try:
            if self._other_rank:
                return
            if self._run is None or self._run.finished:
                self._setup(args, state, kwargs.get("model"))
            if self._active and metrics:
                self._run.log(rewrite_keys(dict(metrics)), step=state.global_step)
        except Exception as error:
            self._warn_once("on_predict", f"trackio-callback could not record predictions: {error}")

    def on_train_end(self, args, state, control, **kwargs):
        try:
            self._stop_helpers()
            if self._owns_run and self._run is not None:
                self._run.finish()  # final write; a later evaluate() reopens the run (resume="allow")
                self._run = None
                self._active = False
        except Exception as error:
            self._warn_once("on_train_end", f"trackio-callback could not finish the run: {error}")

    # -- recording ------------------------------------------------------------------------------

    def _record(self, args, state, logs: dict[str, Any]) -> None:
        step = state.global_step
        self._last_step = step
        logs = dict(logs)
        summary = {k: logs.pop(k) for k in list(logs) if k in SUMMARY_KEYS}
        if summary:
            self._run.summary.update(summary)
        metrics = rewrite_keys(logs)
        is_training_log = not any(k.startswith(("eval_", "test_")) for k in logs)
        if is_training_log and not summary:
            for key, value in self._throughput_metrics(args, state, logs).items():
                metrics.setdefault(key, value)  # a value the trainer logs itself (GRPO's step_time) wins
            self._check_health(step, logs)
        if metrics:
            self._run.log(metrics, step=step)

    def _throughput_metrics(self, args, state, logs: dict[str, Any]) -> dict[str, float]:
        world = max(1, int(getattr(args, "world_size", 1) or 1))
        tokens, source = self._tokens(state, logs, world)
        if source != self._tokens_source:
            if self._tokens_source is not None:
                self._throughput.reset()  # switching counters: start the rates afresh
            self._tokens_source = source
            self._run.config["throughput/tokens_source"] = source
        samples = state.global_step * args.train_batch_size * args.gradient_accumulation_steps * world
        metrics = self._throughput.update(
            time=time.perf_counter(), step=state.global_step, samples=samples, tokens=tokens
        )
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_available():
            metrics["train/peak_memory_gb"] = torch.cuda.max_memory_allocated() / 1e9
        return metrics

    def _tokens(self, state, logs: dict[str, Any], world: int) -> tuple[int | None, str]:
        """Cumulative tokens seen, from the best source available, and the source's name."""
        if "num_tokens" in logs:  # TRL: gathered over all processes
            try:
                tokens = int(logs["num_tokens"])
            except (TypeError, ValueError, OverflowError):  # not a count: the other sources still work
                tokens = None
            if tokens is not None:
                self._remove_hook()
                return tokens, "trl_num_tokens"
        seen = getattr(state, "num_input_tokens_seen", 0)
        if seen:
            self._remove_hook()
            return int(seen), "num_input_tokens_seen"
        if self._hook is not None:
            # This process's batches only; the other ranks see batches of the same shape.
            return self._hook_tokens * world, "batch_shapes"
        return None, "none"

    def _check_health(self, step: int, logs: dict[str, Any]) -> None:
        loss, grad_norm = logs.get("loss"), logs.get("grad_norm")
        alerts = self._health.update(
            step,
            loss=float(loss) if isinstance(loss, (int, float)) else None,
            grad_norm=float(grad_norm) if isinstance(grad_norm, (int, float)) else None,
        )
        for alert in alerts:
            self._run.record_health_alert(alert.kind, alert.message, step=step, value=alert.value)
            self._warn_once(f"alert:{alert.kind}", f"trackio-callback alert ({alert.kind}): {alert.message}")

    # -- helpers --------------------------------------------------------------------------------

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None

    def _stop_helpers(self) -> None:
        self._remove_hook()
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None

    def _warn_once(self, what: str, message: str) -> None:
        if self._warn(what, message, stacklevel=2):
            logger.debug(message, exc_info=True)


def _env_peak_flops() -> float | None:
    value = settings.peak_flops_text()
    return parse_flops(value) if value else None


def _cuda_peak_flops(dtype: str) -> float | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return peak_flops(torch.cuda.get_device_name(torch.cuda.current_device()), dtype)
