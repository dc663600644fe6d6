"""The Parquet layout of a Hub dataset, built from a real store and read back without any Hub."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

import trackio_callback as trackio
from trackio_callback.core.table import Table
from trackio_callback.hub import export, layout
from trackio_callback.hub.card import dataset_card
from trackio_callback.store import Store


@pytest.fixture
def logged(store_dir):
    run = trackio.init(project="proj", name="r", group="g", config={"lr": 0.1})
    for step in range(50):
        run.log({"train/loss": 1 / (step + 1), "train/lr": 0.1}, step=step)
        if step % 10 == 0:
            run.log({"eval/loss": math.nan if step == 20 else 2.0 / (step + 1)}, step=step)
            run.log_system({"system/gpu0/utilization": float(step)}, step=step, node="node0")
    run.log({"completions": Table(columns=["prompt", "reward"], data=[["a", 1.0], ["b", 0.5]])}, step=49)
    run.record_health_alert("loss_spike", "loss 9 is 3x its running average", step=7, value=9.0)
    run.summary["train_runtime"] = 12.5
    run.finish()
    store = Store(store_dir / "proj.db")
    return store, store.run("r")


def test_each_kind_exports_exactly_what_the_store_holds(logged):
    store, run = logged
    metrics = export.kind_table(store, "proj", run, "metrics", -1, run.next_seq - 1)
    assert metrics.schema == export.SCHEMAS["metrics"]
    rows = metrics.to_pylist()
    assert len(rows) == 50 * 2 + 5
    assert {r["run_id"] for r in rows} == {run.uid} and {r["project"] for r in rows} == {"proj"}
    loss = [(r["step"], r["value"]) for r in rows if r["key"] == "train/loss"]
    assert loss == [(s, 1 / (s + 1)) for s in range(50)]
    nan = [r for r in rows if r["key"] == "eval/loss" and r["step"] == 20]
    assert math.isnan(nan[0]["value"])
    window = export.kind_table(store, "proj", run, "metrics", 9, 19)  # seqs 10..19 only
    assert sorted({r["seq"] for r in window.to_pylist()}) == list(range(10, 20))
    system = export.kind_table(store, "proj", run, "system", -1, 10**9).to_pylist()
    assert [(r["step"], r["value"], r["node"]) for r in system] == [(s, float(s), "node0") for s in range(0, 50, 10)]
    (table,) = export.kind_table(store, "proj", run, "tables", -1, 10**9).to_pylist()
    assert table["step"] == 49
    assert json.loads(table["data"]) == {"columns": ["prompt", "reward"], "rows": [["a", 1.0], ["b", 0.5]]}
    (alert,) = export.kind_table(store, "proj", run, "alerts", -1, 10**9).to_pylist()
    assert (alert["level"], alert["title"], alert["step"], alert["value"]) == ("warn", "loss_spike", 7, 9.0)
    (meta,) = export.run_table("proj", run).to_pylist()
    assert meta["run_name"] == "r" and meta["group"] == "g" and meta["status"] == "finished"
    assert json.loads(meta["config"]) == {"lr": 0.1} and json.loads(meta["summary"]) == {"train_runtime": 12.5}


def _write_dataset(folder: Path, store: Store, run) -> None:
    last = store.last_seqs(run.id)
    kinds = []
    for kind in export.KINDS:
        for low, high in ((0, last[kind] // 2), (last[kind] // 2 + 1, last[kind])):
            table = export.kind_table(store, "proj", run, kind, low - 1, high)
            if table.num_rows:
                path = folder / layout.shard_path(kind, "proj", run.uid, low, high)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(export.parquet_bytes(table))
                kinds.append(kind)
    path = folder / layout.run_path("proj", run.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(export.parquet_bytes(export.run_table("proj", run)))
    runs = [{"project": "proj", "name": run.name, "group": run.group, "status": run.status, "last_step": 49}]
    (folder / "README.md").write_text(dataset_card("alice/ds", [*kinds, "runs"], runs))


def test_the_dataset_loads_with_pyarrow_and_datasets(logged, tmp_path):
    store, run = logged
    _write_dataset(tmp_path / "ds", store, run)
    table = pq.read_table(tmp_path / "ds" / "metrics")
    assert table.num_rows == 105 and table.schema.field("value").type == "double"
    import datasets

    loaded = datasets.load_dataset(str(tmp_path / "ds"), "metrics", split="train")
    assert len(loaded) == 105
    assert sorted(r["value"] for r in loaded if r["key"] == "train/loss") == sorted(1 / (s + 1) for s in range(50))
    runs = datasets.load_dataset(str(tmp_path / "ds"), "runs", split="train")
    assert runs[0]["run_name"] == "r"
    card = DatasetCard((tmp_path / "ds" / "README.md").read_text())  # front matter at the top, as the Hub reads it
    front = card.data.to_dict()
    assert front["configs"] == [
        {"config_name": kind, "data_files": [{"split": "train", "path": f"{kind}/**/*.parquet"}]}
        for kind in ("metrics", "system", "tables", "alerts", "runs")
    ]
    assert front["tags"] == ["trackio", "trackio-callback"]
    assert card.text.startswith("\n# alice/ds\n") and "| proj | r | g | finished | 49 |" in card.text


def test_the_card_names_only_the_kinds_that_have_files():
    card = DatasetCard(dataset_card("alice/ds", ["runs", "metrics", "metrics"], []))
    assert [c["config_name"] for c in card.data.to_dict()["configs"]] == ["metrics", "runs"]
    assert "- `metrics`: one row per logged value" in card.text and "`system`" not in card.text
    assert "| project |" not in card.text  # no runs, no table


def test_parquet_bytes_per_value(store_dir):
    import random

    rng = random.Random(0)
    run = trackio.init(project="size", name="r")
    for step in range(20_000):  # training metrics are float32 values, as .item() of a float32 tensor gives
        run.log({f"train/m{i}": float(__import__("struct").unpack("f", __import__("struct").pack("f", rng.random()))[0])
                 for i in range(5)}, step=step)  # fmt: skip
    run.finish()
    store = Store(store_dir / "size.db")
    row = store.run("r")
    data = export.parquet_bytes(export.kind_table(store, "size", row, "metrics", -1, row.next_seq - 1))
    assert len(data) / 100_000 < 6.0  # float64 columns of float32 values compress to about half
