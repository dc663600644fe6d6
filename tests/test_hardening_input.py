"""Hostile inputs on every surface: ``init``, ``log``, the CLI, the dashboard's HTTP API and the MCP tools.

`CASES` is one table. Each row names a surface, what is given to it, and the outcome expected, asserted precisely:

- ``Raises``: a clear error of that type whose message contains every listed word (the bad value, and what is
  accepted);
- ``Accepted``: the documented coercion, checked on what was stored;
- ``Logged``: ``log()`` is called three times with the row's metrics (plus a valid ``ok`` value where the row keeps
  one). It returns None every time, warns once at most (one `TrackioWarning` per key, not per call), keeps the
  valid values, stores the accepted ones bit for bit, and leaves the SQLite file intact;
- ``Exit``: the CLI's exit code, and words of its one-line error;
- ``Status`` / ``Refused``: the HTTP status and words of the JSON error, or a request refused at the HTTP layer
  with the server still answering afterwards;
- ``ToolError`` / ``ToolOk``: an MCP tool error with its words, or the tool's answer.

Rows marked ``xfail`` are package bugs, described in their ``reason``. After the table: a real tiny ``Trainer``
run whose log events carry hostile values mid-training.
"""

from __future__ import annotations

import http.client
import json
import math
import struct
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
import numpy as np
import pytest
import torch
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

import trackio_callback as trackio
from tests import tiny
from trackio_callback import InvalidNameError, Reader, TrackioWarning
from trackio_callback.cli.main import main
from trackio_callback.server.show import show

SQL = "'; DROP TABLE runs; --"
PROJECT_RULE = "1-128 characters: letters, digits, '-', '_', '.', ' '; starting with a letter or digit; no '..'"
RUN_RULE = "use 1-256 printable characters without leading/trailing spaces"
NOT_A_NUMBER = "is not a number (log int, float, bool, numpy scalars or 0-d tensors)"
NO_STEP = object()  # log(metrics) without a step


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def from_bits(pattern: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", pattern))[0]


NEGATIVE_NAN = from_bits(0xFFF8_0000_0000_0000)
NAN_WITH_PAYLOAD = from_bits(0x7FF8_0000_0000_0123)


class Opaque:
    """A config value JSON cannot hold: stored as its ``str()``."""

    def __str__(self) -> str:
        return "<Opaque thing>"


def _circular() -> dict:
    config: dict = {}
    config["self"] = config
    return config


class ExplodingMapping(Mapping):
    """A mapping whose ``items()`` fails half-way: log() must swallow it."""

    def __getitem__(self, key):
        raise KeyError(key)

    def __iter__(self):
        raise RuntimeError("boom while iterating")

    def __len__(self) -> int:
        return 1


# -- expectations ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raises:
    kind: type[BaseException]
    words: tuple[str, ...]


@dataclass(frozen=True)
class Accepted:
    check: Callable[[Reader, Any], None]


@dataclass(frozen=True)
class LogCall:
    metrics: Any
    step: Any = NO_STEP
    with_ok: bool = True  # add {"ok": 1.0}: the valid part of the call, which must be kept


@dataclass(frozen=True)
class Logged:
    stored: dict[str, tuple[list[int], list[float]]] = field(default_factory=dict)  # besides "ok"
    warning: tuple[str, ...] = ()  # words of the one warning expected (none when empty)
    ok_steps: list[int] | None = None  # steps the valid "ok" value lands at (default 0, 1, 2)
    latest: bool = False  # also compare Reader.latest() bit for bit


@dataclass(frozen=True)
class Exit:
    code: int
    words: tuple[str, ...]


@dataclass(frozen=True)
class Status:
    code: int
    words: tuple[str, ...] = ()
    check: Callable[[dict], None] | None = None


@dataclass(frozen=True)
class Refused:
    """Refused at the HTTP layer (400, or the connection closed), the server answering afterwards."""


@dataclass(frozen=True)
class ToolError:
    words: tuple[str, ...]


@dataclass(frozen=True)
class ToolOk:
    check: Callable[[dict], None]


@dataclass(frozen=True)
class Case:
    id: str
    surface: str  # init | log | cli | http | mcp
    given: Any
    expect: Any
    xfail: str | None = None


# -- checks used by rows --------------------------------------------------------------------------------------


def config_is(expected: dict) -> Callable[[Reader, Any], None]:
    def check(reader: Reader, run) -> None:
        assert reader.run(run.project, run.name)["config"] == expected

    return check


def project_stored(reader: Reader, run) -> None:
    assert run.project in reader.projects()
    assert reader.store(run.project).integrity_check() == "ok"


def run_name_stored_literally(reader: Reader, run) -> None:
    names = [r["name"] for r in reader.runs(run.project)]
    assert names == ["before", run.name] and run.name == SQL  # the other run is still there: nothing dropped
    assert reader.store(run.project).integrity_check() == "ok"


def huge_config_stored(reader: Reader, run) -> None:
    config = reader.run(run.project, run.name)["config"]
    assert set(config) == {"blob", "lr"} and len(config["blob"]) == 10_000_000 and config["lr"] == 1e-3


def non_finite_config_stored(reader: Reader, run) -> None:
    """The package's one JSON policy (`utils/jsontext.py`): non-finite floats are stored as JSON strings."""
    config = reader.run(run.project, run.name)["config"]
    assert config == {"nan": "NaN", "inf": "Infinity", "neg": "-Infinity"}


def settings_have(**expected) -> Callable[[Reader, Any], None]:
    def check(reader: Reader, run) -> None:
        settings = reader.run(run.project, run.name)["settings"]
        assert {k: settings[k] for k in expected} == expected

    return check


def cursor_echoed(answer: dict) -> None:
    (run,) = answer["runs"]
    assert run.pop("end_reason")["kind"] == "finished"
    assert run == {"run": "base", "cursor": 1_000_000_000, "status": "finished", "last_step": 9, "series": {}}


def the_series_once(answer: dict) -> None:
    assert answer["cursors"] == {"base": 9}
    (item,) = answer["series"]  # 2000 copies of one key are one key
    assert (item["run"], item["key"], item["steps"]) == ("base", "train/loss", list(range(10)))
    assert item["values"] == [1 / (i + 1) for i in range(10)]


def nan_points_as_strings(answer: dict) -> None:
    assert [p["value"] for p in answer["points"]] == ["NaN"] * 10 and answer["total_points"] == 10


def four_points_at_most(answer: dict) -> None:
    assert answer["returned_points"] <= 4 and answer["points"][-1]["step"] == 9


# -- the table ------------------------------------------------------------------------------------------------

P = Case  # short rows


def _kept(key: str, value: float) -> dict:
    return {key: ([0, 1, 2], [value] * 3)}


CASES: list[Case] = [
    # init: project names
    P("init-project-dotdot", "init", {"project": "../x"}, Raises(InvalidNameError, ("'../x'", PROJECT_RULE))),
    P("init-project-slash", "init", {"project": "a/b"}, Raises(InvalidNameError, ("'a/b'", PROJECT_RULE))),
    P("init-project-backslash", "init", {"project": "a\\b"}, Raises(InvalidNameError, ("'a\\\\b'", PROJECT_RULE))),
    P("init-project-nul", "init", {"project": "x\x00y"}, Raises(InvalidNameError, ("'x\\x00y'", PROJECT_RULE))),
    P("init-project-leading-space", "init", {"project": " p"}, Raises(InvalidNameError, ("' p'", PROJECT_RULE))),
    P("init-project-129-chars", "init", {"project": "x" * 129}, Raises(InvalidNameError, ("x" * 129, "1-128"))),
    P("init-project-128-chars", "init", {"project": "x" * 128}, Accepted(project_stored)),
    P("init-project-empty", "init", {"project": ""}, Raises(InvalidNameError, ("''", PROJECT_RULE))),
    P("init-project-sql", "init", {"project": SQL}, Raises(InvalidNameError, (repr(SQL), PROJECT_RULE))),
    P("init-project-int", "init", {"project": 5}, Raises(InvalidNameError, ("project must be a string", "int: 5"))),
    # init: run names
    P("init-name-nul", "init", {"name": "a\x00b"}, Raises(InvalidNameError, ("'a\\x00b'", RUN_RULE))),
    P("init-name-newline", "init", {"name": "a\nb"}, Raises(InvalidNameError, ("'a\\nb'", RUN_RULE))),
    P("init-name-257-chars", "init", {"name": "r" * 257}, Raises(InvalidNameError, ("r" * 257, RUN_RULE))),
    P("init-name-sql", "init", {"name": SQL}, Accepted(run_name_stored_literally)),
    # init: wrong types and values of every other parameter
    P("init-private-yes", "init", {"private": "yes"}, Raises(TypeError, ("True, False or None", "'yes'"))),
    P("init-sync-every-10", "init", {"sync_every": 10}, Raises(ValueError, ("sync_every=10", "from 60 to"))),
    P("init-sync-every-str", "init", {"sync_every": "300"}, Raises(ValueError, ("sync_every='300'", "from 60 to"))),
    P(
        "init-sync-every-nan",
        "init",
        {"sync_every": math.nan},
        Raises(ValueError, ("sync_every=nan", "from 60 to")),
    ),
    P(
        "init-resume-maybe",
        "init",
        {"resume": "maybe"},
        Raises(ValueError, ("resume='maybe'", "'never', 'allow', 'must'")),
    ),
    P(
        "init-space-sdk-x",
        "init",
        {"space_sdk": "x"},
        Raises(ValueError, ("space_sdk must be one of 'static', 'gradio', 'docker'", "got 'x'")),
    ),
    P("init-flush-every-0", "init", {"flush_every": 0}, Raises(ValueError, ("flush_every", "> 0", "got 0"))),
    P("init-flush-every-negative", "init", {"flush_every": -1}, Raises(ValueError, ("> 0", "got -1"))),
    P(
        "init-flush-every-inf",
        "init",
        {"flush_every": math.inf},
        Raises(ValueError, ("flush_every", "got inf")),
    ),
    P("init-group-int", "init", {"group": 5}, Raises(TypeError, ("group must be a string or None", "int: 5"))),
    P("init-config-list", "init", {"config": [1, 2]}, Raises(TypeError, ("config must be a dict", "list"))),
    P("init-space-id-int", "init", {"space_id": 5}, Raises(TypeError, ("space_id must be a string", "got 5"))),
    P("init-name-int", "init", {"name": 5}, Raises(InvalidNameError, ("run name must be a string", "int: 5"))),
    P(
        "init-dataset-id-list",
        "init",
        {"dataset_id": ["x"]},
        Raises(TypeError, ("dataset_id must be a string", "got ['x']")),
    ),
    P(
        "init-dir-int",
        "init",
        {"dir": 5},
        Raises(TypeError, ("dir", "5")),
    ),
    # init: config values
    P(
        "init-config-non-json",
        "init",
        {"config": {"set": {3}, "obj": Opaque(), "complex": 1 + 2j, "bytes": b"x", "tuple": (1, "a")}},
        Accepted(
            config_is({"set": "{3}", "obj": "<Opaque thing>", "complex": "(1+2j)", "bytes": "b'x'", "tuple": [1, "a"]})
        ),
    ),
    P("init-config-int-key", "init", {"config": {1: "a"}}, Accepted(config_is({"1": "a"}))),
    P(
        "init-config-non-finite",
        "init",
        {"config": {"nan": math.nan, "inf": math.inf, "neg": -math.inf}},
        Accepted(non_finite_config_stored),
    ),
    P("init-config-10mb", "init", {"config": {"blob": "x" * 10_000_000, "lr": 1e-3}}, Accepted(huge_config_stored)),
    P(
        "init-config-tuple-key",
        "init",
        {"config": {(1, 2): "a"}},
        Raises(TypeError, ("config", "(1, 2)", "strings")),
    ),
    P(
        "init-config-circular",
        "init",
        {"config": _circular()},
        Raises(ValueError, ("config", "refers to itself")),
    ),
    # log: values
    P("log-nan", "log", LogCall({"v": math.nan}), Logged(_kept("v", math.nan), latest=True)),
    P("log-negative-nan-payload", "log", LogCall({"v": NEGATIVE_NAN}), Logged(_kept("v", NEGATIVE_NAN))),
    P("log-nan-payload", "log", LogCall({"v": NAN_WITH_PAYLOAD}), Logged(_kept("v", NAN_WITH_PAYLOAD))),
    P("log-inf", "log", LogCall({"v": math.inf, "w": -math.inf}), Logged(_kept("v", math.inf) | _kept("w", -math.inf))),
    P("log-negative-zero", "log", LogCall({"v": -0.0}), Logged(_kept("v", -0.0))),
    P("log-none", "log", LogCall({"v": None}), Logged(warning=("metric 'v' dropped", "NoneType", NOT_A_NUMBER))),
    P("log-string", "log", LogCall({"v": "0.5"}), Logged()),  # kept as a text series (tests/test_texts.py)
    P("log-nested-dict", "log", LogCall({"v": {"a": 1.0}}), Logged(warning=("metric 'v' dropped", "dict"))),
    P("log-list", "log", LogCall({"v": [1.0, 2.0]}), Logged(warning=("metric 'v' dropped", "list", NOT_A_NUMBER))),
    P("log-complex", "log", LogCall({"v": 1 + 2j}), Logged(warning=("metric 'v' dropped", "complex", NOT_A_NUMBER))),
    P("log-numpy-0d", "log", LogCall({"v": np.array(2.5)}), Logged(_kept("v", 2.5))),
    P(
        "log-numpy-1d",
        "log",
        LogCall({"v": np.array([1.0, 2.0])}),
        Logged(warning=("metric 'v' dropped", "numpy.ndarray of shape (2,)", NOT_A_NUMBER)),
    ),
    P("log-torch-0d-cpu", "log", LogCall({"v": torch.tensor(0.75)}), Logged(_kept("v", 0.75))),
    P(
        "log-torch-0d-meta",
        "log",
        LogCall({"v": torch.tensor(1.0, device="meta")}),
        Logged(warning=("metric 'v' dropped", "RuntimeError", "meta tensors")),
    ),
    P(
        "log-torch-1d",
        "log",
        LogCall({"v": torch.tensor([1.0, 2.0])}),
        Logged(warning=("metric 'v' dropped", "torch.Tensor of shape (2,)", NOT_A_NUMBER)),
    ),
    P("log-bools", "log", LogCall({"t": True, "f": False}), Logged(_kept("t", 1.0) | _kept("f", 0.0))),
    P("log-int-above-2-53", "log", LogCall({"v": 2**53 + 1}), Logged(_kept("v", float(2**53)))),  # float64 rounding
    P("log-int-above-2-63", "log", LogCall({"v": 2**63 + 1}), Logged(_kept("v", 9.223372036854776e18))),
    P(
        "log-int-too-big-for-float",
        "log",
        LogCall({"v": 10**400}),
        Logged(warning=("metric 'v' dropped", "an integer too large for float64")),
    ),
    P("log-fraction", "log", LogCall({"v": Fraction(1, 3)}), Logged(_kept("v", 1 / 3))),
    P(
        "log-decimal",
        "log",
        LogCall({"v": Decimal("1.5")}),
        Logged(warning=("metric 'v' dropped", "decimal.Decimal", NOT_A_NUMBER)),
    ),
    # log: keys
    P(
        "log-key-257-chars",
        "log",
        LogCall({"k" * 257: 1.0}),
        Logged(warning=("metric key", "k" * 257, "keys must be 1-256 characters long, this one has 257")),
    ),
    P("log-key-256-chars", "log", LogCall({"k" * 256: 1.0}), Logged(_kept("k" * 256, 1.0))),
    P("log-key-emoji", "log", LogCall({"train/🔥loss": 1.0}), Logged(_kept("train/🔥loss", 1.0))),
    P("log-key-rtl-override", "log", LogCall({"a\u202eb": 1.0}), Logged(_kept("a\u202eb", 1.0))),
    P(
        "log-key-combining",
        "log",
        LogCall({"e\u0301": 1.0, "\u00e9": 2.0}),
        Logged(_kept("e\u0301", 1.0) | _kept("é", 2.0)),
    ),
    P("log-key-nul-inside", "log", LogCall({"a\x00b": 1.0}), Logged(_kept("a\x00b", 1.0))),
    P(
        "log-key-empty",
        "log",
        LogCall({"": 1.0}),
        Logged(warning=("metric key '' dropped", "keys must be 1-256 characters long, this one has 0")),
    ),
    P(
        "log-key-int",
        "log",
        LogCall({1: 1.0}),
        Logged(warning=("metric key 1 dropped", "keys must be strings, not int")),
    ),
    P(
        "log-key-tuple",
        "log",
        LogCall({(1, 2): 1.0}),
        Logged(warning=("metric key (1, 2) dropped", "keys must be strings, not tuple")),
    ),
    P("log-key-sql", "log", LogCall({SQL: 1.0}), Logged(_kept(SQL, 1.0))),
    # log: steps
    P(
        "log-step-negative",
        "log",
        LogCall({"v": 1.0}, step=-1),
        Logged(_kept("v", 1.0), warning=("step=-1 is not an integer in [0, 2**62]", "using the next step, 0")),
    ),
    P(
        "log-step-above-2-62",
        "log",
        LogCall({"v": 1.0}, step=2**62 + 1),
        Logged(_kept("v", 1.0), warning=(f"step={2**62 + 1} is not an integer in [0, 2**62]",)),
    ),
    P(
        "log-step-2-62",
        "log",
        LogCall({"v": 1.0}, step=2**62),
        Logged({"v": ([2**62] * 3, [1.0] * 3)}, ok_steps=[2**62] * 3),
    ),
    P(
        "log-step-float",
        "log",
        LogCall({"v": 1.0}, step=2.5),
        Logged(_kept("v", 1.0), warning=("step=2.5 is not an integer in [0, 2**62]",)),
    ),
    P(
        "log-step-string",
        "log",
        LogCall({"v": 1.0}, step="3"),
        Logged(_kept("v", 1.0), warning=("step='3' is not an integer in [0, 2**62]",)),
    ),
    P(
        "log-step-bool",
        "log",
        LogCall({"v": 1.0}, step=True),
        Logged(_kept("v", 1.0), warning=("step=True is not an integer in [0, 2**62]",)),
    ),
    P(
        "log-step-numpy-int",
        "log",
        LogCall({"v": 1.0}, step=np.int64(7)),
        Logged({"v": ([7] * 3, [1.0] * 3)}, ok_steps=[7] * 3),
    ),
    # log: not a dict at all
    P(
        "log-metrics-none",
        "log",
        LogCall(None, with_ok=False),
        Logged(warning=("log() takes a dict of numbers, not NoneType: dropped",), ok_steps=[]),
    ),
    P(
        "log-metrics-exploding-mapping",
        "log",
        LogCall(ExplodingMapping(), with_ok=False),
        Logged(warning=("log() failed and dropped one call", "RuntimeError: boom while iterating"), ok_steps=[]),
    ),
    # CLI
    P(
        "cli-unknown-project",
        "cli",
        ["list", "runs", "--project", "nope"],
        Exit(2, ("project 'nope' not found", "'proj'")),
    ),
    P(
        "cli-unknown-run",
        "cli",
        ["get", "metric", "--project", "proj", "--run", "bsae", "--metric", "train/loss"],
        Exit(2, ("run 'bsae' not found in project 'proj'", "did you mean", "'base'")),
    ),
    P(
        "cli-unknown-metric",
        "cli",
        ["get", "metric", "--project", "proj", "--run", "base", "--metric", "train/los"],
        Exit(2, ("metric 'train/los' not found", "'train/loss'")),
    ),
    P(
        "cli-max-points-2",
        "cli",
        ["get", "metric", "--project", "proj", "--run", "base", "--metric", "train/loss", "--max-points", "2"],
        Exit(2, ("max_points must be an integer >= 4", "got 2")),
    ),
    P(
        "cli-min-step-abc",
        "cli",
        ["get", "metric", "--project", "proj", "--run", "base", "--metric", "train/loss", "--min-step", "abc"],
        Exit(2, ("argument --min-step: invalid int value: 'abc'",)),
    ),
    P(
        "cli-min-step-beyond-int64",
        "cli",
        ["get", "metric", "--project", "proj", "--run", "base", "--metric", "train/loss", "--min-step", str(2**70)],
        Exit(2, ("min_step", str(2**70))),
    ),
    P("cli-project-dotdot", "cli", ["list", "runs", "--project", "../x"], Exit(2, ("invalid project name '../x'",))),
    P(
        "cli-run-sql",
        "cli",
        ["list", "metrics", "--project", "proj", "--run", SQL],
        Exit(2, (f"run {SQL!r} not found in project 'proj'", "'base'")),
    ),
    # HTTP API
    P("http-project-dotdot", "http", "/api/runs?project=../x", Status(400, ("invalid project name '../x'", "no '..'"))),
    P("http-project-nul", "http", "/api/runs?project=proj%00", Status(400, ("invalid project name 'proj\\x00'",))),
    P(
        "http-max-points-negative",
        "http",
        "/api/series?project=proj&run=base&key=train/loss&max_points=-1",
        Status(400, ("max_points must be an integer from 4 to 100000", "got -1")),
    ),
    P(
        "http-after-1e9",
        "http",
        "/api/poll?project=proj&run=base&after=1e9",
        Status(400, ("after must be an integer", "'1e9'")),
    ),
    P("http-after-10-9", "http", "/api/poll?project=proj&run=base&after=1000000000", Status(200, check=cursor_echoed)),
    P(
        "http-min-step-beyond-int64",
        "http",
        f"/api/series?project=proj&run=base&key=train/loss&min_step={2**70}",
        Status(400, ("min_step must be an integer", str(2**70))),
    ),
    P(
        "http-repeated-key-2000",
        "http",
        "/api/series?project=proj&run=base&" + "&".join(["key=train/loss"] * 2000),
        Status(200, check=the_series_once),
    ),
    P(
        "http-600-distinct-keys",
        "http",
        "/api/series?project=proj&run=base&" + "&".join(f"key=k{i}" for i in range(600)),
        Status(400, ("at most 500 values of 'key' per request", "got 600")),
    ),
    P(
        "http-repeated-project",
        "http",
        "/api/runs?" + "&".join(["project=proj"] * 500),
        Status(400, ("query parameter 'project' is required once",)),
    ),
    P("http-repeated-key-100000", "http", "/api/series?project=proj&run=base&" + "&key=x" * 100_000, Refused()),
    P(
        "http-run-sql",
        "http",
        "/api/keys?project=proj&run=%27%3B%20DROP%20TABLE%20runs%3B%20--",
        Status(404, (f"run {SQL!r} not found in project 'proj'", "'base'")),
    ),
    # MCP tools
    P(
        "mcp-max-points-string",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base", "metric_name": "train/loss", "max_points": "x"}),
        ToolError(("max_points", "valid integer", "'x'")),
    ),
    P(
        "mcp-max-points-too-big",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base", "metric_name": "train/loss", "max_points": 9999}),
        ToolError(("max_points must be an integer from 4 to 5000", "got 9999")),
    ),
    P(
        "mcp-max-points-4",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base", "metric_name": "train/loss", "max_points": 4}),
        ToolOk(four_points_at_most),
    ),
    P(
        "mcp-missing-metric-name",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base"}),
        ToolError(("metric_name", "Field required")),
    ),
    P("mcp-missing-project", "mcp", ("get_runs_for_project", {}), ToolError(("project", "Field required"))),
    P(
        "mcp-project-wrong-type",
        "mcp",
        ("get_runs_for_project", {"project": 5}),
        ToolError(("project", "Input should be a valid string")),
    ),
    P(
        "mcp-runs-not-a-list",
        "mcp",
        ("compare_runs", {"project": "proj", "runs": "base", "metric": "train/loss"}),
        ToolError(("runs", "Input should be a valid list")),
    ),
    P("mcp-unknown-tool", "mcp", ("drop_all_runs", {}), ToolError(("Unknown tool: drop_all_runs",))),
    P(
        "mcp-unknown-project",
        "mcp",
        ("get_runs_for_project", {"project": "prj"}),
        ToolError(("project 'prj' not found", "did you mean: 'proj'")),
    ),
    P(
        "mcp-project-dotdot",
        "mcp",
        ("get_project_summary", {"project": "../x"}),
        ToolError(("invalid project name '../x'", "no '..'")),
    ),
    P(
        "mcp-run-sql",
        "mcp",
        ("get_run_summary", {"project": "proj", "run": SQL}),
        ToolError((f"run {SQL!r} not found in project 'proj'", "'base'")),
    ),
    P(
        "mcp-nan-values",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base", "metric_name": "nan"}),
        ToolOk(nan_points_as_strings),
    ),
    P(
        "mcp-min-step-beyond-int64",
        "mcp",
        ("get_metric_values", {"project": "proj", "run": "base", "metric_name": "train/loss", "min_step": 2**70}),
        ToolError(("min_step", str(2**70))),
    ),
]


def _params() -> list:
    params = []
    for case in CASES:
        marks = []
        if case.xfail:  # a bug's side effects (a crashed writer thread) are part of what the xfail documents
            marks += [
                pytest.mark.xfail(strict=True, reason=case.xfail),
                pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning"),
            ]
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


# -- the servers the CLI/HTTP/MCP rows read -------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> dict[str, Any]:
    """Project ``proj``: run ``base`` (``train/loss`` 1/(i+1) and ``nan``, steps 0-9), served with MCP."""
    directory = tmp_path_factory.mktemp("hostile-served")
    run = trackio.init(project="proj", name="base", dir=directory)
    for i in range(10):
        run.log({"train/loss": 1 / (i + 1), "nan": math.nan}, step=i)
    run.finish()
    with show(dir=directory, open_browser=False, block=False, port=0, mcp_server=True) as dashboard:
        yield {"dir": directory, "dashboard": dashboard}
    with Reader(directory) as reader:  # nothing any row sent changed the store
        assert [r["name"] for r in reader.runs("proj")] == ["base"]
        assert reader.series("proj", "base", "train/loss").values == [1 / (i + 1) for i in range(10)]
        assert reader.store("proj").integrity_check() == "ok"


def _strict(text: str) -> Any:
    def reject(name: str):
        raise AssertionError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=reject)


async def _mcp_call(url: str, tool: str, arguments: dict) -> tuple[bool, str]:
    async with streamable_http_client(url) as streams, ClientSession(streams[0], streams[1]) as session:
        await session.initialize()
        result = await session.call_tool(tool, arguments)
        return result.is_error, result.content[0].text


# -- the executors --------------------------------------------------------------------------------------------


def _words_in(text: str, words: tuple[str, ...]) -> None:
    for word in words:
        assert word in text, (word, text[:500])


def _run_init(case: Case, store_dir: Path) -> None:
    kwargs = {"project": "hostile", **case.given}
    if case.id == "init-name-sql":
        trackio.init(project="hostile", name="before").finish()
    try:
        run = trackio.init(**kwargs)
    except Exception as error:
        assert isinstance(case.expect, Raises), f"unexpected {type(error).__name__}: {error}"
        assert isinstance(error, case.expect.kind), (type(error), error)
        _words_in(str(error), case.expect.words)
        assert trackio.current_run() is None
        return
    with warnings.catch_warnings():
        if isinstance(case.expect, Raises):  # accepted by mistake: its writer may be dead (see the xfail)
            warnings.simplefilter("ignore", TrackioWarning)
        run.finish(timeout=3)  # bounded: a run whose writer died must not hold the test for a minute
    assert isinstance(case.expect, Accepted), f"init({kwargs!r}) was accepted; expected {case.expect}"
    with Reader(store_dir) as reader:
        assert reader.run(run.project, run.name)["status"] == "finished"
        case.expect.check(reader, run)


def _run_log(case: Case, store_dir: Path) -> None:
    given: LogCall = case.given
    expect: Logged = case.expect
    run = trackio.init(project="hostile", name="r", flush_every=0.05)
    returned = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # the package itself must warn once: no deduplication by `warnings`
        for _ in range(3):
            metrics = {**given.metrics, "ok": 1.0} if given.with_ok else given.metrics
            # the module-level API, as training scripts call it
            returned.append(trackio.log(metrics) if given.step is NO_STEP else trackio.log(metrics, step=given.step))
    run.finish()
    assert returned == [None, None, None]
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackioWarning)]
    if expect.warning:
        assert len(messages) == 1, messages  # once per key, not once per call
        _words_in(messages[0], expect.warning)
    else:
        assert messages == []
    with Reader(store_dir) as reader:
        assert reader.store("hostile").integrity_check() == "ok"
        expected = dict(expect.stored)
        ok_steps = [0, 1, 2] if expect.ok_steps is None else expect.ok_steps
        if ok_steps:
            expected["ok"] = (ok_steps, [1.0] * len(ok_steps))
        assert sorted(reader.metric_keys("hostile", "r")) == sorted(expected)
        latest = reader.latest("hostile", "r")
        for key, (steps, values) in expected.items():
            series = reader.series("hostile", "r", key)
            assert series.steps == steps, key
            assert [bits(v) for v in series.values] == [bits(v) for v in values], (key, series.values)
            if expect.latest:
                assert bits(latest[key]) == bits(values[-1]), (key, latest[key])
        assert reader.run("hostile", "r")["num_logs"] == (3 if ok_steps else 0)


def _run_cli(case: Case, served: dict, capsys) -> None:
    capsys.readouterr()
    try:
        code = main(["--dir", str(served["dir"]), *case.given])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    out, err = capsys.readouterr()
    assert code == case.expect.code, (code, out, err)
    assert out == "" and "Traceback" not in err, err
    assert err.startswith(("trackio-callback: error: ", "usage: trackio-callback")), err
    _words_in(err, case.expect.words)


def _run_http(case: Case, served: dict) -> None:
    dashboard = served["dashboard"]
    if isinstance(case.expect, Refused):
        connection = http.client.HTTPConnection(dashboard.host, dashboard.port, timeout=30)
        try:
            connection.request("GET", case.given)
            status = connection.getresponse().status
        except (ConnectionError, http.client.HTTPException):
            status = None  # the server closed the connection
        finally:
            connection.close()
        assert status in (None, 400), status
    else:
        with httpx.Client(base_url=dashboard.url, trust_env=False, timeout=60) as client:
            response = client.get(case.given)
        assert response.status_code == case.expect.code, (response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/json"
        answer = _strict(response.text)
        if case.expect.code >= 400:
            _words_in(answer["error"], case.expect.words)
        if case.expect.check is not None:
            case.expect.check(answer)
    with httpx.Client(base_url=dashboard.url, trust_env=False, timeout=30) as client:  # still serving
        assert client.get("/api/projects").json() == {"projects": ["proj"], "unreadable": []}


def _run_mcp(case: Case, served: dict) -> None:
    tool, arguments = case.given
    is_error, text = anyio.run(_mcp_call, served["dashboard"].url + "gradio_api/mcp/", tool, arguments)
    if isinstance(case.expect, ToolError):
        assert is_error, text[:300]
        _words_in(text, case.expect.words)
    else:
        assert not is_error, text[:300]
        case.expect.check(_strict(text))


@pytest.mark.parametrize("case", _params())
def test_hostile_input(case: Case, store_dir, request, capsys):
    if case.surface == "init":
        _run_init(case, store_dir)
    elif case.surface == "log":
        _run_log(case, store_dir)
    elif case.surface == "cli":
        _run_cli(case, request.getfixturevalue("served"), capsys)
    elif case.surface == "http":
        _run_http(case, request.getfixturevalue("served"))
    else:
        assert case.surface == "mcp"
        _run_mcp(case, request.getfixturevalue("served"))


def test_the_table_covers_every_surface():
    counts: dict[str, int] = {}
    for case in CASES:
        counts[case.surface] = counts.get(case.surface, 0) + 1
    assert len(CASES) >= 40 and len({case.id for case in CASES}) == len(CASES)
    assert set(counts) == {"init", "log", "cli", "http", "mcp"} and min(counts.values()) >= 8, counts


# -- a real Trainer fed hostile values mid-training -----------------------------------------------------------


HOSTILE_LOGS = {
    "as_string": "0.5",
    "as_none": None,
    "as_vector": torch.tensor([1.0, 2.0]),
    "as_meta": torch.tensor(1.0, device="meta"),
    "as_nested": {"a": 1.0},
    "k" * 300: 1.0,
    "as_nan": math.nan,
    "as_tensor": torch.tensor(2.5),
    "as_bool": True,
    "kept": 7.0,
}
DROPPED = (
    "train/as_none",
    "train/as_vector",
    "train/as_meta",
    "train/as_nested",
    "train/" + "k" * 300,
)


def _hostile_trainer(tmp_path: Path, logs_at: dict[int, dict]):
    """A tiny ``Trainer`` (``report_to="trackio"``) whose own log events get ``logs_at[step]`` added."""
    from transformers import TrainerCallback

    class Injector(TrainerCallback):
        """Adds hostile values to the Trainer's own log event, before the tracker's callback sees it."""

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs is not None and "loss" in logs and state.global_step in logs_at:
                logs.update(logs_at[state.global_step])

    trainer = tiny.make_trainer(tmp_path / "out", report_to="trackio", run_name="hostile")
    trainer.callback_handler.callbacks.insert(0, Injector())  # first: the same `logs` dict reaches the tracker
    return trainer


def test_a_trainer_fed_hostile_values_trains_to_the_end(store_dir, tmp_path):
    trainer = _hostile_trainer(tmp_path, {2: HOSTILE_LOGS, 3: HOSTILE_LOGS})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = trainer.train()
    assert trainer.state.global_step == 4 and math.isfinite(result.training_loss)
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackioWarning)]
    for key in DROPPED:
        assert sum(f"{key!r} dropped" in m for m in messages) == 1, (key, messages)  # once, though logged twice
    with Reader(store_dir) as reader:
        (info,) = reader.runs("huggingface")
        assert (info["name"], info["status"], info["last_step"]) == ("hostile", "finished", 4)
        assert reader.store("huggingface").integrity_check() == "ok"
        keys = set(reader.metric_keys("huggingface", "hostile"))
        assert not keys & set(DROPPED)
        assert reader.series("huggingface", "hostile", "train/loss").steps == [1, 2, 3, 4]
        assert reader.series("huggingface", "hostile", "train/kept").steps == [2, 3]
        assert reader.series("huggingface", "hostile", "train/kept").values == [7.0, 7.0]
        assert reader.series("huggingface", "hostile", "train/as_tensor").values == [2.5, 2.5]
        assert reader.series("huggingface", "hostile", "train/as_bool").values == [1.0, 1.0]
        assert all(math.isnan(v) for v in reader.series("huggingface", "hostile", "train/as_nan").values)
        strings = reader.texts("huggingface", "hostile", "train/as_string")  # a string is a text series
        assert [(t["step"], t["value"]) for t in strings] == [(2, "0.5"), (3, "0.5")]


def test_a_non_numeric_num_tokens_drops_only_itself(store_dir, tmp_path):
    trainer = _hostile_trainer(tmp_path, {3: {"num_tokens": "many", "kept": 3.0}})
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        trainer.train()
    assert trainer.state.global_step == 4
    with Reader(store_dir) as reader:
        assert reader.series("huggingface", "hostile", "train/loss").steps == [1, 2, 3, 4]
        assert reader.series("huggingface", "hostile", "train/kept").values == [3.0]
