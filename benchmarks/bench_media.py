"""Side-by-side benchmark of logging images: trackio 0.43 against trackio-callback.

trackio 0.43 encodes an image (PNG) inside ``log()``, on the training thread; trackio-callback copies
the array in ``Image(...)``, queues it in ``log()`` and encodes it in the run's writer thread.
Measured, each package in its own child process with its own empty storage directory, alternating
which goes first, ``--repeats`` (image case) / ``--train-repeats`` (training case) times; the table shows
medians over the repeats and their ratio:

1. ``log({"image": Image(arr)})`` of a 256x256x3 uint8 array, ``--calls`` calls, each call timed
   with ``perf_counter_ns`` (constructor and ``log()`` together, and each alone), ``finish()``, and
   what the copy that protects a logged array from later mutation costs (``arr.copy()`` alone);
2. a ``--steps``-step plain training loop (forward, backward, optimizer step) of the tiny GPT-2 from
   ``trackio_callback.tiny``, ``log()`` of the loss each step, with and without one 512x512x3 image
   per step: wall time, step times, ``finish()``, CPU time of the threads other than the training
   thread; plus, in a child of its own, the PNG encoding of the same images done serially;
3. the bytes of the stored media files for both sets, and what would go to the Hub: those files, plus for
   trackio-callback the ``media`` config Parquet with its thumbnails (built with the sync's own export code).

Usage (see benchmarks/README.md)::

    bash benchmarks/setup_trainer.sh && .bench-venv/bin/python benchmarks/bench_media.py [--repeats 3]

The driver uses only the standard library; the children run under ``--python``, which needs numpy,
Pillow, torch, transformers, trackio 0.43.0 and trackio-callback.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from machine import machine_info, write_results

PACKAGES = ("trackio", "trackio-callback")
PROJECT = "bench-media"
REPO_ROOT = Path(__file__).resolve().parent.parent
IMAGE_KEY = "samples/image"
CHECK_STEPS = (0, 1, 150, 299)  # stored images decoded and compared with what was logged (those < calls)


# -- the images both packages log -----------------------------------------------------------------------


def make_images(count: int, side: int, content: str = "pattern") -> list[Any]:
    """``count`` distinct ``side`` x ``side`` x 3 uint8 images: a smooth colour pattern with 4 bits of noise.

    Smooth gradients compress in PNG, the noise does not, so the files are neither trivially small
    (a flat image) nor incompressible (pure noise). Image ``i`` is the pattern shifted by ``i`` pixels
    with its index written into its first two pixels, so no two are identical (trackio-callback stores
    identical content once; the workload must not profit from that). ``content="noise"``: uniform
    random bytes instead (what the issue's 11.6 ms for trackio was measured with).
    """
    import numpy as np

    if content == "one":  # one array logged again and again (as the issue measured trackio: "one image")
        return [make_images(1, side)[0]] * count
    if content == "noise":
        rng = np.random.default_rng(15)
        return [rng.integers(0, 256, size=(side, side, 3), dtype=np.uint8) for _ in range(count)]
    y, x = np.mgrid[0:side, 0:side].astype(np.float32) / side
    pattern = np.stack([np.sin(6.0 * x + 2.0 * y), np.cos(4.0 * y - 3.0 * x), np.sin(5.0 * (x * x + y * y))], axis=-1)
    base = ((pattern + 1.0) * 120.0).astype(np.uint8)
    rng = np.random.default_rng(15)
    noise = [rng.integers(0, 16, size=base.shape, dtype=np.uint8) for _ in range(8)]
    images = []
    for i in range(count):
        image = np.roll(base, i, axis=1) ^ noise[i % len(noise)]
        image[0, 0, 0], image[0, 1, 0] = i % 256, i // 256
        images.append(image)
    return images


def png_bytes(array: Any) -> bytes:
    """The PNG of an RGB uint8 array, as Pillow writes it with its defaults."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def decode(path: Path) -> Any:
    """A stored image file as an RGB uint8 array (trackio stores RGBA: the alpha channel is dropped)."""
    import numpy as np
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


# -- storage of each package ---------------------------------------------------------------------------


def tree_bytes(root: Path) -> tuple[int, int]:
    """(files, bytes) of every file under ``root`` (0, 0 when it does not exist)."""
    files = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def media_root(package: str, directory: Path) -> Path:
    """Where the package keeps the media files a Hub sync sends (trackio: its media folder; ours: the blobs)."""
    if package == "trackio":
        return directory / "media" / PROJECT
    return directory / f"{PROJECT}.files" / "blobs" / "sha256"


def stored_images(package: str, directory: Path, run: str) -> dict[int, Path]:
    """step -> the stored file of the image logged at that step, read back through each package's records."""
    if package == "trackio":
        import sqlite3

        conn = sqlite3.connect(directory / f"{PROJECT}.db")
        try:
            rows = conn.execute("SELECT step, metrics FROM metrics WHERE run_name = ?", (run,)).fetchall()
        finally:
            conn.close()
        found = {}
        for step, text in rows:
            value = json.loads(text).get(IMAGE_KEY)
            if isinstance(value, dict) and value.get("file_path"):
                found[step] = directory / "media" / value["file_path"]
        return found
    import trackio_callback

    reader = trackio_callback.Reader(str(directory))
    try:
        items = [i if isinstance(i, dict) else i._asdict() for i in reader.media(PROJECT, run, IMAGE_KEY)]
        return {item["step"]: Path(item["path"]) for item in items}
    finally:
        reader.close()


def check_stored(package: str, directory: Path, run: str, expected: int, side: int, content: str) -> dict[str, Any]:
    """How many images are stored, and whether the ones at CHECK_STEPS decode to exactly what was logged."""
    try:
        stored = stored_images(package, directory, run)
    except Exception as error:  # noqa: BLE001 - reported under the table, not fatal to the benchmark
        return {"stored": 0, "identical": False, "error": f"{type(error).__name__}: {error}"}
    steps = [s for s in CHECK_STEPS if s < expected]
    originals = make_images(max(steps) + 1, side, content) if steps else []
    identical = all(s in stored and (decode(stored[s]) == originals[s]).all() for s in steps)
    return {"stored": len(stored), "identical": bool(identical)}


def hub_media_parquet(package: str, directory: Path, run: str, args: argparse.Namespace) -> dict[str, Any]:
    """What trackio-callback's sync would commit besides the files: the ``media`` config Parquet (rows and the
    thumbnails of the images), its size and the time to build it, made with the sync's own export code
    (`hub.export.kind_table` / `parquet_bytes`). Only with ``--hub-bytes`` (the size is the same every repeat);
    trackio sends its media files alone (their references are a few bytes in its metrics rows)."""
    if package == "trackio":
        return {"hub_parquet_bytes": 0}
    if not args.hub_bytes:
        return {}
    try:
        from trackio_callback.hub import export
        from trackio_callback.store import Store

        store = Store(directory / f"{PROJECT}.db", create=False)
        try:
            row = next(r for r in store.runs() if r.name == run)
            t0 = time.perf_counter()
            size = len(export.parquet_bytes(export.kind_table(store, PROJECT, row, "media", -1, 2**62)))
            return {"hub_parquet_bytes": size, "hub_parquet_s": time.perf_counter() - t0}
        finally:
            store.close()
    except Exception as error:  # noqa: BLE001 - an internal API that moved: report no number, not a crash
        print(f"media Parquet not measured: {type(error).__name__}: {error}", file=sys.stderr)
        return {}


# -- children ------------------------------------------------------------------------------------------


def _tracker(package: str) -> Any:
    """The package's module; both store under TRACKIO_DIR, which the driver set to a fresh directory."""
    if package == "trackio":
        import trackio

        return trackio
    import trackio_callback

    return trackio_callback


def _median_us(values_ns: list[int]) -> float:
    return statistics.median(values_ns) / 1e3


def _p99_us(values_ns: list[int]) -> float:
    ordered = sorted(values_ns)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1e3


def machine_busy_s() -> float | None:
    """CPU seconds all processes of the machine have used since boot (``/proc/stat``), None where unknown."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def timed_burst(tracker: Any, images: list[Any], first_step: int) -> tuple[list[int], list[int], list[int]]:
    """``log({IMAGE_KEY: Image(arr)})`` of each image: the ns of ``Image()``, of ``log()``, of both, per call."""
    construct, log, both = [], [], []
    clock = time.perf_counter_ns
    pristine = {id(image): image.copy() for image in images} if len({id(i) for i in images}) < len(images) else {}
    for step, image in enumerate(images, start=first_step):
        t0 = clock()
        value = tracker.Image(image)
        t1 = clock()
        tracker.log({IMAGE_KEY: value}, step=step)
        t2 = clock()
        construct.append(t1 - t0)
        log.append(t2 - t1)
        both.append(t2 - t0)
        image.fill(0)  # mutated after log(): what was logged must not change
        if pristine:  # one array logged again: its content back for the next call (not timed)
            image[...] = pristine[id(image)]
    return construct, log, both


def child_image(package: str, directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    """``args.calls`` calls of ``log({IMAGE_KEY: Image(arr)})`` of 256x256x3 arrays, each timed."""
    tracker = _tracker(package)
    images = make_images(args.calls, args.image_side, args.content)
    copies, kept_copies, kept = [], [], []
    for image in images:  # what the copy that protects against mutation-after-log costs on its own
        t0 = time.perf_counter_ns()
        image.copy()  # freed at once: the next copy reuses the same, already mapped memory
        copies.append(time.perf_counter_ns() - t0)
    for image in images:
        t0 = time.perf_counter_ns()
        kept.append(image.copy())  # kept, as a queued image is: every copy lands in fresh pages
        kept_copies.append(time.perf_counter_ns() - t0)
    del kept
    tracker.init(project=PROJECT, name="image", auto_log_cpu=False, auto_log_gpu=False)
    tracker.log({"warmup": 0.0})  # the first log() starts the package's threads: not part of the measurement
    clock = time.perf_counter_ns
    start = clock()
    construct, log, both = timed_burst(tracker, images, first_step=0)
    logged = clock()
    tracker.finish()
    end = clock()
    files, size = tree_bytes(media_root(package, directory))
    return {
        "call_us": _median_us(both),
        "call_p99_us": _p99_us(both),
        "construct_us": _median_us(construct),
        "log_us": _median_us(log),
        "copy_us": _median_us(copies),
        "copy_kept_us": _median_us(kept_copies),
        "loop_s": (logged - start) / 1e9,
        "finish_s": (end - logged) / 1e9,
        "total_s": (end - start) / 1e9,
        "media_files": files,
        "media_bytes": size,
        **hub_media_parquet(package, directory, "image", args),
        **check_stored(package, directory, "image", args.calls, args.image_side, args.content),
    }


def child_train(package: str, directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A plain training loop of the tiny GPT-2, logging the loss (and one 512x512 image when --with-images)."""
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    from trackio_callback import tiny

    tracker = _tracker(package)
    images = make_images(args.steps, args.train_side, args.content) if args.with_images else None
    tokenizer = tiny.build_tokenizer()
    model = tiny.build_model("gpt2", tokenizer=tokenizer)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(0)
    batches = torch.randint(0, len(tokenizer), (args.steps, args.batch, args.seq_len), generator=generator)

    tracker.init(project=PROJECT, name="train", auto_log_cpu=False, auto_log_gpu=False)
    tracker.log({"warmup": 0.0})
    train_ns, train_cpu_ns, log_ns, step_ns = [], [], [], []
    clock, thread_clock = time.perf_counter_ns, time.thread_time_ns
    cpu_start, main_start, machine_start = time.process_time(), time.thread_time(), machine_busy_s()
    start = clock()
    for step in range(args.steps):
        t0, c0 = clock(), thread_clock()
        batch = batches[step]
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        row = {"train/loss": loss.item()}
        t1, c1 = clock(), thread_clock()
        if images is not None:
            row[IMAGE_KEY] = tracker.Image(images[step])
        tracker.log(row, step=step)
        t2 = clock()
        train_ns.append(t1 - t0)
        train_cpu_ns.append(c1 - c0)
        log_ns.append(t2 - t1)
        step_ns.append(t2 - t0)
    logged = clock()
    tracker.finish()
    end = clock()
    cpu_all, cpu_main = time.process_time() - cpu_start, time.thread_time() - main_start
    machine = machine_busy_s() - machine_start
    files, size = tree_bytes(media_root(package, directory))
    result = {
        "wall_s": (end - start) / 1e9,
        "loop_s": (logged - start) / 1e9,
        "finish_s": (end - logged) / 1e9,
        "step_ms": statistics.median(step_ns) / 1e6,
        "train_ms": statistics.median(train_ns) / 1e6,
        "train_cpu_ms": statistics.median(train_cpu_ns) / 1e6,
        "log_ms": statistics.median(log_ns) / 1e6,
        "main_cpu_s": cpu_main,
        "other_threads_cpu_s": cpu_all - cpu_main,
        "other_processes_cpu_s": None if machine is None else max(0.0, machine - cpu_all),
        "final_loss": float(loss.item()),
        "media_files": files,
        "media_bytes": size,
    }
    if images is not None:
        result.update(check_stored(package, directory, "train", args.steps, args.train_side, args.content))
        result.update(hub_media_parquet(package, directory, "train", args))
        if package == "trackio-callback":
            root = media_root(package, directory)
            result["digests"] = sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return result


def child_encode(package: str, directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The encoding of the training run's images, one after the other on one thread, as trackio-callback's
    writer thread does it (its own ``media.encoding.encode_image``; Pillow's PNG defaults where it has none)."""
    images = make_images(args.steps, args.train_side, args.content)
    try:
        from trackio_callback.media import encoding

        encoder, how = (
            (lambda array: encoding.encode_image(array).data),
            f"PNG, zlib level {encoding.PNG_COMPRESS_LEVEL}",
        )
    except ImportError:
        encoder, how = png_bytes, "PNG, Pillow's defaults"
    times, digests, size = [], [], 0
    for image in images:
        t0 = time.perf_counter_ns()
        data = encoder(image)
        times.append(time.perf_counter_ns() - t0)
        digests.append(hashlib.sha256(data).hexdigest())
        size += len(data)
    return {
        "how": how,
        "total_s": sum(times) / 1e9,
        "median_ms": statistics.median(times) / 1e6,
        "encoded_bytes": size,
        "digests": sorted(digests),
    }


def child_image_again(package: str, directory: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Case 1 once the package has logged images before: a first burst of ``args.calls`` other images (not
    timed), 2 s of rest (each package's background work settles), then the timed burst, as in `child_image`.

    A process's first images pay for memory it never touched (for trackio-callback: mapping the buffers
    its copies go to); a training run logs images all along, so this is the cost most of its calls see.
    """
    tracker = _tracker(package)
    images = make_images(2 * args.calls, args.image_side, args.content)
    earlier, images = images[args.calls :], images[: args.calls]
    tracker.init(project=PROJECT, name="image", auto_log_cpu=False, auto_log_gpu=False)
    for step, image in enumerate(earlier):
        tracker.log({IMAGE_KEY: tracker.Image(image)}, step=step)
    time.sleep(2.0)
    construct, log, both = timed_burst(tracker, images, first_step=len(earlier))
    tracker.finish()
    return {
        "call_us": _median_us(both),
        "call_p99_us": _p99_us(both),
        "construct_us": _median_us(construct),
        "log_us": _median_us(log),
        "stored": len(stored_images(package, directory, "image")),
    }


CHILDREN = {"image": child_image, "image_again": child_image_again, "train": child_train, "encode": child_encode}


# -- the driver ----------------------------------------------------------------------------------------


def _env(directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRACKIO_", "HF_"))}
    env.update(
        TRACKIO_DIR=str(directory),
        TRACKIO_STORAGE_MODE="sqlite",  # what trackio's auto mode picks on a local disk
        TRACKIO_CALLBACK_NO_HOOK="1",  # `import trackio` is the real trackio 0.43; no Trainer runs here
        HF_HOME=str(directory / "hf-home"),
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        CUDA_VISIBLE_DEVICES="",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def run_child(python: str, case: str, package: str, args: argparse.Namespace, extra: list[str]) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-media-{case}-{package}-", dir=args.workdir))
    out = directory.parent / f"{directory.name}.json"
    try:
        command = [
            python,
            __file__,
            "--child",
            case,
            "--package",
            package,
            "--dir",
            str(directory),
            "--child-out",
            str(out),
            *extra,
        ]
        spawned = time.monotonic()
        done = subprocess.run(command, env=_env(directory), capture_output=True, text=True, timeout=900)
        process_s = time.monotonic() - spawned
        if done.returncode != 0:
            raise RuntimeError(f"{case} / {package} {' '.join(extra)} failed:\n{done.stderr[-3000:]}")
        result = json.loads(out.read_text())
        result["stderr_tail"] = done.stderr[-1500:]
        result["process_s"] = process_s  # the whole child: start-up, imports, set-up, measurement, checks
        return result
    finally:
        out.unlink(missing_ok=True)
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)


def default_python() -> str:
    """The driver's interpreter when it has the training stack, else the repository's .bench-venv."""
    if all(importlib.util.find_spec(m) is not None for m in ("torch", "transformers", "trackio", "PIL")):
        return sys.executable
    venv = REPO_ROOT / ".bench-venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def _median(results: list[dict[str, Any]], field: str) -> float | None:
    values = [r[field] for r in results if r.get(field) is not None]
    return statistics.median(values) if values else None


def hub_total(results: list[dict[str, Any]]) -> float | None:
    """Media files + media Parquet bytes, from the repeat that measured the Parquet (None when none did)."""
    totals = [r["media_bytes"] + r["hub_parquet_bytes"] for r in results if r.get("hub_parquet_bytes") is not None]
    return statistics.median(totals) if totals else None


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit == "MB":
        return f"{value / 1e6:.2f} MB"
    if unit == "%":
        return f"{value:+.1f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:.3g} {unit}"


def _fmt_ratio(ratio: float | None) -> str:
    """trackio / trackio-callback as "N× better" (ours smaller or faster) or "N× worse"."""
    if ratio is None:
        return "–"
    if ratio >= 1:
        return f"{ratio:,.0f}× better" if ratio >= 100 else f"{ratio:.3g}× better"
    return f"{1 / ratio:,.0f}× worse" if ratio <= 0.01 else f"{1 / ratio:.3g}× worse"


def summarize(raw: dict[str, Any], args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str]]:
    """The table's rows (medians over repeats, ratio trackio / trackio-callback) and the correctness checks."""
    image = raw["image"]
    train = raw["train"]
    encode = raw["encode"]
    rows: list[dict[str, Any]] = []

    def add(label: str, unit: str, theirs: float | None, ours: float | None, target: str = "info") -> None:
        ratio = theirs / ours if theirs is not None and ours else None
        rows.append(
            {"case": label, "unit": unit, "trackio": theirs, "trackio-callback": ours, "ratio": ratio, "target": target}
        )

    def both(results: dict[str, list[dict[str, Any]]], field: str) -> tuple[float | None, float | None]:
        return _median(results["trackio"], field), _median(results["trackio-callback"], field)

    side, n = args.image_side, args.calls
    call = both(image, "call_us")
    met = "–" if call[1] is None else ("met" if call[1] <= 20 else "NOT met")
    add(f"`Image(arr)` + `log()` of a {side}x{side}x3 uint8 array, median of {n} calls", "µs", *call, f"≤ 20 µs: {met}")
    add("… 99th percentile", "µs", *both(image, "call_p99_us"))
    add("… `Image(arr)` alone, median", "µs", *both(image, "construct_us"))
    add("… `log()` alone, median", "µs", *both(image, "log_us"))
    again = raw["image_again"]
    call = both(again, "call_us")
    met = "–" if call[1] is None else ("met" if call[1] <= 20 else "NOT met")
    add(f"the same {n} calls after an earlier burst of {n} images (2 s before), median", "µs", *call, f"≤ 20 µs: {met}")
    add("… 99th percentile", "µs", *both(again, "call_p99_us"))
    add("… `Image(arr)` alone, median", "µs", *both(again, "construct_us"))
    add(
        f"`arr.copy()` of the same array alone (the mutation guard), median of {n}",
        "µs",
        None,
        _median(image["trackio-callback"], "copy_us"),
    )
    add(
        f"… the same copies kept alive (as queued images are: fresh memory each), median of {n}",
        "µs",
        None,
        _median(image["trackio-callback"], "copy_kept_us"),
    )
    add(f"`finish()` after the {n} images", "s", *both(image, "finish_s"))
    add("first `log()` → `finish()` returned", "s", *both(image, "total_s"))
    add(
        f"media files stored for the {n} images (raw {n * side * side * 3 / 1e6:.1f} MB)",
        "MB",
        *both(image, "media_bytes"),
    )
    add(
        "… to the Hub: those files + the `media` config Parquet (rows, thumbnails)",
        "MB",
        *(hub_total(image[p]) for p in PACKAGES),
    )
    add(
        f"… building that `media` Parquet for the {n} images (the sync does it, in its thread)",
        "s",
        None,
        _median(image["trackio-callback"], "hub_parquet_s"),
    )

    def train_of(package: str, with_images: bool) -> list[dict[str, Any]]:
        return train[package]["images" if with_images else "plain"]

    steps, tside = args.steps, args.train_side
    how = encode[0]["how"] if encode else "?"
    walls = {}
    for label, flag in (("no image", False), (f"one {tside}x{tside} image per step", True)):
        values = tuple(_median(train_of(p, flag), "wall_s") for p in PACKAGES)
        walls[flag] = values
        add(f"training {steps} steps, {label}: first step → `finish()` returned", "s", *values)
    diff = tuple(
        None if walls[True][i] is None or walls[False][i] is None else walls[True][i] - walls[False][i]
        for i in range(2)
    )
    add("… wall-time difference, images − no image", "s", *diff)
    for field, label in (
        ("step_ms", "step (training + `log()`)"),
        ("train_ms", "training part of a step"),
        ("train_cpu_ms", "training part of a step, CPU time of the training thread"),
        ("log_ms", "`log()` part of a step"),
    ):
        plain = tuple(_median(train_of(p, False), field) for p in PACKAGES)
        images = tuple(_median(train_of(p, True), field) for p in PACKAGES)
        add(f"median {label}, no image", "ms", *plain)
        add(f"median {label}, with images", "ms", *images)
        if field in ("step_ms", "train_ms", "train_cpu_ms"):
            slow = tuple(None if a is None or b is None else 100.0 * (b / a - 1.0) for a, b in zip(plain, images))
            rows.append(
                {
                    "case": f"… {label} slowed by the images",
                    "unit": "%",
                    "trackio": slow[0],
                    "trackio-callback": slow[1],
                    "ratio": None,
                    "target": "info",
                }
            )
    add("`finish()` with images", "s", *(_median(train_of(p, True), "finish_s") for p in PACKAGES))
    add("`finish()` without images", "s", *(_median(train_of(p, False), "finish_s") for p in PACKAGES))
    add(
        "CPU time of threads other than the training thread, with images",
        "s",
        *(_median(train_of(p, True), "other_threads_cpu_s") for p in PACKAGES),
    )
    add("… without images", "s", *(_median(train_of(p, False), "other_threads_cpu_s") for p in PACKAGES))
    add(
        "CPU time other processes of the machine used meanwhile, with images (noise: should be ~0)",
        "s",
        *(_median(train_of(p, True), "other_processes_cpu_s") for p in PACKAGES),
    )
    add(
        "… without images",
        "s",
        *(_median(train_of(p, False), "other_processes_cpu_s") for p in PACKAGES),
    )
    add(
        f"serial encoding of the same {steps} images as trackio-callback's writer does it ({how}), one thread, total",
        "s",
        None,
        _median(encode, "total_s"),
    )
    add("… per image, median", "ms", None, _median(encode, "median_ms"))
    add(
        f"media files stored for the {steps} images (raw {steps * tside * tside * 3 / 1e6:.1f} MB)",
        "MB",
        *(_median(train_of(p, True), "media_bytes") for p in PACKAGES),
    )
    add(
        "… to the Hub: those files + the `media` config Parquet (rows, thumbnails)",
        "MB",
        *(hub_total(train_of(p, True)) for p in PACKAGES),
    )
    add(
        f"… building that `media` Parquet for the {steps} images (thumbnails 256 px), in the sync's thread",
        "s",
        None,
        _median(train_of("trackio-callback", True), "hub_parquet_s"),
    )

    checks = []
    for package in (p for p in PACKAGES if image[p]):
        for name, results, expected in (("image", image[package], n), ("train", train[package]["images"], steps)):
            stored = [r.get("stored") for r in results]
            identical = [r.get("identical") for r in results]
            errors = sorted({r["error"] for r in results if r.get("error")})
            ok = all(s == expected for s in stored) and all(identical)
            decoded = [s for s in CHECK_STEPS if s < expected]
            checks.append(
                f"{'ok' if ok else 'PROBLEM'}: {package} {name}: images stored per repeat {stored} "
                f"(expected {expected}); steps {decoded} decode to what was logged: {identical}"
                + (f"; errors: {errors}" if errors else "")
            )
    for package in (p for p in PACKAGES if again[p]):
        stored = [r.get("stored") for r in again[package]]
        ok = all(count == 2 * n for count in stored)
        checks.append(
            f"{'ok' if ok else 'PROBLEM'}: {package} image, again: stored per repeat {stored} (expected {2 * n})"
        )
    files = {p: [r.get("media_files") for r in image[p]] for p in PACKAGES}
    checks.append(f"media files after the {n}-image run, per repeat: {files}")
    serial = set(encode[0]["digests"]) if encode else set()
    for i, result in enumerate(train["trackio-callback"]["images"]):
        stored = set(result.get("digests", []))
        same = len(stored & serial)
        checks.append(
            f"trackio-callback repeat {i + 1}: {len(stored)} stored blobs, {same} byte-identical to "
            f"the serial encoding (so that it timed the same work as the writer thread's)"
        )
    losses = {p: sorted({round(r["final_loss"], 6) for f in (False, True) for r in train_of(p, f)}) for p in PACKAGES}
    checks.append(f"final training loss, every child (same seed, same data): {losses}")
    return rows, checks


def print_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    print(
        f"\n| case | trackio 0.43 | trackio-callback | ratio of the medians ({args.repeats} repeats of the image "
        f"case, {args.train_repeats} of the training) | target |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        ratio = _fmt_ratio(row["ratio"])
        theirs, ours = (_fmt(row[p], row["unit"]) for p in PACKAGES)
        print(f"| {row['case']} | {theirs} | {ours} | {ratio} | {row['target']} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the image case")
    parser.add_argument("--train-repeats", type=int, default=2, help="repeats of the training case")
    parser.add_argument("--calls", type=int, default=300, help="images logged in case 1")
    parser.add_argument("--image-side", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300, help="training steps in case 2, one image each")
    parser.add_argument("--train-side", type=int, default=512)
    parser.add_argument("--content", choices=("pattern", "noise", "one"), default="pattern", help="see make_images")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--packages", default=",".join(PACKAGES), help="run only these (comma-separated)")
    parser.add_argument("--python", default=None)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", default=str(REPO_ROOT / ".bench" / "media.json"))
    parser.add_argument("--child", choices=sorted(CHILDREN))
    parser.add_argument("--package", choices=PACKAGES)
    parser.add_argument("--with-images", action="store_true")
    parser.add_argument("--hub-bytes", action="store_true")
    parser.add_argument("--dir")
    parser.add_argument("--child-out")
    args = parser.parse_args(argv)
    if args.child:
        result = CHILDREN[args.child](args.package, Path(args.dir), args)
        Path(args.child_out).write_text(json.dumps(result))
        return 0

    started = time.time()
    python = args.python or default_python()
    chosen = [p for p in PACKAGES if p in args.packages.split(",")]
    sizes = [
        "--calls",
        str(args.calls),
        "--image-side",
        str(args.image_side),
        "--steps",
        str(args.steps),
        "--train-side",
        str(args.train_side),
        "--content",
        args.content,
        "--batch",
        str(args.batch),
        "--seq-len",
        str(args.seq_len),
    ]
    raw: dict[str, Any] = {
        "image": {p: [] for p in PACKAGES},
        "image_again": {p: [] for p in PACKAGES},
        "train": {p: {"plain": [], "images": []} for p in PACKAGES},
        "encode": [],
    }
    raw["encode"].append(run_child(python, "encode", "trackio-callback", args, sizes))
    print(f"encode {raw['encode'][-1]['total_s']:.2f} s", file=sys.stderr)
    for rep in range(max(args.repeats, args.train_repeats)):
        order = chosen if rep % 2 == 0 else chosen[::-1]
        for package in order if rep < args.repeats else ():
            hub = ["--hub-bytes"] if rep == 0 else []
            result = run_child(python, "image", package, args, [*sizes, *hub])
            raw["image"][package].append(result)
            print(f"rep {rep + 1} image {package:16s} {result['call_us']:.1f} µs/call", file=sys.stderr)
            result = run_child(python, "image_again", package, args, sizes)
            raw["image_again"][package].append(result)
            print(f"rep {rep + 1} image, again {package:16s} {result['call_us']:.1f} µs/call", file=sys.stderr)
        for flag in ((False, True) if rep % 2 == 0 else (True, False)) if rep < args.train_repeats else ():
            for package in order:
                extra = [*sizes, "--with-images", *(["--hub-bytes"] if rep == 0 else [])] if flag else sizes
                result = run_child(python, "train", package, args, extra)
                raw["train"][package]["images" if flag else "plain"].append(result)
                print(
                    f"rep {rep + 1} train {package:16s} images={flag!s:5} wall {result['wall_s']:.2f} s "
                    f"step {result['step_ms']:.2f} ms finish {result['finish_s']:.2f} s",
                    file=sys.stderr,
                )

    rows, checks = summarize(raw, args)
    print_table(rows, args)
    print()
    for line in checks:
        print(line)
    for package in chosen:  # a warning a child printed (e.g. a media type not stored) is worth seeing once
        tails = {r["stderr_tail"].strip() for r in raw["image"][package] if r["stderr_tail"].strip()}
        for tail in sorted(tails)[:1]:
            print(f"\n{package} image child's stderr (last lines):\n{tail[-600:]}")
    machine = machine_info(python)
    for results in [
        *raw["image"].values(),
        *raw["image_again"].values(),
        *(r for t in raw["train"].values() for r in t.values()),
    ]:
        for r in results:
            r.pop("stderr_tail", None)
    write_results(
        args.out,
        machine,
        {k: v for k, v in vars(args).items() if k != "child"},
        started,
        rows,
        {"raw": raw, "checks": checks, "python": python, "torch_threads": 1},
    )
    return 0 if all(not line.startswith("PROBLEM") for line in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
