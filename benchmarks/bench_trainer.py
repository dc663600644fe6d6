"""Whole-process overhead of ``report_to="trackio"`` on a small CPU ``Trainer`` run.

Workload: a tiny GPT-2 (2 layers, 32-dim embeddings, 2 heads, vocabulary 256, 64 positions),
random-initialised from a fixed seed, trained by ``transformers.Trainer`` on synthetic token ids
(no tokenizer, nothing downloaded) for ``--steps`` (default 300) optimizer steps with
``logging_steps=1``, batch size 8, sequence length 32, on the CPU. Each measurement is one child
process (``python bench_trainer.py --child X``) timed by the driver from spawn to exit: interpreter
start, imports, model and Trainer set-up, training, the tracker's finish and the ``atexit`` handlers.
Three configurations:

- **A** ``report_to="none"`` with ``TRACKIO_CALLBACK_NO_HOOK=1``: nothing of trackio-callback or
  trackio runs (the baseline);
- **B** ``report_to="trackio"`` with the default environment: trackio-callback's start-up hook
  registers its ``TrackioCallback`` (what a user of trackio-callback gets);
- **C** ``report_to="trackio"`` with ``TRACKIO_CALLBACK_NO_HOOK=1``: transformers' own
  ``TrackioCallback`` with the real ``trackio`` package (0.43.0), the reference.

Rounds run the configurations alternately (A, B, C, then C, B, A, ...), each child with fresh
storage and output directories. The overhead of B and C is the median over rounds of the per-round
ratio (X / A - 1); the ratio of the medians is shown too. After every child (untimed), a verifier
process checks what it stored: B's run holds ``--steps`` ``train/loss`` points (read with
``trackio_callback.Reader``), C's SQLite database holds ``--steps`` rows with ``train/loss``, A stored
nothing. Target: B within 1% of A.

Usage (see benchmarks/README.md)::

    bash benchmarks/setup_trainer.sh && .bench-venv/bin/python benchmarks/bench_trainer.py [--pairs 5] [--steps 300]

The driver uses only the standard library; the children run under ``--python``, which needs torch,
transformers, trackio 0.43.0 and trackio-callback with its start-up hook installed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import cpu_model, usable_cores

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
PROJECT = "huggingface"  # TrainingArguments.project's default: both callbacks log there
LOSS_KEY = "train/loss"
SEED = 1234
VOCAB = 256
SEQ_LEN = 32
BATCH = 8
NUM_SAMPLES = 512
TARGET_PCT = 1.0
ISSUE_REFERENCE_PCT = 4.6
CONFIGS: dict[str, dict[str, Any]] = {
    "A": {"label": 'A. report_to="none"', "report_to": "none", "no_hook": True},
    "B": {"label": 'B. report_to="trackio" (trackio-callback)', "report_to": "trackio", "no_hook": False},
    "C": {"label": 'C. report_to="trackio", NO_HOOK=1 (trackio 0.43.0)', "report_to": "trackio", "no_hook": True},
    # Optional (--configs A,H,B,C): report_to="none" with the hook active, i.e. the hook's own cost.
    "H": {"label": 'H. report_to="none", hook active', "report_to": "none", "no_hook": False},
}
# Inherited variables that would change what a child does (remote logging, other projects, ...).
SCRUBBED_ENV = (
    "TRACKIO_CALLBACK_NO_HOOK",
    "TRACKIO_SPACE_ID",
    "TRACKIO_SERVER_URL",
    "TRACKIO_WRITE_TOKEN",
    "TRACKIO_BUCKET_ID",
    "TRACKIO_DATASET_ID",
    "TRACKIO_PROJECT",
    "TRACKIO_SYSTEM_METRICS",
    "TRACKIO_WEBHOOK_URL",
    "TRACKIO_STORAGE_MODE",
    "TRACKIO_PEAK_FLOPS",
    "SPACE_ID",
    "SYSTEM",
    "WANDB_PROJECT",
    "LOCAL_RANK",
    "RANK",
    "WORLD_SIZE",
)


# -- the child: one training process ----------------------------------------------------------------


def make_samples(count: int = NUM_SAMPLES) -> list[dict[str, list[int]]]:
    """Synthetic causal-LM samples: arithmetic progressions of token ids modulo the vocabulary."""
    import random

    rng = random.Random(SEED)
    samples = []
    for _ in range(count):
        start, stride = rng.randrange(VOCAB), rng.randrange(1, 8)
        ids = [(start + i * stride) % VOCAB for i in range(SEQ_LEN)]
        samples.append({"input_ids": ids, "labels": list(ids)})
    return samples


def child_train(config: str, steps: int, workdir: str, system_metrics: str, threads: int) -> None:
    """Train once under ``config`` and write the phase marks (``time.monotonic``) to ``workdir``."""
    marks = {"main": time.monotonic()}
    import threading

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments, set_seed

    marks["imports"] = time.monotonic()
    if threads:
        torch.set_num_threads(threads)
    if config == "C" and system_metrics == "off":
        # trackio has no environment variable for this; transformers' callback calls trackio.init itself.
        import functools

        import trackio

        trackio.init = functools.partial(trackio.init, auto_log_cpu=False, auto_log_gpu=False)
    set_seed(SEED)
    model = GPT2LMHeadModel(
        GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=VOCAB, n_positions=64, bos_token_id=0, eos_token_id=0)
    )
    args = TrainingArguments(
        output_dir=str(Path(workdir) / "output"),
        report_to=CONFIGS[config]["report_to"],
        max_steps=steps,
        logging_steps=1,
        per_device_train_batch_size=BATCH,
        learning_rate=1e-3,
        save_strategy="no",
        use_cpu=True,
        disable_tqdm=True,
        dataloader_num_workers=0,
        seed=SEED,
    )
    trainer = Trainer(model=model, args=args, train_dataset=make_samples())
    marks["setup"] = time.monotonic()
    result = trainer.train()
    marks["train"] = time.monotonic()
    callbacks = [f"{type(cb).__module__}.{type(cb).__qualname__}" for cb in trainer.callback_handler.callbacks]
    trackio_module = sys.modules.get("trackio")
    info = {
        "marks": marks,
        "callbacks": [name for name in callbacks if "trackio" in name.lower()],
        "trackio_module": getattr(trackio_module, "__file__", None),
        "train_loss": result.training_loss,
        "global_step": result.global_step,
        "threads_after_train": sorted(t.name for t in threading.enumerate() if t is not threading.main_thread()),
        "torch_threads": torch.get_num_threads(),
    }
    Path(workdir, "child.json").write_text(json.dumps(info))


def child_verify(config: str, steps: int, workdir: str) -> None:
    """Untimed: check what the child of ``config`` stored in ``workdir/trackio``; print JSON."""
    store = Path(workdir) / "trackio"
    files = sorted(str(p.relative_to(store)) for p in store.rglob("*") if p.is_file()) if store.is_dir() else []
    out: dict[str, Any] = {"files": files, "problems": []}
    problems = out["problems"]
    if CONFIGS[config]["report_to"] == "none":
        if files:
            problems.append(f"report_to='none' stored files: {files}")
    elif config == "B":
        from trackio_callback import Reader

        with Reader(store) as reader:
            runs = reader.runs(PROJECT)
            out["runs"] = [run["name"] for run in runs]
            if len(runs) != 1:
                problems.append(f"expected 1 run in project {PROJECT!r}, found {len(runs)}")
            else:
                run = runs[0]
                out["status"] = run["status"]
                out["num_logs"] = run["num_logs"]
                out["loss_points"] = len(reader.series(PROJECT, run["name"], LOSS_KEY))
                out["metric_keys"] = reader.metric_keys(PROJECT, run["name"])
                out["system_keys"] = len(reader.system_keys(PROJECT, run["name"]))
                if run["status"] != "finished":
                    problems.append(f"run status {run['status']!r}, expected 'finished'")
    else:  # C: trackio's SQLite layout, <TRACKIO_DIR>/<project>.db, one metrics row per log() call
        import sqlite3

        db = store / f"{PROJECT}.db"
        if not db.exists():
            problems.append(f"no {db.name} in {store} (files: {files})")
        else:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
                rows = conn.execute("SELECT run_name, metrics FROM metrics").fetchall()
                out["runs"] = sorted({name for name, _ in rows})
                out["num_logs"] = len(rows)
                out["loss_points"] = sum(1 for _, metrics in rows if LOSS_KEY in json.loads(metrics))
                out["system_rows"] = conn.execute("SELECT count(*) FROM system_metrics").fetchone()[0]
            if len(out["runs"]) != 1:
                problems.append(f"expected 1 run, found {out['runs']}")
    if "loss_points" in out and out["loss_points"] != steps:
        problems.append(f"{out['loss_points']} {LOSS_KEY} points stored, expected {steps}")
    print(json.dumps(out))


# -- the driver --------------------------------------------------------------------------------------


def child_env(config: str, workdir: Path, system_metrics: str, threads: int) -> dict[str, str]:
    """The environment of one child: offline, a fresh TRACKIO_DIR, the hook on or off per ``config``."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        {
            "TRACKIO_DIR": str(workdir / "trackio"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "CUDA_VISIBLE_DEVICES": "",
            "PYTHONDONTWRITEBYTECODE": "1",  # every child reads the same .pyc files, none writes
        }
    )
    if CONFIGS[config]["no_hook"]:
        env["TRACKIO_CALLBACK_NO_HOOK"] = "1"
    if system_metrics == "off":
        env["TRACKIO_SYSTEM_METRICS"] = "0"  # trackio-callback's switch; trackio's is patched in the child
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_child(args: argparse.Namespace, config: str, workroot: Path) -> dict[str, Any]:
    """Spawn one timed training child, then (untimed) its verifier; the wall time and the checks."""
    workdir = Path(tempfile.mkdtemp(prefix=f"trainer-{config}-", dir=workroot))
    env = child_env(config, workdir, args.system_metrics, args.threads)
    command = [args.python, str(SCRIPT), "--child", config, "--steps", str(args.steps), "--child-dir", str(workdir)]
    command += ["--system-metrics", args.system_metrics, "--threads", str(args.threads)]
    log_path = workdir / "child.log"
    with open(log_path, "wb") as log:
        start = time.monotonic()
        done = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        wall = time.monotonic() - start
    log_text = log_path.read_text(errors="replace")
    record: dict[str, Any] = {"config": config, "wall_s": wall, "returncode": done.returncode, "problems": []}
    if done.returncode != 0 or not (workdir / "child.json").exists():
        record["problems"].append(f"child exited with {done.returncode}; last output:\n{log_text[-3000:]}")
        _cleanup(workdir, args.keep)
        return record
    info = json.loads((workdir / "child.json").read_text())
    marks = info.pop("marks")
    record["phases_s"] = {
        "startup": marks["main"] - start,
        "imports": marks["imports"] - marks["main"],
        "setup": marks["setup"] - marks["imports"],
        "train": marks["train"] - marks["setup"],
        "exit": start + wall - marks["train"],
    }
    record.update(info)
    record["trackio_output"] = [line for line in log_text.splitlines() if line.startswith("* ")]
    record["problems"] += expected_callback_problems(config, info)
    verify = subprocess.run(
        [args.python, str(SCRIPT), "--verify", config, "--steps", str(args.steps), "--child-dir", str(workdir)],
        env=env,
        capture_output=True,
        text=True,
    )
    if verify.returncode != 0:
        record["problems"].append(f"verifier exited with {verify.returncode}: {verify.stderr[-2000:]}")
    else:
        record["stored"] = json.loads(verify.stdout.strip().splitlines()[-1])
        record["problems"] += record["stored"].pop("problems")
    _cleanup(workdir, args.keep)
    return record


def expected_callback_problems(config: str, info: dict[str, Any]) -> list[str]:
    """Whether the child ran the tracker its configuration names (and no other)."""
    callbacks, module = info["callbacks"], info["trackio_module"] or ""
    if CONFIGS[config]["report_to"] == "none":
        return [] if not callbacks else [f"report_to='none' ran {callbacks}"]
    if config == "B":
        ok = callbacks == ["trackio_callback.callback.TrackioCallback"]
    else:
        ok = callbacks == ["transformers.integrations.integration_utils.TrackioCallback"] and module.endswith(
            os.path.join("trackio", "__init__.py")
        )
    return [] if ok else [f"unexpected tracker for {config}: callbacks {callbacks}, trackio module {module!r}"]


def _cleanup(workdir: Path, keep: bool) -> None:
    if not keep:
        shutil.rmtree(workdir, ignore_errors=True)


def machine_info(python: str) -> dict[str, Any]:
    model = cpu_model()
    probe = (
        "import json, platform\n"
        "from importlib.metadata import version\n"
        "print(json.dumps({'python': platform.python_version(), **{n: version(n) for n in "
        "('torch', 'transformers', 'accelerate', 'trackio', 'trackio-callback')}}))"
    )
    env = {**os.environ, "TRACKIO_CALLBACK_NO_HOOK": "1"}
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True, env=env)
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "platform": platform.platform(),
        "python_executable": python,
        **json.loads(done.stdout),
    }


def preflight(python: str) -> list[str]:
    """Problems with ``python``'s environment that would make the comparison meaningless."""
    probe = (
        "import importlib.util, json, site, sys, os\n"
        "dirs = site.getsitepackages()\n"
        "print(json.dumps({'pth': any(os.path.exists(os.path.join(d, 'trackio_callback_hook.pth')) for d in dirs),"
        " 'missing': [m for m in ('torch', 'transformers', 'accelerate', 'trackio', 'trackio_callback',"
        " '_trackio_callback_hook') if importlib.util.find_spec(m) is None]}))"
    )
    env = {**os.environ, "TRACKIO_CALLBACK_NO_HOOK": "1"}
    done = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return [f"{python} cannot run the probe: {done.stderr.strip()[-500:]}"]
    found = json.loads(done.stdout)
    problems = [f"{python} lacks {', '.join(found['missing'])}"] if found["missing"] else []
    if not found["pth"]:
        problems.append(
            f"trackio_callback_hook.pth is not in {python}'s site-packages: report_to='trackio' would not "
            "reach trackio-callback (reinstall it: pip install --no-deps -e .)"
        )
    return problems


def default_python() -> str:
    """The driver's interpreter when it has the training stack, else the repository's .bench-venv."""
    if all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "trackio")):
        return sys.executable
    venv = REPO_ROOT / ".bench-venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def run_benchmark(args: argparse.Namespace) -> dict[str, Any]:
    configs = args.configs
    workroot = Path(tempfile.mkdtemp(prefix="bench-trainer-", dir=args.workdir))
    raw: dict[str, Any] = {"warmup": [], "rounds": []}
    try:
        for i in range(args.warmup):  # imports from a cold page cache would land on the first child
            for config in configs:
                _progress(f"warm-up {i + 1}/{args.warmup}: {config}")
                raw["warmup"].append(run_child(args, config, workroot))
        for i in range(args.pairs):
            order = configs if i % 2 == 0 else configs[::-1]
            round_records = {}
            for config in order:
                record = run_child(args, config, workroot)
                _progress(f"round {i + 1}/{args.pairs}: {config} {record['wall_s']:.2f} s")
                round_records[config] = record
            raw["rounds"].append({"order": order, "records": round_records})
    finally:
        if not args.keep:
            shutil.rmtree(workroot, ignore_errors=True)
    return raw


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def summarize(raw: dict[str, Any], configs: list[str]) -> dict[str, Any]:
    rounds = [r["records"] for r in raw["rounds"]]
    walls = {c: [r[c]["wall_s"] for r in rounds] for c in configs}
    medians = {c: statistics.median(v) for c, v in walls.items()}
    summary: dict[str, Any] = {"median_wall_s": medians, "walls_s": walls, "overhead": {}, "phases_median_s": {}}
    for config in configs:
        phases = [r[config]["phases_s"] for r in rounds if "phases_s" in r[config]]
        if phases:
            summary["phases_median_s"][config] = {k: statistics.median(p[k] for p in phases) for k in phases[0]}
        if config == "A":
            continue
        pair_pct = [100.0 * (r[config]["wall_s"] / r["A"]["wall_s"] - 1.0) for r in rounds]
        summary["overhead"][config] = {
            "pair_ratios_pct": pair_pct,
            "median_of_pair_ratios_pct": statistics.median(pair_pct),
            "ratio_of_medians_pct": 100.0 * (medians[config] / medians["A"] - 1.0),
            "min_pct": min(pair_pct),
            "max_pct": max(pair_pct),
        }
    return summary


def problems_of(raw: dict[str, Any]) -> list[str]:
    out = []
    records = list(raw["warmup"]) + [rec for r in raw["rounds"] for rec in r["records"].values()]
    for record in records:
        out += [f"{record['config']}: {p}" for p in record["problems"]]
    return out


def render(summary: dict[str, Any], configs: list[str], machine: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"Machine: {machine['cpu_model']}, {machine['usable_cores']} usable of {machine['cores']} cores, "
        f"{machine['platform']}",
        f"Python {machine['python']} ({machine['python_executable']}), torch {machine['torch']}, "
        f"transformers {machine['transformers']}, accelerate {machine['accelerate']}, trackio {machine['trackio']}, "
        f"trackio-callback {machine['trackio-callback']}",
        f"Workload: tiny GPT-2, {args.steps} steps, logging_steps=1, batch {BATCH} x {SEQ_LEN} tokens, CPU; "
        f"{args.pairs} rounds after {args.warmup} warm-up round(s); system metrics: {args.system_metrics}"
        + (f"; {args.threads} torch threads" if args.threads else ""),
        "",
        "| configuration | median wall (s) | overhead vs none (median of pair ratios) | ratio of medians | "
        "pair ratios min .. max | target |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for config in configs:
        median = summary["median_wall_s"][config]
        if config == "A":
            lines.append(f"| {CONFIGS[config]['label']} | {median:.2f} | — | — | — | baseline |")
            continue
        o = summary["overhead"][config]
        if config == "B":
            met = "met" if o["median_of_pair_ratios_pct"] <= TARGET_PCT else "NOT met"
            target = f"≤ {TARGET_PCT:g}%: {met}"
        elif config == "C":
            target = f"reference (the issue measured +{ISSUE_REFERENCE_PCT}%)"
        else:
            target = "informational"
        lines.append(
            f"| {CONFIGS[config]['label']} | {median:.2f} | {o['median_of_pair_ratios_pct']:+.2f}% | "
            f"{o['ratio_of_medians_pct']:+.2f}% | {o['min_pct']:+.2f}% .. {o['max_pct']:+.2f}% | {target} |"
        )
    lines += ["", "Median phase times (s), from the children's time.monotonic marks:", ""]
    phase_names = ["startup", "imports", "setup", "train", "exit"]
    lines += ["| configuration | " + " | ".join(phase_names) + " |", "| --- |" + " ---: |" * len(phase_names)]
    for config in configs:
        phases = summary["phases_median_s"].get(config)
        if phases:
            lines.append(f"| {config} | " + " | ".join(f"{phases[k]:.3f}" for k in phase_names) + " |")
    return "\n".join(lines)


def check_lines(raw: dict[str, Any], configs: list[str]) -> list[str]:
    """Correctness lines printed under the tables."""
    lines = []
    last = raw["rounds"][-1]["records"] if raw["rounds"] else {}
    for config in configs:
        record = last.get(config)
        if not record or "stored" not in record:
            continue
        stored = record["stored"]
        if "loss_points" in stored:
            lines.append(
                f"{config}: {stored['loss_points']} {LOSS_KEY} points stored, {stored.get('num_logs')} log rows, "
                f"runs {stored.get('runs')}; callbacks {record['callbacks']}; threads left after train(): "
                f"{record['threads_after_train']}"
            )
        else:
            lines.append(f"{config}: stored nothing; threads left after train(): {record['threads_after_train']}")
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5, help="measured rounds (each runs every configuration once)")
    parser.add_argument("--steps", type=int, default=300, help="Trainer max_steps (one log per step)")
    parser.add_argument("--out", default=".bench/trainer.json", help="JSON file for every raw number")
    parser.add_argument("--python", default=None, help="interpreter of the children (default: see README)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds before the measured ones")
    parser.add_argument(
        "--configs", default="A,B,C", help="configurations, comma-separated; A first (H: none with the hook active)"
    )
    parser.add_argument(
        "--system-metrics",
        choices=["default", "off"],
        default="default",
        help="off: TRACKIO_SYSTEM_METRICS=0 for trackio-callback, auto_log_cpu/gpu=False for trackio",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads in the children (0: torch's default)")
    parser.add_argument("--workdir", default=None, help="where the per-child directories are created")
    parser.add_argument("--keep", action="store_true", help="keep the per-child directories")
    parser.add_argument("--child", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--verify", choices=sorted(CONFIGS), help=argparse.SUPPRESS)
    parser.add_argument("--child-dir", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.configs = [c.strip().upper() for c in args.configs.split(",") if c.strip()]
    if not args.configs or args.configs[0] != "A" or any(c not in CONFIGS for c in args.configs):
        parser.error(f"--configs must start with A and name only {', '.join(CONFIGS)}")
    if args.pairs < 1 or args.steps < 1 or args.warmup < 0:
        parser.error("--pairs and --steps must be >= 1, --warmup >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with the hidden ``--child`` / ``--verify``, one child's part of it)."""
    args = parse_args(argv)
    if args.child:
        child_train(args.child, args.steps, args.child_dir, args.system_metrics, args.threads)
        return 0
    if args.verify:
        child_verify(args.verify, args.steps, args.child_dir)
        return 0
    args.python = args.python or default_python()
    problems = preflight(args.python)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        print("run: bash benchmarks/setup_trainer.sh, or pass --python", file=sys.stderr)
        return 2
    machine = machine_info(args.python)
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    raw = run_benchmark(args)
    machine["loadavg_before"] = load_before
    machine["loadavg_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    problems = problems_of(raw)
    summary = summarize(raw, args.configs)
    print(render(summary, args.configs, machine, args))
    print()
    for line in check_lines(raw, args.configs):
        print(line)
    if load_before:
        print(f"load average before / after: {load_before[0]:.2f} / {machine['loadavg_after'][0]:.2f}")
    for problem in problems:
        print(f"PROBLEM {problem}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {k: v for k, v in vars(args).items() if k not in ("child", "verify", "child_dir")}
    out.write_text(json.dumps({"machine": machine, "settings": settings, "summary": summary, "raw": raw}, indent=1))
    print(f"raw numbers: {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
