"""Importing other trackers' logs: a CSV file written here and TensorBoard event files written by
``torch.utils.tensorboard.SummaryWriter``, read back exactly through `Reader`, the CLI and the Hub sync."""

from __future__ import annotations

import json
import math
import time
import warnings

import numpy as np
import pytest

from tests.helpers import run_python
from tests.test_hub_sync import dataset_rows, metric_keys, store_metrics
from trackio_callback.cli.main import main
from trackio_callback.errors import ImportSourceError, TrackioWarning
from trackio_callback.importers.csv_file import import_csv
from trackio_callback.importers.tf_events import import_tf_events
from trackio_callback.store.reader import Reader

T0 = 1_700_000_000.0  # whole and half seconds: exact in the store's microseconds

# -- CSV ---------------------------------------------------------------------------------------------

CSV = """Step,timestamp,train/loss,eval/loss,lr
0,1700000000.0,2.5,,0.001
1,1700000000.5,nan,,0.001
2,2023-11-14T22:13:21+00:00,1.75,1.5,0.0005
3,2023-11-14T22:13:21.5,1.25,,
1,1700000002.5,1.125,1.25,0.0001
"""
# line 4: ISO with an offset (= T0 + 1); line 5: ISO without one, read as UTC (= T0 + 1.5); the last row:
# training resumed from step 1, which keeps both step-1 points, as log() does.


def points(reader: Reader, project: str, run: str, key: str) -> list[tuple]:
    series = reader.series(project, run, key)
    return [(s, t, "nan" if math.isnan(v) else v) for s, t, v in zip(series.steps, series.timestamps, series.values)]


def test_a_csv_reads_back_exactly(store_dir, tmp_path, capsys):
    path = tmp_path / "baseline.csv"
    path.write_text(CSV)
    assert import_csv(path, project="imported") == "baseline"  # the file's stem
    assert "Imported 5 rows" in capsys.readouterr().out
    with Reader(store_dir) as reader:
        assert reader.metric_keys("imported", "baseline") == ["eval/loss", "lr", "train/loss"]
        assert points(reader, "imported", "baseline", "train/loss") == [
            (0, T0, 2.5),
            (1, T0 + 0.5, "nan"),
            (2, T0 + 1.0, 1.75),
            (3, T0 + 1.5, 1.25),
            (1, T0 + 2.5, 1.125),
        ]
        assert points(reader, "imported", "baseline", "eval/loss") == [(2, T0 + 1.0, 1.5), (1, T0 + 2.5, 1.25)]
        assert points(reader, "imported", "baseline", "lr") == [
            (0, T0, 0.001),
            (1, T0 + 0.5, 0.001),
            (2, T0 + 1.0, 0.0005),
            (1, T0 + 2.5, 0.0001),
        ]
        (run,) = reader.runs("imported")
        assert (run["name"], run["status"], run["last_step"]) == ("baseline", "finished", 1)
    # the command line reads the same run
    assert main(["--dir", str(store_dir), "get", "metric", "--project", "imported", "--run", "baseline",
                 "--metric", "eval/loss", "--json"]) == 0  # fmt: skip
    assert json.loads(capsys.readouterr().out) == [
        {"step": 2, "timestamp": T0 + 1.0, "value": 1.5},
        {"step": 1, "timestamp": T0 + 2.5, "value": 1.25},
    ]
    assert main(["--dir", str(store_dir), "get", "metric", "--project", "imported", "--run", "baseline",
                 "--metric", "train/loss", "--json"]) == 0  # fmt: skip
    assert [p["value"] for p in json.loads(capsys.readouterr().out)] == [2.5, "NaN", 1.75, 1.25, 1.125]


def test_csv_rows_without_a_timestamp_get_the_import_time_and_text_is_skipped_with_one_warning(store_dir, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("step,loss,note,acc\n0,1.0,warmup,0.5\n1,0.5,,oops\n2,0.25,done,0.75\n3,,,\n")
    before = time.time()
    with pytest.warns(TrackioWarning) as caught:
        assert import_csv(path, "p", name="run one") == "run one"
    after = time.time()
    messages = sorted(str(w.message) for w in caught)
    assert len(messages) == 2
    assert "column 'acc': 1 cells that are not numbers (such as 'oops') were skipped" in messages[0]
    assert "column 'note': it holds no numbers (such as 'warmup') and was skipped" in messages[1]
    with Reader(store_dir) as reader:
        assert reader.metric_keys("p", "run one") == ["acc", "loss"]  # note is left out whole
        loss = reader.series("p", "run one", "loss")
        assert (loss.steps, loss.values) == ([0, 1, 2], [1.0, 0.5, 0.25])  # the empty row 3 is skipped
        assert all(before - 1e-6 <= t <= after + 1e-6 for t in loss.timestamps)
        acc = reader.series("p", "run one", "acc")
        assert (acc.steps, acc.values) == ([0, 2], [0.5, 0.75])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty: a CSV import needs a header row and a 'step' column"),
        ("epoch,loss\n0,1.0\n", "has no 'step' column (its columns: 'epoch', 'loss')"),
        ("step,loss\n", "has no numeric metric values"),
        ("step,note\n0,a\n", "has no numeric metric values"),
        ("step,loss\n0,1.0\n1.5,2.0\n", "line 3: step '1.5' is not an integer in [0, 2**62]"),
        ("step,loss\n-1,1.0\n", "line 2: step '-1' is not an integer"),
        ("step,loss\n,1.0\n", "line 2: step '' is not an integer"),
        ("step,timestamp,loss\n0,yesterday,1.0\n", "line 2: timestamp 'yesterday' is neither Unix seconds"),
        ("step,loss,loss\n0,1.0,2.0\n", "the column 'loss' appears twice"),
        ("step,loss\n0,1.0,2.0\n", "line 2: 3 cells but the header has 2 columns"),
    ],
)
def test_a_bad_csv_is_refused_naming_what_is_wrong_and_writes_nothing(store_dir, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrackioWarning)  # "note" holds no number
        with pytest.raises(ImportSourceError) as error:
            import_csv(path, "p")
    assert message in str(error.value) and str(path) in str(error.value)
    assert isinstance(error.value, ValueError)
    assert not (store_dir / "p.db").exists()


def test_a_missing_csv_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV file not found: .*nowhere.csv"):
        import_csv(tmp_path / "nowhere.csv", "p")


def test_an_import_never_adds_to_an_existing_run(store_dir, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("step,loss\n0,1.0\n")
    import_csv(path, "p")
    path.write_text("step,loss\n0,9.0\n1,8.0\n")
    with pytest.raises(ImportSourceError, match="project 'p' already has a run named 'r'"):
        import_csv(path, "p")
    assert import_csv(path, "p", name="r-again") == "r-again"  # another name: a second run of the project
    with Reader(store_dir) as reader:
        assert reader.series("p", "r", "loss").values == [1.0]
        assert reader.series("p", "r-again", "loss").values == [9.0, 8.0]


def test_bad_arguments_name_the_value(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("step,loss\n0,1.0\n")
    with pytest.raises(ValueError, match="project"):
        import_csv(path, "../escape")
    with pytest.raises(TypeError, match="private must be True, False or None, got 'yes'"):
        import_csv(path, "p", private="yes")
    with pytest.raises(ValueError, match="invalid run name ' padded'"):
        import_csv(path, "p", name=" padded")


def test_an_imported_csv_syncs_to_the_hub_dataset(store_dir, tmp_path, hub):
    path = tmp_path / "synced.csv"
    path.write_text(CSV)
    import_csv(path, "proj", dataset_id="ds", private=False)
    rows = dataset_rows(hub)
    assert rows and metric_keys(rows) == store_metrics(store_dir, "proj")
    assert sorted((r["step"], r["value"]) for r in rows if r["key"] == "eval/loss") == [(1, 1.25), (2, 1.5)]
    (meta,) = dataset_rows(hub, "runs")
    assert (meta["run_name"], meta["status"]) == ("synced", "finished")
    assert not hub.repo("alice/ds").private


# -- TensorBoard event files ------------------------------------------------------------------------


def f32(value: float) -> float:
    return float(np.float32(value))


def write_events(log_dir, runs: dict[str, list[tuple[int, float]]]) -> None:
    """Per subdirectory (``""``: log_dir itself), ``train/loss`` and ``train/acc`` at the given (step, value)s."""
    from torch.utils.tensorboard import SummaryWriter

    for subdirectory, values in runs.items():
        writer = SummaryWriter(str(log_dir / subdirectory) if subdirectory else str(log_dir))
        for i, (step, value) in enumerate(values):
            writer.add_scalar("train/loss", value, step, walltime=T0 + i)
            writer.add_scalar("train/acc", 1 - value, step, walltime=T0 + i + 0.5, new_style=True)  # the tensor form
        writer.add_scalar("eval/loss", values[-1][1] * 2, values[-1][0], walltime=T0 + 100)
        writer.add_text("notes", "not a scalar", 0)
        writer.close()


RUNS = {
    "lr_0.1": [(0, 2.3), (10, 1.7), (20, 1.234567891234)],
    "lr_0.01": [(0, 2.31), (50, 0.333333333333), (60, 0.1), (40, 0.2)],  # step 40 after 60: a resume
}


def test_tf_events_read_back_exactly_one_run_per_directory(store_dir, tmp_path, capsys):
    logs = tmp_path / "logs"
    write_events(logs, RUNS)
    assert import_tf_events(logs, "tb") == ["lr_0.01", "lr_0.1"]
    assert "Imported 9 scalars as run 'lr_0.01': eval/loss, train/acc, train/loss" in capsys.readouterr().out
    with Reader(store_dir) as reader:
        assert sorted(run["name"] for run in reader.runs("tb")) == ["lr_0.01", "lr_0.1"]
        for run, values in RUNS.items():
            assert reader.metric_keys("tb", run) == ["eval/loss", "train/acc", "train/loss"]
            loss = reader.series("tb", run, "train/loss")
            assert loss.steps == [step for step, _ in values]
            assert loss.values == [f32(value) for _, value in values]  # the float32 the file holds
            assert loss.timestamps == [T0 + i for i in range(len(values))]
            acc = reader.series("tb", run, "train/acc")
            assert (acc.steps, acc.values) == ([step for step, _ in values], [f32(1 - value) for _, value in values])
            assert acc.timestamps == [T0 + i + 0.5 for i in range(len(values))]
            last_step, last_value = values[-1]
            assert points(reader, "tb", run, "eval/loss") == [(last_step, T0 + 100, f32(last_value * 2))]
            assert reader.runs("tb", name=run)[0]["status"] == "finished"


def test_tf_events_in_log_dir_itself_are_run_main_and_name_prefixes(store_dir, tmp_path):
    logs = tmp_path / "logs"
    write_events(logs, {"": [(3, 0.5)], "seed1": [(4, 0.25)]})
    assert import_tf_events(logs, "tb", name="exp") == ["exp_main", "exp_seed1"]
    with Reader(store_dir) as reader:
        assert reader.series("tb", "exp_main", "train/loss").values == [0.5]
        assert reader.series("tb", "exp_seed1", "train/loss").steps == [4]


def test_tf_event_errors(store_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="TensorBoard log directory not found"):
        import_tf_events(tmp_path / "missing", "tb")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportSourceError, match="no TensorBoard event files"):
        import_tf_events(tmp_path / "empty", "tb")
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(tmp_path / "texts"))
    writer.add_text("notes", "hello", 0)
    writer.close()
    with pytest.raises(ImportSourceError, match="hold no scalar values"):
        import_tf_events(tmp_path / "texts", "tb")
    write_events(tmp_path / "logs", {"a": [(0, 1.0)]})
    import_tf_events(tmp_path / "logs", "tb")
    with pytest.raises(ImportSourceError, match="already has a run named 'a'"):
        import_tf_events(tmp_path / "logs", "tb")
    with Reader(store_dir) as reader:
        assert [run["name"] for run in reader.runs("tb")] == ["a"]


def test_without_tensorboard_the_error_names_the_extra(tmp_path):
    (tmp_path / "logs").mkdir()
    result = run_python(
        f"""
        import sys
        sys.modules["tensorboard"] = None  # not installed
        from trackio_callback.importers.tf_events import import_tf_events
        try:
            import_tf_events({str(tmp_path / "logs")!r}, "p", dir={str(tmp_path / "store")!r})
        except ImportError as error:
            print(type(error).__name__, error)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingExtraError import_tf_events reads event files with the 'tensorboard'")
    assert "pip install 'trackio-callback[imports]'" in result.stdout
