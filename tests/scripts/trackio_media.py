"""A training script written for trackio 0.43, as its examples log media: run unchanged by tests/test_media.py.

It draws an overlay image at every step (``trackio.Image`` of a PIL image, with a caption), logs the weights of a
layer as a ``trackio.Histogram`` and the step's rollouts as a list of ``trackio.Trace``, then a completions table
with an image column (``trackio.Table(dataframe=df)``, as TRL's VLM trainers log it) and a Markdown report.
The test imports the same functions to know what was logged.
"""

import math

import numpy as np
import pandas as pd
import trackio
from PIL import Image as PILImage
from PIL import ImageDraw

PROJECT = "media-script"
RUN = "overlay"
STEPS = 4
GENERATIONS = 2
SIZE = 48
REPORT = "# Overlay run\n\n- target in green, prediction in red\n- loss falls by half each step"


def loss(step: int) -> float:
    return 2.0 * 0.5**step


def caption(step: int) -> str:
    return f"step={step}, loss={loss(step):.3f}"


def overlay(step: int) -> PILImage.Image:
    """The target (green) and the prediction (red) at ``step``, joined by a yellow line."""
    image = PILImage.new("RGB", (SIZE, SIZE), "black")
    draw = ImageDraw.Draw(image)
    tx, ty = SIZE // 2 + int(12 * math.sin(step)), SIZE // 2 + int(12 * math.cos(step))
    px, py = tx + 3 * (STEPS - step), ty - 2 * (STEPS - step)
    draw.ellipse((tx - 4, ty - 4, tx + 4, ty + 4), fill=(0, 255, 0))
    draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=(255, 80, 80))
    draw.line([(tx, ty), (px, py)], fill=(255, 255, 0), width=1)
    return image


def weights(step: int) -> np.ndarray:
    return np.random.default_rng(step).normal(scale=1.0 / (step + 1), size=(16, 32))


def rollout(step: int, index: int) -> dict:
    return {
        "messages": [
            {"role": "user", "content": f"Where is the target at step {step}?"},
            {"role": "assistant", "content": f"Guess {index}: near the centre."},
        ],
        "metadata": {"reward": round(1.0 - loss(step) / 2, 3), "generation": index},
        "spans": [],
    }


def main() -> None:
    trackio.init(project=PROJECT, name=RUN, config={"steps": STEPS}, auto_log_cpu=False, auto_log_gpu=False)
    for step in range(STEPS):
        trackio.log(
            {
                "train/loss": loss(step),
                "samples/overlay": trackio.Image(overlay(step), caption=caption(step)),
                "weights/layer0": trackio.Histogram(weights(step)),
                "rollouts": [trackio.Trace(**rollout(step, i)) for i in range(GENERATIONS)],
            },
            step=step,
        )
    completions = pd.DataFrame(
        {
            "prompt": [f"draw step {step}" for step in range(STEPS)],
            "completion": [f"circle at step {step}" for step in range(STEPS)],
            "reward": [loss(step) for step in range(STEPS)],
            "image": [[trackio.Image(overlay(step))] for step in range(STEPS)],
        }
    )
    trackio.log({"completions": trackio.Table(dataframe=completions)})
    trackio.log({"report": trackio.Markdown(REPORT)})
    trackio.finish()


if __name__ == "__main__":
    main()
