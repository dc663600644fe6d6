"""Write the example notebooks of this folder from the cells below: ``python notebooks/make_notebooks.py``.

The notebooks are committed without outputs; this script is their source. ``--check`` exits 1 when a
committed notebook differs from what this script writes (``tests/test_notebooks.py`` runs that check,
and executes each notebook).

- ``quickstart.ipynb``: a TRL ``SFTTrainer`` run with ``report_to="trackio"``, read back with ``Reader``,
  shown in the dashboard.
- ``grpo_completions.ipynb``: a TRL ``GRPOTrainer`` run: rewards and the logged completions table.
- ``assistant_queries.ipynb``: runs with known problems, diagnosed through the MCP server as an AI
  assistant sees them.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

# Printed by the last code cell of assistant_queries.ipynb, followed by one line of JSON (the test reads it).
SUMMARY_PREFIX = "DIAGNOSIS SUMMARY: "

KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}

Cell = tuple[str, str]  # ("md" | "code", source)


def md(source: str) -> Cell:
    return ("md", source)


def code(source: str) -> Cell:
    return ("code", source)


# Shared by the training notebooks: the storage directory and offline mode, before transformers is imported.
SETUP_OFFLINE = code(
    """
    import os
    import tempfile

    # A throwaway storage directory, unless TRACKIO_DIR is already set.
    os.environ.setdefault("TRACKIO_DIR", tempfile.mkdtemp(prefix="trackio-notebook-"))
    # Everything below is built locally: make any Hugging Face Hub call fail at once instead of waiting on the network.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    print("runs are stored in", os.environ["TRACKIO_DIR"])
    """
)

QUICKSTART: list[Cell] = [
    md(
        """
        # Quickstart: track a TRL training run with trackio-callback

        This notebook trains a tiny language model with TRL's `SFTTrainer` and `report_to="trackio"`, then:

        1. reads the run back with the `Reader` API: runs, metric names, the loss curve, the summary;
        2. opens the dashboard in the notebook and asks its JSON API.

        Everything runs offline on a CPU, in well under a minute. It needs this package with its dashboard
        extra (`pip install -e ".[dashboard]"` in a checkout) and a Jupyter kernel (`pip install ipykernel`).
        """
    ),
    md(
        """
        ## 1. Setup: self-contained and offline

        Runs are stored in one SQLite file per project under `TRACKIO_DIR` (by default
        `~/.cache/huggingface/trackio-callback`). Here it is a fresh temporary directory, so this notebook
        leaves your real store alone.

        `HF_HUB_OFFLINE=1` makes any Hugging Face Hub call fail at once: the tokenizer, the model (a 2-layer
        Qwen2 of width 32) and the data are built locally by `trackio_callback.tiny`. Both variables are set
        before `transformers` is imported, because `huggingface_hub` reads them on import.

        A real run would load a model and a dataset from the Hub instead, with the same tracking code:

        ```python
        from datasets import load_dataset
        from trl import SFTConfig, SFTTrainer

        trainer = SFTTrainer(
            model="Qwen/Qwen2.5-0.5B",
            train_dataset=load_dataset("trl-lib/Capybara", split="train"),
            args=SFTConfig(output_dir="qwen-capybara-sft", report_to="trackio", logging_steps=10),
        )
        ```
        """
    ),
    SETUP_OFFLINE,
    md(
        """
        ## 2. Train with `report_to="trackio"`

        `trackio.init` opens a run: the project (one SQLite file), the run's name, a group and a config saved
        with it. `report_to="trackio"` then sends everything the Trainer logs to that run: `train/loss`,
        `train/learning_rate`, `train/grad_norm`, `eval/loss`, throughput, ...

        (`init` is optional: without it, the Trainer's callback opens a run from the `TrainingArguments`.)
        """
    ),
    code(
        """
        from trl import SFTConfig, SFTTrainer

        import trackio_callback as trackio
        from trackio_callback.tiny import build_model, build_tokenizer, sft_dataset

        PROJECT = "quickstart-sft"

        run = trackio.init(
            project=PROJECT,
            name="tiny-qwen2-sft",  # taken already? A "-2" suffix is added, with a warning.
            group="SFT",
            config={"model": "tiny Qwen2 (stands in for Qwen/Qwen2.5-0.5B)", "dataset": "generated Q&A"},
        )
        print("run:", run.name)
        """
    ),
    code(
        """
        tokenizer = build_tokenizer()
        trainer = SFTTrainer(
            model=build_model("qwen2", tokenizer=tokenizer),
            processing_class=tokenizer,
            train_dataset=sft_dataset(n=256, conversational=True),
            eval_dataset=sft_dataset(n=32, conversational=True, seed=1),
            args=SFTConfig(
                output_dir=tempfile.mkdtemp(prefix="sft-output-"),
                report_to="trackio",
                max_steps=30,
                per_device_train_batch_size=8,
                learning_rate=3e-3,
                logging_steps=2,
                eval_strategy="steps",
                eval_steps=10,
                max_length=32,
                save_strategy="no",
                use_cpu=True,
                bf16=False,
                activation_checkpointing=False,  # on by default in TRL; only slower for a model this small
                disable_tqdm=True,
            ),
        )
        trainer.train()
        """
    ),
    md(
        """
        `trackio.finish()` writes what is still buffered and marks the run `finished`. (`log()` never waits on
        the disk: a background thread commits to SQLite every second.)
        """
    ),
    code(
        """
        trackio.finish()
        """
    ),
    md(
        """
        ## 3. Read the run back

        `Reader` is the read API that the command line, the dashboard and the MCP server use. `Reader()` reads
        `TRACKIO_DIR`; `Reader("some/dir")` reads another directory.
        """
    ),
    code(
        """
        from trackio_callback import Reader

        reader = Reader()
        for info in reader.runs(PROJECT):
            print(f"{info['name']}: group {info['group']}, {info['status']}, last step {info['last_step']}")
        """
    ),
    md("Every metric the Trainer logged, with the Trainer's names (`train/...`, `eval/...`):"),
    code(
        """
        reader.metric_keys(PROJECT, run.name)
        """
    ),
    md(
        """
        `series()` returns one metric's points as columns (`steps`, `timestamps`, `values`). Here the train
        loss (logged every 2 steps) next to the eval loss (every 10):
        """
    ),
    code(
        """
        import pandas as pd

        loss = reader.series(PROJECT, run.name, "train/loss")
        eval_loss = reader.series(PROJECT, run.name, "eval/loss")
        curves = pd.DataFrame({"step": loss.steps, "train/loss": loss.values}).merge(
            pd.DataFrame({"step": eval_loss.steps, "eval/loss": eval_loss.values}), on="step", how="left"
        )
        curves.set_index("step").round(3)
        """
    ),
    md(
        """
        `summary()` gives the run's details (status, config, the Trainer's final summary) and, per metric, its
        count, last value, min and max, kept up to date on every write; `latest()` the last value of each.
        """
    ),
    code(
        """
        from IPython.display import display

        summary = reader.summary(PROJECT, run.name)
        print("status:", summary["status"])
        print("config:", {key: summary["config"][key] for key in ("model", "learning_rate", "max_steps")})
        print("trainer summary:", summary["summary"])
        metrics = pd.DataFrame(summary["metrics"]).T[["count", "first_step", "last_step", "last", "min", "max"]]
        with pd.option_context("display.float_format", "{:.4g}".format):
            display(metrics)
        """
    ),
    code(
        """
        latest = reader.latest(PROJECT, run.name)
        {key: latest[key] for key in ("train/loss", "eval/loss", "train/mean_token_accuracy", "train/learning_rate")}
        """
    ),
    md(
        """
        ## 4. The dashboard

        `trackio.show(block_thread=False)` starts the dashboard server in a background thread and returns at once. It
        listens on 127.0.0.1, on the first free port from 7860. The frame below shows it when your browser
        runs on the same machine as this notebook's kernel (on a remote kernel, forward the port).
        """
    ),
    code(
        """
        from IPython.display import IFrame

        dashboard = trackio.show(project=PROJECT, block_thread=False, open_browser=False)
        IFrame(dashboard.url, width="100%", height=600)
        """
    ),
    md("The page reads a read-only JSON API, over the same `Reader`. Ask it directly:"),
    code(
        """
        import json
        import urllib.parse
        import urllib.request

        with urllib.request.urlopen(f"{dashboard.url}api/runs?project={urllib.parse.quote(PROJECT)}") as response:
            answer = json.load(response)
        for info in answer["runs"]:
            print(f"api/runs: {info['name']} is {info['status']}, last step {info['last_step']}")
        """
    ),
    md("Stop the server when you are done (it also stops when the kernel does):"),
    code(
        """
        dashboard.close()
        """
    ),
]

GRPO: list[Cell] = [
    md(
        """
        # GRPO: rewards and completions

        TRL's `GRPOTrainer` samples several completions per prompt, scores them with reward functions and
        logs, besides the loss, the rewards (`train/reward`, `train/rewards/<function>/mean`, ...) and, with
        `log_completions=True`, a table of the prompts, completions and rewards of each logging step. With
        `report_to="trackio"`, both land in the same run.

        A tiny model and a reward that favours long answers keep this offline and fast on a CPU (in seconds).
        """
    ),
    md(
        """
        ## 1. Setup: self-contained and offline

        A temporary `TRACKIO_DIR` and `HF_HUB_OFFLINE=1`, as in the quickstart: the model, tokenizer and
        prompts are built locally by `trackio_callback.tiny`, so nothing is downloaded.
        """
    ),
    SETUP_OFFLINE,
    md(
        """
        ## 2. Train

        `reward_len` scores a completion by its length in characters / 10. `num_generations=2` completions of
        at most 8 tokens per prompt, 4 steps, a log at every step. With `rich` installed, TRL also prints each
        step's completions as it trains.
        """
    ),
    code(
        """
        import warnings

        from transformers import PrinterCallback
        from trl import GRPOConfig, GRPOTrainer

        import trackio_callback as trackio
        from trackio_callback.tiny import build_model, build_tokenizer, grpo_dataset, reward_len

        PROJECT = "grpo-tiny"

        run = trackio.init(project=PROJECT, name="tiny-grpo", group="GRPO", config={"reward": "reward_len"})
        tokenizer = build_tokenizer()
        trainer = GRPOTrainer(
            model=build_model("qwen2", tokenizer=tokenizer),
            processing_class=tokenizer,
            reward_funcs=reward_len,
            train_dataset=grpo_dataset(n=16),
            args=GRPOConfig(
                output_dir=tempfile.mkdtemp(prefix="grpo-output-"),
                report_to="trackio",
                log_completions=True,
                num_generations=2,
                max_completion_length=8,
                max_steps=4,
                per_device_train_batch_size=4,  # 2 prompts x 2 generations
                learning_rate=1e-3,
                logging_steps=1,
                save_strategy="no",
                use_cpu=True,
                bf16=False,
                activation_checkpointing=False,
                disable_tqdm=True,
            ),
        )
        trainer.remove_callback(PrinterCallback)  # the logs are in the run: no dict printed per step
        # Some TRL / transformers versions warn at every step that is_gradient_checkpointing is deprecated: harmless.
        warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated")
        trainer.train()
        trackio.finish()
        """
    ),
    md(
        """
        ## 3. The rewards

        The reward metrics of the run, as stored (TRL's names, prefixed with `train/` like every Trainer log):
        """
    ),
    code(
        """
        import pandas as pd

        from trackio_callback import Reader

        reader = Reader()
        keys = reader.metric_keys(PROJECT, run.name)
        reward_keys = [key for key in keys if key.startswith("train/") and "reward" in key]
        reward_keys
        """
    ),
    code(
        """
        def by_step(key):
            series = reader.series(PROJECT, run.name, key)
            return pd.Series(series.values, index=pd.Index(series.steps, name="step"))


        rewards = pd.DataFrame({key: by_step(key) for key in reward_keys})
        rewards.round(3)
        """
    ),
    md(
        """
        ## 4. The completions table

        `Reader.tables(project, run, "completions")` returns one table per logging step:
        `{"key", "step", "timestamp", "columns", "rows"}`. One column per reward function holds each
        completion's score, here `reward_len`.
        """
    ),
    code(
        """
        tables = reader.tables(PROJECT, run.name, "completions")
        print(len(tables), "tables, at steps", [table["step"] for table in tables])
        frames = [pd.DataFrame(table["rows"], columns=table["columns"]) for table in tables]
        completions = pd.concat(frames, ignore_index=True)
        completions
        """
    ),
    md(
        """
        The mean of a step's `reward_len` column is that step's `train/rewards/reward_len/mean`. The dashboard's
        Tables tab shows the same tables.
        """
    ),
    code(
        """
        pd.DataFrame(
            {
                "table mean": completions.groupby("step")["reward_len"].mean(),
                "train/rewards/reward_len/mean": rewards["train/rewards/reward_len/mean"],
            }
        ).round(3)
        """
    ),
]

ASSISTANT: list[Cell] = [
    md(
        """
        # What an AI assistant sees: the MCP server

        The dashboard server can also serve [MCP](https://modelcontextprotocol.io) tools, so an assistant
        (Claude, Cursor, ...) can list your runs, read curves and diagnose training. This notebook creates four
        runs with known shapes (a clean decay, a divergence, a loss spike, a NaN), starts the server, and calls
        the tools through the official `mcp` client over HTTP, exactly as an assistant's client does.

        It needs the dashboard extra (`pip install -e ".[dashboard]"`, which brings `mcp`) and `matplotlib`.
        """
    ),
    md(
        """
        ## 1. Four runs with known problems

        Logged with `trackio.init` / `run.log` into a temporary `TRACKIO_DIR` (no training needed).
        """
    ),
    code(
        """
        import math
        import os
        import random
        import tempfile

        import trackio_callback as trackio

        os.environ.setdefault("TRACKIO_DIR", tempfile.mkdtemp(prefix="trackio-notebook-"))
        PROJECT = "lr-sweep"
        SHAPES = {"clean": 1e-3, "diverging": 3e-2, "spiky": 1e-3, "nan": 1e-2}  # run name -> learning rate
        rng = random.Random(0)

        for name, lr in SHAPES.items():
            run = trackio.init(project=PROJECT, name=name, group="sweep", config={"learning_rate": lr, "seed": 0})
            for step in range(400):
                loss = 2.0 * math.exp(-step / 80) + 0.1 + rng.gauss(0, 0.01)
                if name == "diverging" and step > 200:
                    loss = 0.3 * math.exp((step - 200) / 60)  # blows up from step 200
                if name == "spiky" and step == 250:
                    loss = 40.0  # one bad batch
                if name == "nan" and step >= 300:
                    loss = float("nan")  # numerical overflow
                run.log({"train/loss": loss, "train/learning_rate": lr}, step=step)
            run.finish()
        print("created", list(SHAPES), "in", os.environ["TRACKIO_DIR"])
        """
    ),
    md(
        """
        ## 2. Start the server with `mcp_server=True`

        The tools are served at `<dashboard url>gradio_api/mcp/` (the address trackio's guide gives, so its
        client configuration works unchanged) and at `<dashboard url>mcp`. An assistant is pointed at it with:

        ```json
        {"mcpServers": {"trackio": {"url": "http://127.0.0.1:7860/gradio_api/mcp/"}}}
        ```

        (or `{"mcpServers": {"trackio": {"command": "trackio-callback", "args": ["mcp"]}}}` for clients that
        start their servers themselves, over stdio). The port is the first free one from 7860: the cell below
        prints the configuration for this server.
        """
    ),
    code(
        """
        import json

        dashboard = trackio.show(project=PROJECT, block_thread=False, open_browser=False, mcp_server=True)
        MCP_URL = dashboard.url + "gradio_api/mcp/"
        print(json.dumps({"mcpServers": {"trackio": {"url": MCP_URL}}}, indent=2))
        """
    ),
    md(
        """
        ## 3. Call the tools with the `mcp` client

        Each tool answers JSON text. Jupyter already runs an event loop, so the cells `await` the client
        directly (top-level `await`; in a script, wrap the calls in `anyio.run(...)`). `ask` opens a session,
        calls one tool and decodes its answer.
        """
    ),
    code(
        """
        import textwrap

        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client


        async def ask(tool, **arguments):
            \"\"\"Call one MCP tool on the server and decode its JSON answer.\"\"\"
            async with streamable_http_client(MCP_URL) as streams, ClientSession(*streams[:2]) as session:
                await session.initialize()
                result = await session.call_tool(tool, arguments)
            text = result.content[0].text
            if result.is_error:
                raise RuntimeError(f"{tool}: {text}")
            return json.loads(text)


        async with streamable_http_client(MCP_URL) as streams, ClientSession(*streams[:2]) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
        for tool in tools:
            print(f"{tool.name}: {textwrap.shorten(tool.description, 100)}")
        """
    ),
    md("What an assistant usually asks first: which projects exist, and what is in one."),
    code(
        """
        await ask("get_all_projects")
        """
    ),
    code(
        """
        overview = await ask("get_project_summary", project=PROJECT)
        print("runs:", overview["run_count"])
        print("by status:", overview["status_counts"], " by group:", overview["group_counts"])
        """
    ),
    md(
        """
        `compare_runs` puts one metric side by side: last, min, max and final mean per run, a ranking by last
        value and the config keys that differ. The answers are strict JSON: a NaN comes as the string `"NaN"`,
        and a run whose last value is NaN is listed in `unranked` instead of the ranking.
        """
    ),
    code(
        """
        comparison = await ask("compare_runs", project=PROJECT, runs=list(SHAPES), metric="train/loss")
        for row in comparison["runs"]:
            last = row["last"] if isinstance(row["last"], str) else f"{row['last']:.3f}"
            print(f"{row['run']:>10}: last {last}, min {row['min']:.3f} at step {row['min_step']}")
        print("ranking by last value:", comparison["ranking_by_last"], "unranked:", comparison["unranked"])
        print("config differences:", comparison["config_diff"])
        """
    ),
    md(
        """
        ## 4. `analyze_run`: a diagnosis with its numbers

        For each run: a status (`healthy`, `warning`, `critical`), a one-line verdict, and findings, each with
        the numbers behind it (trend, divergence, spikes, NaN/inf, plateau, overfitting, learning-rate phase,
        throughput).
        """
    ),
    code(
        """
        analyses = {}
        for name in SHAPES:
            analyses[name] = analysis = await ask("analyze_run", project=PROJECT, run=name)
            print(f"{name}: [{analysis['status']}] {analysis['verdict']}")
            for finding in analysis["findings"]:
                print(f"    {finding['kind']} ({finding['severity']}): {finding['message']}")
        """
    ),
    md(
        """
        ## 5. `get_metric_values`: bounded curves that keep the spikes

        `max_points` caps the answer's size. The downsampling keeps each bucket's first, last, lowest and
        highest point (and NaNs), so the one-step spike of `spiky` survives a cut from 400 points to 40:
        """
    ),
    code(
        """
        values = await ask("get_metric_values", project=PROJECT, run="spiky", metric_name="train/loss", max_points=40)
        highest = max(values["points"], key=lambda point: point["value"])
        print(f"{values['returned_points']} of {values['total_points']} points; downsampled: {values['downsampled']}")
        print(f"highest point kept: {highest['value']} at step {highest['step']}")
        """
    ),
    md(
        """
        ## 6. Plot what the analysis found

        The curves come from `Reader.series(..., max_points=...)`, the package's own read API, with the same
        spike-keeping downsampling; the markers come from the `analyze_run` findings above.
        """
    ),
    code(
        """
        import matplotlib.pyplot as plt
        from IPython.display import display

        from trackio_callback import Reader

        reader = Reader()
        fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
        for ax, name in zip(axes.flat, SHAPES):
            series = reader.series(PROJECT, name, "train/loss", max_points=200)
            ax.plot(series.steps, series.values, lw=1)
            findings = {finding["kind"]: finding for finding in analyses[name]["findings"]}
            if "spike" in findings:
                spikes = findings["spike"]["spikes"]
                ax.scatter([s["step"] for s in spikes], [s["value"] for s in spikes], color="red", label="spike")
            if "divergence" in findings:
                found = findings["divergence"]
                ax.axvline(found["min_step"], color="green", ls="--", label=f"minimum (step {found['min_step']})")
                recent = f"recent level {found['recent_level']:.3g} (min {found['min_level']:.3g})"
                ax.axvspan(found["recent_from_step"], series.steps[-1], color="red", alpha=0.15, label=recent)
            if "nan_or_inf" in findings:
                ax.axvline(findings["nan_or_inf"]["first_step"], color="purple", ls=":", label="first NaN")
            ax.set_yscale("log")
            ax.set_title(f"{name}: {analyses[name]['status']}")
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        for ax in axes[-1]:
            ax.set_xlabel("step")
        fig.tight_layout()
        display(fig)
        plt.close(fig)
        """
    ),
    md(
        """
        One line per run with its status and the kinds of problem found (the notebook's test reads this line):
        """
    ),
    code(
        f"""
        diagnosis = {{
            name: {{
                "status": analysis["status"],
                "problems": [finding["kind"] for finding in analysis["findings"] if finding["severity"] != "info"],
            }}
            for name, analysis in analyses.items()
        }}
        print({json.dumps(SUMMARY_PREFIX)} + json.dumps(diagnosis))
        """
    ),
    md("Stop the server:"),
    code(
        """
        dashboard.close()
        """
    ),
]

NOTEBOOKS: dict[str, list[Cell]] = {
    "quickstart.ipynb": QUICKSTART,
    "grpo_completions.ipynb": GRPO,
    "assistant_queries.ipynb": ASSISTANT,
}


def build(name: str) -> nbformat.NotebookNode:
    """The notebook ``name`` with no outputs, stable cell ids (``<stem>-<index>``) and a python3 kernelspec."""
    stem = name.removesuffix(".ipynb").replace("_", "-")
    cells = []
    for index, (kind, source) in enumerate(NOTEBOOKS[name]):
        text = textwrap.dedent(source).strip("\n")
        cell = nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text)
        cell.id = f"{stem}-{index:02d}"
        cells.append(cell)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    nbformat.validate(notebook)
    return notebook


def text(name: str) -> str:
    return nbformat.writes(build(name)) + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name in NOTEBOOKS:
        path = HERE / name
        wanted = text(name)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != wanted:
                stale.append(name)
        else:
            path.write_text(wanted, encoding="utf-8")
            print("wrote", path)
    if stale:
        print("out of date (run python notebooks/make_notebooks.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
