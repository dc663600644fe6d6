"""A training process that ends in one chosen way, for tests/test_end_reasons.py.

    python tests/scripts/end_reasons.py ENDING DIR NAME [DATASET_ID]

It logs ``train/loss`` at steps 0..STEPS-1 to run ``NAME`` of project ``ends`` under ``DIR`` (syncing to
``DATASET_ID`` when given), then ends as ``ENDING`` says:

    finish        trackio_callback.finish()
    value_error   an uncaught ValueError raised two calls deep
    with_error    a ValueError leaving ``with trackio_callback.init(...)``
    cuda_oom      an uncaught torch.OutOfMemoryError (raised: this machine has no GPU)
    health_stop   run.set_end_reason("health_stop", ...) then finish(), as TrackioCallback(on_nan="stop") does
    loop          keeps logging (one step per millisecond) until a signal ends it; prints "ready" once the
                  first steps are committed
    with_loop     the same inside ``with trackio_callback.init(...)``
"""

import sys
import time

import trackio_callback

PROJECT = "ends"
STEPS = 5
OOM_TEXT = "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB"


def load_batch(index: int) -> None:
    raise ValueError(f"bad batch {index}")


def training_step(index: int) -> None:
    load_batch(index)


def log_steps(run: trackio_callback.Run) -> None:
    for step in range(STEPS):
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)


def loop(run: trackio_callback.Run) -> None:
    log_steps(run)
    run.flush(30)
    print("ready", flush=True)
    step = STEPS
    while True:
        run.log({"train/loss": 1.0 / (step + 1)}, step=step)
        step += 1
        time.sleep(0.001)


def main(ending: str, directory: str, name: str, dataset_id: str | None) -> None:
    options = {"project": PROJECT, "name": name, "dir": directory, "flush_every": 0.2, "dataset_id": dataset_id}
    if ending.startswith("with_"):
        with trackio_callback.init(**options) as run:
            if ending == "with_loop":
                loop(run)
            log_steps(run)
            training_step(STEPS)
        return
    run = trackio_callback.init(**options)
    if ending == "loop":
        loop(run)
    log_steps(run)
    if ending == "finish":
        trackio_callback.finish()
    elif ending == "value_error":
        training_step(STEPS)
    elif ending == "cuda_oom":
        import torch

        raise torch.OutOfMemoryError(OOM_TEXT)
    elif ending == "health_stop":
        run.set_end_reason("health_stop", "NaN loss: training stopped", alert="nan_loss", step=STEPS - 1)
        trackio_callback.finish()
    else:
        raise SystemExit(f"unknown ending {ending!r}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
