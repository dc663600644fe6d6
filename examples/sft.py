# /// script
# requires-python = ">=3.10"
# dependencies = [
#     "trl>=0.12.0",
#     "trackio-callback",  # stands in for "trackio": report_to="trackio" and trackio.init/log/finish
#     "transformers",
#     "datasets",
# ]
# ///
"""SFT of Qwen/Qwen2.5-0.5B on trl-lib/Capybara, tracked as the guide "Trackio Integration for TRL Training" says.

``trackio.init(project, name, group, space_id, config)`` -> ``SFTConfig(report_to="trackio")`` -> ``trainer.train()``
-> ``trackio.finish()``. Metrics go to a local SQLite store and, with a Space id, to the Hub dataset
``<space_id>-dataset`` every 5 minutes and at the end (what keeps them when the machine is an ephemeral HF Jobs
runner)::

    hf jobs uv run --flavor a10g-small --secrets HF_TOKEN examples/sft.py --space-id username/trackio
    uv run examples/sft.py --space-id username/trackio     # on your own GPU machine
    python examples/sft.py --tiny                          # offline: a tiny model, a few steps on CPU, local only

``--tiny`` builds a 2-layer Qwen2-style model, a word-level tokenizer and generated chat data locally
(``trackio_callback.tiny``) and saves the model, so the trainer loads it by path as it loads ``Qwen/Qwen2.5-0.5B``
by name (the tokenizer is passed as an object: see ``trackio_callback.tiny.checkpoint``). Nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
from datetime import datetime

MODEL = "Qwen/Qwen2.5-0.5B"
DATASET = "trl-lib/Capybara"
DEFAULT_PROJECT = "qwen-capybara-sft"
GROUP = "SFT"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=f"SFT of {MODEL} on {DATASET}, tracked with trackio-callback.")
    parser.add_argument("--tiny", action="store_true", help="offline: tiny model and data, a few steps on CPU")
    parser.add_argument(
        "--project", default=os.environ.get("TRACKIO_PROJECT") or DEFAULT_PROJECT, help="default: $TRACKIO_PROJECT"
    )
    parser.add_argument(
        "--space-id",
        default=os.environ.get("TRACKIO_SPACE_ID") or None,
        help="e.g. username/trackio: sync to the dataset <space-id>-dataset and keep the Space's dashboard current "
        "(needs HF_TOKEN; default: $TRACKIO_SPACE_ID; unset: metrics stay local)",
    )
    parser.add_argument(
        "--dataset-id",
        default=os.environ.get("TRACKIO_DATASET_ID") or None,
        help="sync to this dataset instead of <space-id>-dataset (default: $TRACKIO_DATASET_ID)",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="default: 8 with --tiny, else -1 (use --epochs)")
    parser.add_argument("--epochs", type=float, default=3.0, help="number of epochs when --max-steps is not set")
    parser.add_argument("--learning-rate", type=float, default=None, help="default: 2e-5 (1e-3 with --tiny)")
    parser.add_argument("--output-dir", default=None, help="default: Qwen2.5-0.5B-SFT (tiny-sft with --tiny)")
    parser.add_argument("--hub-model-id", default=None, help="push the trained model there (a Jobs runner's disk goes)")
    return parser.parse_args(argv)


def print_where(run) -> None:
    """Where the metrics are, and the commands that show them."""
    print(f"\nRun {run.name!r} of project {run.project!r} (group {run.group!r}) finished.")
    print(f"Metrics: local store {run.path}")
    dataset_id = run.settings.get("dataset_id")
    if dataset_id:
        print(f"         synced to the Hub dataset {dataset_id} (every 5 minutes and at finish)")
        if run.space_id:
            print(f"         dashboard: https://huggingface.co/spaces/{run.space_id}")
    else:
        print("         not synced to the Hub (no --space-id): on an HF Jobs runner they go with its disk")
    print("View them with:")
    print(f"  trackio-callback show --project {run.project}")
    if os.environ.get("TRACKIO_DIR"):
        print(f"  (with TRACKIO_DIR={os.environ['TRACKIO_DIR']}, or: trackio-callback --dir {run.dir} show ...)")
    if dataset_id:
        print(f"  trackio-callback show --dataset-id {dataset_id}   # from any machine")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.tiny:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before transformers is imported: any Hub call fails fast
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from datasets import load_dataset
    from trl import SFTConfig, SFTTrainer

    import trackio_callback as trackio

    learning_rate = args.learning_rate or (1e-3 if args.tiny else 2e-5)
    max_steps = args.max_steps if args.max_steps is not None else (8 if args.tiny else -1)
    output_dir = args.output_dir or ("tiny-sft" if args.tiny else f"{MODEL.split('/')[-1]}-SFT")
    if args.tiny:
        from trackio_callback.tiny import checkpoint, cpu_settings, sft_dataset

        model, tokenizer = checkpoint(os.path.join(output_dir, "tiny-model"))
        train_dataset = sft_dataset(n=64, conversational=True)  # "messages" like Capybara's
        model_name, dataset_name = "tiny Qwen2 (trackio_callback.tiny)", "generated Q&A (trackio_callback.tiny)"
        settings = {**cpu_settings(SFTConfig), "per_device_train_batch_size": 4, "logging_steps": 1, "max_length": 32}
    else:
        model, tokenizer = MODEL, None  # TRL loads the tokenizer from the model id
        train_dataset = load_dataset(DATASET, split="train")
        model_name, dataset_name = MODEL, DATASET
        settings = {}

    name = f"sft-{datetime.now():%Y%m%d-%H%M%S}"
    run = trackio.init(
        project=args.project,
        name=name,
        group=GROUP,
        space_id=args.space_id,  # CRITICAL on Jobs: without it the metrics die with the runner
        dataset_id=args.dataset_id,
        config={
            "model": model_name,
            "dataset": dataset_name,
            "learning_rate": learning_rate,
            "num_epochs": args.epochs,
            "max_steps": max_steps,
        },
    )
    trainer = SFTTrainer(
        model=model,
        processing_class=tokenizer,
        train_dataset=train_dataset,
        args=SFTConfig(
            output_dir=output_dir,
            run_name=name,
            learning_rate=learning_rate,
            num_train_epochs=args.epochs,
            max_steps=max_steps,
            report_to="trackio",
            push_to_hub=args.hub_model_id is not None,
            hub_model_id=args.hub_model_id,
            **settings,
        ),
    )
    trainer.train()
    if args.hub_model_id:
        trainer.push_to_hub()
    trackio.finish()  # the final flush and Hub sync
    print_where(run)


if __name__ == "__main__":
    main()
