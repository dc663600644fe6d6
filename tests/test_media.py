"""Media round trips: every trackio value type and input form, logged by a run and read back exactly via `Reader`.

Images are decoded and compared pixel for pixel with what was logged; files and bytes are compared byte for byte;
audio is read back as PCM samples, video decoded by ffmpeg (frame count and size), point clouds parsed from their
PLY, histograms compared with numpy's. Also: identical content is stored once, a logged array changed afterwards
does not change what was stored, a value logged twice is encoded once, bad input is a clear error at construction,
and a value that cannot be encoded during training is dropped with one warning while the rest of the call is kept.
A trackio-style script (``tests/scripts/trackio_media.py``, ``import trackio``) runs in a fresh interpreter.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import warnings
import wave
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from PIL import Image as PILImage

import trackio_callback as trackio
from tests.helpers import ROOT
from trackio_callback import TrackioWarning
from trackio_callback.errors import MediaValueError
from trackio_callback.media import encoding
from trackio_callback.store import Store

SCRIPT = ROOT / "tests" / "scripts" / "trackio_media.py"


# -- helpers ----------------------------------------------------------------------------------------------------------


def start(name: str = "r") -> trackio.Run:
    return trackio.init(project="m", name=name, auto_log_cpu=False)


def media(key: str | None = None, run: str = "r") -> list[dict]:
    return trackio.Reader().media("m", run, key)


def pixels(path_or_bytes: Path | bytes) -> np.ndarray:
    source = io.BytesIO(path_or_bytes) if isinstance(path_or_bytes, bytes) else path_or_bytes
    with PILImage.open(source) as image:
        return np.asarray(image)


def mode_of(path: Path) -> str:
    with PILImage.open(path) as image:
        return image.mode


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_file(item: dict) -> None:
    """The row names its file exactly: the blob exists, hashes to the digest and has the size recorded."""
    assert item["path"].is_file(), item
    assert sha256(item["path"]) == item["digest"] and item["path"].stat().st_size == item["size"]


def blob_files(store_dir: Path, project: str = "m") -> list[Path]:
    return sorted(p for p in (store_dir / f"{project}.files" / "blobs" / "sha256").rglob("*") if p.is_file())


def wav_of(path: Path) -> tuple[np.ndarray, int, int]:
    with wave.open(str(path), "rb") as file:
        frames = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
        return frames.reshape(-1, file.getnchannels()), file.getnchannels(), file.getframerate()


def decoded_video(path: Path) -> tuple[dict, int]:
    """ffmpeg's metadata of the file and the number of frames it decodes."""
    reader = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
    meta = next(reader)
    count = sum(1 for _ in reader)
    return meta, count


def moving_frames(count: int, channels: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """trackio's (T, C, H, W) uint8 frames: a bright square moving over a dark gradient."""
    frames = np.zeros((count, channels, height, width), dtype=np.uint8)
    frames += (np.arange(width, dtype=np.uint8) * (60 // max(width, 1)))[None, None, None, :]
    for t in range(count):
        y, x = (t * 2 + seed) % (height - 4), (t * 3 + seed) % (width - 4)
        frames[t, :, y : y + 4, x : x + 4] = 250
    return frames


def parsed_ply(data: bytes) -> np.ndarray:
    """The vertices of a binary little-endian PLY as a structured array (its header says the fields)."""
    header, _, body = data.partition(b"end_header\n")
    lines = header.decode("ascii").splitlines()
    assert lines[:2] == ["ply", "format binary_little_endian 1.0"], lines
    count = int(next(line for line in lines if line.startswith("element vertex")).split()[-1])
    types = {"float": "<f4", "uchar": "u1"}
    fields = [(line.split()[2], types[line.split()[1]]) for line in lines if line.startswith("property")]
    return np.frombuffer(body, dtype=np.dtype(fields), count=count)


# -- images -----------------------------------------------------------------------------------------------------------


def test_images_from_arrays_and_tensors_decode_to_the_pixels_logged(store_dir):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 7), dtype=np.uint8)
    rgb = rng.integers(0, 256, (6, 4, 3), dtype=np.uint8)
    rgba = rng.integers(0, 256, (3, 5, 4), dtype=np.uint8)
    one_channel = rng.integers(0, 256, (4, 6, 1), dtype=np.uint8)
    chw = rng.integers(0, 256, (3, 8, 9), dtype=np.uint8)
    large = rng.integers(0, 256, (200, 150, 3), dtype=np.uint8)  # over the snapshot pool's minimum: a pooled copy
    tensor_u8 = torch.from_numpy(rng.integers(0, 256, (3, 5, 6), dtype=np.uint8))
    tensor_float = torch.rand(3, 4, 5, generator=torch.Generator().manual_seed(1), requires_grad=True)
    tensor_hwc_half = torch.rand(4, 3, 3, generator=torch.Generator().manual_seed(2)).half()
    logged = {
        "grey": (grey, grey, "L"),
        "rgb": (rgb, rgb, "RGB"),
        "rgba": (rgba, rgba, "RGBA"),
        "one_channel": (one_channel, one_channel[:, :, 0], "L"),
        "chw": (chw, chw.transpose(1, 2, 0), "RGB"),
        "large": (large, large, "RGB"),
        "torch/uint8": (tensor_u8, tensor_u8.numpy().transpose(1, 2, 0), "RGB"),
        # floats in [0, 1] -> round(x * 255), as trackio's tensor conversion does
        "torch/float": (
            tensor_float * 1.0,  # a non-leaf tensor that requires grad
            np.rint(tensor_float.detach().numpy().transpose(1, 2, 0) * 255.0).astype(np.uint8),
            "RGB",
        ),
        "torch/half": (tensor_hwc_half, np.rint(tensor_hwc_half.float().numpy() * 255.0).astype(np.uint8), "RGB"),
    }
    run = start()
    run.log({key: trackio.Image(value, caption=f"{key} caption") for key, (value, _, _) in logged.items()}, step=3)
    run.finish()
    found = {item["key"]: item for item in media()}
    assert set(found) == set(logged)
    for key, (_, expected, mode) in logged.items():
        item = found[key]
        check_file(item)
        assert (item["kind"], item["format"], item["step"], item["item"]) == ("image", "png", 3, 0), key
        assert item["caption"] == f"{key} caption"
        assert (item["height"], item["width"]) == expected.shape[:2] and item["duration"] is None
        assert mode_of(item["path"]) == mode, key
        np.testing.assert_array_equal(pixels(item["path"]), expected, err_msg=key)


@pytest.mark.parametrize(
    "mode, shown_as",
    [("L", "L"), ("LA", "LA"), ("RGB", "RGB"), ("RGBA", "RGBA"), ("P", "RGB"), ("1", "L"), ("CMYK", "RGB")],
)
def test_pil_images_are_stored_losslessly_in_a_mode_browsers_show(store_dir, mode, shown_as):
    rng = np.random.default_rng(3)
    bands = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "CMYK": 4}
    if mode == "P":
        image = PILImage.fromarray(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)).quantize(colors=16)
    elif mode == "1":
        image = PILImage.fromarray(rng.integers(0, 2, (9, 11), dtype=np.uint8) * 255).convert("1")
    else:
        image = PILImage.frombytes(mode, (11, 9), rng.bytes(11 * 9 * bands[mode]))
    expected = np.asarray(image.convert(shown_as))
    run = start()
    run.log({"pil": trackio.Image(image, caption="pil")})
    image.paste(0, (0, 0, 11, 9))  # a change after log() does not reach what was logged
    run.finish()
    (item,) = media("pil")
    check_file(item)
    assert (item["width"], item["height"], item["format"]) == (11, 9, "png")
    assert mode_of(item["path"]) == shown_as
    np.testing.assert_array_equal(pixels(item["path"]), expected)


def test_image_files_and_bytes_are_stored_as_they_are(store_dir, tmp_path):
    rng = np.random.default_rng(4)
    picture = PILImage.fromarray(rng.integers(0, 256, (12, 20, 3), dtype=np.uint8))
    png, jpeg = tmp_path / "sample.png", tmp_path / "photo.JPG"
    picture.save(png)
    picture.save(jpeg, quality=80)
    gif = io.BytesIO()
    picture.convert("P").save(gif, format="GIF")
    webp = io.BytesIO()
    picture.save(webp, format="WEBP", lossless=True)
    given = {
        "png/str": (str(png), png.read_bytes(), "png"),
        "png/path": (png, png.read_bytes(), "png"),
        "jpeg/path": (str(jpeg), jpeg.read_bytes(), "jpeg"),
        "png/bytes": (png.read_bytes(), png.read_bytes(), "png"),
        "jpeg/bytes": (bytearray(jpeg.read_bytes()), jpeg.read_bytes(), "jpeg"),
        "gif/bytes": (gif.getvalue(), gif.getvalue(), "gif"),
        "webp/bytes": (memoryview(webp.getvalue()), webp.getvalue(), "webp"),
    }
    run = start()
    run.log({key: trackio.Image(value) for key, (value, _, _) in given.items()})
    # A script that saves its plot to the same path at every step logs each version: the file is read at log().
    picture.transpose(PILImage.Transpose.FLIP_LEFT_RIGHT).save(png)
    run.log({"png/str": trackio.Image(str(png), caption="flipped")})
    run.finish()
    found = {(item["key"], item["step"]): item for item in media()}
    for key, (_, data, fmt) in given.items():
        item = found[(key, 0)]
        assert item["path"].read_bytes() == data, key
        assert (item["format"], item["width"], item["height"], item["size"]) == (fmt, 20, 12, len(data)), key
        check_file(item)
    flipped = found[("png/str", 1)]
    assert flipped["path"].read_bytes() == png.read_bytes() != given["png/str"][1]
    np.testing.assert_array_equal(pixels(flipped["path"]), np.asarray(picture)[:, ::-1])
    assert flipped["caption"] == "flipped"


def test_a_list_of_images_under_one_key_keeps_its_order(store_dir):
    arrays = [np.full((4, 4 + i, 3), 40 * i, dtype=np.uint8) for i in range(5)]
    run = start()
    run.log({"samples": [trackio.Image(a, caption=f"sample {i}") for i, a in enumerate(arrays)], "loss": 1.0})
    run.log({"samples": [trackio.Image(a) for a in arrays[:2]]})
    run.finish()
    rows = media("samples")
    assert [(r["step"], r["item"]) for r in rows] == [(0, i) for i in range(5)] + [(1, 0), (1, 1)]
    assert [r["caption"] for r in rows[:5]] == [f"sample {i}" for i in range(5)]
    for row, array in zip(rows, arrays + arrays[:2]):
        np.testing.assert_array_equal(pixels(row["path"]), array)
    assert trackio.Reader().series("m", "r", "loss").values == [1.0]


def test_identical_images_logged_at_many_steps_are_stored_once(store_dir):
    array = np.random.default_rng(5).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    run = start()
    for step in range(30):
        run.log({"same": trackio.Image(array.copy()), "same/file": trackio.Image(array)}, step=step)
        if step % 10 == 9:
            run.flush()
    run.finish()
    rows = media("same")
    assert [r["step"] for r in rows] == list(range(30)) and len({r["digest"] for r in rows}) == 1
    assert {r["digest"] for r in media("same/file")} == {rows[0]["digest"]}
    assert [p.name for p in blob_files(store_dir)] == [rows[0]["digest"]]  # one file on disk
    store = Store(store_dir / "m.db", create=False)
    try:
        assert [(f.digest, f.format, f.size) for f in store.media_files()] == [
            (rows[0]["digest"], "png", rows[0]["size"])
        ]
    finally:
        store.close()


def test_arrays_changed_right_after_log_are_stored_as_they_were_at_log(store_dir):
    rng = np.random.default_rng(6)
    base = rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)  # 48 KB: a plain copy
    big = rng.integers(0, 256, (160, 160, 3), dtype=np.uint8)  # 75 KB: a copy into a recycled buffer, after a few
    samples = rng.normal(size=4000).astype(np.float32)
    frames = moving_frames(4, 3, 16, 16)
    values = rng.normal(size=1000)
    expected_pcm = (samples / np.abs(samples).max() * 32767.0).astype(np.int16)
    expected_counts = np.histogram(values, bins=64)[0]
    run = start()
    for step in range(40):
        image, pooled = base ^ np.uint8(step), big ^ np.uint8(step)
        logged = {"image": trackio.Image(image), "pooled": trackio.Image(pooled)}
        if step == 0:
            logged |= {"audio": trackio.Audio(samples, sample_rate=8000), "video": trackio.Video(frames, fps=4),
                       "histogram": trackio.Histogram(values)}  # fmt: skip
        run.log(logged, step=step)
        image[:] = 0  # the training loop reuses its buffers
        pooled[:] = 0
        if step == 0:
            samples[:] = 0
            frames[:] = 0
            values[:] = 0
        if step % 8 == 7:
            run.flush()  # encoded: their buffers go back to the pool and serve the next copies
    run.finish()
    for key, source in (("image", base), ("pooled", big)):
        rows = media(key)
        assert [r["step"] for r in rows] == list(range(40))
        for row in rows:
            np.testing.assert_array_equal(pixels(row["path"]), source ^ np.uint8(row["step"]), err_msg=key)
    (audio,) = media("audio")
    np.testing.assert_array_equal(wav_of(audio["path"])[0][:, 0], expected_pcm)
    (video,) = media("video")
    first = next(f for i, f in enumerate(imageio_ffmpeg.read_frames(str(video["path"]), pix_fmt="rgb24")) if i == 1)
    assert max(first) > 200  # the moving square is there: not the zeros written after log()
    (histogram,) = trackio.Reader().histograms("m", "r", "histogram")
    np.testing.assert_array_equal(histogram["counts"], expected_counts)


def test_an_image_logged_twice_is_encoded_once(store_dir, monkeypatch):
    calls = []
    real = encoding.encode_image

    def counted(snapshot):  # a spy: the real encoder, counted
        calls.append(snapshot.shape if hasattr(snapshot, "shape") else snapshot.size)
        return real(snapshot)

    monkeypatch.setattr(encoding, "encode_image", counted)
    image = trackio.Image(np.arange(3 * 5 * 3, dtype=np.uint8).reshape(3, 5, 3), caption="twice")
    run = start()
    run.log({"a": image, "b": image})  # twice before the writer saw it
    run.flush()
    run.log({"a": image})  # and after: its snapshot went back to the pool, its encoding stays
    run.finish()
    assert calls == [(3, 5, 3)]
    rows = media()
    assert [(r["key"], r["step"]) for r in rows] == [("a", 0), ("b", 0), ("a", 1)]
    assert len({r["digest"] for r in rows}) == 1 and {r["caption"] for r in rows} == {"twice"}
    np.testing.assert_array_equal(pixels(rows[2]["path"]), np.arange(45, dtype=np.uint8).reshape(3, 5, 3))
    assert repr(image) == "Image(5x3 png, caption='twice')"


# -- audio, video, 3D -------------------------------------------------------------------------------------------------


def test_audio_from_int16_and_float_arrays_and_a_wav_file(store_dir, tmp_path):
    rng = np.random.default_rng(7)
    mono = rng.integers(-32768, 32768, 1200, dtype=np.int16)
    stereo = (rng.normal(size=(900, 2)) * 0.3).astype(np.float32)
    loud = rng.normal(size=500) * 5.0
    wav_path = tmp_path / "speech.wav"
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(mono.tobytes())
    run = start()
    run.log({
        "int16": trackio.Audio(mono, sample_rate=8000, caption="as is"),
        "float32": trackio.Audio(stereo, sample_rate=22_050),
        "float64": trackio.Audio(loud, sample_rate=1000, format="wav"),
        "file": trackio.Audio(wav_path, caption="from disk"),
        "tensor": trackio.Audio(torch.from_numpy(mono.copy()), sample_rate=8000),
    })  # fmt: skip
    run.finish()
    found = {item["key"]: item for item in media()}
    for item in found.values():
        check_file(item)
        assert (item["kind"], item["format"], item["width"], item["height"]) == ("audio", "wav", None, None)
    samples, channels, rate = wav_of(found["int16"]["path"])
    assert (channels, rate, found["int16"]["duration"], found["int16"]["caption"]) == (1, 8000, 1200 / 8000, "as is")
    np.testing.assert_array_equal(samples[:, 0], mono)
    # floats: peak-normalised to 16-bit PCM, truncated toward zero (trackio 0.43's ensure_int16_pcm)
    samples, channels, rate = wav_of(found["float32"]["path"])
    assert (channels, rate, found["float32"]["duration"]) == (2, 22_050, 900 / 22_050)
    np.testing.assert_array_equal(samples, (stereo / np.abs(stereo).max() * 32767.0).astype(np.int16))
    assert np.abs(samples).max() == 32767
    samples, _, _ = wav_of(found["float64"]["path"])
    np.testing.assert_array_equal(samples[:, 0], (loud / np.abs(loud).max() * 32767.0).astype(np.int16))
    assert found["file"]["path"].read_bytes() == wav_path.read_bytes() and found["file"]["duration"] == 1200 / 16_000
    np.testing.assert_array_equal(wav_of(found["tensor"]["path"])[0][:, 0], mono)


def test_video_from_trackio_arrays_and_a_file(store_dir, tmp_path):
    clip = moving_frames(6, 3, 16, 24)
    grey = moving_frames(5, 1, 12, 12, seed=1)
    batch = np.stack([moving_frames(4, 3, 8, 8, seed=s) for s in range(3)])  # (B, T, C, H, W): a 2 x 2 grid
    source = tmp_path / "episode.mp4"
    writer = imageio_ffmpeg.write_frames(str(source), (32, 16), fps=8, macro_block_size=1)
    writer.send(None)
    for frame in moving_frames(8, 3, 16, 32).transpose(0, 2, 3, 1):
        writer.send(np.ascontiguousarray(frame))
    writer.close()
    run = start()
    run.log({
        "clip": trackio.Video(clip, fps=12, caption="one"),
        "grey": trackio.Video(grey, fps=5, format="webm"),
        "batch": trackio.Video(batch, fps=4),
        "gif": trackio.Video(clip, fps=6, format="gif"),
        "file": trackio.Video(str(source), caption="from disk"),
    })  # fmt: skip
    run.finish()
    found = {item["key"]: item for item in media()}
    for item in found.values():
        check_file(item)
        assert item["kind"] == "video"
    expected = {  # key: (format, width, height, frames, duration)
        "clip": ("mp4", 24, 16, 6, 0.5),
        "grey": ("webm", 12, 12, 5, 1.0),
        "batch": ("mp4", 16, 16, 4, 1.0),
        "gif": ("gif", 24, 16, 6, 1.0),
    }
    for key, (fmt, width, height, count, duration) in expected.items():
        item = found[key]
        assert (item["format"], item["width"], item["height"]) == (fmt, width, height), key
        assert item["duration"] == pytest.approx(duration), key
        meta, decoded = decoded_video(item["path"])
        assert (tuple(meta["size"]), decoded) == ((width, height), count), key
    assert found["clip"]["caption"] == "one"
    assert found["file"]["path"].read_bytes() == source.read_bytes()
    assert (found["file"]["format"], found["file"]["caption"]) == ("mp4", "from disk")


def test_object3d_from_points_and_files(store_dir, tmp_path):
    rng = np.random.default_rng(8)
    points = rng.normal(size=(50, 3)).astype(np.float32)
    coloured = np.hstack([rng.normal(size=(10, 3)), rng.integers(0, 256, (10, 3))])
    glb = tmp_path / "mesh.glb"
    glb.write_bytes(b"glTF\x02\x00\x00\x00" + bytes(range(256)) * 4)
    ply = tmp_path / "cloud.PLY"
    ply.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
                    b"property float z\nend_header\n0 1 2\n")  # fmt: skip
    run = start()
    run.log({
        "points": trackio.Object3D(points, caption="cloud"),
        "coloured": trackio.Object3D.from_numpy(coloured),
        "glb": trackio.Object3D(str(glb)),
        "ply": trackio.Object3D.from_file(ply, caption="ascii"),
    })  # fmt: skip
    run.finish()
    found = {item["key"]: item for item in media()}
    for item in found.values():
        check_file(item)
        assert item["kind"] == "object3d"
    vertices = parsed_ply(found["points"]["path"].read_bytes())
    assert found["points"]["format"] == "ply" and found["points"]["caption"] == "cloud"
    np.testing.assert_array_equal(np.stack([vertices["x"], vertices["y"], vertices["z"]], axis=1), points)
    vertices = parsed_ply(found["coloured"]["path"].read_bytes())
    rgb = np.stack([vertices["red"], vertices["green"], vertices["blue"]], axis=1)
    np.testing.assert_array_equal(rgb, coloured[:, 3:].astype(np.uint8))
    assert found["glb"]["path"].read_bytes() == glb.read_bytes() and found["glb"]["format"] == "glb"
    assert found["ply"]["path"].read_bytes() == ply.read_bytes() and found["ply"]["format"] == "ply"
    assert found["ply"]["caption"] == "ascii"


# -- histograms, text, traces -----------------------------------------------------------------------------------------


def test_histograms_equal_numpys(store_dir):
    rng = np.random.default_rng(9)
    values = rng.normal(size=1000).tolist()
    counts, edges = np.histogram(rng.exponential(size=300), bins=7)
    weights = torch.randn(40, 30, generator=torch.Generator().manual_seed(0), requires_grad=True)
    dirty = np.concatenate([rng.normal(size=200), [np.nan, np.inf, -np.inf, np.nan]])
    run = start()
    run.log({
        "list": trackio.Histogram(values),
        "precomputed": trackio.Histogram(np_histogram=(counts, edges)),
        "ten_bins": trackio.Histogram(np.array(values), num_bins=10),
        "tensor": trackio.Histogram(weights * 2),  # requires grad: detached
        "dirty": trackio.Histogram(dirty),
        "capped": trackio.Histogram(values, num_bins=10_000),
    })  # fmt: skip
    for step in range(1, 4):
        run.log({"list": trackio.Histogram([float(step)] * 5 + [0.0])}, step=step)
    run.finish()
    reader = trackio.Reader()
    assert reader.histogram_keys("m", "r") == ["capped", "dirty", "list", "precomputed", "ten_bins", "tensor"]

    def only(key):
        (row,) = reader.histograms("m", "r", key)
        assert row["edges"].dtype == np.float64 and len(row["edges"]) == len(row["counts"]) + 1
        return row

    expected = {
        "ten_bins": np.histogram(values, bins=10),
        "tensor": np.histogram((weights * 2).detach().numpy().astype(np.float64), bins=64),
        "dirty": np.histogram(dirty[np.isfinite(dirty)], bins=64),
        "capped": np.histogram(values, bins=512),  # trackio's limit
    }
    for key, (want_counts, want_edges) in expected.items():
        row = only(key)
        np.testing.assert_array_equal(row["counts"], want_counts, err_msg=key)
        np.testing.assert_array_equal(row["edges"], want_edges, err_msg=key)
    assert only("dirty")["counts"].sum() == 200  # NaN and infinities left out
    row = only("precomputed")
    np.testing.assert_array_equal(row["counts"], counts)
    np.testing.assert_array_equal(row["edges"], edges)
    rows = reader.histograms("m", "r", "list")
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    want_counts, want_edges = np.histogram(values, bins=64)
    np.testing.assert_array_equal(rows[0]["counts"], want_counts)
    np.testing.assert_array_equal(rows[0]["edges"], want_edges)
    for row in rows[1:]:
        assert row["counts"].sum() == 6 and row["counts"][0] == 1 and row["counts"][-1] == 5
    assert reader.media_keys("m", "r") == [] and reader.metric_keys("m", "r") == []


def test_markdown_and_html_are_texts_of_their_kind(store_dir, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(2, 2))
    axes.plot([0, 1, 2], [2, 0, 1])
    page = tmp_path / "report.html"
    page.write_text("<h1>From a file</h1>", encoding="utf-8")
    run = start()
    run.log({"report": trackio.Markdown("# Eval\n- accuracy **0.91**"), "panel": trackio.Html("<b>bold</b> ✓"),
             "plain": "just text"})  # fmt: skip
    run.log({"panel": trackio.Html(str(page)), "figure": trackio.Html(figure), "report": trackio.Markdown()})
    plt.close(figure)
    run.finish()
    reader = trackio.Reader()
    got = [(t["key"], t["step"], t["kind"]) for t in reader.texts("m", "r")]
    assert sorted(got) == sorted([("report", 0, "markdown"), ("panel", 0, "html"), ("plain", 0, "text"),
                                  ("panel", 1, "html"), ("figure", 1, "html"), ("report", 1, "markdown")])  # fmt: skip
    values = {(t["key"], t["step"]): t["value"] for t in reader.texts("m", "r")}
    assert values[("report", 0)] == "# Eval\n- accuracy **0.91**" and values[("report", 1)] == ""
    assert values[("panel", 0)] == "<b>bold</b> ✓" and values[("panel", 1)] == "<h1>From a file</h1>"
    assert "<svg" in values[("figure", 1)] and "</svg>" in values[("figure", 1)]
    assert reader.media_keys("m", "r") == []


def test_traces_and_lists_of_traces(store_dir):
    conversation = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "2+2="},
                    {"role": "assistant", "content": "4", "tool_calls": []}]  # fmt: skip
    run = start()
    run.log({"rollout": trackio.Trace(conversation, metadata={"reward": 1.0, "model": "tiny"}), "loss": 0.5})
    run.log({"rollouts": [trackio.Trace([{"role": "user", "content": f"q{i}"}], metadata={"i": i},
                                        spans=[{"name": "generate", "ms": i}]) for i in range(3)]})  # fmt: skip
    conversation.append({"role": "user", "content": "changed after log"})
    run.finish()
    reader = trackio.Reader()
    assert reader.trace_keys("m", "r") == ["rollout", "rollouts"]
    (single,) = reader.traces("m", "r", "rollout")
    assert single["step"] == 0 and single["value"] == {
        "messages": conversation[:3], "metadata": {"reward": 1.0, "model": "tiny"}, "spans": []
    }  # fmt: skip
    (many,) = reader.traces("m", "r", "rollouts")
    assert many["step"] == 1 and many["value"] == [
        {
            "messages": [{"role": "user", "content": f"q{i}"}],
            "metadata": {"i": i},
            "spans": [{"name": "generate", "ms": i}],
        }
        for i in range(3)
    ]
    assert [t["key"] for t in reader.traces("m", "r")] == ["rollout", "rollouts"]
    assert reader.text_keys("m", "r") == [] and reader.series("m", "r", "loss").values == [0.5]


# -- tables with images -----------------------------------------------------------------------------------------------


def test_table_cells_with_images_and_lists_of_images_reference_stored_files(store_dir):
    import pandas as pd

    rng = np.random.default_rng(10)
    arrays = [rng.integers(0, 256, (6 + i, 5, 3), dtype=np.uint8) for i in range(4)]
    run = start()
    run.log({"loss": 1.0}, step=7)
    table = trackio.Table(
        columns=["id", "image", "images", "score"],
        data=[
            [0, trackio.Image(arrays[0], caption="first"), [trackio.Image(arrays[1]), trackio.Image(arrays[2])], 0.5],
            [1, trackio.Image(arrays[3]), [], None],
        ],
    )
    run.log({"samples": table})  # no step: the step logged last, as TRL's completions
    frame = pd.DataFrame({"prompt": ["a", "b"], "image": [[trackio.Image(arrays[0])], [trackio.Image(arrays[3])]]})
    run.log({"frame": trackio.Table(dataframe=frame)}, step=8)
    run.finish()
    reader = trackio.Reader()
    assert reader.media_keys("m", "r") == []  # a table's images have no media rows: the table names them
    samples, framed = reader.tables("m", "r")
    assert (samples["key"], samples["step"], samples["columns"]) == ("samples", 7, ["id", "image", "images", "score"])
    (first_id, first, pair, score), (second_id, second, empty, none) = samples["rows"]
    assert (first_id, score, second_id, empty, none) == (0, 0.5, 1, [], None)

    def check_cell(cell, array, caption=None):
        assert set(cell) == {"_type", "digest", "format", "width", "height", "caption"}
        assert (cell["_type"], cell["format"], cell["caption"]) == ("trackio.image", "png", caption)
        assert (cell["height"], cell["width"]) == array.shape[:2]
        data = reader.media_bytes("m", cell["digest"])
        assert hashlib.sha256(data).hexdigest() == cell["digest"]
        np.testing.assert_array_equal(pixels(data), array)

    check_cell(first, arrays[0], "first")
    assert len(pair) == 2
    check_cell(pair[0], arrays[1])
    check_cell(pair[1], arrays[2])
    check_cell(second, arrays[3])
    assert (framed["key"], framed["step"], framed["columns"]) == ("frame", 8, ["prompt", "image"])
    assert [row[0] for row in framed["rows"]] == ["a", "b"]
    assert [row[1][0]["digest"] for row in framed["rows"]] == [first["digest"], second["digest"]]
    store = Store(store_dir / "m.db", create=False)
    try:
        assert {f.digest for f in store.media_files()} == {first["digest"], pair[0]["digest"], pair[1]["digest"],
                                                           second["digest"]}  # fmt: skip
    finally:
        store.close()
    assert len(blob_files(store_dir)) == 4


def test_a_table_logged_with_numbers_or_strings_takes_their_step_and_alone_the_last_steps(store_dir):
    image = np.full((2, 3, 3), 7, dtype=np.uint8)

    def table(label: str) -> trackio.Table:
        return trackio.Table(columns=["label", "image"], data=[[label, trackio.Image(image)]])

    run = start()
    for step in range(3):  # as trackio's kitchen-sink example logs them: one call, no step given
        run.log({"loss": float(step), "with/numbers": table(f"numbers {step}"), "text": f"at {step}"})
    run.log({"text": "strings only", "with/strings": table("strings")})  # step 3, the strings' step
    run.log({"alone": table("alone")})  # a table alone (TRL's completions): the step logged last, 3
    run.finish()
    reader = trackio.Reader()
    assert reader.series("m", "r", "loss").steps == [0, 1, 2]
    got = [(t["key"], t["step"], t["rows"][0][0]) for t in reader.tables("m", "r")]
    assert got == [("with/numbers", s, f"numbers {s}") for s in range(3)] + [
        ("with/strings", 3, "strings"), ("alone", 3, "alone")
    ]  # fmt: skip
    assert [(t["step"], t["value"]) for t in reader.texts("m", "r")][-1] == (3, "strings only")


def test_a_table_of_images_logged_again_at_the_same_step_is_stored_once(store_dir):
    # TRL logs its completions again, as a new Table of new Images, with the end-of-training summary.
    def completions(value: int) -> trackio.Table:
        return trackio.Table(
            columns=["prompt", "image"], data=[["p", [trackio.Image(np.full((2, 2, 3), value, np.uint8))]]]
        )

    run = start()
    run.log({"loss": 1.0}, step=1)
    run.log({"completions": completions(1)})
    run.log({"loss": 0.5}, step=2)
    run.log({"completions": completions(2)})
    run.flush()
    run.log({"train_runtime": 1.0}, step=2)
    run.log({"completions": completions(2)})  # the same content at the same step: not a second table
    run.log({"completions": completions(3)}, step=2)  # other content at that step is a table of its own
    run.finish()
    tables = trackio.Reader().tables("m", "r", "completions")
    assert [t["step"] for t in tables] == [1, 2, 2]
    values = [pixels(trackio.Reader().media_bytes("m", t["rows"][0][1][0]["digest"]))[0, 0, 0] for t in tables]
    assert values == [1, 2, 3]


# -- bad input --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: trackio.Image(np.zeros((4, 4, 3), np.float32)), r"expected np\.uint8, got float32"),
        (lambda: trackio.Image(np.zeros((5, 5, 2), np.uint8)), r"got shape \(5, 5, 2\)"),
        (lambda: trackio.Image(np.zeros((0, 4, 3), np.uint8)), r"got shape \(0, 4, 3\)"),
        (lambda: trackio.Image(torch.zeros(2, 4, 4, 5)), r"got shape \(2, 4, 4, 5\)"),
        (lambda: trackio.Image(12), r"got int"),
        (lambda: trackio.Image("no/such/picture.png"), r"File not found: no/such/picture\.png"),
        (lambda: trackio.Audio([0.1, 0.2], sample_rate=8000), r"numpy array or a file path, got list"),
        (lambda: trackio.Audio(np.zeros(10)), r"Sample rate is required"),
        (lambda: trackio.Audio(np.zeros(10), sample_rate=-5), r"Invalid sample_rate: -5"),
        (lambda: trackio.Audio(np.zeros(10), sample_rate=8000.5), r"Invalid sample_rate: 8000\.5"),
        (lambda: trackio.Audio(np.zeros((2, 3, 4)), sample_rate=8000), r"got shape \(2, 3, 4\)"),
        (lambda: trackio.Audio(np.zeros(10), sample_rate=8000, format="aac"), r"Unsupported format: 'aac'"),
        (lambda: trackio.Audio("missing.wav"), r"File not found: missing\.wav"),
        (lambda: trackio.Video(np.zeros((2, 3, 4, 4), np.float32)), r"expected np\.uint8, got float32"),
        (lambda: trackio.Video(np.zeros((2, 4, 4, 3), np.uint8)), r"got shape \(2, 4, 4, 3\)"),
        (lambda: trackio.Video(np.zeros((2, 3, 4, 4), np.uint8), format="avi"), r"Unsupported format: 'avi'"),
        (lambda: trackio.Video([1, 2]), r"got list"),
        (lambda: trackio.Object3D("model.xyz"), r"Unsupported 3D format 'xyz'"),
        (lambda: trackio.Object3D(np.zeros((5, 2))), r"got \(5, 2\)"),
        (lambda: trackio.Object3D([[0, 0, 0]]), r"requires a local file path or NumPy array"),
        (lambda: trackio.Histogram(), r"either sequence or np_histogram"),
        (lambda: trackio.Histogram([1.0], np_histogram=([1], [0, 1])), r"not both|Cannot provide both"),
        (lambda: trackio.Histogram([1.0], num_bins=0), r"num_bins must be a positive integer, got 0"),
        (lambda: trackio.Histogram(["a", "b"]), r"got list"),
        (lambda: trackio.Histogram(np_histogram=([1, 2], [0, 1])), r"got \(2,\) counts and \(2,\) edges"),
    ],
)
def test_bad_media_values_are_clear_errors_naming_the_value(build, message):
    with pytest.raises(MediaValueError, match=message) as raised:
        build()
    assert isinstance(raised.value, ValueError)  # as trackio raises them


def test_bad_text_values_raise_as_trackio_does():
    with pytest.raises(TypeError, match="`messages` must be a list of dictionaries"):
        trackio.Trace("hello")
    with pytest.raises(TypeError, match="`spans` must be a list of dictionaries"):
        trackio.Trace([], spans=["x"])
    with pytest.raises(ValueError, match="Markdown text must be a string"):
        trackio.Markdown(5)
    with pytest.raises(ValueError, match="Html takes an HTML string.*got int"):
        trackio.Html(5)


def test_a_value_that_cannot_be_encoded_is_dropped_with_one_warning_and_the_rest_is_kept(store_dir):
    good = np.full((3, 3, 3), 9, dtype=np.uint8)
    run = start()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in range(3):
            run.log({
                "loss": float(step),
                "good": trackio.Image(good),
                "bad": trackio.Image(b"this is not an image"),
                "bad/video": trackio.Video(np.zeros((2, 3, 4, 4), np.uint8), fps=float("nan")),
                "table": trackio.Table(columns=["ok", "broken"],
                                       data=[[trackio.Image(good), trackio.Image(b"GIF89a broken")]]),
            }, step=step)  # fmt: skip
            run.flush()
    run.finish()
    messages = [str(w.message) for w in caught if issubclass(w.category, TrackioWarning)]
    bad = [m for m in messages if "'bad'" in m]
    assert len(bad) == 1 and "Image logged under 'bad' at step 0 was not stored" in bad[0]
    assert "20 bytes, starting b'this is '" in bad[0]  # what the bytes were
    assert len([m for m in messages if "'bad/video'" in m]) == 1
    assert len([m for m in messages if "table 'table'" in m]) == 1
    reader = trackio.Reader()
    assert reader.series("m", "r", "loss").values == [0.0, 1.0, 2.0]
    assert reader.media_keys("m", "r") == ["good"] and [r["step"] for r in media("good")] == [0, 1, 2]
    tables = reader.tables("m", "r", "table")
    assert [t["step"] for t in tables] == [0, 1, 2]
    for table in tables:
        ok, broken = table["rows"][0]
        np.testing.assert_array_equal(pixels(reader.media_bytes("m", ok["digest"])), good)
        assert broken == "Image(13 bytes of an image file)"  # what it was, in place of the file


# -- a trackio script, as trackio's examples are written --------------------------------------------------------------


def load_script():
    spec = importlib.util.spec_from_file_location("trackio_media_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_trackio_style_script_logs_images_histograms_traces_and_a_table_of_images(store_dir, tmp_path):
    done = subprocess.run(
        [sys.executable, "-W", "always", str(SCRIPT)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "TRACKIO_DIR": str(store_dir)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr  # nothing dropped, nothing ignored
    script = load_script()
    reader = trackio.Reader(store_dir)
    project, run = script.PROJECT, script.RUN
    assert reader.run(project, run)["status"] == "finished"
    assert reader.series(project, run, "train/loss").values == [script.loss(s) for s in range(script.STEPS)]
    overlays = reader.media(project, run, "samples/overlay")
    assert [(o["step"], o["caption"]) for o in overlays] == [(s, script.caption(s)) for s in range(script.STEPS)]
    for overlay in overlays:
        np.testing.assert_array_equal(pixels(overlay["path"]), np.asarray(script.overlay(overlay["step"])))
    for row in reader.histograms(project, run, "weights/layer0"):
        counts, edges = np.histogram(script.weights(row["step"]), bins=64)
        np.testing.assert_array_equal(row["counts"], counts)
        np.testing.assert_array_equal(row["edges"], edges)
    assert [r["step"] for r in reader.histograms(project, run, "weights/layer0")] == list(range(script.STEPS))
    traces = reader.traces(project, run, "rollouts")
    assert [t["step"] for t in traces] == list(range(script.STEPS))
    assert traces[1]["value"] == [json.loads(json.dumps(script.rollout(1, i))) for i in range(script.GENERATIONS)]
    (table,) = reader.tables(project, run, "completions")
    assert table["step"] == script.STEPS - 1 and table["columns"] == ["prompt", "completion", "reward", "image"]
    for row, step in zip(table["rows"], range(script.STEPS)):
        assert row[:3] == [f"draw step {step}", f"circle at step {step}", script.loss(step)]
        (cell,) = row[3]
        np.testing.assert_array_equal(
            pixels(reader.media_bytes(project, cell["digest"])), np.asarray(script.overlay(step))
        )
    (report,) = reader.texts(project, run, "report")
    assert report["kind"] == "markdown" and report["value"] == script.REPORT
