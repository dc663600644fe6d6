"""The real-GPU check: a tiny training on CUDA with NVML sampling every second, then what was recorded.

Run on a machine with an NVIDIA GPU (the test suite fakes NVML; this is the one real check)::

    python benchmarks/gpu_check.py [--steps 300] [--dir /tmp/gpu-check]

It trains a tiny Qwen2-style model (built offline) with ``report_to="trackio"``, bf16 when the GPU
supports it, samples system metrics every second, and prints: the GPUs NVML reported, every
``system/*`` key with its number of samples and last value, the throughput keys (``train/mfu``
included when the GPU is in the peak-FLOP/s table) and ``train/peak_memory_gb``. It exits 1 when an
expected key is missing, so a plain exit status says whether the check passed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--dir", default=None, help="storage directory (default: a temporary one)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    if not torch.cuda.is_available():
        print("no CUDA device: this check needs an NVIDIA GPU", file=sys.stderr)
        return 2
    from transformers import Trainer, TrainingArguments

    import trackio_callback as trackio
    from trackio_callback.callback import TrackioCallback
    from trackio_callback.tiny import build_model, build_tokenizer, sentence

    directory = args.dir or tempfile.mkdtemp(prefix="gpu-check-")
    tokenizer = build_tokenizer()
    model = build_model("qwen2", tokenizer=tokenizer)
    import random

    from datasets import Dataset
    from transformers import DataCollatorForLanguageModeling

    rng = random.Random(0)
    texts = [" ".join(sentence(rng) for _ in range(4)) for _ in range(2048)]
    encoded = tokenizer(texts, truncation=True, max_length=64)
    data = Dataset.from_dict({"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"]})
    bf16 = torch.cuda.is_bf16_supported()
    with tempfile.TemporaryDirectory() as output_dir:
        trainer = Trainer(
            model=model,
            args=TrainingArguments(
                output_dir=output_dir,
                max_steps=args.steps,
                per_device_train_batch_size=64,
                logging_steps=5,
                learning_rate=1e-3,
                bf16=bf16,
                report_to="none",
                save_strategy="no",
                disable_tqdm=True,
                run_name="gpu-check",
                project="gpu-check",
            ),
            train_dataset=data,
            data_collator=DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm=False),
            callbacks=[TrackioCallback(dir=directory, system_metrics=1.0)],
        )
        trainer.train()
    reader = trackio.Reader(directory)
    print(f"device: {torch.cuda.get_device_name(0)}, bf16={bf16}, store: {directory}")
    system_keys = reader.system_keys("gpu-check", "gpu-check")
    for key in system_keys:
        points = reader.system_series("gpu-check", "gpu-check", key)
        print(f"  {key}: {len(points)} samples, last {points[-1]['value']:.4g}")
    summary = reader.summary("gpu-check", "gpu-check")["metrics"]
    for key in ("train/tokens_per_second", "train/flops_per_second", "train/mfu", "train/peak_memory_gb"):
        if key in summary:
            print(f"  {key}: last {summary[key]['last']:.4g}, max {summary[key]['max']:.4g}")
    expected = {"system/gpu0/utilization", "system/gpu0/memory_used_gb", "system/gpu0/power_w"}
    missing = sorted(expected - set(system_keys)) + [k for k in ("train/peak_memory_gb",) if k not in summary]
    if missing:
        print(f"MISSING: {missing}", file=sys.stderr)
        return 1
    print("gpu check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
