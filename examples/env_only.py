# /// script
# requires-python = ">=3.10"
# dependencies = [
#     "trl>=0.12.0",
#     "trackio-callback",  # stands in for "trackio": report_to="trackio" and trackio.init/log/finish
#     "transformers",
#     "datasets",
# ]
# ///
"""SFT of Qwen/Qwen2.5-0.5B on trl-lib/Capybara with the tracking configured by environment variables only.

No ``trackio.init()``: with ``report_to="trackio"`` the callback opens the run when training starts, from the
``TrainingArguments`` (``run_name``; ``project`` and ``trackio_space_id`` left at their defaults) and the environment,
and finishes it (final flush and Hub sync) when training ends. The same script then serves every project and Space:

=====================  ==========================================================================================
``TRACKIO_PROJECT``    the project (default ``huggingface``)
``TRACKIO_SPACE_ID``   e.g. ``username/trackio``: sync to the dataset ``username/trackio-dataset`` (needs HF_TOKEN)
``TRACKIO_DATASET_ID`` sync to this dataset instead of ``<space_id>-dataset``
``TRACKIO_DIR``        the local store's directory (default ``$HF_HOME/trackio-callback``)
=====================  ==========================================================================================

::

    hf jobs uv run --flavor a10g-small --secrets HF_TOKEN --env TRACKIO_PROJECT=qwen-capybara-sft \\
        --env TRACKIO_SPACE_ID=username/trackio examples/env_only.py
    TRACKIO_PROJECT=my-project python examples/env_only.py --tiny   # offline: a tiny model, a few steps on CPU

A group needs ``trackio.init(group=...)`` or ``TrackioCallback(group=...)``: there is no environment variable for it.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime

MODEL = "Qwen/Qwen2.5-0.5B"
DATASET = "trl-lib/Capybara"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"SFT of {MODEL} on {DATASET}; tracking configured by TRACKIO_* environment variables only."
    )
    parser.add_argument("--tiny", action="store_true", help="offline: tiny model and data, a few steps on CPU")
    parser.add_argument("--max-steps", type=int, default=None, help="default: 8 with --tiny, else -1 (use --epochs)")
    parser.add_argument("--epochs", type=float, default=3.0, help="number of epochs when --max-steps is not set")
    parser.add_argument("--output-dir", default=None, help="default: Qwen2.5-0.5B-SFT (tiny-sft with --tiny)")
    return parser.parse_args(argv)


def print_where(trainer) -> None:
    """Where the callback put the run, and the commands that show it."""
    from trackio_callback import Reader
    from trackio_callback.callback import TrackioCallback

    callback = next(c for c in trainer.callback_handler.callbacks if isinstance(c, TrackioCallback))
    reader = Reader()  # the same directory as the run's: $TRACKIO_DIR, else the default
    run = reader.run(callback.project, callback.name)
    print(f"\nRun {run['name']!r} of project {callback.project!r} {run['status']}.")
    print(f"Metrics: local store {reader.dir / (callback.project + '.db')}")
    dataset_id = run["settings"].get("dataset_id")
    if dataset_id:
        print(f"         synced to the Hub dataset {dataset_id} (every 5 minutes and at the end of training)")
        if run["settings"].get("space_id"):
            print(f"         dashboard: https://huggingface.co/spaces/{run['settings']['space_id']}")
    else:
        print("         not synced to the Hub (no TRACKIO_SPACE_ID): on an HF Jobs runner they go with its disk")
    print("View them with:")
    print(f"  trackio-callback show --project {callback.project}")
    if os.environ.get("TRACKIO_DIR"):
        print(f"  (with TRACKIO_DIR={os.environ['TRACKIO_DIR']}, or: trackio-callback --dir {reader.dir} show ...)")
    if dataset_id:
        print(f"  trackio-callback show --dataset-id {dataset_id}   # from any machine")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.tiny:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: any Hub call fails fast
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    import trackio_callback  # noqa: F401  (registers report_to="trackio" where .pth start-up hooks do not run)

    max_steps = args.max_steps if args.max_steps is not None else (8 if args.tiny else -1)
    output_dir = args.output_dir or ("tiny-sft" if args.tiny else f"{MODEL.split('/')[-1]}-SFT")
    if args.tiny:
        from trackio_callback.tiny import checkpoint, cpu_settings, sft_dataset

        model, tokenizer = checkpoint(os.path.join(output_dir, "tiny-model"))
        train_dataset = sft_dataset(n=64, conversational=True)  # "messages" like Capybara's
        settings = {
            **cpu_settings(SFTConfig),
            "per_device_train_batch_size": 4,
            "logging_steps": 1,
            "learning_rate": 1e-3,
            "max_length": 32,
        }
    else:
        model, tokenizer = MODEL, None  # TRL loads the tokenizer from the model id
        train_dataset = load_dataset(DATASET, split="train")
        settings = {}

    trainer = SFTTrainer(
        model=model,
        processing_class=tokenizer,
        train_dataset=train_dataset,
        args=SFTConfig(
            output_dir=output_dir,
            run_name=f"sft-{datetime.now():%Y%m%d-%H%M%S}",  # the run's name; the rest comes from TRACKIO_*
            num_train_epochs=args.epochs,
            max_steps=max_steps,
            report_to="trackio",
            **settings,
        ),
    )
    trainer.train()  # opens the run, logs, and at the end finishes it: flush and final Hub sync
    print_where(trainer)


if __name__ == "__main__":
    main()
