"""The dataset card (``README.md``) of a trackio-callback dataset: ``configs`` front matter + summary."""

from __future__ import annotations

from collections.abc import Iterable

from huggingface_hub import DatasetCard, DatasetCardData

from .layout import KINDS

_DESCRIPTIONS = {
    "metrics": "one row per logged value: project, run_id, run_name, seq, step, timestamp, key, value",
    "system": "GPU/CPU/memory samples: project, run_id, run_name, seq, timestamp, step, node, key, value",
    "tables": "logged tables (e.g. TRL completions): project, run_id, run_name, seq, step, timestamp, key, data",
    "alerts": "alerts: project, run_id, run_name, seq, step, timestamp, level, title, text, value",
    "texts": "logged strings, Markdown and HTML: project, run_id, run_name, seq, step, timestamp, key, value, kind",
    "media": "images, audio, video and 3D objects: project, run_id, run_name, seq, step, timestamp, key, item, kind, "
    "caption, digest, format, size, width, height, duration, file (the file's path in this dataset, under "
    "`media/<project>/files/`), image (a thumbnail of an image)",
    "histograms": "histograms (e.g. of weights): project, run_id, run_name, seq, step, timestamp, key, edges, counts",
    "traces": "traces (conversations, rollouts): project, run_id, run_name, seq, step, timestamp, key, value (JSON)",
    "runs": "one row per run: name, group, status, times, last step, config, summary (JSON)",
}


def dataset_card(dataset_id: str, kinds: Iterable[str], runs: list[dict]) -> str:
    """README.md text. Only ``kinds`` that have files get a config (``load_dataset`` of an empty one fails)."""
    present = [kind for kind in (*KINDS, "runs") if kind in set(kinds)]
    data = DatasetCardData(
        configs=[
            {"config_name": kind, "data_files": [{"split": "train", "path": f"{kind}/**/*.parquet"}]}
            for kind in present
        ],
        tags=["trackio", "trackio-callback"],
    )
    lines = [
        f"# {dataset_id}",
        "",
        "Training runs tracked with [trackio-callback](https://pypi.org/project/trackio-callback/), synced",
        "as Parquet. Load one part with `datasets.load_dataset(repo_id, name)`:",
        "",
    ]
    lines += [f"- `{kind}`: {_DESCRIPTIONS[kind]}" for kind in present]
    if runs:
        lines += ["", "| project | run | group | status | last step |", "| --- | --- | --- | --- | ---: |"]
        for run in sorted(runs, key=lambda r: (r["project"], r["name"])):
            step = "" if run["last_step"] is None else run["last_step"]
            lines.append(f"| {run['project']} | {run['name']} | {run['group'] or ''} | {run['status']} | {step} |")
    return str(DatasetCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n".join(lines) + "\n"))
