"""The demo job (``trackio-callback demo``): a real TRL SFT run on a tiny offline model, tracked.

It follows the guide's pattern — ``init`` with a project, name, group and config, an ``SFTConfig``
with ``report_to="trackio"``, ``train()``, ``finish()`` — on a 2-layer Qwen2-style model and
generated question/answer data built locally (`trackio_callback.demos.tiny`), so it needs no network
and finishes in well under a minute on a CPU. ``--synthetic`` logs a made-up curve instead, with no
training libraries involved.
"""

from __future__ import annotations

import contextlib
import math
import os
import random
import tempfile
from collections.abc import Iterator
from datetime import datetime

from ..core.run import Run, finish, init


def main(
    project: str = "demo",
    steps: int = 200,
    directory: str | os.PathLike | None = None,
    synthetic: bool = False,
) -> Run:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}")
    run = _synthetic(project, steps, directory) if synthetic else _tiny_sft(project, steps, directory)
    where = f"--dir {directory} " if directory is not None else ""
    print(f"\nLogged steps up to {run.step - 1} to run {run.name!r} of project {project!r}, stored in {run.path}")
    print("Look at it with:")
    print(f"  trackio-callback {where}list runs --project {project}")
    print(f"  trackio-callback {where}get run --project {project} --run {run.name}")
    print(f"  trackio-callback {where}get metric --project {project} --run {run.name} --metric train/loss --json")
    return run


# Everything is built locally: fail fast on any Hub call. Set only while the demo runs (a caller's
# own environment comes back after it), and only where the caller has not set them.
_DEMO_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}


@contextlib.contextmanager
def _demo_environment() -> Iterator[None]:
    added = [name for name in _DEMO_ENVIRONMENT if name not in os.environ]
    os.environ.update({name: _DEMO_ENVIRONMENT[name] for name in added})
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)


def _tiny_sft(project: str, steps: int, directory) -> Run:
    with _demo_environment():
        return _train_tiny_sft(project, steps, directory)


def _train_tiny_sft(project: str, steps: int, directory) -> Run:
    from transformers import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    from .tiny import build_model, build_tokenizer, cpu_settings, sft_dataset

    tokenizer = build_tokenizer()
    model = build_model("qwen2", tokenizer=tokenizer)
    run = init(
        project=project,
        name=f"tiny-sft-{datetime.now().strftime('%Y-%m-%d_%H-%M-%S')}",
        group="SFT",
        config={"model": "tiny Qwen2 (2 layers, width 32, built offline)", "dataset": "generated Q&A", "steps": steps},
        dir=directory,
    )
    with tempfile.TemporaryDirectory() as output_dir:
        args = SFTConfig(
            output_dir=output_dir,
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=3e-3,
            logging_steps=5,
            eval_strategy="steps",
            eval_steps=max(1, steps // 4),
            max_length=32,
            report_to="trackio",
            **cpu_settings(SFTConfig),
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=sft_dataset(n=256, conversational=True),
            eval_dataset=sft_dataset(n=32, conversational=True, seed=1),
            processing_class=tokenizer,
        )
        trainer.remove_callback(PrinterCallback)  # one summary line below instead of a dict per step
        trainer.train()
        history = [entry for entry in trainer.state.log_history if "loss" in entry]
        print(f"train/loss: {history[0]['loss']:.3f} at step {history[0]['step']} -> "
              f"{history[-1]['loss']:.3f} at step {history[-1]['step']}")  # fmt: skip
    finish()
    return run


def _synthetic(project: str, steps: int, directory) -> Run:
    rng = random.Random(0)
    run = init(
        project=project,
        group="synthetic",
        config={"model": "synthetic", "learning_rate": 3e-4, "warmup_steps": 50, "max_steps": steps},
        dir=directory,
    )
    for step in range(1, steps + 1):
        warmup = min(1.0, step / 50)
        lr = 3e-4 * warmup * 0.5 * (1 + math.cos(math.pi * step / steps))
        loss = 2.5 * math.exp(-step / (steps / 4)) + 0.4 + rng.gauss(0, 0.03)
        run.log(
            {"train/loss": loss, "train/learning_rate": lr, "train/grad_norm": abs(rng.gauss(1.0, 0.2))},
            step=step,
        )
        if step % 50 == 0:
            run.log({"eval/loss": loss + 0.05 + rng.gauss(0, 0.01)}, step=step)
    run.finish()
    return run
