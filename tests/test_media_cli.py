"""``list media|histograms|traces``, ``get media`` (and ``--export``), ``get histogram``, ``get traces``.

A real run logs images at several steps and in a list, under keys no file system takes as they are; a
histogram of known values; a trace. The CLI's answers are compared with what was logged and with
`Reader`; exported files with the stored bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image as PILImage

import trackio_callback as trackio
from tests.test_cli import cli
from trackio_callback import Reader
from trackio_callback.analysis.distribution import describe, summarize
from trackio_callback.cli.media import folder_names
from trackio_callback.store.downsample import even_indices

PROJECT, RUN = "media", "vision"
BASE = ("--project", PROJECT, "--run", RUN)


def pixels(seed: int, height: int = 10, width: int = 14) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(height, width, 3), dtype=np.uint8)


def weights(step: int) -> np.ndarray:
    return np.random.default_rng(step).normal(loc=step, scale=2.0, size=4000)


@pytest.fixture
def logged(store_dir):
    run = trackio.init(project=PROJECT, name=RUN, auto_log_cpu=False)
    for step in range(40):
        values: dict = {"weights": trackio.Histogram(weights(step), num_bins=32)}
        if step % 10 == 0:
            values["train/samples"] = trackio.Image(pixels(step), caption=f"at {step}")
        if step == 20:
            values["grid"] = [trackio.Image(pixels(100 + i, 4 + i, 5)) for i in range(3)]
            values["con"] = trackio.Image(pixels(7))  # a Windows device name
            values['eval:a<b>"c|d?*'] = trackio.Image(pixels(8))
            values["train_samples"] = trackio.Image(pixels(9))  # meets "train/samples" once "/" is replaced
        if step == 3:
            values["rollout"] = trackio.Trace(
                [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}], metadata={"reward": 1.0}
            )
        run.log(values, step=step)
    run.log({"train/samples": trackio.Image(pixels(999), caption="again")}, step=10)  # resumed: step 10 again
    run.finish()
    return store_dir


def test_list_keys_of_each_kind(logged, capsys):
    assert cli(capsys, "list", "media", *BASE) == (
        0, 'con\neval:a<b>"c|d?*\ngrid\ntrain/samples\ntrain_samples\n', ""
    )  # fmt: skip
    assert cli(capsys, "list", "histograms", *BASE) == (0, "weights\n", "")
    assert cli(capsys, "list", "traces", *BASE, "--json") == (0, '[\n  "rollout"\n]\n', "")


def test_get_media_lists_what_was_stored(logged, capsys):
    code, out, _ = cli(capsys, "get", "media", *BASE, "--json")
    listed = json.loads(out)
    stored = Reader(logged).media(PROJECT, RUN)
    assert code == 0 and [{**m, "path": str(m["path"]), "stored": True} for m in stored] == listed
    samples = [(m["step"], m["caption"], m["width"], m["height"]) for m in listed if m["key"] == "train/samples"]
    assert samples == [(0, "at 0", 14, 10), (10, "at 10", 14, 10), (20, "at 20", 14, 10), (30, "at 30", 14, 10),
                       (10, "again", 14, 10)]  # fmt: skip
    code, out, _ = cli(capsys, "get", "media", *BASE, "--key", "grid")
    header, *rows = [line.split() for line in out.splitlines()]
    assert header == ["step", "key", "item", "kind", "format", "bytes", "size", "seconds", "digest", "caption"]
    assert [(r[0], r[1], r[2], r[3], r[4], r[6], r[7]) for r in rows] == [
        ("20", "grid", str(i), "image", "png", f"5x{4 + i}", "-") for i in range(3)
    ]
    by_digest = {m["digest"][:12]: m["size"] for m in stored}
    assert all(int(r[5]) == by_digest[r[8]] for r in rows)
    code, out, _ = cli(capsys, "get", "media", *BASE, "--key", "train/samples", "--min-step", "10", "--max-step", "20")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["10", "20", "10"]


def test_export_writes_every_file_byte_for_byte_under_safe_names(logged, tmp_path):
    target = tmp_path / "exported"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "trackio_callback",
            "--dir",
            str(logged),
            "get",
            "media",
            *BASE,
            "--export",
            str(target),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"11 files written to {target} (index: {target / 'media.json'})\n"
    index = json.loads((target / "media.json").read_text())
    stored = Reader(logged).media(PROJECT, RUN)
    assert [e["digest"] for e in index] == [m["digest"] for m in stored]
    files = {e["file"] for e in index}
    suffix = hashlib.sha256(b"train/samples").hexdigest()[:8]
    other = hashlib.sha256(b"train_samples").hexdigest()[:8]
    assert files == {
        f"train_samples-{suffix}/0.png", f"train_samples-{suffix}/10.png", f"train_samples-{suffix}/20.png",
        f"train_samples-{suffix}/30.png", f"train_samples-{suffix}/10-seq{stored[-1]['seq']}.png",
        "grid/20-0.png", "grid/20-1.png", "grid/20-2.png", "_con/20.png", "eval_a_b__c_d__/20.png",
        f"train_samples-{other}/20.png",
    }  # fmt: skip
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == sorted(
        files | {"media.json"}
    )
    for entry, medium in zip(index, stored):
        data = (target / entry["file"]).read_bytes()
        assert data == medium["path"].read_bytes() and hashlib.sha256(data).hexdigest() == entry["digest"]
        assert {k: entry[k] for k in ("key", "step", "item", "caption", "width", "height", "size", "seq")} == {
            k: medium[k] for k in ("key", "step", "item", "caption", "width", "height", "size", "seq")
        }
    (again,) = [e for e in index if e["caption"] == "again"]
    assert np.array_equal(np.asarray(PILImage.open(target / again["file"])), pixels(999))
    (cell,) = [e for e in index if e["file"] == "grid/20-2.png"]
    assert np.array_equal(np.asarray(PILImage.open(target / cell["file"])), pixels(102, 6, 5))
    assert all(not re.search(r'[<>:"\\|?*]', part) for f in files for part in f.split("/"))


def test_export_names_files_missing_here_and_fails(logged, tmp_path, capsys):
    reader = Reader(logged)
    lost = reader.media(PROJECT, RUN, "grid")[1]
    lost["path"].unlink()  # as after a pull without the files' bytes
    code, out, err = cli(capsys, "get", "media", *BASE, "--key", "grid", "--export", str(tmp_path / "out"))
    assert code == 1 and out == f"2 files written to {tmp_path / 'out'} (index: {tmp_path / 'out' / 'media.json'})\n"
    assert "1 files are not stored on this machine" in err and err.count("\n") == 1
    index = json.loads((tmp_path / "out" / "media.json").read_text())
    assert [(e["item"], e["file"]) for e in index] == [(0, "grid/20-0.png"), (1, None), (2, "grid/20-2.png")]
    assert index[1]["digest"] == lost["digest"] and not (tmp_path / "out" / "grid" / "20-1.png").exists()


def test_folder_names_are_distinct_and_safe_everywhere():
    keys = ["a/b", "a_b", "A_B", "nul", "Com1.txt", "ends.", "..", "", "media.json", "x" * 300, "ok", "ünï/cødé"]
    names = folder_names(keys)
    assert names["ok"] == "ok" and names["ünï/cødé"] == "ünï_cødé"
    assert names["nul"] == "_nul" and names["Com1.txt"] == "_Com1.txt" and names["media.json"] == "_media.json"
    assert names["ends."] == "ends" and names[".."].startswith("_-") and names[""].startswith("_-")
    assert len({n.casefold() for n in names.values()}) == len(keys)  # distinct, even ignoring case
    assert names["a/b"].startswith("a_b-") and names["A_B"].startswith("A_B-") and names["a_b"].startswith("a_b-")
    assert len(names["x" * 300].encode()) <= 130 and names == folder_names(list(reversed(keys)))
    assert all(not re.search(r'[\x00-\x1f<>:"/\\|?*]', n) and not n.endswith((".", " ")) for n in names.values())


def test_get_histogram_gives_percentiles_per_step(logged, capsys):
    code, out, _ = cli(capsys, "get", "histogram", *BASE, "--key", "weights", "--json")
    steps = json.loads(out)
    assert code == 0 and [s["step"] for s in steps] == list(range(40))
    for point in steps:
        data, width = weights(point["step"]), point["bin_width"]
        assert point["count"] == 4000 and point["bins"] == 32 and width == pytest.approx(np.ptp(data) / 32)
        for name, value in point["percentiles"].items():
            assert abs(value - np.percentile(data, float(name))) <= width
        assert abs(point["mean"] - data.mean()) <= width / 2
        assert point["min"] == pytest.approx(data.min()) and point["max"] == pytest.approx(data.max())
    code, out, _ = cli(
        capsys, "get", "histogram", *BASE, "--key", "weights", "--percentiles", "10,90", "--max-points", "5"
    )
    header, *rows = [line.split() for line in out.splitlines()]
    assert header == ["step", "count", "mean", "std", "min", "p10", "p90", "max"]
    assert [int(r[0]) for r in rows] == even_indices(40, 5) == [0, 10, 20, 29, 39]
    for row in rows:
        point = steps[int(row[0])]
        assert float(row[2]) == pytest.approx(point["mean"], rel=1e-5)
        assert abs(float(row[5]) - np.percentile(weights(int(row[0])), 10)) <= point["bin_width"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--key", "weights", "--percentiles", "5,x"], "--percentiles must be numbers from 0 to 100"),
        (["--key", "weights", "--percentiles", "101"], "percentiles must be numbers from 0 to 100, got 101.0"),
        (["--key", "weights", "--max-points", "1"], "max_points must be an integer >= 2, got 1"),
        (["--key", "weight"], "histogram 'weight' not found"),
    ],
)
def test_histogram_errors_are_one_clear_line(logged, capsys, args, message):
    code, out, err = cli(capsys, "get", "histogram", *BASE, *args)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1


def test_get_traces_prints_messages_by_role(logged, capsys):
    code, out, _ = cli(capsys, "get", "traces", *BASE, "--json")
    assert code == 0 and json.loads(out) == json.loads(json.dumps(Reader(logged).traces(PROJECT, RUN)))
    (trace,) = json.loads(out)
    assert trace["value"] == {
        "messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"}],
        "metadata": {"reward": 1.0},
        "spans": [],
    }
    code, out, _ = cli(capsys, "get", "traces", *BASE, "--key", "rollout")
    assert out == '--- step 3  rollout\nmetadata: {"reward":1.0}\n[user] 2+2?\n[assistant] 4\n'


def test_summaries_of_edge_histograms():
    empty = summarize([], [])  # what a Histogram of no finite value stores
    assert empty == (0.0, None, None, None, None, {"5": None, "25": None, "50": None, "75": None, "95": None})
    # an empty bin in the middle: the median lies where the cumulative count reaches half, at the gap's left edge
    gap = summarize([0.0, 1.0, 2.0, 3.0], [2, 0, 2], percentiles=(0, 25, 50, 75, 100))
    assert gap.percentiles == {"0": 0.0, "25": 0.5, "50": 1.0, "75": 2.5, "100": 3.0}
    assert (gap.count, gap.mean, gap.min, gap.max) == (4.0, 1.5, 0.0, 3.0)
    # negative and NaN counts (a precomputed np_histogram can hold them) count as empty bins
    odd = summarize([0.0, 1.0, 2.0, 4.0], [-3, float("nan"), 8], percentiles=(50,))
    assert (odd.count, odd.min, odd.max, odd.percentiles) == (8.0, 2.0, 4.0, {"50": 3.0})
    one = describe({"step": 3, "timestamp": 1.5, "edges": np.array([5.0, 5.0]), "counts": np.array([7.0])})
    assert one == {"step": 3, "timestamp": 1.5, "count": 7.0, "mean": 5.0, "std": 0.0, "min": 5.0, "max": 5.0,
                   "percentiles": {"5": 5.0, "25": 5.0, "50": 5.0, "75": 5.0, "95": 5.0}, "bins": 1,
                   "bin_width": 0.0}  # fmt: skip
    with pytest.raises(ValueError, match="one more edge than counts, got 2 edges and 2 counts"):
        summarize([0.0, 1.0], [1, 2])
