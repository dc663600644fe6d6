"""examples/: PEP 723 headers, each script run for real with ``--tiny`` and read back from the store, the Jobs recipe.

The scripts run in subprocesses, all at once (module fixture ``runs``), each with its own working directory, storage
directory and ``HF_HOME``; the two that sync go to the local Hub emulator (``tests/hub_emulator.py``).
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import io
import math
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.helpers import ROOT
from tests.hub_emulator import HubEmulator
from trackio_callback import Reader
from trackio_callback.tiny import WORDS

if sys.version_info >= (3, 11):
    import tomllib
else:  # the same parser, from PyPI (the test extra installs it on 3.10)
    import tomli as tomllib

EXAMPLES = ROOT / "examples"
SCRIPTS = sorted(EXAMPLES.glob("*.py"))
TRACKIO_VARIABLES = {"TRACKIO_PROJECT", "TRACKIO_SPACE_ID", "TRACKIO_DATASET_ID", "TRACKIO_DIR"}

# PEP 723's reference implementation: https://peps.python.org/pep-0723/#reference-implementation
PEP723_REGEX = r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$"


def read_script_metadata(script: str, name: str = "script") -> dict | None:
    matches = [m for m in re.finditer(PEP723_REGEX, script) if m.group("type") == name]
    if len(matches) > 1:
        raise ValueError(f"Multiple {name} blocks found")
    if not matches:
        return None
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in matches[0].group("content").splitlines(keepends=True)
    )
    return tomllib.loads(content)


def load_script(path: Path) -> ModuleType:
    """Import an example without running it (its heavy imports are inside main())."""
    spec = importlib.util.spec_from_file_location(f"example_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def imported_distributions(path: Path) -> set[str]:
    """The distributions whose modules the script imports (anywhere in it), standard library left out."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | {"__future__"}
    owners = {**importlib.metadata.packages_distributions(), "trackio_callback": ["trackio-callback"]}
    return {canonicalize_name(owners[module][0]) for module in modules}


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_pep723_header(path):
    metadata = read_script_metadata(path.read_text())
    assert metadata is not None, f"{path.name} has no '# /// script' block"
    assert set(metadata) >= {"requires-python", "dependencies"}
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SpecifierSet(metadata["requires-python"])
    requirements = {canonicalize_name(r.name): r for r in map(Requirement, metadata["dependencies"])}
    assert "trackio-callback" in requirements
    trl = requirements["trl"]
    assert str(trl.specifier) == ">=0.12.0" and importlib.metadata.version("trl") in trl.specifier
    missing = imported_distributions(path) - set(requirements)
    assert not missing, f"{path.name} imports {missing} without declaring them"


# ------------------------------------------------------------------------------------------------------- tiny runs


@dataclass
class Finished:
    returncode: int
    output: str
    store: Path
    hf_home: Path
    started: datetime
    ended: datetime

    def check(self) -> Reader:
        assert self.returncode == 0, self.output[-4000:]
        return Reader(self.store)


RUNS = {  # name: (script and arguments, environment)
    "sft": (["sft.py", "--tiny", "--max-steps", "3"], {}),
    "grpo": (["grpo.py", "--tiny", "--max-steps", "2"], {}),
    "dpo": (["dpo.py", "--tiny", "--max-steps", "3"], {}),
    "env_only": (["env_only.py", "--tiny", "--max-steps", "3"], {"TRACKIO_PROJECT": "env-project"}),
    "env_only_hub": (
        ["env_only.py", "--tiny", "--max-steps", "2"],
        {"TRACKIO_PROJECT": "env-hub", "TRACKIO_DATASET_ID": "alice/env-metrics", "hub": True},
    ),
    "sft_no_token": (["sft.py", "--tiny", "--max-steps", "2", "--space-id", "alice/trackio"], {}),
    "sft_hub": (
        ["sft.py", "--tiny", "--max-steps", "2", "--project", "hub-project", "--space-id", "alice/trackio"],
        {"hub": True},
    ),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[dict[str, Finished], HubEmulator]:
    base = {k: v for k, v in os.environ.items() if k not in TRACKIO_VARIABLES and k != "HF_TOKEN"}
    with HubEmulator() as hub:
        started = datetime.now()
        processes = {}
        for name, (argv, extra) in RUNS.items():
            work = tmp_path_factory.mktemp(name)
            env = {
                **base,
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "TRACKIO_DIR": str(work / "store"),
                "HF_HOME": str(work / "hf_home"),
                "HF_HUB_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
                "HF_DATASETS_DISABLE_PROGRESS_BARS": "1",
                "OMP_NUM_THREADS": "1",  # the runs share the cores
            }
            if extra.get("hub"):
                env.update(hub.env(hf_home=work / "hf_home"))  # online, HF_ENDPOINT and HF_TOKEN of the emulator
            env.update({k: v for k, v in extra.items() if k != "hub"})
            log = open(work / "output.txt", "w")  # noqa: SIM115 - closed below
            process = subprocess.Popen(
                [sys.executable, str(EXAMPLES / argv[0]), *argv[1:]],
                cwd=work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes[name] = (process, log, work)
        for process, _log, _work in processes.values():
            try:
                process.wait(timeout=240)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        ended = datetime.now()
        finished = {}
        for name, (process, log, work) in processes.items():
            log.close()
            output = (work / "output.txt").read_text()
            finished[name] = Finished(process.returncode, output, work / "store", work / "hf_home", started, ended)
        yield finished, hub


def check_name(name: str, kind: str, done: Finished) -> None:
    """``<kind>-YYYYmmdd-HHMMSS``, stamped while the script ran."""
    match = re.fullmatch(rf"{kind}-(\d{{8}}-\d{{6}})", name)
    assert match, name
    stamp = datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
    assert done.started.replace(microsecond=0) <= stamp <= done.ended


def printed_logs(output: str) -> list[dict[str, float]]:
    """The Trainer's per-step log lines (``{'loss': '5.363', ...}``), as numbers."""
    entries = []
    for line in output.splitlines():
        if line.startswith("{'loss'"):
            entries.append({k: float(v) for k, v in ast.literal_eval(line).items()})
    return entries


def assert_matches_printed(reader: Reader, project: str, run: str, output: str, keys: list[str]) -> None:
    """What the Trainer printed at each step is what the store holds (printed with 4 significant digits)."""
    printed = printed_logs(output)
    for key in keys:
        series = reader.series(project, run, f"train/{key}")
        assert series.steps == list(range(1, len(printed) + 1)), key
        assert series.values == pytest.approx([entry[key] for entry in printed], rel=1e-3, abs=1e-6), key


def assert_nothing_downloaded(done: Finished) -> None:
    hub_cache = done.hf_home / "hub"
    assert not hub_cache.exists() or not any(hub_cache.rglob("*.safetensors")), list(hub_cache.rglob("*"))


def assert_prints_where(done: Finished, project: str) -> None:
    assert f"Metrics: local store {done.store / (project + '.db')}" in done.output
    assert f"trackio-callback show --project {project}\n" in done.output


def test_sft_tiny(runs):
    done = runs[0]["sft"]
    reader = done.check()
    assert reader.projects() == ["qwen-capybara-sft"]
    (run,) = reader.runs("qwen-capybara-sft")
    check_name(run["name"], "sft", done)
    assert run["group"] == "SFT" and run["status"] == "finished" and run["last_step"] == 3
    config = run["config"]
    assert config["model"] == "tiny Qwen2 (trackio_callback.tiny)" and config["max_steps"] == 3
    assert config["learning_rate"] == 1e-3 and config["num_epochs"] == 3.0
    assert config["run_name"] == run["name"] and config["report_to"] == ["trackio"]  # the SFTConfig, recorded
    assert config["model/num_hidden_layers"] == 2 and config["model/hidden_size"] == 32  # the tiny model, by path
    keys = set(reader.metric_keys("qwen-capybara-sft", run["name"]))
    assert {"train/loss", "train/grad_norm", "train/learning_rate", "train/num_tokens", "train/entropy"} <= keys
    assert_matches_printed(reader, "qwen-capybara-sft", run["name"], done.output, ["loss", "grad_norm", "num_tokens"])
    # Each row is 15 tokens (<|user|> what does the X eat ? <|end|> <|assistant|> the X eats Y . <|end|>), 4 per step:
    # the script trained with the tiny word-level tokenizer itself, not a reloaded look-alike.
    assert reader.series("qwen-capybara-sft", run["name"], "train/num_tokens").values == [60, 120, 180]
    loss = reader.series("qwen-capybara-sft", run["name"], "train/loss").values
    assert run["summary"]["train_loss"] == pytest.approx(sum(loss) / len(loss), rel=1e-6)
    assert_prints_where(done, "qwen-capybara-sft")
    assert "not synced to the Hub (no --space-id)" in done.output
    assert_nothing_downloaded(done)


def test_grpo_tiny_logs_completions_as_a_table(runs):
    done = runs[0]["grpo"]
    reader = done.check()
    (run,) = reader.runs("qwen-tldr-grpo")
    name = run["name"]
    check_name(name, "grpo", done)
    assert run["group"] == "GRPO" and run["status"] == "finished" and run["last_step"] == 2
    keys = set(reader.metric_keys("qwen-tldr-grpo", name))
    assert {
        "train/reward",
        "train/reward_std",
        "train/rewards/reward_len/mean",
        "train/completions/mean_length",
    } <= keys
    assert reader.table_keys("qwen-tldr-grpo", name) == ["completions"]
    tables = reader.tables("qwen-tldr-grpo", name, "completions")
    assert [t["step"] for t in tables] == [1, 2]  # one per logging step, the last not repeated by the final log
    reward = reader.series("qwen-tldr-grpo", name, "train/reward")
    assert reward.steps == [1, 2]
    for table, mean_reward in zip(tables, reward.values):
        columns = table["columns"]
        assert columns[:3] == ["step", "prompt", "completion"] and {"reward_len", "advantage"} <= set(columns)
        rows = [dict(zip(columns, row)) for row in table["rows"]]
        assert len(rows) == 4 and {row["step"] for row in rows} == {table["step"]}  # 2 prompts x 2 completions
        assert all(row["prompt"].startswith("what does the ") for row in rows)
        assert all(set(row["completion"].split()) <= set(WORDS) for row in rows)  # decoded words, spaces kept
        rewards = [row["reward_len"] for row in rows]
        assert rewards == pytest.approx([-abs(20 - len(row["completion"])) for row in rows])  # the script's reward
        assert mean_reward == pytest.approx(sum(rewards) / len(rewards))  # train/reward is their mean
    assert_prints_where(done, "qwen-tldr-grpo")
    assert_nothing_downloaded(done)


def test_dpo_tiny(runs):
    done = runs[0]["dpo"]
    reader = done.check()
    (run,) = reader.runs("qwen-ultrafeedback-dpo")
    name = run["name"]
    check_name(name, "dpo", done)
    assert run["group"] == "DPO" and run["status"] == "finished" and run["last_step"] == 3
    assert run["config"]["beta"] == 0.1
    keys = set(reader.metric_keys("qwen-ultrafeedback-dpo", name))
    dpo_keys = ["rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies", "logps/chosen"]
    assert {f"train/{key}" for key in ["loss", *dpo_keys, "logps/rejected"]} <= keys
    assert_matches_printed(reader, "qwen-ultrafeedback-dpo", name, done.output, ["loss", *dpo_keys])

    def values(key):
        return reader.series("qwen-ultrafeedback-dpo", name, f"train/{key}").values

    # At step 1 the policy is the reference model (TRL loaded both from the saved tiny model): loss = ln 2, rewards 0.
    assert values("loss")[0] == pytest.approx(math.log(2), abs=1e-4)
    assert values("rewards/chosen")[0] == pytest.approx(0, abs=1e-6)
    margins = [c - r for c, r in zip(values("rewards/chosen"), values("rewards/rejected"))]
    assert values("rewards/margins") == pytest.approx(margins, abs=1e-6)
    assert all(0 <= a <= 1 for a in values("rewards/accuracies"))
    assert_prints_where(done, "qwen-ultrafeedback-dpo")
    assert_nothing_downloaded(done)


def test_env_only_lands_in_the_environments_project(runs):
    done = runs[0]["env_only"]
    reader = done.check()
    assert reader.projects() == ["env-project"]
    (run,) = reader.runs("env-project")
    check_name(run["name"], "sft", done)
    assert run["group"] is None and run["status"] == "finished" and run["last_step"] == 3  # finished by the callback
    assert run["config"]["learning_rate"] == 1e-3 and run["config"]["project"] == "huggingface"  # args' default
    assert run["settings"]["dataset_id"] is None
    assert reader.series("env-project", run["name"], "train/loss").steps == [1, 2, 3]
    assert_prints_where(done, "env-project")
    assert "not synced to the Hub (no TRACKIO_SPACE_ID)" in done.output


def test_space_id_without_a_token_stops_before_training(runs):
    """On Jobs, forgetting ``--secrets HF_TOKEN`` costs seconds, not a training run whose metrics die with it."""
    done = runs[0]["sft_no_token"]
    assert done.returncode == 1
    assert "HubTokenError: syncing to 'alice/trackio-dataset' needs a Hugging Face token" in done.output
    assert "set HF_TOKEN" in done.output
    assert not printed_logs(done.output)  # no training step ran
    assert not done.store.exists() or Reader(done.store).projects() == []


def synced_metrics(hub: HubEmulator, dataset_id: str, project: str, uid: str) -> dict[str, list[tuple[int, float]]]:
    import pyarrow.parquet as pq

    files = hub.repo_files(dataset_id)
    assert f"runs/{project}/{uid}.parquet" in files, sorted(files)
    values: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(p for p in files if p.startswith(f"metrics/{project}/{uid}/")):
        table = pq.read_table(io.BytesIO(files[path])).to_pydict()
        for step, key, value in zip(table["step"], table["key"], table["value"]):
            values.setdefault(key, []).append((step, value))
    return values


def test_env_only_syncs_to_the_environments_dataset(runs):
    (finished, hub) = runs
    done = finished["env_only_hub"]
    reader = done.check()
    (run,) = reader.runs("env-hub")
    assert run["settings"]["dataset_id"] == "alice/env-metrics" and run["settings"]["space_id"] is None
    synced = synced_metrics(hub, "alice/env-metrics", "env-hub", run["uid"])
    loss = reader.series("env-hub", run["name"], "train/loss")
    assert synced["train/loss"] == list(zip(loss.steps, loss.values)) and loss.steps == [1, 2]
    assert hub.repo("alice/env-metrics").private
    assert "synced to the Hub dataset alice/env-metrics" in done.output
    assert "trackio-callback show --dataset-id alice/env-metrics" in done.output


def test_sft_with_space_id_syncs_to_its_dataset_and_space(runs):
    (finished, hub) = runs
    done = finished["sft_hub"]
    reader = done.check()
    (run,) = reader.runs("hub-project")
    check_name(run["name"], "sft", done)
    assert run["settings"]["space_id"] == "alice/trackio" and run["settings"]["dataset_id"] == "alice/trackio-dataset"
    synced = synced_metrics(hub, "alice/trackio-dataset", "hub-project", run["uid"])
    loss = reader.series("hub-project", run["name"], "train/loss")
    assert synced["train/loss"] == list(zip(loss.steps, loss.values)) and loss.steps == [1, 2]
    assert hub.repo("alice/trackio-dataset").private and hub.repo("alice/trackio", repo_type="space").private
    assert {"index.html", "config.json"} <= set(hub.repo_files("alice/trackio", repo_type="space"))
    assert_prints_where(done, "hub-project")
    assert "synced to the Hub dataset alice/trackio-dataset" in done.output
    assert "dashboard: https://huggingface.co/spaces/alice/trackio" in done.output
    assert "trackio-callback show --dataset-id alice/trackio-dataset" in done.output


# ------------------------------------------------------------------------------------------------ the Jobs recipe


def shell_commands(markdown: str, prefix: str) -> list[str]:
    """Commands starting with ``prefix`` in the ```bash blocks, backslash continuations joined."""
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", markdown, re.S):
        for command in block.replace("\\\n", " ").splitlines():
            command = command.split(" #")[0].strip()
            if command.startswith(prefix):
                commands.append(command)
    return commands


def split_uv_run(command: str) -> tuple[dict[str, list[str]], str, list[str]]:
    """``hf jobs uv run [options] SCRIPT [ARGS]`` -> (options, script, args); every option here takes a value."""
    words = shlex.split(command)[4:]
    options: dict[str, list[str]] = {}
    while words[0].startswith("-"):
        options.setdefault(words[0], []).append(words[1])
        words = words[2:]
    return options, words[0], words[1:]


JOBS_COMMANDS = shell_commands((EXAMPLES / "hf_jobs.md").read_text(), "hf jobs uv run")


def test_hf_jobs_recipe_commands():
    assert len(JOBS_COMMANDS) == 4
    scripts = set()
    for command in JOBS_COMMANDS:
        options, script, args = split_uv_run(command)
        assert options["--secrets"] == ["HF_TOKEN"], command
        assert (ROOT / script).is_file() and script.startswith("examples/"), command
        scripts.add(script)
        env = dict(value.split("=", 1) for value in options.get("--env", []))
        assert set(env) <= TRACKIO_VARIABLES, command
        try:
            from huggingface_hub import JobHardware
        except ImportError:
            pass
        else:
            assert options["--flavor"][0] in {flavor.value for flavor in JobHardware}, command
        parsed = load_script(ROOT / script).parse_args(args)  # the arguments are the script's
        assert not parsed.tiny
        assert getattr(parsed, "space_id", None) == "user/trackio" or env.get("TRACKIO_SPACE_ID") == "user/trackio"
    assert scripts == {f"examples/{p.name}" for p in SCRIPTS}
    text = (EXAMPLES / "hf_jobs.md").read_text()
    assert "user/trackio-dataset" in text and "trackio-callback pull --dataset-id user/trackio-dataset" in text


def dry_run_summary(stdout: str) -> dict[str, list[str]]:
    """``hf jobs uv run --dry-run``'s summary: ``  key   value`` lines, continuation lines indented further."""
    summary: dict[str, list[str]] = {}
    key = None
    for line in stdout.splitlines():
        if re.match(r"  \S", line):
            key, _, value = line.strip().partition(" ")
            summary[key] = [value.strip()]
        elif re.match(r"   +\S", line) and key is not None:
            summary[key].append(line.strip())
    return summary


def test_hf_jobs_recipe_passes_the_hf_cli_dry_run(tmp_path):
    """The installed ``hf`` CLI accepts each command (``--dry-run``: resolved, not submitted; Hub = the emulator)."""
    hf = Path(sys.executable).with_name("hf")  # installed with huggingface_hub, a dependency
    assert hf.exists(), f"no hf CLI at {hf}: the recipe's commands cannot be checked"
    with HubEmulator() as hub:
        env = {**os.environ, **hub.env(hf_home=tmp_path / "hf_home")}
        for command in JOBS_COMMANDS:
            options, script, args = split_uv_run(command)
            words = shlex.split(command)
            argv = [str(hf), *words[1:4], "--dry-run", *words[4:]]
            result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
            assert result.returncode == 0, result.stderr
            assert result.stdout.rstrip().endswith("(dry run) Job not submitted."), result.stdout
            summary = dry_run_summary(result.stdout)
            assert summary["script"] == [script] and summary["args"] == [shlex.join(args)], result.stdout
            assert summary["flavor"] == options["--flavor"] and summary["timeout"] == options["--timeout"]
            assert summary["secrets"] == ["HF_TOKEN=***"]  # sent as a secret, its value never printed
            assert summary.get("env", []) == options.get("--env", [])


def test_readme_lists_every_example_with_commands_that_parse():
    text = (EXAMPLES / "README.md").read_text()
    for path in [*SCRIPTS, EXAMPLES / "hf_jobs.md"]:
        assert f"[`{path.name}`]({path.name})" in text
    for path in SCRIPTS:
        commands = re.findall(rf"`(?:[A-Z_]+=\S+ )*(?:python|uv run) examples/{path.name}([^`]*)`", text)
        assert len(commands) == 2, (path.name, commands)  # the real run and --tiny
        parsed = [load_script(path).parse_args(shlex.split(args)) for args in commands]
        assert [p.tiny for p in parsed] == [False, True]
