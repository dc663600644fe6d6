"""Artifacts, saved files and references (trackio's API) on real files, SQLite stores and the Hub emulator.

Versions, aliases, de-duplication and overwrite are read back from the store and from downloaded bytes;
a process killed while it writes a blob leaves nothing referenced; a synced artifact is sent once and
resolved, byte for byte, by a store on another "machine" (another storage directory).
"""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pytest

import trackio_callback as trackio
from tests.helpers import run_python
from trackio_callback.artifacts import progress, references
from trackio_callback.artifacts.artifact import Artifact
from trackio_callback.artifacts.blobs import BlobStore
from trackio_callback.artifacts.documents import artifact_document
from trackio_callback.artifacts.references import ReferenceHandler, ResolvedReference, register_reference_handler
from trackio_callback.errors import ArtifactNotFoundError, FileTooLargeError
from trackio_callback.hub import layout
from trackio_callback.hub.pull import pull
from trackio_callback.store import Store, files
from trackio_callback.utils.crashpoints import CRASH_EXIT

DATASET = "alice/ds"


def write_checkpoint(folder: Path, epoch: int) -> dict[str, bytes]:
    """A small checkpoint folder: a config that changes each epoch, fixed random weights, a nested file."""
    contents = {
        "config.json": f'{{"epoch": {epoch}}}'.encode(),
        "weights.bin": hashlib.sha256(b"weights").digest() * 4096,  # 128 KiB, the same every epoch
        "tokenizer/vocab.txt": b"a\nb\nc\n",
    }
    for name, data in contents.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return contents


def folder_bytes(folder: str | Path) -> dict[str, bytes]:
    root = Path(folder)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def blob_digests(store_dir: Path, project: str = "p") -> set[str]:
    root = BlobStore(files.project_files_dir(store_dir, project)).root
    return {p.name for p in root.rglob("*") if p.is_file()}


# -- versions, aliases, de-duplication, overwrite ---------------------------------------------------


def test_a_folder_logs_as_versions_with_aliases_and_downloads_byte_for_byte(tmp_path, store_dir):
    ckpt = tmp_path / "ckpt"
    run = trackio.init(project="p", name="train")
    first = write_checkpoint(ckpt, 0)
    artifact = Artifact("model", type="model", description="epoch 0", metadata={"loss": 0.5})
    artifact.add_dir(ckpt)
    logged = trackio.log_artifact(artifact, aliases=["best"])
    assert logged is artifact
    assert (logged.version, logged.aliases, logged.qualified_name) == ("v0", ("best", "latest"), "p/model:v0")
    assert logged.size == sum(len(b) for b in first.values())
    assert [(e["path"], e["size"]) for e in logged.manifest] == sorted((k, len(v)) for k, v in first.items())
    assert logged.wait() is logged

    second = write_checkpoint(ckpt, 1)
    v1 = trackio.log_artifact(ckpt, name="model", type="model")
    assert (v1.version, v1.aliases) == ("v1", ("latest",))

    old = trackio.use_artifact("model:v0", type="model")
    assert (old.version, old.aliases, old.description, old.metadata) == ("v0", ("best",), "epoch 0", {"loss": 0.5})
    assert folder_bytes(old.download(tmp_path / "v0")) == first
    assert folder_bytes(trackio.use_artifact("model").download(tmp_path / "latest")) == second
    assert trackio.use_artifact("model:best").version == "v0"
    assert trackio.use_artifact(logged).qualified_name == "p/model:v0"  # a logged Artifact itself
    # The bytes are stored once each: the weights are shared by both versions.
    assert blob_digests(store_dir) == {hashlib.sha256(b).hexdigest() for b in [*first.values(), *second.values()]}
    assert len(blob_digests(store_dir)) == 4
    uses = [(u.artifact, u.version, u.direction) for u in run._store.artifact_uses(run.uid)]
    assert uses == [("model", 0, "input"), ("model", 0, "output"), ("model", 1, "input"), ("model", 1, "output")]


def test_identical_content_is_the_same_version_and_aliases_still_rotate_forward(tmp_path):
    ckpt = tmp_path / "ckpt"
    trackio.init(project="p", name="train")
    write_checkpoint(ckpt, 0)
    assert trackio.log_artifact(ckpt, name="m", type="model").version == "v0"
    write_checkpoint(ckpt, 1)
    assert trackio.log_artifact(ckpt, name="m", type="model").version == "v1"
    write_checkpoint(ckpt, 0)  # the content of v0 again
    again = trackio.log_artifact(ckpt, name="m", type="model", aliases=["prod"])
    assert (again.version, again.aliases) == ("v0", ("prod",))  # latest stays on v1
    assert trackio.use_artifact("m").version == "v1"
    write_checkpoint(ckpt, 1)
    assert trackio.log_artifact(ckpt, name="m", type="model", aliases=["prod"]).aliases == ("latest", "prod")
    write_checkpoint(ckpt, 0)
    assert trackio.log_artifact(ckpt, name="m", type="model", aliases=["prod"]).aliases == ()  # never backwards
    assert trackio.use_artifact("m:prod").version == "v1"


def test_overwrite_keeps_one_version_continues_the_numbering_and_keeps_shared_blobs(tmp_path, store_dir):
    ckpt = tmp_path / "ckpt"
    trackio.init(project="p", name="train")
    v0 = write_checkpoint(ckpt, 0)
    trackio.log_artifact(ckpt, name="m", type="model", aliases=["best"])
    v1 = write_checkpoint(ckpt, 1)
    trackio.log_artifact(ckpt, name="m", type="model")
    (tmp_path / "c.json").write_bytes(v0["config.json"])
    trackio.log_artifact(tmp_path / "c.json", name="other", type="config")  # shares v0's config blob
    write_checkpoint(ckpt, 2)
    v2 = trackio.log_artifact(ckpt, name="m", type="model", overwrite=True)
    assert (v2.version, v2.aliases) == ("v2", ("latest",))
    store = trackio.current_run()._store
    assert [v.version for v in store.artifact_versions("m")] == [2]
    for spec in ("m:v0", "m:v1", "m:best"):
        with pytest.raises(ArtifactNotFoundError, match="not found in project .p.; did you mean") as raised:
            trackio.use_artifact(spec)
        assert isinstance(raised.value, ValueError)  # as trackio raises
    write_checkpoint(ckpt, 7)
    assert trackio.log_artifact(ckpt, name="m", type="model").version == "v3"
    # v0's config blob is still used by "other"; v1's (used by nothing now) is gone.
    digests = blob_digests(store_dir)
    assert hashlib.sha256(v0["config.json"]).hexdigest() in digests
    assert hashlib.sha256(v1["config.json"]).hexdigest() not in digests
    assert folder_bytes(trackio.use_artifact("other").download(tmp_path / "o")) == {"c.json": v0["config.json"]}


def test_bad_calls_raise_trackio_s_errors_naming_the_value(tmp_path):
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(RuntimeError, match="init"):
        trackio.log_artifact(tmp_path / "f.txt")
    with pytest.raises(RuntimeError, match="init"):
        trackio.use_artifact("m")
    trackio.init(project="p", name="r")
    trackio.log_artifact(tmp_path / "f.txt", name="m", type="model")
    with pytest.raises(ValueError, match="type 'model', not 'dataset'"):
        trackio.use_artifact("m", type="dataset")
    with pytest.raises(ValueError, match="with type 'model'; cannot log it with type 'dataset'"):
        trackio.log_artifact(tmp_path / "f.txt", name="m", type="dataset")
    with pytest.raises(ArtifactNotFoundError, match="'mm' not found in project 'p'; did you mean: 'm'"):
        trackio.use_artifact("mm")
    with pytest.raises(ValueError, match="nothing after ':'"):
        trackio.use_artifact("m:")
    with pytest.raises(ValueError, match="artifact name 'a b'"):
        Artifact("a b", type="model")
    with pytest.raises(ValueError, match="alias 'v2' looks like a version"):
        trackio.log_artifact(tmp_path / "f.txt", name="m", type="model", aliases=["v2"])
    artifact = Artifact("m", type="model")
    with pytest.raises(ValueError, match="is empty"):
        trackio.log_artifact(artifact)
    artifact.add_file(tmp_path / "f.txt")
    with pytest.raises(ValueError, match="name= and type= go with a path"):
        trackio.log_artifact(artifact, name="x")
    trackio.log_artifact(artifact)
    with pytest.raises(RuntimeError, match="already logged"):
        trackio.log_artifact(artifact)
    with pytest.raises(RuntimeError, match="cannot add files"):
        artifact.add_file(tmp_path / "f.txt")
    with pytest.raises(ValueError, match="only once it was logged or fetched"):
        trackio.use_artifact(Artifact("n", type="model"))
    with pytest.raises(ValueError, match="two files at 'f.txt'"):
        twice = Artifact("t", type="model")
        twice.add_file(tmp_path / "f.txt")
        twice.add_file(tmp_path / "f.txt")
        trackio.log_artifact(twice)


def test_a_file_over_the_size_limit_is_refused_naming_it_its_size_and_the_limit(tmp_path, monkeypatch, store_dir):
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 11)
    monkeypatch.setenv("TRACKIO_MAX_FILE_BYTES", "10")
    trackio.init(project="p", name="r")
    with pytest.raises(FileTooLargeError, match=r"big\.bin is 11 bytes, over the limit of 10 bytes") as raised:
        trackio.log_artifact(big, type="model")
    assert "TRACKIO_MAX_FILE_BYTES" in str(raised.value)
    with pytest.raises(FileTooLargeError, match="11 bytes"):
        trackio.save(big)
    assert trackio.current_run()._store.artifact_names() == [] and blob_digests(store_dir) == set()
    monkeypatch.setenv("TRACKIO_MAX_FILE_BYTES", "lots")
    with pytest.raises(ValueError, match="TRACKIO_MAX_FILE_BYTES='lots'"):
        trackio.log_artifact(big, type="model")


def test_a_large_copy_shows_a_progress_bar(tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(progress, "PROGRESS_MIN_BYTES", 1000)
    (tmp_path / "weights.bin").write_bytes(os.urandom(300_000))
    (tmp_path / "small.txt").write_bytes(b"tiny")
    trackio.init(project="p", name="r")
    trackio.log_artifact(tmp_path / "weights.bin", type="model").download(tmp_path / "out")
    trackio.log_artifact(tmp_path / "small.txt", type="config")
    err = capfd.readouterr().err
    assert "storing weights.bin" in err and "copying weights.bin" in err and "100%" in err
    assert "small.txt" not in err


# -- crashes -----------------------------------------------------------------------------------------


def test_sigkill_while_a_blob_is_written_leaves_no_referenced_partial_blob(tmp_path, store_dir):
    data = os.urandom(3 * 2**20)
    (tmp_path / "weights.bin").write_bytes(data)
    # The copy loop's progress callback is the one place inside the write: the process kills itself
    # (SIGKILL, no cleanup) after the first chunk went to disk.
    result = run_python(
        f"""
        import os, signal, contextlib
        import trackio_callback as trackio
        from trackio_callback.artifacts import blobs

        @contextlib.contextmanager
        def killing_bar(total, description):  # the copy's bar, not the first pass's (it only hashes)
            kill = description.startswith("storing")
            yield lambda n: os.kill(os.getpid(), signal.SIGKILL) if kill else None

        blobs.CHUNK_BYTES = 2**20
        blobs.progress_bar = killing_bar
        trackio.init(project="p", name="r", dir={str(store_dir)!r})
        trackio.log_artifact({str(tmp_path / "weights.bin")!r}, type="model")
        print("not killed")
        """
    )
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr
    digest = hashlib.sha256(data).hexdigest()
    blobs = BlobStore(files.project_files_dir(store_dir, "p"))
    assert not blobs.has(digest)
    partials = list(blobs.tmp.iterdir())
    assert len(partials) == 1 and partials[0].stat().st_size == 2**20  # the half-written copy, referenced by nothing
    store = Store(files.project_path(store_dir, "p"))
    assert store.artifact_names() == [] and store.blob_digests_in_use() == set()
    store.close()
    # The project goes on: the same file logs whole, and the leftover is cleaned away.
    run = trackio.init(project="p", name="r", resume="allow")
    logged = trackio.log_artifact(tmp_path / "weights.bin", type="model")
    assert blobs.path(digest).read_bytes() == data
    assert folder_bytes(logged.download(tmp_path / "out")) == {"weights.bin": data}
    assert blobs.clean_partials(max_age=0) == 1 and list(blobs.tmp.iterdir()) == []
    assert run._store.blob_digests_in_use() == {digest}


# -- save() ------------------------------------------------------------------------------------------


def test_save_keeps_files_by_path_and_glob_relative_to_the_working_directory(tmp_path, monkeypatch, store_dir):
    work = tmp_path / "work"
    for name, data in {
        "config.yml": b"lr: 1",
        "models/a.pth": b"A",
        "models/deep/b.pth": b"B",
        "models/notes.txt": b"n",
    }.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_bytes(data)
    monkeypatch.chdir(work)
    with pytest.raises(RuntimeError, match="needs a project"):
        trackio.save("config.yml")
    run = trackio.init(project="p", name="r")
    folder = trackio.save("config.yml")
    assert folder == str(store_dir / "p.files" / "files")
    assert trackio.save("models/**/*.pth") == folder
    assert folder_bytes(folder) == {"config.yml": b"lr: 1", "models/a.pth": b"A", "models/deep/b.pth": b"B"}
    with pytest.raises(ValueError, match=r"save\('\*\.ckpt'\): no file matches"):
        trackio.save("*.ckpt")
    (work / "config.yml").write_bytes(b"lr: 2")
    trackio.save(work / "config.yml")  # an absolute path inside the working directory: the same entry
    saved = {f.path: (f.digest, f.run_uid) for f in run._store.saved_files()}
    assert saved == {
        "config.yml": (hashlib.sha256(b"lr: 2").hexdigest(), run.uid),
        "models/a.pth": (hashlib.sha256(b"A").hexdigest(), run.uid),
        "models/deep/b.pth": (hashlib.sha256(b"B").hexdigest(), run.uid),
    }
    assert (Path(folder) / "config.yml").read_bytes() == b"lr: 2"
    trackio.finish()
    # Without a run, a project can still be named; a file outside the working directory keeps its name.
    (tmp_path / "outside.txt").write_bytes(b"o")
    other = trackio.save(tmp_path / "outside.txt", project="q")
    assert folder_bytes(other) == {"outside.txt": b"o"}
    store = Store(files.project_path(store_dir, "q"))
    assert [(f.path, f.run_uid) for f in store.saved_files()] == [("outside.txt", None)]
    store.close()


# -- references --------------------------------------------------------------------------------------


def test_file_references_record_checksums_without_copying_and_download_the_bytes(tmp_path, store_dir):
    data = tmp_path / "data"
    (data / "train").mkdir(parents=True)
    (data / "train" / "a.csv").write_bytes(b"1,2\n")
    (data / "b.csv").write_bytes(b"3,4\n")
    trackio.init(project="p", name="r")
    artifact = Artifact("corpus", type="dataset")
    artifact.add_reference(data.as_uri(), name="data")
    artifact.add_reference((data / "b.csv").as_uri())
    logged = trackio.log_artifact(artifact)
    refs = {e["path"]: (e["ref"], e["digest"], e["size"]) for e in logged.references}
    assert refs == {
        "b.csv": ((data / "b.csv").as_uri(), hashlib.sha256(b"3,4\n").hexdigest(), 4),
        "data/b.csv": ((data / "b.csv").as_uri(), hashlib.sha256(b"3,4\n").hexdigest(), 4),
        "data/train/a.csv": ((data / "train" / "a.csv").as_uri(), hashlib.sha256(b"1,2\n").hexdigest(), 4),
    }
    assert logged.get_entry_uri("b.csv") == (data / "b.csv").as_uri()
    assert blob_digests(store_dir) == set()  # nothing copied
    assert folder_bytes(trackio.use_artifact("corpus").download(tmp_path / "out")) == {
        "b.csv": b"3,4\n",
        "data/b.csv": b"3,4\n",
        "data/train/a.csv": b"1,2\n",
    }
    with pytest.raises(ValueError, match="neither a file nor a folder"):
        Artifact("x", type="dataset").add_reference((tmp_path / "missing").as_uri())
    with pytest.raises(ValueError, match="no reference handler for 'mem://b/k' \\(scheme 'mem'\\)"):
        Artifact("x", type="dataset").add_reference("mem://b/k")


class MemoryStore(ReferenceHandler):
    """A user's handler: objects of an in-memory bucket, ``mem://<bucket>/<key>`` (a prefix lists its objects)."""

    def __init__(self, objects: dict[str, bytes]):
        self.objects = objects
        self.fetched: list[str] = []

    def matches(self, scheme, uri):
        return scheme == "mem"

    def resolve(self, uri, checksum, max_objects):
        prefix = uri.rstrip("/") + "/"
        below = sorted(key for key in self.objects if key.startswith(prefix))
        return [
            ResolvedReference(key[len(prefix) :], key, len(self.objects[key]), f"etag-{len(self.objects[key])}")
            for key in below
        ]

    def fetch(self, uri, dest):
        self.fetched.append(uri)
        dest.write_bytes(self.objects[uri])

    def hint(self):
        return "mem objects always have an etag"


def test_a_registered_reference_handler_serves_its_scheme(tmp_path, monkeypatch):
    monkeypatch.setattr(references, "_HANDLERS", list(references._HANDLERS))  # registrations end with the test
    bucket = MemoryStore({"mem://b/shards/0.bin": b"zero", "mem://b/shards/1.bin": b"one!"})
    register_reference_handler(bucket)
    with pytest.raises(TypeError, match="ReferenceHandler instance"):
        register_reference_handler(object())
    trackio.init(project="p", name="r")
    artifact = Artifact("shards", type="dataset")
    artifact.add_reference("mem://b/shards", name="s")
    logged = trackio.log_artifact(artifact)
    assert [(e["path"], e["digest"], e["size"]) for e in logged.manifest] == [
        ("s/0.bin", "etag-4", 4),
        ("s/1.bin", "etag-4", 4),
    ]
    out = trackio.use_artifact("shards").download(tmp_path / "out")
    assert folder_bytes(out) == {"s/0.bin": b"zero", "s/1.bin": b"one!"}
    assert bucket.fetched == ["mem://b/shards/0.bin", "mem://b/shards/1.bin"]
    trackio.use_artifact("shards").download(tmp_path / "out")
    assert len(bucket.fetched) == 2  # present files are not fetched again


# -- the Hub -----------------------------------------------------------------------------------------


def changed_paths(hub, before: int) -> set[str]:
    """The paths added or rewritten by the dataset's commits after the first ``before`` ones."""
    commits = hub.commits(DATASET)
    changed: set[str] = set()
    for previous, commit in zip(commits[before - 1 :], commits[before:]):
        changed |= {path for path, data in commit.files.items() if previous.files.get(path) != data}
    return changed


def test_artifacts_sync_once_and_another_machine_resolves_them_from_the_hub(tmp_path, store_dir, hub, monkeypatch):
    ckpt = tmp_path / "ckpt"
    run = trackio.init(project="p", name="train", dataset_id="ds")
    first = write_checkpoint(ckpt, 0)
    trackio.log_artifact(ckpt, name="model", type="model", aliases=["best"])
    (tmp_path / "notes.md").write_bytes(b"# notes")
    monkeypatch.chdir(tmp_path)
    trackio.save("notes.md")
    result = run._uploader.sync()
    files_on_hub = hub.repo_files(DATASET)
    blob_paths = {layout.artifact_blob_path("p", hashlib.sha256(b).hexdigest()): b for b in first.values()}
    for path, data in blob_paths.items():
        assert files_on_hub[path] == data
    assert files_on_hub["files/p/notes.md"] == b"# notes"
    record = run._store.artifact_record("model")
    assert files_on_hub[layout.artifact_path("p", "model")] == artifact_document(record)
    assert set(blob_paths) <= set(result.files)
    # Outside the runs' layout: the dataset's readers (pull, the static page's parser) pass these by.
    assert all(layout.parse(path) is None for path in files_on_hub if path.startswith(("artifacts/", "files/")))

    commits, asked = hub.commit_count(DATASET), len(hub.requests())
    assert run._uploader.sync().files == []  # a second sync sends nothing: the ledger knows, the Hub is not asked
    assert hub.commit_count(DATASET) == commits and len(hub.requests()) == asked

    second = write_checkpoint(ckpt, 1)  # only the config changes: one new blob
    trackio.log_artifact(ckpt, name="model", type="model")
    result = run._uploader.sync()
    new_blob = layout.artifact_blob_path("p", hashlib.sha256(second["config.json"]).hexdigest())
    assert sorted(p for p in result.files if "/blobs/" in p) == [new_blob]
    assert changed_paths(hub, commits) == {
        new_blob,
        layout.artifact_path("p", "model"),
        layout.artifact_uses_path("p", run.uid),
    } | {p for p in changed_paths(hub, commits) if p.startswith(("runs/", "README"))}
    trackio.finish()

    # Another machine: an empty storage directory, a run of the same project syncing to the same dataset.
    monkeypatch.setenv("TRACKIO_DIR", str(tmp_path / "elsewhere"))
    evaluation = trackio.init(project="p", name="eval", dataset_id="ds")
    best = trackio.use_artifact("model:best", type="model")
    assert (best.version, best.aliases, best.digest) == ("v0", ("best",), record.versions[0].digest)
    assert folder_bytes(best.download(tmp_path / "restored")) == first
    assert folder_bytes(trackio.use_artifact("model").download(tmp_path / "latest")) == second
    assert blob_digests(tmp_path / "elsewhere") == {
        hashlib.sha256(b).hexdigest() for b in [*first.values(), *second.values()]
    }
    with pytest.raises(ArtifactNotFoundError, match="nor in alice/ds"):
        trackio.use_artifact("nothing")
    before = hub.commit_count(DATASET)
    result = evaluation._uploader.sync()
    # Only this run's lineage (and its runs file) goes: the artifact's document and blobs are the dataset's.
    assert [p for p in result.files if p.startswith("artifacts/")] == [layout.artifact_uses_path("p", evaluation.uid)]
    assert not any("/blobs/" in p for p in changed_paths(hub, before))
    trackio.finish()
    assert hub.unhandled() == [] and hub.internal_errors() == []


def test_a_pulled_store_resolves_artifacts_and_syncs_nothing_back(tmp_path, store_dir, hub):
    ckpt = tmp_path / "ckpt"
    run = trackio.init(project="p", name="train", dataset_id="ds")
    contents = write_checkpoint(ckpt, 0)
    trackio.log_artifact(ckpt, name="model", type="model", aliases=["best"], overwrite=False)
    trackio.finish()
    copy = tmp_path / "copy"
    pull(DATASET, directory=copy, token="hf_test_token")
    store = Store(files.project_path(copy, "p"))
    assert (
        artifact_document(store.artifact_record("model")) == hub.repo_files(DATASET)["artifacts/p/artifacts/model.json"]
    )
    assert [(u.run_uid, u.artifact, u.direction) for u in store.artifact_uses()] == [(run.uid, "model", "output")]
    store.close()
    pull(DATASET, directory=copy, token="hf_test_token")  # twice: nothing changes
    # A local run there (no dataset of its own) fetches the blobs from the dataset the artifact came from.
    local = trackio.init(project="p", name="eval", dir=copy)
    assert folder_bytes(trackio.use_artifact("model:best").download(tmp_path / "out")) == contents
    trackio.finish()
    from trackio_callback.hub.uploader import Uploader

    commits = hub.commit_count(DATASET)
    sent = Uploader(files.project_path(copy, "p"), "p", DATASET, token="hf_test_token").sync()
    assert not any("/blobs/" in p or p.endswith("model.json") for p in sent.files)
    assert [p for p in sent.files if p.startswith("artifacts/")] == [layout.artifact_uses_path("p", local.uid)]
    assert hub.commit_count(DATASET) > commits  # the new run did go


def test_a_sync_killed_after_the_hub_took_the_blobs_does_not_send_them_again(tmp_path, store_dir, hub):
    weights = os.urandom(2**20)
    (tmp_path / "w.bin").write_bytes(weights)
    result = run_python(
        f"""
        import trackio_callback as trackio
        from trackio_callback.hub.uploader import Uploader
        run = trackio.init(project="p", name="r", dir={str(store_dir)!r})
        trackio.log_artifact({str(tmp_path / "w.bin")!r}, type="model")
        trackio.save({str(tmp_path / "w.bin")!r})
        trackio.finish()
        Uploader(run.path, "p", "{DATASET}", token="hf_test_token").sync()
        """,
        env={**hub.env(), "TRACKIO_CALLBACK_CRASH_AT": "commit:applied"},
    )
    assert result.returncode == CRASH_EXIT, result.stderr
    blob = layout.artifact_blob_path("p", hashlib.sha256(weights).hexdigest())
    assert hub.repo_files(DATASET)[blob] == weights  # the Hub has it; the store's ledger does not
    from trackio_callback.hub.uploader import Uploader

    received = hub.bytes_received("commit")
    healed = Uploader(files.project_path(store_dir, "p"), "p", DATASET, token="hf_test_token").sync()
    # The blob (its path is its content) and the saved file (its git id compared) are found there, not re-sent.
    assert hub.repo_files(DATASET)["files/p/w.bin"] == weights
    assert blob not in healed.files and "files/p/w.bin" not in healed.files
    assert layout.artifact_path("p", "w.bin") in healed.files
    assert hub.bytes_received("commit") - received < len(weights)  # the megabyte was not sent again
    assert Uploader(files.project_path(store_dir, "p"), "p", DATASET, token="hf_test_token").sync().files == []
