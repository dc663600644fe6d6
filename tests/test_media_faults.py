"""Media under faults: a flood of large images over the memory budget, SIGKILL while encoding, a full disk.

- Flood: images logged far faster than the writer encodes them, with a small ``TRACKIO_MEDIA_BUFFER_BYTES``. The
  waiting media never hold more than the budget plus one value, what is thinned is counted exactly in the run's
  ``media_dropped`` alert, one warning says so, ``log()`` never raises, and every image kept is stored exactly.
- SIGKILL: a child process logs large random images, videos and tables of images with a short flush interval and is
  killed at random moments, several times. Every media row, table cell and ``media_files`` entry names a file that
  exists and hashes to its digest; anything half-written is in ``blobs/tmp/`` only, and a later run removes it.
- Full disk: the child lowers its own ``RLIMIT_FSIZE`` (as tests/test_hardening_faults.py does) while images are
  pending, so neither the blob files nor the database can be written. Training goes on; once the disk works again,
  everything kept is written (all of it within the budget; over it, the thinned rest, counted in the alert).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

import trackio_callback as trackio
from tests.helpers import ROOT
from trackio_callback import TrackioWarning

IMAGE_SIDE = 512  # 768 KB of pixels; random pixels do not compress, so the PNG is as large


def decoded(path: Path) -> np.ndarray:
    with PILImage.open(path) as image:
        return np.asarray(image)


def noise(seed: int, side: int = IMAGE_SIDE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)


def media_dropped(reader: trackio.Reader, project: str) -> list[dict]:
    return [a for a in reader.alerts(project, "r") if a["title"] == "media_dropped"]


def check_blob_tree(files_dir: Path) -> list[Path]:
    """Each file under ``files_dir`` is a complete blob named by its sha256, or a partial in blobs/tmp/ (returned)."""
    partials = []
    for path in sorted(p for p in files_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(files_dir)
        if relative.parts[:2] == ("blobs", "tmp"):
            partials.append(path)
            continue
        assert relative.parts[:2] == ("blobs", "sha256") and relative.parts[2] == path.name[:2], relative
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name, f"{relative} is not what its name says"
    return partials


def test_a_flood_of_large_images_stays_within_the_budget_and_counts_what_it_drops(store_dir, monkeypatch):
    value_bytes = IMAGE_SIDE * IMAGE_SIDE * 3
    budget = 6 * value_bytes + value_bytes // 2
    monkeypatch.setenv("TRACKIO_MEDIA_BUFFER_BYTES", str(budget))
    base = noise(0)
    steps = 160
    run = trackio.init(project="flood", name="r", auto_log_cpu=False, flush_every=0.2)
    queued = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(steps):
            # ~20 ms to encode and store each (2 cores shared), well under 1 ms to log: the writer cannot keep up
            assert run.log({"loss": float(step), "sample": trackio.Image(base ^ np.uint8(step))}, step=step) is None
            queued.append(run._writer.media.nbytes)
            if step % 40 == 39:
                time.sleep(0.3)  # the writer gets a few passes in, and the flood comes back
        run.finish()
    thinned = [w for w in caught if issubclass(w.category, TrackioWarning) and "logged faster" in str(w.message)]
    assert len(thinned) == 1, [str(w.message) for w in caught]
    assert thinned[0].filename == __file__  # it points at the log() call
    assert "TRACKIO_MEDIA_BUFFER_BYTES" in str(thinned[0].message)
    assert max(queued) <= budget + value_bytes  # never more than one value over the budget
    reader = trackio.Reader()
    stored = reader.media("flood", "r", "sample")
    dropped = steps - len(stored)
    assert dropped > 0 and run._writer.media.dropped == dropped
    alerts = media_dropped(reader, "flood")
    assert alerts and alerts[-1]["value"] == dropped and alerts[-1]["level"] == "warn"
    assert [a["value"] for a in alerts] == sorted(a["value"] for a in alerts)  # a count so far, told as it grows
    assert f"{dropped} logged media values were dropped" in alerts[-1]["text"]
    assert stored[-1]["step"] == steps - 1  # the newest is always kept
    for row in stored:  # what was kept is stored exactly, at its step
        np.testing.assert_array_equal(decoded(row["path"]), base ^ np.uint8(row["step"]))
    assert reader.series("flood", "r", "loss").steps == list(range(steps))  # numbers are never thinned for media


# -- SIGKILL while encoding ---------------------------------------------------------------------------------------

KILLED = r"""
import io, os, sys, time
import numpy as np
from PIL import Image
import trackio_callback as trackio

directory, name, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(seed)
big = rng.integers(0, 256, (512, 512, 3), dtype=np.uint8)
frames = rng.integers(0, 256, (16, 3, 96, 128), dtype=np.uint8)
# An image file's bytes are stored as given (only the header is read): a small PNG with 24 MB after it is a long write.
png = io.BytesIO()
Image.fromarray(big[:16, :16]).save(png, format="PNG")
tail = rng.integers(0, 256, 24 * 2**20, dtype=np.uint8)
run = trackio.init(project="kill", name=name, dir=directory, flush_every=0.02, auto_log_cpu=False)
os.write(1, b"ready\n")
step = 0
while True:
    salt = np.uint8(step % 251)
    values = {"loss": float(step), "file": trackio.Image(png.getvalue() + (tail ^ salt).tobytes(), caption=str(step))}
    if step % 2 == 0:
        values["image"] = trackio.Image(big ^ salt)
    if step % 4 == 0:
        values["video"] = trackio.Video(frames ^ salt, fps=8)
    if step % 5 == 0:
        images = [trackio.Image(big[:96, :96] ^ salt), trackio.Image(big[:8, :8])]
        values["table"] = trackio.Table(columns=["step", "images"], data=[[step, images]])
    run.log(values, step=step)
    step += 1
    time.sleep(0.1)
"""


def kill_while_encoding(directory: Path, name: str, seed: int, after: float, tmp: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(directory), name, str(seed)],
        # ffmpeg's scratch folders kept in ``tmp``; at most 128 MB of media waiting (a flood is thinned past it)
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp), "TRACKIO_MEDIA_BUFFER_BYTES": str(2**27)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert child.stdout.readline() == b"ready\n", child.stderr.read().decode()
        time.sleep(after)
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the ffmpeg it had started, if any (its session: ours to end)
            os.killpg(child.pid, signal.SIGKILL)
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


def check_store(directory: Path, runs: list[str]) -> int:
    """Every media row, table cell and media file of the killed runs names a complete file; how many rows."""
    reader = trackio.Reader(directory)
    store = reader.store("kill")
    assert store.integrity_check() == "ok"
    rows = 0
    named = set()
    for name in runs:
        for item in reader.media("kill", name):
            assert item["path"].is_file(), f"run {name}: {item['key']} at step {item['step']} names a missing file"
            data = item["path"].read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["digest"] and len(data) == item["size"]
            named.add(item["digest"])
            rows += 1
        for table in reader.tables("kill", name):
            for _, images in table["rows"]:
                for cell in images:
                    assert isinstance(cell, dict), cell  # stored, not a description
                    data = reader.media_bytes("kill", cell["digest"])
                    assert hashlib.sha256(data).hexdigest() == cell["digest"]
                    named.add(cell["digest"])
    files = {f.digest: f for f in store.media_files()}
    assert named <= set(files)  # every file a row names is listed once for the Hub sync
    for digest, listed in files.items():
        data = reader.media_bytes("kill", digest)
        assert len(data) == listed.size and hashlib.sha256(data).hexdigest() == digest
    return rows


def test_sigkill_while_encoding_leaves_no_row_naming_a_missing_or_partial_file(tmp_path):
    directory, scratch = tmp_path / "store", tmp_path / "scratch"
    directory.mkdir()
    scratch.mkdir()
    rng = random.Random(20_240_615)
    runs, partials = [], []
    # Killed at random moments; more kills (up to 8) until one has left a half-written file behind.
    while len(runs) < 4 or (not partials and len(runs) < 8):
        name = f"killed-{len(runs)}"
        kill_while_encoding(directory, name, len(runs), rng.uniform(0.3, 2.0), scratch)
        runs.append(name)
        partials = check_blob_tree(directory / "kill.files")
    rows = check_store(directory, runs)
    assert rows > 0, "the killed runs stored media before they were killed"
    print(f"{len(runs)} kills, {rows} media rows, {len(partials)} partial files, ffmpeg scratch folders left: "
          f"{sorted(p.name for p in scratch.iterdir())}")  # fmt: skip

    # A later run removes the partials a dead process left (older than a live copy could be) once it stores media.
    long_ago = time.time() - 2 * 24 * 3600
    for partial in partials:
        os.utime(partial, (long_ago, long_ago))
    later = trackio.init(project="kill", name="later", dir=directory, auto_log_cpu=False)
    later.log({"image": trackio.Image(noise(1, side=32))})
    later.finish()
    assert check_blob_tree(directory / "kill.files") == []
    assert check_store(directory, [*runs, "later"]) == rows + 1


# -- a full disk while media are pending --------------------------------------------------------------------------

DISK_FULL = r"""
import json, os, resource, signal, sys, time, warnings
import numpy as np
import trackio_callback as trackio

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, writes fail with EFBIG instead of killing us
directory, steps = sys.argv[1], int(sys.argv[2])
warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, *args, **kwargs: caught.append(str(message))


def fsize(limit):
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))


base = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
run = trackio.init(project="full", name="r", dir=directory, flush_every=0.05, auto_log_cpu=False)
run.log({"loss": 0.0, "sample": trackio.Image(base)}, step=0)
assert run.flush(timeout=30)
limit = max(os.path.getsize(os.path.join(directory, f)) for f in os.listdir(directory))
fsize(limit)  # the disk is now full: the database cannot grow, no blob can be written
peak = 0
for step in range(1, steps + 1):
    assert run.log({"loss": float(step), "sample": trackio.Image(base ^ np.uint8(step))}, step=step) is None
    peak = max(peak, run._writer.media.nbytes)
    time.sleep(0.01)
time.sleep(0.5)  # the writer tries, fails, keeps them
during = [p.name for p in os.scandir(os.path.join(directory, "full.files", "blobs", "sha256")) for p in os.scandir(p)]
fsize(resource.RLIM_INFINITY)  # space freed
flushed = run.flush(timeout=60)
run.finish()
print(json.dumps({"limit": limit, "peak": peak, "flushed": flushed, "warnings": caught, "blobs_during": len(during),
                  "dropped": run._writer.media.dropped}))
"""


@pytest.mark.parametrize("budget_values, steps", [(None, 12), (4, 24)], ids=["within-budget", "over-budget"])
def test_a_full_disk_while_media_are_pending_keeps_them_until_it_works_again(tmp_path, budget_values, steps):
    value_bytes = 512 * 512 * 3
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if budget_values is not None:
        env["TRACKIO_MEDIA_BUFFER_BYTES"] = str(budget_values * value_bytes + value_bytes // 2)
    done = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path), str(steps)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["flushed"] is True and found["blobs_during"] == 1  # nothing but step 0's image was written meanwhile
    assert any("could not write to" in w and "kept in memory" in w for w in found["warnings"]), found["warnings"]
    reader = trackio.Reader(tmp_path)
    assert reader.run("full", "r")["status"] == "finished"
    assert reader.series("full", "r", "loss").steps == list(range(steps + 1))
    stored = reader.media("full", "r", "sample")
    base = np.random.default_rng(0).integers(0, 256, (512, 512, 3), dtype=np.uint8)
    assert stored[0]["size"] > found["limit"]  # a blob could not have been written under the limit
    for row in stored:
        np.testing.assert_array_equal(decoded(row["path"]), base ^ np.uint8(row["step"]))
    assert check_blob_tree(tmp_path / "full.files") == []  # failed writes left nothing half-written
    if budget_values is None:
        assert [r["step"] for r in stored] == list(range(steps + 1))  # everything kept, then written
        assert found["dropped"] == 0 and media_dropped(reader, "full") == []
        return
    budget = budget_values * value_bytes + value_bytes // 2
    assert found["peak"] <= budget + value_bytes
    dropped = steps + 1 - len(stored)
    assert dropped > 0 and found["dropped"] == dropped
    assert media_dropped(reader, "full")[-1]["value"] == dropped
    assert stored[-1]["step"] == steps and len(stored) <= budget_values + 1  # the newest kept; step 0 written before
    assert any("logged faster" in w for w in found["warnings"])


def test_numbers_are_committed_on_time_while_a_backlog_of_media_is_encoded(store_dir):
    """Encoding takes about one flush interval per pass: a number logged behind 60 large images is committed
    while most of them still wait (before, the writer encoded the whole backlog first; a crash then lost
    every number of those seconds)."""
    run = trackio.init(project="backlog", name="r", flush_every=0.2, auto_log_cpu=False)
    for step in range(60):
        run.log({"sample": trackio.Image(noise(step))}, step=step)  # ~25 ms of PNG encoding each
    run.log({"train/loss": 0.5}, step=60)
    reader = trackio.Reader()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(trackio.TrackioError):
            if len(reader.series("backlog", "r", "train/loss").values):
                break
        time.sleep(0.02)
    stored_when_the_number_was = len(reader.media("backlog", "r"))
    run.finish()
    assert reader.series("backlog", "r", "train/loss").values == [0.5]
    assert stored_when_the_number_was < 60, "the number waited for the whole backlog"
    assert len(reader.media("backlog", "r")) == 60  # and the backlog is stored by finish()
