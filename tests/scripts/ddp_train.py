"""Trained by tests/test_callback.py under `torchrun --nproc_per_node=2` (CPU, gloo)."""

import json
import os
import sys

import torch
from datasets import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments

torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32))
data = Dataset.from_dict({"input_ids": [[(i * 7 + j) % 64 for j in range(16)] for i in range(64)]})
data = data.map(lambda row: {"labels": row["input_ids"]})
args = TrainingArguments(
    output_dir=sys.argv[1],
    max_steps=6,
    logging_steps=1,
    per_device_train_batch_size=4,
    report_to="trackio",
    run_name="ddp",
    project="ddp-project",
    save_strategy="no",
    use_cpu=True,
    disable_tqdm=True,
    ddp_backend="gloo",
)
trainer = Trainer(model=model, args=args, train_dataset=data)
trainer.train()
if trainer.is_world_process_zero():
    with open(os.path.join(sys.argv[1], "log_history.json"), "w") as out:
        json.dump(trainer.state.log_history, out)
if torch.distributed.is_initialized():
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
# On a loaded machine, CPython's teardown after gloo sometimes aborts in C++ ("terminate called without an
# active exception"), with or without any tracker (reproduced with report_to="none"). The run was finished by
# the callback at on_train_end, so skip the teardown.
sys.stdout.flush()
os._exit(0)
