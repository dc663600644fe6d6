"""Scripts written for trackio, one per group of its API, run unchanged as a user runs them.

Each script runs in a fresh interpreter twice: with ``import trackio`` (the start-up hook's module) and with
``import trackio_callback as trackio``. It must exit 0 with no warning at all (nothing dropped, nothing ignored),
and what it logged is read back exactly through ``Reader``, the CLI and the MCP tools (the real ``mcp`` client
over stdio).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.test_mcp import call_stdio
from trackio_callback import Reader

IMPORTS = {"import trackio": "import trackio", "alias": "import trackio_callback as trackio"}


@pytest.fixture(params=list(IMPORTS), ids=list(IMPORTS))
def import_line(request) -> str:
    return IMPORTS[request.param]


def run_script(body: str, import_line: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    code = f"import json, os\n{import_line}\n" + textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-W", "always", "-c", code],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    noise = [line for line in result.stderr.splitlines() if "Warning" in line or "dropped" in line or "ignored" in line]
    assert noise == [], "a trackio script must run without a warning:\n" + result.stderr
    return result


def cli_json(*args: str):
    result = subprocess.run(
        [sys.executable, "-m", "trackio_callback", *args, "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mcp(store_dir: Path, calls: list[tuple[str, dict]]) -> list:
    names, *answers = call_stdio(["--dir", str(store_dir), "mcp"], {}, calls)
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
    return answers


# -- logging: numbers, strings, rich text, tables, config --------------------------------------------------------

LOGGING = """
trackio.init(project="scripts", name="logging", config={"lr": 0.01, "model": "tiny"}, auto_log_cpu=False)
for step in range(5):
    trackio.log({"train/loss": 1.0 / (step + 1), "samples/generation": f"step {step}: the cat sat"})
trackio.log({"report": trackio.Markdown("## Eval\\n- accuracy 0.9"),
             "rollout": trackio.Trace(messages=[{"role": "user", "content": "hi"}], metadata={"reward": 1.0})})
trackio.log({"completions": trackio.Table(columns=["prompt", "completion"], data=[["2+2=", "4"]])})
trackio.config["epochs"] = 2
trackio.finish()
"""


def test_logging_numbers_strings_rich_text_tables_and_config(import_line, store_dir, tmp_path):
    run_script(LOGGING, import_line, tmp_path)
    reader = Reader(store_dir)
    losses = [1.0 / (step + 1) for step in range(5)]
    assert reader.series("scripts", "logging", "train/loss").values == losses
    generations = [t["value"] for t in reader.texts("scripts", "logging", "samples/generation")]
    assert generations == [f"step {step}: the cat sat" for step in range(5)]
    (report,) = reader.texts("scripts", "logging", "report")
    assert report["value"] == "## Eval\n- accuracy 0.9" and report["step"] == 5 and report["kind"] == "markdown"
    (rollout,) = reader.traces("scripts", "logging", "rollout")
    assert rollout["value"] == {
        "messages": [{"role": "user", "content": "hi"}], "metadata": {"reward": 1.0}, "spans": []
    }  # fmt: skip
    (table,) = reader.tables("scripts", "logging")
    assert (table["key"], table["columns"], table["rows"]) == ("completions", ["prompt", "completion"], [["2+2=", "4"]])
    assert reader.run("scripts", "logging")["config"] == {"lr": 0.01, "model": "tiny", "epochs": 2}

    base = ("--dir", str(store_dir), "get", "metric", "--project", "scripts", "--run", "logging", "--metric")
    assert [p["value"] for p in cli_json(*base, "train/loss")] == losses
    assert [p["value"] for p in cli_json(*base, "samples/generation")] == generations
    values, texts = mcp(
        store_dir,
        [
            ("get_metric_values", {"project": "scripts", "run": "logging", "metric_name": "train/loss"}),
            ("get_texts", {"project": "scripts", "run": "logging", "key": "report"}),
        ],
    )
    assert [p["value"] for p in values["points"]] == losses
    assert [t["value"] for t in texts["texts"]] == ["## Eval\n- accuracy 0.9"]


# -- alerts and the webhook --------------------------------------------------------------------------------------

ALERTS = """
trackio.init(project="scripts", name="alerts", webhook_url=os.environ["RECEIVER"],
             webhook_min_level=trackio.AlertLevel.WARN, auto_log_cpu=False)
trackio.log({"loss": 1.0})
trackio.alert("just so you know", text="not posted: below the minimum", level=trackio.AlertLevel.INFO)
trackio.alert("loss spike", text="loss jumped to 9.1", level=trackio.AlertLevel.WARN)
trackio.log({"loss": 9.1})
trackio.alert("diverged", level="error")
trackio.finish()
"""


@pytest.fixture
def receiver():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def test_alerts_are_stored_printed_and_posted_from_the_minimum_level(import_line, store_dir, tmp_path, receiver):
    url, received = receiver
    result = run_script(ALERTS, import_line, tmp_path, {"RECEIVER": url})
    assert "[TRACKIO WARN] loss spike: loss jumped to 9.1 (step 0)" in result.stderr
    expected = [
        ("info", "just so you know", "not posted: below the minimum", 0),
        ("warn", "loss spike", "loss jumped to 9.1", 0),
        ("error", "diverged", None, 1),
    ]
    stored = Reader(store_dir).alerts("scripts", "alerts")
    assert [(a["level"], a["title"], a["text"], a["step"]) for a in stored] == expected
    posted = [(p["level"], p["title"], p["text"], p["step"]) for p in received]
    assert posted == [tuple(e) for e in expected[1:]]  # the run's end ("Run finished") is info: below the minimum
    assert {p["project"] for p in received} == {"scripts"} and {p["run"] for p in received} == {"alerts"}

    listed = cli_json("--dir", str(store_dir), "list", "alerts", "--project", "scripts", "--run", "alerts")
    assert [(a["level"], a["title"], a["text"], a["step"]) for a in listed] == expected
    (answer,) = mcp(store_dir, [("get_alerts", {"project": "scripts", "run": "alerts"})])
    assert sorted((a["level"], a["title"]) for a in answer["alerts"]) == sorted((e[0], e[1]) for e in expected)
    assert url not in (store_dir / "scripts.db").read_bytes().decode("latin-1")


# -- system metrics by hand --------------------------------------------------------------------------------------

SYSTEM = """
trackio.init(project="scripts", name="system", auto_log_cpu=False, auto_log_gpu=False)
trackio.log({"loss": 1.0})
trackio.log_system({"rack/inlet_temperature_c": 24.5})
reading = trackio.log_cpu()
print(json.dumps(reading))
print(json.dumps([trackio.cpu_available(), trackio.gpu_available()]))
trackio.finish()
"""


def test_system_metrics_logged_by_hand(import_line, store_dir, tmp_path):
    result = run_script(SYSTEM, import_line, tmp_path)
    *_, reading_line, available_line = result.stdout.strip().splitlines()
    reading = json.loads(reading_line)
    assert set(reading) == {"system/cpu_percent", "system/memory_used_gb", "system/memory_percent",
                            "system/process_rss_gb"}  # fmt: skip
    assert json.loads(available_line) == [True, False]
    reader = Reader(store_dir)
    assert set(reader.system_keys("scripts", "system")) == {*reading, "rack/inlet_temperature_c"}
    for key, value in reading.items():
        assert [s["value"] for s in reader.system_series("scripts", "system", key)] == [value]
    base = ("--dir", str(store_dir), "get", "system", "--project", "scripts", "--run", "system", "--metric")
    assert [p["value"] for p in cli_json(*base, "rack/inlet_temperature_c")] == [24.5]
    (answer,) = mcp(store_dir, [("get_system_metrics", {"project": "scripts", "run": "system"})])
    assert answer["metrics"]["rack/inlet_temperature_c"]["last"] == 24.5


# -- files and artifacts -----------------------------------------------------------------------------------------

FILES = """
from pathlib import Path
Path("configs").mkdir()
Path("configs/train.yml").write_text("lr: 0.01\\n")
Path("model").mkdir()
Path("model/weights.bin").write_bytes(bytes(range(256)) * 40)
trackio.init(project="scripts", name="files", auto_log_cpu=False)
saved = trackio.save("configs/*.yml")
artifact = trackio.Artifact("tiny-model", type="model", description="weights after step 10")
artifact.add_dir("model")
logged = trackio.log_artifact(artifact, aliases=["best"])
again = trackio.use_artifact("tiny-model:best", type="model")
folder = again.download(root="restored")
print(json.dumps({"saved": saved, "version": logged.version, "aliases": list(logged.aliases), "folder": folder}))
trackio.finish()
"""


def test_files_and_artifacts(import_line, store_dir, tmp_path):
    result = run_script(FILES, import_line, tmp_path)
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["version"] == "v0" and set(found["aliases"]) == {"best", "latest"}
    assert (Path(found["saved"]) / "configs" / "train.yml").read_text() == "lr: 0.01\n"
    restored = Path(tmp_path, found["folder"])
    assert (restored / "weights.bin").read_bytes() == bytes(range(256)) * 40


# -- run management ----------------------------------------------------------------------------------------------

MANAGEMENT = """
for name in ("keep", "old-name", "doomed", "moving"):
    trackio.init(project="scripts", name=name, auto_log_cpu=False)
    trackio.log({"loss": float(len(name))})
    trackio.finish()
api = trackio.Api()
runs = {run.name: run for run in api.runs("scripts")}
runs["old-name"].rename("new-name")
runs["doomed"].delete()
runs["moving"].move("elsewhere")
trackio.init(project="scratch", name="x", auto_log_cpu=False)
trackio.finish()
print(json.dumps([trackio.delete_project("scratch", force=True), [r.name for r in api.runs("scripts")]]))
"""


def test_run_management(import_line, store_dir, tmp_path):
    result = run_script(MANAGEMENT, import_line, tmp_path)
    deleted, names = json.loads(result.stdout.strip().splitlines()[-1])
    assert deleted is True and sorted(names) == ["keep", "new-name"]
    reader = Reader(store_dir)
    assert reader.projects() == ["elsewhere", "scripts"]
    assert reader.series("scripts", "new-name", "loss").values == [8.0]
    assert reader.series("scripts", "keep", "loss").values == [4.0]
    assert reader.series("elsewhere", "moving", "loss").values == [6.0]
    listed = cli_json("--dir", str(store_dir), "list", "runs", "--project", "scripts")
    assert sorted(r["name"] for r in listed) == ["keep", "new-name"]
    (answer,) = mcp(store_dir, [("get_runs_for_project", {"project": "scripts"})])
    assert sorted(r["name"] for r in answer["runs"]) == ["keep", "new-name"]


# -- imports -----------------------------------------------------------------------------------------------------

IMPORTS_SCRIPT = """
from pathlib import Path
Path("log.csv").write_text("step,loss,accuracy\\n0,1.5,0.25\\n1,1.0,0.5\\n2,0.75,0.625\\n")
trackio.import_csv("log.csv", project="scripts", name="from-csv")
trackio.import_tf_events("tb", project="scripts", name="tb")
"""


def test_imports_from_csv_and_tensorboard(import_line, store_dir, tmp_path):
    from torch.utils.tensorboard import SummaryWriter

    with SummaryWriter(str(tmp_path / "tb")) as writer:
        for step, value in ((0, 0.5), (10, 0.25), (20, 0.125)):
            writer.add_scalar("train/loss", value, step)
    run_script(IMPORTS_SCRIPT, import_line, tmp_path)
    reader = Reader(store_dir)
    loss = reader.series("scripts", "from-csv", "loss")
    assert (loss.steps, loss.values) == ([0, 1, 2], [1.5, 1.0, 0.75])
    assert reader.series("scripts", "from-csv", "accuracy").values == [0.25, 0.5, 0.625]
    (tb_run,) = [r["name"] for r in reader.runs("scripts") if r["name"] != "from-csv"]
    tb = reader.series("scripts", tb_run, "train/loss")
    assert (tb.steps, tb.values) == ([0, 10, 20], [0.5, 0.25, 0.125])  # exact in float32 too
    base = ("--dir", str(store_dir), "get", "metric", "--project", "scripts", "--metric")
    assert [p["value"] for p in cli_json(*base, "loss", "--run", "from-csv")] == [1.5, 1.0, 0.75]
    asked = {"project": "scripts", "run": tb_run, "metric_name": "train/loss"}
    (answer,) = mcp(store_dir, [("get_metric_values", asked)])
    assert [p["value"] for p in answer["points"]] == [0.5, 0.25, 0.125]


# -- the Hub: sync and freeze, as transformers calls them --------------------------------------------------------

HUB = """
trackio.init(project="scripts", name="hub", auto_log_cpu=False)
for step in range(10):
    trackio.log({"train/loss": 1.0 / (step + 1)})
trackio.finish()
space = trackio.sync(project="scripts", space_id="scripts-board", sdk="static")
frozen = trackio.freeze(space_id=space, project="scripts", new_space_id="scripts-snapshot")
print(json.dumps([space, frozen]))
"""


def test_sync_and_freeze_reach_the_hub(import_line, store_dir, tmp_path, hub):
    from trackio_callback.hub.pull import pull

    result = run_script(HUB, import_line, tmp_path)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["alice/scripts-board", "alice/scripts-snapshot"]
    pull("alice/scripts-board-dataset", directory=tmp_path / "pulled")
    pulled = Reader(tmp_path / "pulled").series("scripts", "hub", "train/loss").values
    assert pulled == [1.0 / (step + 1) for step in range(10)]
    snapshot = json.loads(hub.repo_files("alice/scripts-snapshot", repo_type="space")["config.json"])
    assert snapshot["revision"] == hub.api().dataset_info("alice/scripts-board-dataset").sha
