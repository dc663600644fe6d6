"""The example notebooks (`notebooks/`): committed clean and up to date, and each one run top to bottom.

Each notebook runs in a real Jupyter kernel of this interpreter (nbclient + ipykernel; the kernel spec is
written to a temporary directory, so a machine with no Jupyter set up runs them the same), offline, in a
temporary working directory with ``TRACKIO_DIR`` inside it. The tests then check the values the notebook
produced: what its runs stored (read back with `Reader`) and what its cells printed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

from tests.helpers import ROOT
from trackio_callback import Reader
from trackio_callback.server.mcp_server import TOOL_NAMES

NOTEBOOKS = ROOT / "notebooks"
NAMES = ("quickstart.ipynb", "grpo_completions.ipynb", "assistant_queries.ipynb")
CELL_TIMEOUT_S = 180
KERNEL = "python3"


def _generator():
    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernel spec named python3 that starts ipykernel with this interpreter, whatever Jupyter finds elsewhere."""
    kernels = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(kernels / KERNEL, overrides={"display_name": "Python 3 (test)"})
    return kernels


def execute(name: str, kernel_dir: Path, work: Path) -> tuple[nbformat.NotebookNode, Path]:
    """Run notebook ``name`` top to bottom in ``work``; returns the executed notebook and its TRACKIO_DIR.

    The executed notebook is also written to ``work/<name>`` (to look at when a test fails).
    """
    store, scratch = work / "store", work / "tmp"
    scratch.mkdir(parents=True)
    env = {
        **os.environ,
        "TRACKIO_DIR": str(store),
        "HF_HUB_OFFLINE": "1",
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "TMPDIR": str(scratch),  # the notebooks' tempfile.mkdtemp() output dirs land here
        "TRACKIO_NO_BROWSER": "1",
    }
    for variable in ("TRACKIO_PROJECT", "TRACKIO_SPACE_ID", "TRACKIO_DATASET_ID", "GRADIO_MCP_SERVER"):
        env.pop(variable, None)
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    specs = KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    manager = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(notebook, km=manager, timeout=CELL_TIMEOUT_S, resources={"metadata": {"path": str(work)}})
    try:
        client.execute(env=env)
    finally:
        nbformat.write(notebook, work / name)
    assert manager.kernel_spec.argv[0] == sys.executable
    return notebook, store


def outputs(notebook: nbformat.NotebookNode) -> list[dict]:
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def printed(notebook: nbformat.NotebookNode) -> str:
    """Everything the cells wrote to stdout."""
    return "".join(o["text"] for o in outputs(notebook) if o["output_type"] == "stream" and o["name"] == "stdout")


def assert_no_errors(notebook: nbformat.NotebookNode) -> None:
    assert [o for o in outputs(notebook) if o["output_type"] == "error"] == []
    stderr = "".join(o["text"] for o in outputs(notebook) if o["output_type"] == "stream" and o["name"] == "stderr")
    assert "Traceback" not in stderr, stderr


# --- the committed files


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_valid_and_has_no_outputs(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata["kernelspec"]["name"] == KERNEL
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert all("execution" not in cell.metadata for cell in notebook.cells)
    assert any(cell.cell_type == "markdown" for cell in notebook.cells)


def test_committed_notebooks_match_their_generator(capsys):
    generator = _generator()
    assert set(generator.NOTEBOOKS) == set(NAMES)
    assert generator.main(["--check"]) == 0, capsys.readouterr().out


# --- executed


def test_quickstart_trains_reads_back_and_serves_the_dashboard(kernel_dir, tmp_path):
    notebook, store = execute("quickstart.ipynb", kernel_dir, tmp_path)
    assert_no_errors(notebook)

    reader = Reader(store)
    assert reader.projects() == ["quickstart-sft"]
    (run,) = reader.runs("quickstart-sft")
    assert (run["name"], run["group"], run["status"], run["last_step"]) == ("tiny-qwen2-sft", "SFT", "finished", 30)
    assert run["config"]["model"].startswith("tiny Qwen2") and run["config"]["report_to"] == ["trackio"]
    assert run["summary"]["train_runtime"] > 0
    loss = reader.series("quickstart-sft", "tiny-qwen2-sft", "train/loss")
    assert loss.steps == list(range(2, 31, 2))  # logging_steps=2, max_steps=30
    assert all(0 < value < 10 for value in loss.values) and loss.values[-1] < loss.values[0]
    assert reader.series("quickstart-sft", "tiny-qwen2-sft", "eval/loss").steps == [10, 20, 30]
    assert reader.latest("quickstart-sft", "tiny-qwen2-sft")["train/loss"] == loss.values[-1]

    text = printed(notebook)
    assert f"runs are stored in {store}" in text
    assert "tiny-qwen2-sft: group SFT, finished, last step 30" in text  # Reader
    assert "api/runs: tiny-qwen2-sft is finished, last step 30" in text  # the dashboard server's JSON API
    assert "* trackio-callback dashboard: http://127.0.0.1:" in text
    frames = [o["data"]["text/html"] for o in outputs(notebook) if "text/html" in o.get("data", {})]
    assert any("<iframe" in html and "http://127.0.0.1:" in html for html in frames)


def test_grpo_notebook_logs_rewards_and_completions(kernel_dir, tmp_path):
    notebook, store = execute("grpo_completions.ipynb", kernel_dir, tmp_path)
    assert_no_errors(notebook)

    reader = Reader(store)
    (run,) = reader.runs("grpo-tiny")
    assert (run["name"], run["group"], run["status"]) == ("tiny-grpo", "GRPO", "finished")
    rewards = {"train/reward", "train/reward_std", "train/rewards/reward_len/mean", "train/rewards/reward_len/std"}
    assert rewards <= set(reader.metric_keys("grpo-tiny", "tiny-grpo"))
    reward = reader.series("grpo-tiny", "tiny-grpo", "train/reward")
    assert reward.steps == [1, 2, 3, 4] and all(value > 0 for value in reward.values)

    tables = reader.tables("grpo-tiny", "tiny-grpo", "completions")
    assert [table["step"] for table in tables] == [1, 2, 3, 4]
    for table in tables:
        assert len(table["rows"]) == 4  # 2 prompts x 2 generations
        columns = table["columns"]
        for row in table["rows"]:
            completion, score = row[columns.index("completion")], row[columns.index("reward_len")]
            assert score == pytest.approx(len(completion) / 10)  # reward_len: characters / 10
    means = reader.series("grpo-tiny", "tiny-grpo", "train/rewards/reward_len/mean").values
    column = tables[0]["columns"].index("reward_len")
    assert [sum(row[column] for row in t["rows"]) / 4 for t in tables] == pytest.approx(means)

    text = printed(notebook)
    assert "4 tables, at steps [1, 2, 3, 4]" in text
    results = "".join(o["data"].get("text/plain", "") for o in outputs(notebook) if "data" in o)
    assert "'train/rewards/reward_len/mean'" in results  # the cell listing the reward keys
    assert "what does the" in results  # the completions DataFrame shows the prompts


def test_assistant_notebook_diagnoses_each_run_through_mcp(kernel_dir, tmp_path):
    notebook, store = execute("assistant_queries.ipynb", kernel_dir, tmp_path)
    assert_no_errors(notebook)

    reader = Reader(store)
    assert [(r["name"], r["status"]) for r in reader.runs("lr-sweep")] == [
        ("clean", "finished"),
        ("diverging", "finished"),
        ("spiky", "finished"),
        ("nan", "finished"),
    ]

    text = printed(notebook)
    prefix = _generator().SUMMARY_PREFIX
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    assert json.loads(line[len(prefix) :]) == {
        "clean": {"status": "healthy", "problems": []},
        "diverging": {"status": "critical", "problems": ["divergence"]},
        "spiky": {"status": "warning", "problems": ["spike"]},
        "nan": {"status": "critical", "problems": ["nan_or_inf"]},
    }
    assert all(f"{tool}: " in text for tool in TOOL_NAMES)  # list_tools
    config = re.search(r'"url": "(http://127\.0\.0\.1:\d+/)gradio_api/mcp/"', text)  # the client configuration
    assert config and f"* MCP server: {config[1]}gradio_api/mcp/" in text
    assert "runs: 4" in text  # get_project_summary
    assert "ranking by last value: ['clean', 'spiky', 'diverging']" in text  # compare_runs: NaN is not ranked
    assert "diverging: [critical] diverging: loss rose" in text
    assert "spiky: [warning] loss spike to 40 at step 250" in text
    assert "nan: [critical] loss became NaN at step 300" in text
    assert "highest point kept: 40.0 at step 250" in text  # get_metric_values kept the spike in 40 points
    assert "downsampled: True" in text
    figures = [o for o in outputs(notebook) if o["output_type"] == "display_data" and "Figure" in str(o["data"])]
    assert len(figures) == 1
