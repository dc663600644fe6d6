"""Tiny, fully offline fixtures for tests that run real ``transformers``/TRL training on CPU in seconds.

Everything is built locally, nothing is downloaded: the tokenizer, models and SFT data come from
``trackio_callback.tiny`` (shared with the demo job); this module adds the LM, DPO and GRPO data and config factories
tuned so that each trainer runs a handful of steps in a few seconds on 2 CPU cores. Typical use::

    from tests.tiny import build_model, build_tokenizer, sft_config, sft_dataset

    tokenizer = build_tokenizer()
    model = build_model("gpt2", tokenizer=tokenizer)
    trainer = SFTTrainer(model=model, args=sft_config(tmp_path, report_to="trackio"), train_dataset=sft_dataset(),
                         processing_class=tokenizer)
    trainer.train()

or, in one call, ``make_sft_trainer(tmp_path, report_to="trackio")`` (and ``make_trainer``, ``make_dpo_trainer``,
``make_grpo_trainer``). Pass model *objects* and ``processing_class=tokenizer`` to TRL trainers: given a name or no
processing class, they would try to fetch them from the Hub. DPO builds its reference model from the policy's
``name_or_path`` unless it is given one, so ``make_dpo_trainer`` passes an identical copy.

Importing this module sets ``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE`` and ``HF_DATASETS_OFFLINE`` (unless already
set) so that an accidental Hub call fails fast instead of waiting on the network. They are process-wide, and
``huggingface_hub`` reads them once, when it is first imported: import this module before ``transformers`` where that
matters, and note that real ``huggingface_hub`` HTTP calls later in the same process raise ``OfflineModeIsEnabled``.
Nothing here needs them: the fixtures make no network call without them either.

``KNOWN_WARNINGS`` lists ``pytest.mark.filterwarnings`` specs for warnings the installed libraries raise by themselves.
"""

from __future__ import annotations

import os

for _variable, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
}.items():
    os.environ.setdefault(_variable, _value)

import copy  # noqa: E402
import random  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

from trackio_callback.tiny import (  # noqa: E402  (re-exported: the tests' one place for tiny fixtures)
    EVAL_SEED,
    SEED,
    ModelKind,
    build_model,
    build_tokenizer,
    cpu_settings,
    dpo_dataset,
    grpo_dataset,
    reward_len,
    sentence,
    sft_dataset,
)

if TYPE_CHECKING:
    from datasets import Dataset
    from transformers import (
        DataCollatorForLanguageModeling,
        PreTrainedTokenizerFast,
        Trainer,
        TrainerCallback,
        TrainingArguments,
    )
    from trl import DPOConfig, DPOTrainer, GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer


# ``pytest.mark.filterwarnings`` specs for what the installed libraries warn about by themselves during these runs:
# TRL 1.16's DPO and GRPO read ``model.is_gradient_checkpointing``, which transformers 5.24 deprecated (every step).
KNOWN_WARNINGS = ("ignore:`is_gradient_checkpointing` is deprecated:FutureWarning",)

# ---------------------------------------------------------------------------------------------------------- datasets


def lm_texts(n: int = 32, seed: int = SEED) -> list[str]:
    """Plain sentences for language modelling."""
    rng = random.Random(seed)
    return [sentence(rng) for _ in range(n)]


def lm_dataset(tokenizer: PreTrainedTokenizerFast, n: int = 32, max_length: int = 16, seed: int = SEED) -> Dataset:
    """Tokenized sentences (``input_ids``/``attention_mask``) for a plain ``Trainer`` with :func:`lm_collator`."""
    from datasets import Dataset

    encoded = tokenizer(lm_texts(n, seed), truncation=True, max_length=max_length)
    return Dataset.from_dict({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]})


def lm_collator(tokenizer: PreTrainedTokenizerFast) -> DataCollatorForLanguageModeling:
    """Pads a batch and copies ``input_ids`` to ``labels`` (pad positions set to -100)."""
    from transformers import DataCollatorForLanguageModeling

    return DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False)


# ----------------------------------------------------------------------------------------------------------- configs

# Shared by every factory: a few steps, log every step, no reporting; plus `cpu_settings` (fp32, no checkpoints, no
# worker processes, activation checkpointing off).
_COMMON: dict[str, Any] = {
    "max_steps": 4,
    "per_device_train_batch_size": 4,
    "per_device_eval_batch_size": 4,
    "learning_rate": 1e-3,
    "logging_steps": 1,
    "report_to": "none",
    "seed": SEED,
}


def _settings(config_class: type) -> dict[str, Any]:
    return {**cpu_settings(config_class), **_COMMON}


def _evaluation(eval_steps: int | None) -> dict[str, Any]:
    return {"eval_strategy": "steps", "eval_steps": eval_steps} if eval_steps else {}


def trainer_args(output_dir: str | Path, eval_steps: int | None = None, **overrides: Any) -> TrainingArguments:
    """``TrainingArguments`` for a plain ``Trainer``; ``eval_steps=2`` evaluates every 2 steps (needs an eval set)."""
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(output_dir), **{**_settings(TrainingArguments), **_evaluation(eval_steps), **overrides}
    )


def sft_config(output_dir: str | Path, eval_steps: int | None = None, **overrides: Any) -> SFTConfig:
    """``SFTConfig`` with sequences cut at 32 tokens."""
    from trl import SFTConfig

    settings = {**_settings(SFTConfig), "max_length": 32, **_evaluation(eval_steps), **overrides}
    return SFTConfig(output_dir=str(output_dir), **settings)


def dpo_config(output_dir: str | Path, eval_steps: int | None = None, **overrides: Any) -> DPOConfig:
    """``DPOConfig`` with prompt+completion cut at 32 tokens."""
    from trl import DPOConfig

    settings = {**_settings(DPOConfig), "max_length": 32, **_evaluation(eval_steps), **overrides}
    return DPOConfig(output_dir=str(output_dir), **settings)


def grpo_config(output_dir: str | Path, eval_steps: int | None = None, **overrides: Any) -> GRPOConfig:
    """``GRPOConfig``: 2 completions of at most 8 tokens per prompt, 2 prompts per step, ``log_completions=True``.

    ``log_completions`` writes ``output_dir/completions/completions_<step>.parquet`` at every log, and prints a table
    when ``rich`` is installed.
    """
    from trl import GRPOConfig

    settings = {
        **_settings(GRPOConfig),
        "num_generations": 2,
        "max_completion_length": 8,
        "log_completions": True,
        **_evaluation(eval_steps),
        **overrides,
    }
    return GRPOConfig(output_dir=str(output_dir), **settings)


# ---------------------------------------------------------------------------------------------------------- trainers


def make_trainer(
    output_dir: str | Path,
    kind: ModelKind = "gpt2",
    eval_steps: int | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **args: Any,
) -> Trainer:
    """A plain ``Trainer`` on :func:`lm_dataset`; with ``eval_steps``, also an eval set evaluated that often."""
    from transformers import Trainer

    tokenizer = build_tokenizer()
    return Trainer(
        model=build_model(kind, tokenizer=tokenizer),
        args=trainer_args(output_dir, eval_steps=eval_steps, **args),
        train_dataset=lm_dataset(tokenizer),
        eval_dataset=lm_dataset(tokenizer, n=8, seed=EVAL_SEED) if eval_steps else None,
        data_collator=lm_collator(tokenizer),
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def make_sft_trainer(
    output_dir: str | Path,
    kind: ModelKind = "gpt2",
    conversational: bool = False,
    eval_steps: int | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **args: Any,
) -> SFTTrainer:
    """An ``SFTTrainer`` on :func:`sft_dataset` (``text``, or ``messages`` if ``conversational``)."""
    from trl import SFTTrainer

    tokenizer = build_tokenizer()
    return SFTTrainer(
        model=build_model(kind, tokenizer=tokenizer),
        args=sft_config(output_dir, eval_steps=eval_steps, **args),
        train_dataset=sft_dataset(conversational=conversational),
        eval_dataset=sft_dataset(n=8, conversational=conversational, seed=EVAL_SEED) if eval_steps else None,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def make_dpo_trainer(
    output_dir: str | Path,
    kind: ModelKind = "gpt2",
    conversational: bool = False,
    eval_steps: int | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **args: Any,
) -> DPOTrainer:
    """A ``DPOTrainer`` on :func:`dpo_dataset`, with a copy of the policy as reference model.

    Without ``ref_model``, DPO would load one from the policy's ``name_or_path``, which is empty for a model built from
    a config (pass a ``trackio_callback.tiny.save_pretrained`` directory as ``model`` instead to use that path).
    """
    from trl import DPOTrainer

    tokenizer = build_tokenizer()
    model = build_model(kind, tokenizer=tokenizer)
    return DPOTrainer(
        model=model,
        ref_model=copy.deepcopy(model),
        args=dpo_config(output_dir, eval_steps=eval_steps, **args),
        train_dataset=dpo_dataset(conversational=conversational),
        eval_dataset=dpo_dataset(n=8, conversational=conversational, seed=EVAL_SEED) if eval_steps else None,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def make_grpo_trainer(
    output_dir: str | Path,
    kind: ModelKind = "gpt2",
    conversational: bool = False,
    eval_steps: int | None = None,
    callbacks: list[TrainerCallback] | None = None,
    **args: Any,
) -> GRPOTrainer:
    """A ``GRPOTrainer`` on :func:`grpo_dataset` rewarded by :func:`reward_len`, logging completions."""
    from trl import GRPOTrainer

    tokenizer = build_tokenizer()
    return GRPOTrainer(
        model=build_model(kind, tokenizer=tokenizer),
        reward_funcs=reward_len,
        args=grpo_config(output_dir, eval_steps=eval_steps, **args),
        train_dataset=grpo_dataset(conversational=conversational),
        eval_dataset=grpo_dataset(n=4, conversational=conversational, seed=EVAL_SEED) if eval_steps else None,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
