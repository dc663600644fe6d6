"""Trained by tests/test_alert_actions.py under `torchrun --nproc_per_node=2` (CPU, gloo).

Every process must take the same action at the same step: process zero alone saving or stopping would leave
the others waiting in the next collective. Each rank writes the steps it saved at and the step it stopped at.
"""

import json
import math
import os
import sys
import time

import torch
from datasets import Dataset
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainerCallback, TrainingArguments

from trackio_callback.integrations.callback import TrackioCallback

output_dir = sys.argv[1]
NAN_AT = 5


class Poison(TrainerCallback):
    """A NaN in the output layer just before step NAN_AT, on every process (the replicas stay identical)."""

    def on_step_begin(self, args, state, control, model=None, **kwargs):
        if state.global_step + 1 == NAN_AT:
            with torch.no_grad():
                model.lm_head.weight[0, 0] = math.nan


class Recorder(TrainerCallback):
    def __init__(self):
        self.saves = []

    def on_save(self, args, state, control, **kwargs):
        self.saves.append(state.global_step)


torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=64, n_positions=32))
data = Dataset.from_dict({"input_ids": [[(i * 7 + j) % 64 for j in range(16)] for i in range(64)]})
data = data.map(lambda row: {"labels": row["input_ids"]})
args = TrainingArguments(
    output_dir=output_dir,
    max_steps=8,
    logging_steps=1,
    per_device_train_batch_size=4,
    report_to="none",
    run_name="ddp-actions",
    project="ddp-project",
    save_strategy="no",
    logging_nan_inf_filter=False,
    use_cpu=True,
    disable_tqdm=True,
    ddp_backend="gloo",
)
# The deadline's checkpoint is due 0.3 s after the callback is made: at step 1, as process zero's clock says;
# the other process's own clock never decides.
callback = TrackioCallback(on_nan="stop", deadline=1000, save_before_deadline=999.7, system_metrics=False)
time.sleep(0.3)
recorder = Recorder()
trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[Poison(), callback, recorder])
trainer.train()
rank = int(os.environ["RANK"])
with open(os.path.join(output_dir, f"rank{rank}.json"), "w") as out:
    json.dump({"saves": recorder.saves, "stopped_at": trainer.state.global_step}, out)
if torch.distributed.is_initialized():
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
sys.stdout.flush()
os._exit(0)  # as ddp_train.py: CPython's teardown after gloo sometimes aborts on a loaded machine
