"""README.md cannot rot silently: its runnable snippets run, its commands exist, its paths exist.

Every ``python`` and ``bash`` block in README.md is preceded by a marker the check reads:

* ``<!-- docs-check: run -->``: run as written, offline (``HF_HUB_OFFLINE=1``), in a sandbox
  (a temporary working directory and storage directory shared by every block, in README order);
* ``<!-- docs-check: run hub -->``: the same against the Hub emulator, with ``username/`` read as the
  emulator's user ``alice/`` (the offline variant of a snippet that syncs or reads a Hub dataset);
* ``<!-- docs-check: skip (why) -->``: not run, for the reason given (installs, blocks, a sketch).

A ``# prints: text`` comment after a ``print(...)`` says what the line must print. Every
``trackio-callback ...`` command anywhere in the README must name a real subcommand and only flags
its ``--help`` lists; ``json`` blocks must parse; repository paths in backticks must exist.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.hub_emulator import HubEmulator

README = ROOT / "README.md"
TEXT = README.read_text()
BLOCK = re.compile(
    r"(?:^<!-- docs-check: (?P<marker>[^\n]*?) -->\n)?^```(?P<lang>[\w-]*)\n(?P<code>.*?)^```$", re.M | re.S
)
MARKER = re.compile(r"run|run hub|skip \((?P<why>.+)\)")


def blocks() -> list[dict]:
    found = []
    for match in BLOCK.finditer(TEXT):
        line = TEXT.count("\n", 0, match.start("code"))
        found.append({"line": line, "lang": match["lang"], "code": match["code"], "marker": match["marker"]})
    return found


RUNNABLE = [b for b in blocks() if b["marker"] in ("run", "run hub")]


def test_every_code_block_says_whether_it_runs():
    code_blocks = [b for b in blocks() if b["lang"] in ("python", "bash", "sh")]
    assert len(code_blocks) >= 10
    for block in code_blocks:
        assert block["marker"] is not None, (
            f"README.md:{block['line']}: a {block['lang']} block without a docs-check marker"
        )
        assert MARKER.fullmatch(block["marker"]), f"README.md:{block['line']}: unknown marker {block['marker']!r}"
    assert len(RUNNABLE) >= 8


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """A working directory, a storage directory and a Hub emulator shared by the README's blocks."""
    root = tmp_path_factory.mktemp("readme")
    with HubEmulator() as hub:
        base = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(ROOT),
            "TRACKIO_DIR": str(root / "store"),
            "HF_HOME": str(root / "hf_home"),
            "TRACKIO_NO_BROWSER": "1",
        }
        for name in ("TRACKIO_PROJECT", "TRACKIO_SPACE_ID", "TRACKIO_DATASET_ID", "HF_ENDPOINT", "HF_TOKEN"):
            base.pop(name, None)
        offline = {**base, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
        online = {**base, **hub.env(hf_home=root / "hf_home")}
        yield {"dir": root, "offline": offline, "online": online, "hub": hub}


@pytest.mark.parametrize("block", RUNNABLE, ids=[f"README.md:{b['line']}" for b in RUNNABLE])
def test_runnable_blocks_run(block, sandbox):
    code = block["code"]
    env = sandbox["offline"]
    if block["marker"] == "run hub":
        code, env = code.replace("username/", "alice/"), sandbox["online"]
    shell = ["bash", "-euo", "pipefail", "-c", code]
    command = [sys.executable, "-c", code] if block["lang"] == "python" else shell
    done = subprocess.run(command, cwd=sandbox["dir"], env=env, capture_output=True, text=True, timeout=300)
    where = f"README.md:{block['line']}"
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}\n{done.stderr}"
    for expected in re.findall(r"print\(.*\)\s+# prints: (.+)$", code, re.M):
        assert expected.strip() in done.stdout, f"{where}: expected {expected!r} in\n{done.stdout}"
    assert "Traceback" not in done.stderr, f"{where}:\n{done.stderr}"


def _commands() -> list[str]:
    lines = [line.strip() for line in TEXT.splitlines()]
    inline = re.findall(r"`(trackio-callback [^`]+)`", TEXT)
    found = [line for line in lines if line.startswith("trackio-callback ")] + inline
    commands = []
    for line in found:
        for part in re.split(r"\s*(?:&&|\|\||;)\s*", line.split(" #")[0]):
            if part.startswith("trackio-callback "):
                commands.append(part)
    return commands


def _help(subcommand: list[str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "trackio_callback", *subcommand, "--help"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"`trackio-callback {' '.join(subcommand)}` does not exist:\n{done.stderr}"
    return done.stdout


def test_every_documented_command_and_flag_exists():
    commands = _commands()
    assert len(commands) >= 20
    top = _help([])
    helps: dict[str, str] = {}
    for command in commands:
        words = shlex.split(command.replace("[", " ").replace("]", " ").replace("|", " "))[1:]
        while words and words[0] == "--dir":  # the global option comes before the subcommand
            assert "--dir" in top
            words = words[2:]
        assert words, command
        path = words[:1]
        if path[0] not in helps:
            helps[path[0]] = _help(path)
        choices = re.search(r"\{([\w,-]+)\}", helps[path[0]].split("\n\n")[0])  # `runs {delete,rename,move}`
        if choices and len(words) > 1 and words[1] in choices.group(1).split(",") and "positional" in helps[path[0]]:
            path = words[:2]  # a command with commands of its own: the flags are its subcommand's
        sub = " ".join(path)
        if sub not in helps:
            helps[sub] = _help(path)
        for flag in (w.split("=")[0] for w in words if w.startswith("--")):
            assert flag in helps[sub], f"README: `{command}`: {flag} is not an option of `trackio-callback {sub}`"


def test_json_blocks_parse():
    json_blocks = [b for b in blocks() if b["lang"] == "json"]
    assert json_blocks
    for block in json_blocks:
        for line in filter(None, block["code"].splitlines()):
            json.loads(line)


def test_repository_paths_mentioned_exist():
    paths = set(re.findall(r"`((?:examples|notebooks|benchmarks|tests|trackio_callback|\.ci)/[^`\s]*)`", TEXT))
    paths |= set(re.findall(r"\]\(((?:examples|notebooks|benchmarks|tests|trackio_callback)/[^)\s]*)\)", TEXT))
    paths |= {"DEVELOPERS.md", "LICENSE"} & set(re.findall(r"\b([A-Z]+\.md|LICENSE)\b", TEXT))
    assert len(paths) >= 8
    for path in sorted(paths):
        assert list(ROOT.glob(path.rstrip("/"))), f"README mentions {path}, which does not exist"
