"""Media, histograms, traces and texts on the Hub: synced exactly once under faults, read by `datasets`, pulled back.

Real parts only: runs logged with the public API, the uploader and `pull` with the real huggingface_hub client
against the Hub emulator (tests/hub_emulator.py), ``datasets.load_dataset`` in a fresh process pointed at it.
What the emulator cannot show: it answers every preupload "regular", so files travel inline in the commit
(base64) where the real Hub would take images, audio and Parquet through LFS/Xet; the exactly-once logic
does not depend on which (a file is found on the Hub by its path and size, whatever stored it).
"""

from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image as PILImage

import trackio_callback as trackio
from tests.helpers import run_python
from trackio_callback.errors import TransientSyncError
from trackio_callback.hub import layout
from trackio_callback.hub.media_sync import MEDIA_FILE_KIND
from trackio_callback.hub.pull import pull, table_media
from trackio_callback.hub.uploader import Uploader
from trackio_callback.management.operations import delete_run
from trackio_callback.store import Store
from trackio_callback.store.codec import to_micros
from trackio_callback.utils import crashpoints

DATASET = "alice/ds"
TOKEN = "hf_test_token"
MEDIA_FIELDS = ("step", "key", "item", "kind", "caption", "digest", "format", "size", "width", "height", "duration")


# -- logging ---------------------------------------------------------------------------------------------


def noise(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


class Logged:
    """What a test logs, step after step: images (single, lists, a big one, the same at every step), a table
    with images, audio, a 3D point cloud, histograms, traces, Markdown and plain text."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.same = noise(self.rng, 48, 64)  # logged at every step (and in table cells): one file
        self.big = noise(self.rng, 300, 600)  # its thumbnail is scaled to 256 px
        self.points = self.rng.normal(size=(200, 3))
        self.tone = np.sin(np.linspace(0, 2 * np.pi * 440, 8000)).astype(np.float32)

    def log(self, run, steps: range) -> None:
        for step in steps:
            run.log(
                {
                    "samples/same": trackio.Image(self.same, caption="same"),
                    "samples/grid": [trackio.Image(noise(self.rng, 32, 32), caption=f"{step}-{i}") for i in range(2)],
                    "samples/big": trackio.Image(self.big),
                    "completions": trackio.Table(
                        columns=["prompt", "image", "images"],
                        data=[
                            [f"p{step}", trackio.Image(noise(self.rng, 16, 16)), [trackio.Image(self.same)]],
                            [f"q{step}", None, [trackio.Image(noise(self.rng, 8, 8)), trackio.Image(self.same)]],
                        ],
                    ),
                    "audio": trackio.Audio(self.tone, sample_rate=8000, caption="tone"),
                    "cloud": trackio.Object3D(self.points + step),
                    "weights": trackio.Histogram(self.rng.normal(size=500) + step, num_bins=16),
                    "rollout": trackio.Trace(
                        [{"role": "user", "content": f"q{step}"}, {"role": "assistant", "content": "é ✓"}],
                        metadata={"reward": step},
                    ),
                    "report": trackio.Markdown(f"# step {step}"),
                    "note": f"plain {step}",
                    "train/loss": 1.0 / (step + 1),
                },
                step=step,
            )


# -- reading both sides ----------------------------------------------------------------------------------


def parquet_rows(content: bytes) -> list[dict]:
    return pq.read_table(io.BytesIO(content)).to_pylist()


def shards(files: dict[str, bytes], kind: str) -> list[str]:
    """The paths of the dataset's ``kind`` shards, sorted."""
    return sorted(path for path in files if (parsed := layout.parse(path)) is not None and parsed.kind == kind)


def dataset_rows(files: dict[str, bytes], kind: str) -> list[dict]:
    return [row for path in shards(files, kind) for row in parquet_rows(files[path])]


def media_files_on_hub(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: content for path, content in files.items() if layout.parse_media_file(path) is not None}


def landings(hub, path: str) -> int:
    """How many commits of the dataset's history wrote ``path`` (added it, or changed its bytes)."""
    count, before = 0, None
    for commit in hub.commits(DATASET):
        now = commit.files.get(path)
        if now is not None and now != before:
            count += 1
        before = now
    return count


def named_files(path: str, content: bytes, project: str) -> set[str]:
    """The media files a media or tables shard names (its rows' ``file``, its cells' digests)."""
    kind = layout.parse(path).kind
    if kind == "media":
        return {row["file"] for row in parquet_rows(content)}
    if kind == "tables":
        return {
            layout.media_file_path(project, digest, fmt)
            for row in parquet_rows(content)
            for digest, fmt in table_media(row["data"])
        }
    return set()


def assert_no_shard_before_its_files(hub, project: str = "p") -> None:
    """In every commit of the history, each media or tables shard names only files that commit holds."""
    for commit in hub.commits(DATASET):
        for path, content in commit.files.items():
            parsed = layout.parse(path)
            if parsed is not None and parsed.kind in ("media", "tables"):
                missing = named_files(path, content, project) - set(commit.files)
                assert not missing, f"commit {commit.title!r}: {path} names files it lacks: {sorted(missing)[:3]}"


def snapshot(directory, project: str, run: str) -> dict:
    """Everything of the rich kinds a store holds for a run, by value: media as their fields and their bytes' hash,
    times to the microsecond (what a dataset keeps)."""
    reader = trackio.Reader(directory)

    def timed(rows: list[dict]) -> list[dict]:
        return [row | {"timestamp": to_micros(row["timestamp"])} for row in rows]

    media = [
        (
            m["seq"],
            to_micros(m["timestamp"]),
            *(m[f] for f in MEDIA_FIELDS),
            hashlib.sha256(m["path"].read_bytes()).hexdigest(),
        )
        for m in reader.media(project, run)
    ]
    tables = timed(reader.tables(project, run))
    table_files = sorted(
        (digest, reader.media_bytes(project, digest))
        for table in tables
        for digest, _ in table_media(json.dumps(table["rows"]))
    )
    histograms = [
        (h["step"], h["seq"], to_micros(h["timestamp"]), h["edges"].tolist(), h["counts"].tolist())
        for key in reader.histogram_keys(project, run)
        for h in reader.histograms(project, run, key)
    ]
    return {
        "media": media,
        "tables": tables,
        "table_files": table_files,
        "histograms": histograms,
        "traces": timed(reader.traces(project, run)),
        "texts": timed(reader.texts(project, run)),
    }


def local_blobs(directory, project: str = "p") -> dict[str, bytes]:
    root = directory / f"{project}.files" / "blobs" / "sha256"
    return {path.name: path.read_bytes() for path in root.rglob("*") if path.is_file()}


# -- sync ------------------------------------------------------------------------------------------------


def test_each_media_file_lands_once_at_its_content_path_and_the_rows_name_it(store_dir, hub):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    Logged().log(run, range(3))
    run.finish()
    store = Store(run.path, create=False)
    media_files = store.media_files()
    store.close()
    reader = trackio.Reader(store_dir)
    media = reader.media("p", "r")

    # Locally: each content once; the image logged at every step (and in table cells) is one blob.
    blobs = local_blobs(store_dir)
    assert sorted(blobs) == sorted(f.digest for f in media_files)
    assert {hashlib.sha256(data).hexdigest() for data in blobs.values()} == set(blobs)
    same = [m for m in media if m["key"] == "samples/same"]
    assert len(same) == 3 and len({m["digest"] for m in same}) == 1
    table_digests = {d for t in reader.tables("p", "r") for d, _ in table_media(json.dumps(t["rows"]))}
    assert same[0]["digest"] in table_digests and table_digests <= set(blobs)  # table images are media files too
    # 3 x (same, 2 grid, big, audio, cloud) rows; files: same, 6 grid, big, tone, 3 clouds, 3 + 3 table images
    assert len(media) == 3 * 6 and len(media_files) == 1 + 6 + 1 + 1 + 3 + 6

    # On the Hub: exactly those files, at their content paths, with their bytes, each written by one commit.
    files = hub.repo_files(DATASET)
    on_hub = media_files_on_hub(files)
    assert on_hub == {layout.media_file_path("p", f.digest, f.format): blobs[f.digest] for f in media_files}
    assert all(landings(hub, path) == 1 for path in on_hub)
    assert_no_shard_before_its_files(hub)

    # The media rows: the store's, each naming its file; images carry a thumbnail (<= 256 px), the rest none.
    rows = sorted(dataset_rows(files, "media"), key=lambda r: r["seq"])
    assert [(r["seq"], *(r[f] for f in MEDIA_FIELDS)) for r in rows] == [
        (m["seq"], *(m[f] for f in MEDIA_FIELDS)) for m in media
    ]
    assert [r["file"] for r in rows] == [layout.media_file_path("p", m["digest"], m["format"]) for m in media]
    assert {r["kind"] for r in rows} == {"image", "audio", "object3d"}
    for row in rows:
        if row["kind"] != "image":
            assert row["image"] is None
            continue
        assert row["image"]["path"] == f"{row['digest']}.{row['format']}"
        thumb = PILImage.open(io.BytesIO(row["image"]["bytes"]))
        if row["key"] == "samples/big":
            assert thumb.size == (256, 128)  # 600 x 300 scaled to fit 256, aspect kept
        else:  # small: the file itself when it is light, else a WebP of the same size
            assert thumb.size == (row["width"], row["height"])
            assert row["image"]["bytes"] == blobs[row["digest"]] or thumb.format == "WEBP"
    assert {r["format"] for r in rows if r["kind"] == "audio"} == {"wav"}
    assert {r["format"] for r in rows if r["kind"] == "object3d"} == {"ply"}

    # Histograms, traces, texts with their kind.
    histograms = sorted(dataset_rows(files, "histograms"), key=lambda r: r["seq"])
    assert [(r["step"], r["edges"], r["counts"]) for r in histograms] == [
        (h["step"], h["edges"].tolist(), h["counts"].tolist()) for h in reader.histograms("p", "r", "weights")
    ]
    assert all(len(r["edges"]) == 17 and sum(r["counts"]) == 500 for r in histograms)
    traces = sorted(dataset_rows(files, "traces"), key=lambda r: r["seq"])
    assert [(r["step"], json.loads(r["value"])) for r in traces] == [
        (s, {"messages": [{"role": "user", "content": f"q{s}"}, {"role": "assistant", "content": "é ✓"}],
             "metadata": {"reward": s}, "spans": []})
        for s in range(3)
    ]  # fmt: skip
    texts = sorted((r["step"], r["key"], r["value"], r["kind"]) for r in dataset_rows(files, "texts"))
    assert texts == sorted(
        [(s, "report", f"# step {s}", "markdown") for s in range(3)]
        + [(s, "note", f"plain {s}", "text") for s in range(3)]
    )

    # The media Parquet declares its features for `datasets`: every column a Value, the image an Image.
    (media_shard,) = shards(files, "media")
    schema = pq.read_schema(io.BytesIO(files[media_shard]))
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert list(features) == schema.names and features["image"] == {"_type": "Image"}
    assert features["timestamp"] == {"dtype": "timestamp[us, tz=UTC]", "_type": "Value"}
    assert features["duration"] == {"dtype": "float64", "_type": "Value"}
    assert str(schema.field("image").type) == "struct<bytes: binary, path: string>"

    # The card makes each kind a config of its own.
    configs = {c["config_name"]: c["data_files"] for c in hub.card_data(DATASET)["configs"]}
    assert {"media", "histograms", "traces", "texts", "tables"} <= set(configs)
    assert configs["media"] == [{"split": "train", "path": "media/**/*.parquet"}]


def test_load_dataset_reads_the_media_config_with_its_images(store_dir, hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    Logged().log(run, range(2))
    run.finish()
    code = f"""
    import io, json
    import datasets, pyarrow.parquet as pq
    from huggingface_hub import hf_hub_download, list_repo_files
    media = datasets.load_dataset({DATASET!r}, "media", split="train")
    shard = [p for p in list_repo_files({DATASET!r}, repo_type="dataset") if p.startswith("media/p/{run.uid}/")]
    schema = pq.read_schema(hf_hub_download({DATASET!r}, shard[0], repo_type="dataset"))
    histograms = datasets.load_dataset({DATASET!r}, "histograms", split="train")
    traces = datasets.load_dataset({DATASET!r}, "traces", split="train")
    print(json.dumps({{
        "image_feature": media.features["image"] == datasets.Image(),
        "from_schema": datasets.Features.from_arrow_schema(schema) == media.features,
        "rows": len(media),
        "images": sorted((r["key"], r["image"].size) for r in media if r["kind"] == "image"),
        "no_image": sorted({{r["kind"] for r in media if r["image"] is None}}),
        "histograms": [len(r["edges"]) for r in histograms],
        "traces": [json.loads(r["value"])["metadata"] for r in traces],
    }}))
    """
    loaded = run_python(code, env=hub.env(hf_home=tmp_path / "hf"), timeout=180)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    answer = json.loads(loaded.stdout.strip().splitlines()[-1])
    assert answer["image_feature"] and answer["from_schema"]
    assert answer["rows"] == 2 * 6 and answer["no_image"] == ["audio", "object3d"]
    assert answer["images"] == sorted(
        [["samples/big", [256, 128]]] * 2 + [["samples/grid", [32, 32]]] * 4 + [["samples/same", [64, 48]]] * 2
    )
    assert answer["histograms"] == [17, 17] and answer["traces"] == [{"reward": 0}, {"reward": 1}]


def test_a_sync_under_faults_then_a_clean_one_lands_each_file_exactly_once(store_dir, hub):
    run = trackio.init(project="p", name="r")
    logged = Logged(seed=1)
    uploader = Uploader(run.path, "p", DATASET, token=TOKEN, retry_budget=20)

    logged.log(run, range(0, 2))
    assert run.flush(10)
    hub.drop_connection(before_apply=False, n=2, endpoint="commit")  # two commits land; neither answer comes
    uploader.sync()

    logged.log(run, range(2, 4))
    assert run.flush(10)
    hub.fail_next(2, status=503, endpoint="commit")  # two 5xx in a row, then the retry goes through
    hub.fail_next(2, status=502, endpoint="paths_info")
    uploader.sync()

    logged.log(run, range(4, 6))
    assert run.flush(10)
    hub.drop_connection(before_apply=False, n=10_000, endpoint="commit")  # every commit lands, no answer comes
    with pytest.raises(TransientSyncError):
        uploader.sync(budget=1.5)
    hub.reset_faults()
    run.finish()
    uploader.sync(compact_finished=True)
    commits = hub.commit_count(DATASET)
    assert not uploader.sync().committed and hub.commit_count(DATASET) == commits  # nothing left to send

    faults = [r.fault for r in hub.requests()]
    assert faults.count("drop_after") >= 3 and faults.count("fail_503") == 2 and faults.count("fail_502") == 2
    store = Store(run.path, create=False)
    media_files = store.media_files()
    ledger = {f.path for f in store.synced_files(DATASET) if f.kind == MEDIA_FILE_KIND}
    store.close()
    blobs = local_blobs(store_dir)
    files = hub.repo_files(DATASET)
    expected = {layout.media_file_path("p", f.digest, f.format): blobs[f.digest] for f in media_files}
    assert media_files_on_hub(files) == expected and ledger == set(expected)
    assert {path: landings(hub, path) for path in expected} == dict.fromkeys(expected, 1)
    assert_no_shard_before_its_files(hub)
    rows = dataset_rows(files, "media")
    media = trackio.Reader(store_dir).media("p", "r")
    assert sorted((r["seq"], r["digest"], r["step"]) for r in rows) == [
        (m["seq"], m["digest"], m["step"]) for m in media
    ]
    assert len(media) == 6 * 6  # every row once, none twice
    assert len(dataset_rows(files, "histograms")) == 6 and len(dataset_rows(files, "traces")) == 6


def test_a_sync_killed_after_its_files_landed_finds_them_and_does_not_send_them_again(store_dir, hub, monkeypatch):
    run = trackio.init(project="p", name="r")
    Logged(seed=2).log(run, range(2))
    run.finish()

    class Killed(Exception):
        pass

    def kill_at_first_landing(point: str) -> None:
        if point == "commit:applied":  # the media files' commit: applied by the Hub, not recorded here
            raise Killed

    monkeypatch.setattr(crashpoints, "observer", kill_at_first_landing)
    with pytest.raises(Killed):
        Uploader(run.path, "p", DATASET, token=TOKEN).sync()
    monkeypatch.setattr(crashpoints, "observer", None)
    files = media_files_on_hub(hub.repo_files(DATASET))
    assert files and not any(layout.parse(p) for p in hub.repo_files(DATASET))  # the files, and no shard yet
    commits = hub.commit_count(DATASET)
    hub.clear_log()

    Uploader(run.path, "p", DATASET, token=TOKEN).sync()
    assert hub.commit_count(DATASET) == commits + 1  # the shards only: the files were found, not re-committed
    assert [r.status for r in hub.requests("paths_info")] == [200, 200]  # the files' check, the runs file's
    assert len(hub.requests("preupload")) == 1  # one commit prepared: no file was offered to the Hub again
    assert all(landings(hub, path) == 1 for path in files)
    assert media_files_on_hub(hub.repo_files(DATASET)) == files
    assert_no_shard_before_its_files(hub)


def test_deleting_a_run_leaves_the_projects_media_files(store_dir, hub):
    logged = Logged(seed=3)
    first = trackio.init(project="p", name="first")
    logged.log(first, range(2))
    first.finish()
    second = trackio.init(project="p", name="second")
    second.log({"samples/same": trackio.Image(logged.same)}, step=0)  # the same bytes as a file of the first
    second.finish()
    uploader = Uploader(second.path, "p", DATASET, token=TOKEN)
    uploader.sync()
    before = media_files_on_hub(hub.repo_files(DATASET))
    delete_run("p", "first", directory=store_dir)
    result = uploader.sync()
    files = hub.repo_files(DATASET)
    assert result.removed and all(layout.parse(path).run_uid == first.uid for path in result.removed)
    assert not any(first.uid in path for path in files)  # the run's shards and runs file are gone
    assert media_files_on_hub(files) == before  # the project's files stay, the shared one and the others


# -- pull ------------------------------------------------------------------------------------------------


def test_pull_into_an_empty_folder_restores_every_row_and_file_byte_for_byte(store_dir, hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    Logged(seed=4).log(run, range(3))
    run.finish()
    counts = pull(DATASET, directory=tmp_path / "B")
    assert counts == {
        "runs": 1, "metrics": 3, "system": 0, "tables": 3, "alerts": 0, "texts": 6, "media": 18, "histograms": 3,
        "traces": 3,
    }  # fmt: skip
    original, pulled = snapshot(store_dir, "p", "r"), snapshot(tmp_path / "B", "p", "r")
    assert pulled == original
    assert local_blobs(tmp_path / "B") == local_blobs(store_dir)  # every file, byte for byte
    assert all(m["path"].is_file() for m in trackio.Reader(tmp_path / "B").media("p", "r"))
    assert {t["kind"] for t in trackio.Reader(tmp_path / "B").texts("p", "r")} == {"markdown", "text"}
    store = Store(tmp_path / "B" / "p.db", create=False)
    assert sorted(store.media_files()) == sorted(Store(run.path, create=False).media_files())
    store.close()

    assert set(pull(DATASET, directory=tmp_path / "B").values()) == {0}  # twice: nothing new
    commits = hub.commit_count(DATASET)
    hub.clear_log()
    assert not Uploader(tmp_path / "B" / "p.db", "p", DATASET, token=TOKEN).sync().committed
    assert hub.commit_count(DATASET) == commits and not hub.requests("paths_info")  # the ledger knew the files


def test_a_pulled_file_that_does_not_hash_to_its_name_is_not_stored(store_dir, hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    run.log({"img": trackio.Image(noise(np.random.default_rng(5), 8, 8))}, step=0)
    run.finish()
    (path,) = media_files_on_hub(hub.repo_files(DATASET))
    hub.api().upload_file(path_or_fileobj=b"not the image", path_in_repo=path, repo_id=DATASET, repo_type="dataset")
    with pytest.warns(trackio.TrackioWarning, match="hash to"):
        pull(DATASET, directory=tmp_path / "B")
    (item,) = trackio.Reader(tmp_path / "B").media("p", "r")
    assert not item["path"].exists()  # the row came; bytes that are not its file never do
    assert local_blobs(tmp_path / "B") == {}


def test_texts_files_written_before_texts_had_a_kind_pull_as_text(store_dir, hub, tmp_path):
    run = trackio.init(project="p", name="r", dataset_id="ds")
    run.log({"note": "old style", "report": trackio.Markdown("# new")}, step=0)
    run.finish()
    (path,) = shards(hub.repo_files(DATASET), "texts")
    table = pq.read_table(io.BytesIO(hub.repo_files(DATASET)[path])).drop_columns(["kind"])
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    hub.api().upload_file(path_or_fileobj=buffer.getvalue(), path_in_repo=path, repo_id=DATASET, repo_type="dataset")
    pull(DATASET, directory=tmp_path / "B")
    texts = trackio.Reader(tmp_path / "B").texts("p", "r")
    assert sorted((t["key"], t["value"], t["kind"]) for t in texts) == [
        ("note", "old style", "text"),
        ("report", "# new", "text"),
    ]
