"""A tiny Trainer job that can be preempted and restarted: `tests/test_preemption.py` drives it.

    python preempted_training.py OUTPUT_DIR MAX_STEPS [--resume] [--sync-on-save] [--history FILE]

It trains with ``TrackioCallback(dataset_id=$DATASET)`` into ``$TRACKIO_DIR``, saves every 5 steps, sleeps
``$STEP_SLEEP`` seconds per step so that a signal lands mid-training, and prints ``step <n>`` after each step
(a test signals it between two saves: a checkpoint cut off half-written cannot be resumed from).
``--sync-on-save`` syncs the run to the Hub after each save and prints ``synced <step>``; ``--resume`` calls
``trainer.train(resume_from_checkpoint=True)``; ``--history`` writes the Trainer's log history as JSON.
"""

from __future__ import annotations

import json
import os
import sys
import time

from transformers import TrainerCallback

import trackio_callback
from tests import tiny
from trackio_callback.integrations.callback import TrackioCallback


class Pace(TrainerCallback):
    def __init__(self, sync_on_save: bool):
        self.sync_on_save = sync_on_save

    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(float(os.environ.get("STEP_SLEEP", "0.05")))
        print(f"step {state.global_step}", flush=True)

    def on_save(self, args, state, control, **kwargs):
        if self.sync_on_save:
            run = trackio_callback.current_run()
            run.flush(30)
            run._uploader.sync()
            print(f"synced {state.global_step}", flush=True)


def main() -> None:
    output_dir, max_steps = sys.argv[1], int(sys.argv[2])
    flags = sys.argv[3:]
    trainer = tiny.make_trainer(
        output_dir,
        report_to="none",
        run_name="preemptible",
        max_steps=max_steps,
        logging_steps=1,
        save_strategy="steps",
        save_steps=5,
        callbacks=[TrackioCallback(dataset_id=os.environ["DATASET"]), Pace("--sync-on-save" in flags)],
    )
    print("training", flush=True)
    trainer.train(resume_from_checkpoint=True if "--resume" in flags else None)
    if "--history" in flags:
        with open(flags[flags.index("--history") + 1], "w") as file:
            json.dump(trainer.state.log_history, file)


if __name__ == "__main__":
    main()
