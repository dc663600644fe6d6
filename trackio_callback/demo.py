"""The embedded demo job: a synthetic training curve logged to the local store, no network."""

from __future__ import annotations

import math
import os
import random

from .run import init


def main(project: str = "demo", steps: int = 500, directory: str | os.PathLike | None = None) -> None:
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
    where = f"--dir {directory} " if directory is not None else ""
    print(f"Logged {steps} steps to run {run.name!r} of project {project!r}, stored in {run.path}")
    print("Look at it with:")
    print(f"  trackio-callback {where}list runs --project {project}")
    print(f"  trackio-callback {where}get run --project {project} --run {run.name}")
    print(f"  trackio-callback {where}get metric --project {project} --run {run.name} --metric train/loss --json")


if __name__ == "__main__":
    main()
