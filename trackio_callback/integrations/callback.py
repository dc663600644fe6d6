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
- health alerts (`health.HealthMonitor`) with the run (level warn), each kind printed and sent to the webhook once,
  and what ``on_nan`` / ``on_divergence`` ask for on them (a checkpoint, a stop: `alert_actions`);
- the job's deadline: an alert when ``train/eta_seconds`` says training will not end in time, and a checkpoint
  forced ``save_before_deadline`` seconds before it;
- system and GPU metrics from a `system.SystemSampler` thread;
- each checkpoint saved (step, folder, the eval metrics of that moment, the best metric) and, when the Trainer
  pushes it to the Hub, the repo and commit (`checkpoints`); on ``push_to_hub``, the run synced and the model
  card linked to its dashboard (`model_card`).

Only the world's process zero records training metrics; other ranks record nothing (they only take the same
``on_nan`` / ``on_divergence`` / deadline actions, at the same step). Errors raised by
misconfiguration (bad project name, unwritable storage directory) surface before training starts;
after that, no exception of the tracker reaches the Trainer: it warns once and training goes on.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import datetime, timezone
from typing import Any

from transformers import TrainerCallback
from transformers.trainer_callback import ExportableState

from .. import settings
from ..core import run as run_module
from ..store.files import validate_project
from ..telemetry import nodes
from ..telemetry.deadline import check_lead_time, parse_deadline, resolve
from ..telemetry.flops import parse_flops, peak_flops
from ..telemetry.health import Alert, HealthMonitor
from ..telemetry.throughput import Throughput, training_flops_per_token
from ..utils.warn import WarnOnce
from .alert_actions import AlertActions, DeadlineActions, act, process_start_time
from .checkpoints import CheckpointLog, checkpoint_folder
from .config_capture import trainer_config
from .run_identity import STATE_ATTRIBUTE, RunIdentity, identity_on_resume, write_identity

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


class TrackioCallback(TrainerCallback, ExportableState):
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
        on_nan: what a NaN/infinite loss or gradient norm does: ``"warn"`` (default: the ``nan_loss`` or
            ``grad_norm_explosion`` alert only), ``"checkpoint"`` (the Trainer also saves a checkpoint at the end
            of that logging step, ``output_dir/checkpoint-<step>``, once; training goes on) or ``"stop"`` (that
            checkpoint, then training stops; the run's end reason is ``health_stop``). Either records an alert
            saying what was done. The gradient norm counts because transformers' ``logging_nan_inf_filter``
            (on by default) logs a NaN loss as the previous average. The checkpoint holds the state after that
            step's optimizer update: once a NaN reached the gradients its weights are NaN too (the alert says so;
            resume from an earlier checkpoint then), with the optimizer, scheduler and data position of the step.
            (With ``save_strategy="best"``, a step that also evaluates saves only on a new best: transformers
            decides that after the callbacks.)
        on_divergence: the same choices for a ``loss_divergence`` alert: the loss's running average staying above
            ``divergence_factor`` (default 2) times its lowest for ``divergence_patience`` (default 5) logging steps.
        deadline: the job's time limit: seconds from when this callback is created, a `datetime` (naive: local
            time), or text (seconds, or an ISO-8601 time). Default: ``$TRACKIO_DEADLINE`` (seconds from the
            process start, or an ISO-8601 time), else ``$SLURM_JOB_END_TIME``. When ``train/eta_seconds`` first
            says training will end after it, one ``will miss deadline`` alert (level warn) gives the ETA and the
            time left.
        save_before_deadline: seconds; once no more than this is left before the deadline, the Trainer saves a
            checkpoint at the end of that step (once), and a ``checkpoint before deadline`` alert says so.

    A bad ``on_nan``, ``on_divergence``, ``deadline`` or ``save_before_deadline`` raises here; a bad
    ``TRACKIO_DEADLINE`` or ``SLURM_JOB_END_TIME`` when the Trainer is built (`errors.DeadlineError`, naming it).
    In a multi-process job every process takes the same action at the same step (a health action from the
    logged values, which all processes share; the deadline's checkpoint as process zero decides).

    Checkpoints carry the run (`run_identity`): each checkpoint folder gets ``trackio_run.json``, and the
    Trainer's saved state this callback's `state`; ``trainer.train(resume_from_checkpoint=...)`` then continues
    that run on any machine (from this disk, else from its Hub dataset), whatever ``run_name`` says.
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
        on_nan: str = "warn",
        on_divergence: str = "warn",
        divergence_factor: float = 2.0,
        divergence_patience: int = 5,
        deadline: float | str | datetime | None = None,
        save_before_deadline: float | None = None,
    ):
        # What `state` saves with each checkpoint: a Trainer told to restore callbacks rebuilds this one from them.
        self._arguments = _exportable({k: v for k, v in locals().items() if k != "self"})
        self.project = project
        self.name = name
        self.group = group
        self.config = dict(config or {})
        self.space_id = space_id
        self.dataset_id = dataset_id
        self.dir = dir
        self.system_metrics = system_metrics
        self.peak_flops = parse_flops(peak_flops) if peak_flops is not None else None
        self._health = HealthMonitor(
            spike_factor=loss_spike_factor,
            grad_norm_factor=grad_norm_factor,
            divergence_factor=divergence_factor,
            divergence_patience=divergence_patience,
        )
        self._alert_actions = AlertActions(on_nan=on_nan, on_divergence=on_divergence)
        self._created = time.time()  # deadline=<seconds> counts from here
        if deadline is not None:
            at = parse_deadline(deadline, start=self._created)  # a bad value fails here, not when training starts
            # Saved with checkpoints as the time it names: a callback rebuilt on resume must not restart the count.
            self._arguments["deadline"] = datetime.fromtimestamp(at, tz=timezone.utc).isoformat()
        self._deadline = deadline
        self._save_before_deadline = check_lead_time(save_before_deadline)
        self._deadline_actions: DeadlineActions | None = None
        self._deadline_resolved = False
        self._adopted: TrackioCallback | None = None  # the TrackioCallback whose actions this one took
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
        self._checkpoint_log = CheckpointLog()  # on_evaluate, on_save, on_push_begin: `checkpoints`

    def state(self) -> dict:
        """What the Trainer saves with each checkpoint (``trainer_state.json``): the run's identity, read back
        on ``resume_from_checkpoint`` (`run_identity`), and the arguments this callback was built with."""
        run = self._run if self._run is not None and not self._other_rank else None
        identity = RunIdentity.of(run)._asdict() if run is not None else getattr(self, STATE_ATTRIBUTE, None)
        return {"args": self._arguments, "attributes": {STATE_ATTRIBUTE: identity}}

    # -- set-up ---------------------------------------------------------------------------------

    def on_init_end(self, args, state, control, **kwargs):
        """Check what can be checked before training: project name and storage directory."""
        self._resolve_deadline()  # a bad TRACKIO_DEADLINE / SLURM_JOB_END_TIME fails when the Trainer is built
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
            owner._adopt_actions(self)  # what this one was told to do on alerts and deadlines, the owner does
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
            project = self._project(args)
            uid = nodes.job_run_uid(project, name) if node is not None else None
            space_id, dataset_id = self.space_id or getattr(args, "trackio_space_id", None), self.dataset_id
            # Resumed from a checkpoint: the run it names, on this disk or (a fresh one) in its dataset.
            checkpoint = identity_on_resume(args, state, type(self).__name__)
            if checkpoint is not None:
                project, name, uid = checkpoint.project, checkpoint.name, checkpoint.uid
                space_id, dataset_id = space_id or checkpoint.space_id, dataset_id or checkpoint.dataset_id
            run = run_module.init(
                project=project,
                name=name,
                group=self.group,
                space_id=space_id,
                dataset_id=dataset_id,
                private=getattr(args, "hub_private_repo", None) is not False,
                # resumed from a checkpoint, or a multi-node job whose other nodes may have opened it
                resume="allow" if state.global_step > 0 or node is not None else "never",
                dir=self.dir,
                uid=uid,
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
        # A state resumed from a checkpoint saved without this callback has no entry for it, and the Trainer's next
        # save looks the entry up (a KeyError that would stop training): give it one.
        if isinstance(getattr(state, "stateful_callbacks", None), dict):
            state.stateful_callbacks.setdefault(type(self).__name__, {})
        self._resolve_deadline()
        if not self._other_rank and (self._run is None or self._run.finished):
            self._setup(args, state, model)  # errors here stop training before its first step

    def on_log(self, args, state, control, logs=None, model=None, **kwargs):
        try:
            if self._other_rank:
                if logs and _is_training_log(logs):  # every process takes the action process zero takes
                    self._act_on_alerts(state, control, self._health_alerts(state.global_step, logs), model)
                return control
            if self._run is None or self._run.finished:
                self._setup(args, state, model)
            if self._active and logs:
                alerts = self._record(args, state, logs)
                self._act_on_alerts(state, control, alerts, model)
        except Exception as error:  # never stop training
            self._warn_once("on_log", f"trackio-callback could not record a log event: {type(error).__name__}: {error}")
        return control  # its should_save / should_training_stop, set by on_nan / on_divergence

    def on_step_end(self, args, state, control, **kwargs):
        """``save_before_deadline``: the step at which the Trainer saves, as process zero's clock decides."""
        try:
            self._resolve_deadline()
            if self._deadline_actions is not None and getattr(state, _OWNER, None) is self:
                run = self._run if self._active and not self._other_rank else None
                self._deadline_actions.on_step(
                    run,
                    control,
                    state.global_step,
                    process_zero=state.is_world_process_zero,
                    world_size=int(getattr(args, "world_size", 1) or 1),
                )
        except Exception as error:  # never stop training
            self._warn_once("on_step_end", f"trackio-callback deadline check failed: {type(error).__name__}: {error}")
        return control

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

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        """Keep the eval metrics for the next checkpoint's record (logged by `on_log`)."""
        try:
            if not self._other_rank:
                self._checkpoint_log.evaluated(state, metrics)
        except Exception as error:
            self._warn_once("on_evaluate", f"trackio-callback could not keep the eval metrics: {error}")

    def on_save(self, args, state, control, **kwargs):
        """Record the checkpoint just saved with the run (`checkpoints.CheckpointLog.saved`)."""
        try:
            if self._active and not self._other_rank and state.is_world_process_zero:
                write_identity(checkpoint_folder(args, state.global_step), self._run)
                self._checkpoint_log.saved(self._run, args, state)
        except Exception as error:  # never stop training
            self._warn_once("on_save", f"trackio-callback could not record the checkpoint: {error}")

    def on_push_begin(self, args, state, control, model=None, **kwargs):
        """A push to the Hub: the run synced and the model card pointed at it (a plain push), the commit recorded
        with the checkpoint (`checkpoints.CheckpointLog.pushing`, `model_card`)."""
        try:
            if self._other_rank or not state.is_world_process_zero:
                return
            if self._run is None or self._run.finished:
                self._setup(args, state, model)  # trainer.push_to_hub() after train(): the run reopened
            if self._active:
                self._checkpoint_log.pushing(self._run, args, state, control, model)
        except Exception as error:  # the push goes on
            self._warn_once("on_push_begin", f"trackio-callback could not record the push: {error}")

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

    def _record(self, args, state, logs: dict[str, Any]) -> list[Alert]:
        """Log ``logs`` at the step; the health alerts they raised, for `_act_on_alerts`."""
        alerts: list[Alert] = []
        step = state.global_step
        self._last_step = step
        training = _is_training_log(logs)
        logs = dict(logs)
        summary = {k: logs.pop(k) for k in list(logs) if k in SUMMARY_KEYS}
        if summary:
            self._run.summary.update(summary)
        metrics = rewrite_keys(logs)
        if training:
            for key, value in self._throughput_metrics(args, state, logs).items():
                metrics.setdefault(key, value)  # a value the trainer logs itself (GRPO's step_time) wins
            alerts = self._check_health(step, logs)
            if self._deadline_actions is not None:
                self._deadline_actions.on_eta(self._run, metrics.get("train/eta_seconds"), step)
        if metrics:
            self._run.log(metrics, step=step)
        return alerts

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

    def _check_health(self, step: int, logs: dict[str, Any]) -> list[Alert]:
        alerts = self._health_alerts(step, logs)
        for alert in alerts:
            self._run.record_health_alert(alert.kind, alert.message, step=step, value=alert.value)
            self._warn_once(f"alert:{alert.kind}", f"trackio-callback alert ({alert.kind}): {alert.message}")
        return alerts

    def _health_alerts(self, step: int, logs: dict[str, Any]) -> list[Alert]:
        loss, grad_norm = logs.get("loss"), logs.get("grad_norm")
        return self._health.update(
            step,
            loss=float(loss) if isinstance(loss, (int, float)) else None,
            grad_norm=float(grad_norm) if isinstance(grad_norm, (int, float)) else None,
        )

    # -- acting on alerts and the deadline ------------------------------------------------------

    def _act_on_alerts(self, state, control, alerts: list[Alert], model) -> None:
        """``on_nan`` / ``on_divergence``: set ``control``'s flags; process zero records what was done."""
        for action in self._alert_actions.decide(alerts):
            act(action, None if self._other_rank else self._run, control, state.global_step, model)

    def _resolve_deadline(self) -> None:
        """Find the deadline once: ``deadline=``, else ``$TRACKIO_DEADLINE``, else ``$SLURM_JOB_END_TIME``."""
        if self._deadline_resolved:
            return
        env_deadline = settings.deadline_text()
        found = resolve(
            self._deadline,
            env_deadline,
            settings.slurm_job_end_time(),
            created=self._created,
            process_start=process_start_time() if env_deadline is not None else 0.0,  # only its seconds count from it
        )
        self._deadline_resolved = True
        if found is not None:
            self._deadline_actions = DeadlineActions(found, self._save_before_deadline)
        elif self._save_before_deadline is not None:
            self._warn_once(
                "deadline",
                f"trackio-callback: save_before_deadline={self._save_before_deadline:g} does nothing without a "
                "deadline; pass deadline= or set TRACKIO_DEADLINE",
            )

    def _adopt_actions(self, other: TrackioCallback) -> None:
        """Take ``other``'s alert actions and deadline where it was given any (it does not record: this one does)."""
        if self._adopted is other:  # its on_log calls this at every event: once is enough
            return
        self._adopted = other
        if (other._alert_actions.on_nan, other._alert_actions.on_divergence) != ("warn", "warn"):
            self._alert_actions, self._health = other._alert_actions, other._health
        if other._deadline is not None or other._save_before_deadline is not None:
            self._deadline, self._created = other._deadline, other._created
            self._save_before_deadline = other._save_before_deadline
            self._deadline_resolved, self._deadline_actions = False, None

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


def _is_training_log(logs: dict[str, Any]) -> bool:
    """A log of training steps (not an evaluation, a prediction or the end-of-training summary)."""
    return not SUMMARY_KEYS & logs.keys() and not any(k.startswith(("eval_", "test_")) for k in logs)


def _exportable(arguments: dict[str, Any]) -> dict[str, Any]:
    """The arguments that JSON holds as they are (a path as text, a time in ISO form); the others are left out."""
    import json

    kept = {}
    for key, value in arguments.items():
        if isinstance(value, os.PathLike):
            value = os.fspath(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        try:
            if json.loads(json.dumps(value)) == value:
                kept[key] = value
        except (TypeError, ValueError):
            continue
    return kept


def _env_peak_flops() -> float | None:
    value = settings.peak_flops_text()
    return parse_flops(value) if value else None


def _cuda_peak_flops(dtype: str) -> float | None:
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return peak_flops(torch.cuda.get_device_name(torch.cuda.current_device()), dtype)
