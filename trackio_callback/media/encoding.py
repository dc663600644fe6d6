"""Turn a captured media value into the bytes of a file: PNG images, WAV/MP3/FLAC/OGG audio, MP4/WebM/GIF video,
PLY point clouds; and read the format and size of files stored as given.

Pure functions, called in the run's writer thread (never on the training thread): each takes a snapshot
(a numpy array, a PIL image, or a file's bytes) and returns an `Encoded` (the bytes, their extension and
what is known of their size and length). Bad input raises ``ValueError`` naming the shape, dtype or
value and what is accepted.

Only the standard library at import time. numpy and PIL (base dependencies) are imported inside the
functions; audio other than WAV and all video are encoded by the ffmpeg binary that the optional
``imageio-ffmpeg`` package ships (``pip install 'trackio-callback[video]'``): `MissingExtraError` without it.
"""

from __future__ import annotations

import io
import math
import re
import subprocess
import tempfile
import wave
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

from ..errors import MissingExtraError

# zlib level of the PNGs written. Measured on one 512x512x3 image (2 cores, Pillow 13): level 1 takes 19-28 ms
# on photo-like content where 6 takes 46-106 ms for files 8-16 % smaller; encoding competes with training for
# the cores, so speed wins. (Random pixels do not compress at any level; smooth gradients stay tiny at every level.)
PNG_COMPRESS_LEVEL = 1
# Thumbnails are at most 256 px a side (a few ms at any level) and travel in every Parquet file of the media config.
THUMBNAIL_QUALITY = 75  # lossy WebP: a viewer's thumbnail, a few KB (a lossless PNG of a photo is ~100 KB)
THUMBNAIL_KEPT_BYTES = 16 * 1024  # a small web image this light is its own thumbnail
THUMBNAIL_MAX_SIDE = 256

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp", "bmp", "tiff")
AUDIO_ENCODINGS = ("wav", "mp3", "flac", "ogg")
VIDEO_ENCODINGS = ("mp4", "webm", "gif")
MODEL_FORMATS = ("glb", "gltf", "obj", "ply", "stl", "splat", "ksplat", "spz")

# The MIME type of each format a media file is stored in (served, sent to assistants); others: application/octet-stream.
MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "jpg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "tiff": "image/tiff",
    "wav": "audio/wav",
    "mp3": "audio/mpeg",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "glb": "model/gltf-binary",
    "gltf": "model/gltf+json",
    "obj": "model/obj",
    "stl": "model/stl",
}

# trackio draws at most this many points of an array point cloud; more are thinned evenly (as trackio does).
MAX_POINT_COUNT = 300_000
# The colours of the categories 1..14 of an (N, 4) point array (trackio's, which are W&B's), and of uncoloured points.
CATEGORY_COLORS = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
    (57, 59, 121),
    (82, 84, 163),
    (107, 110, 207),
    (156, 158, 222),
)
POINT_COLOR = (148, 163, 184)

# More channels than this in an audio array is almost surely (channels, samples) given the wrong way round.
MAX_AUDIO_CHANNELS = 64

# PIL's format names -> the extension stored. MPO is the JPEG that phone cameras write (a JPEG with extra frames).
_PIL_FORMATS = {"PNG": "png", "JPEG": "jpeg", "MPO": "jpeg", "GIF": "gif", "WEBP": "webp", "BMP": "bmp", "TIFF": "tiff"}
_KEPT_MODES = ("L", "LA", "RGB", "RGBA")
_GREY_MODES = ("1", "I", "F", "I;16", "I;16L", "I;16B", "I;16N")  # one band: stored as 8-bit grey (L)
_SUFFIX = re.compile(r"[a-z0-9]{1,10}")
_EXTRA_HINT = "pip install 'trackio-callback[video]'"


class Encoded(NamedTuple):
    """A file's bytes and what is known about them."""

    data: bytes
    format: str  # the extension: lowercase, no dot
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds (audio, video)


# -- images ------------------------------------------------------------------------------------------


def encode_image(pixels: Any) -> Encoded:
    """A lossless PNG of ``pixels``: a numpy array (uint8, or floats in [0, 1]) shaped HxW, HxWxC or CxHxW with C
    in 1, 3, 4; or a PIL image (L, LA, RGB, RGBA kept; other modes converted to L, RGB or RGBA)."""
    from PIL import Image

    image = pixels if isinstance(pixels, Image.Image) else Image.fromarray(_uint8_pixels(pixels))
    image = _png_mode(image)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return Encoded(buffer.getvalue(), "png", image.width, image.height)


def _uint8_pixels(pixels: Any) -> Any:
    """``pixels`` as a C-contiguous uint8 array HxW, HxWx3 or HxWx4 (HxWx1 squeezed, CxHxW transposed)."""
    import numpy as np

    array = np.asarray(pixels)
    accepted = "accepted: uint8 or float (0..1) arrays shaped HxW, HxWxC or CxHxW with C in 1, 3, 4, or a PIL image"
    if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
        raise ValueError(f"image pixels of dtype {array.dtype} (shape {array.shape}) cannot be stored; {accepted}")
    if array.ndim == 3 and array.shape[-1] not in (1, 3, 4) and array.shape[0] in (1, 3, 4):
        array = array.transpose(1, 2, 0)  # channels first (CHW), as torch and torchvision lay images out
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (1, 3, 4))) or 0 in array.shape:
        raise ValueError(f"image pixels of shape {array.shape} (dtype {array.dtype}) cannot be stored; {accepted}")
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[:, :, 0]
    if array.dtype != np.uint8:  # floats: 0..1 -> 0..255, rounded; out of range clipped, NaN -> 0
        array = np.rint(np.clip(np.nan_to_num(array.astype(np.float32), nan=0.0), 0.0, 1.0) * 255.0).astype(np.uint8)
    return np.ascontiguousarray(array)


def _png_mode(image: Any) -> Any:
    """``image`` in a mode PNG keeps as a browser shows it: L, LA, RGB, RGBA."""
    if image.mode in _KEPT_MODES:
        return image
    if image.mode in _GREY_MODES:
        return image.convert("L")
    has_alpha = "A" in image.getbands() or "a" in image.getbands() or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def thumbnail(data: bytes, max_side: int = THUMBNAIL_MAX_SIDE) -> bytes:
    """A small image for a dataset viewer: ``data`` itself when it is a PNG, JPEG, GIF or WEBP with both sides
    <= ``max_side`` and at most `THUMBNAIL_KEPT_BYTES`, else a lossy WebP of its first frame scaled down
    (aspect kept) to fit ``max_side`` (a few KB, made in milliseconds: the sync makes one per image)."""
    if max_side < 1:
        raise ValueError(f"thumbnail max_side must be a positive number of pixels, got {max_side!r}")
    image = _open_image(data)
    small = max(image.size) <= max_side
    if small and image.format in ("PNG", "JPEG", "MPO", "GIF", "WEBP") and len(data) <= THUMBNAIL_KEPT_BYTES:
        return data
    image = _png_mode(image)  # first: PIL scales palette (P) and bilevel images by nearest neighbour only
    if image.mode in ("L", "LA"):
        image = image.convert("RGBA" if image.mode == "LA" else "RGB")
    image.thumbnail((max_side, max_side))
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=THUMBNAIL_QUALITY, method=0)  # method 0: the fastest encoder
    return buffer.getvalue()


def image_file(data: bytes) -> Encoded:
    """Encoded image bytes stored as given (PNG, JPEG, GIF, WEBP, BMP, TIFF): their format and size from the header."""
    image = _open_image(data)
    return Encoded(bytes(data), _PIL_FORMATS[image.format], image.width, image.height)


def _open_image(data: bytes) -> Any:
    """The PIL image of ``data`` (header read, pixels not decoded), or ValueError naming what the bytes are not."""
    from PIL import Image, UnidentifiedImageError

    try:
        # MPO is no format of its own to open: the JPEG opener returns it for a JPEG with extra frames
        return Image.open(io.BytesIO(data), formats=[name for name in _PIL_FORMATS if name != "MPO"])
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as error:
        raise ValueError(
            f"image bytes ({len(data)} bytes, starting {bytes(data[:8])!r}) are not a readable PNG, JPEG, GIF, WEBP, "
            f"BMP or TIFF image: {error}"
        ) from None


# -- audio -------------------------------------------------------------------------------------------


def encode_audio(samples: Any, sample_rate: int, format: str = "wav") -> Encoded:
    """Audio ``samples`` (numpy, (samples,) mono or (samples, channels)) as a WAV, MP3, FLAC or OGG (Vorbis) file.

    int16 samples are stored as they are; floats are peak-normalised to 16-bit PCM and the other integer dtypes
    scaled to it, as trackio 0.43 does. WAV is written by the standard library, the others by ffmpeg
    (the ``video`` extra)."""
    fmt = _choice("audio format", format, AUDIO_ENCODINGS)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | _numpy_integer()) or sample_rate <= 0:
        raise ValueError(f"audio sample_rate must be a positive integer (Hz), got {sample_rate!r}")
    rate = int(sample_rate)
    pcm = _int16_pcm(samples)
    channels = 1 if pcm.ndim == 1 else pcm.shape[1]
    duration = pcm.shape[0] / rate
    if fmt == "wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(pcm.tobytes())
        return Encoded(buffer.getvalue(), "wav", duration=duration)
    codec = {"mp3": ["-c:a", "libmp3lame", "-q:a", "2"], "flac": ["-c:a", "flac"], "ogg": ["-c:a", "libvorbis"]}
    data = _ffmpeg(
        f"{fmt} audio",
        ["-f", "s16le", "-ar", str(rate), "-ac", str(channels)],
        [memoryview(pcm).cast("B")],
        [*codec[fmt], "-f", fmt],
        fmt,
    )
    return Encoded(data, fmt, duration=duration)


def _numpy_integer() -> type:
    import numpy as np

    return np.integer


def _int16_pcm(samples: Any) -> Any:
    """``samples`` as C-contiguous little-endian int16 PCM, converted as trackio 0.43's ``ensure_int16_pcm``."""
    import numpy as np

    array = np.asarray(samples)
    if array.ndim not in (1, 2):
        raise ValueError(
            f"audio samples of shape {array.shape} cannot be stored; accepted: (samples,) or (samples, channels)"
        )
    if array.ndim == 2 and not 1 <= array.shape[1] <= MAX_AUDIO_CHANNELS:
        raise ValueError(
            f"audio samples of shape {array.shape} have {array.shape[1]} channels; accepted: (samples, channels) with "
            f"1 to {MAX_AUDIO_CHANNELS} channels (for (channels, samples), pass the transpose)"
        )
    if array.dtype.kind in "iuf" and not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if np.issubdtype(array.dtype, np.floating):
        # Peak-normalised: NaN -> 0 and +-inf -> the largest float first (np.nan_to_num), then / max |x|, * 32767,
        # truncated toward zero. float16 is computed in float32: its 11 bits would turn 32767 into 32768.
        values = np.nan_to_num(array.astype(np.float32) if array.dtype == np.float16 else array)
        peak = float(np.max(np.abs(values))) if values.size else 0.0
        if peak > 0.0:
            values = values / peak
        pcm = (values * 32767.0).clip(-32768, 32767).astype(np.int16)
    elif array.dtype == np.int16:
        pcm = array
    elif array.dtype == np.int32:
        pcm = (array // 65536).astype(np.int16)
    elif array.dtype == np.uint16:
        pcm = (array.astype(np.int32) - 32768).astype(np.int16)
    elif array.dtype == np.uint8:
        pcm = (array.astype(np.int32) * 257 - 32768).astype(np.int16)
    elif array.dtype == np.int8:
        pcm = array.astype(np.int16) * 256
    else:
        raise ValueError(
            f"audio samples of dtype {array.dtype} (shape {array.shape}) cannot be stored; accepted: "
            "int16 (stored as is), int8, uint8, uint16, int32 (scaled to int16) or float (peak-normalised)"
        )
    return np.ascontiguousarray(pcm, dtype="<i2")


def audio_file(data: bytes, suffix: str) -> Encoded:
    """An audio file stored as given; its duration read from the header when it is a PCM WAV, else None."""
    fmt = _suffix_format("audio", suffix)
    duration = None
    if fmt == "wav":
        try:
            with wave.open(io.BytesIO(data), "rb") as file:
                duration = file.getnframes() / file.getframerate() if file.getframerate() else None
        except (wave.Error, EOFError):  # a WAV that the standard library does not read (floats, A-law): no duration
            duration = None
    return Encoded(bytes(data), fmt, duration=duration)


# -- video -------------------------------------------------------------------------------------------


def frames_from_trackio_array(array: Any) -> Any:
    """trackio's video array, uint8 (F, C, H, W) or (B, F, C, H, W) with C 1 or 3, as frames (F, H, W, 3).

    A batch is tiled into a grid as trackio tiles it: padded with black videos to a power of two, then
    rows = 2 ** floor(log2(B) / 2) and columns = B / rows, filled row by row. One channel is repeated to three."""
    import numpy as np

    video = np.asarray(array)
    accepted = (
        "accepted: uint8 arrays shaped (frames, channels, height, width) or (batch, frames, channels, height, width) "
        "with 1 or 3 channels"
    )
    if video.dtype != np.uint8:
        raise ValueError(f"video array of dtype {video.dtype} (shape {video.shape}) cannot be stored; {accepted}")
    if video.ndim not in (4, 5) or video.shape[-3] not in (1, 3) or 0 in video.shape:
        hint = (
            " (for (F, H, W, C) frames, pass array.transpose(0, 3, 1, 2))"
            if video.ndim == 4 and video.shape[-1] in (1, 3)
            else ""
        )
        raise ValueError(f"video array of shape {video.shape} cannot be stored; {accepted}{hint}")
    if video.ndim == 4:
        video = video[np.newaxis]
    batch, frames, channels, height, width = video.shape
    tiles = 1 << (batch - 1).bit_length()  # the batch padded to a power of two
    rows = 1 << ((tiles.bit_length() - 1) // 2)
    columns = tiles // rows
    out = np.zeros((frames, rows * height, columns * width, 3), dtype=np.uint8)
    for index in range(batch):
        row, column = divmod(index, columns)
        # (F, C, H, W) -> (F, H, W, C); broadcasting repeats one channel to three
        out[:, row * height : (row + 1) * height, column * width : (column + 1) * width, :] = video[index].transpose(
            0, 2, 3, 1
        )
    return out


def encode_video(frames: Any, fps: float, format: str = "mp4") -> Encoded:
    """RGB ``frames`` (numpy uint8, (F, H, W, 3)) as an MP4 (H.264, yuv420p, fast start), WebM (VP9) or GIF,
    encoded by ffmpeg (the ``video`` extra). An MP4 of odd sizes is padded by one black row or column (H.264 in
    yuv420p needs even sizes); width and height are those of the frames."""
    import numpy as np

    fmt = _choice("video format", format, VIDEO_ENCODINGS)
    video = np.asarray(frames)
    if video.dtype != np.uint8 or video.ndim != 4 or video.shape[-1] != 3 or 0 in video.shape:
        raise ValueError(
            f"video frames of shape {video.shape} and dtype {video.dtype} cannot be encoded; accepted: uint8 "
            "(frames, height, width, 3) (frames_from_trackio_array converts trackio's (F, C, H, W) arrays)"
        )
    if isinstance(fps, bool) or not isinstance(fps, int | float | _numpy_number()) or not 0 < float(fps) < math.inf:
        raise ValueError(f"video fps must be a positive number, got {fps!r}")
    count, height, width, _ = video.shape
    rate = Fraction(float(fps)).limit_denominator(1001)  # 29.97 -> 2997/100: ffmpeg takes the exact ratio
    video = np.ascontiguousarray(video)
    even = [] if height % 2 == 0 and width % 2 == 0 else ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2"]
    codec = {
        # veryfast: several times less CPU than the default (medium) for a somewhat bigger file; the writer
        # thread shares the cores with training.
        "mp4": [*even, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-pix_fmt", "yuv420p"]
        + ["-movflags", "+faststart", "-f", "mp4"],
        # constant quality (-b:v 0); realtime with cpu-used 8 is the fastest libvpx mode; VP9 takes odd sizes
        "webm": ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-pix_fmt", "yuv420p"]
        + ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1", "-f", "webm"],
        # one palette for the whole clip, computed from all its frames; ordered (Bayer) dithering: measured on
        # 48 256x256 frames, half the time and 2/3 of the bytes of the default error diffusion, as close in colour
        "gif": ["-vf", "split[a][b];[a]palettegen[p];[b][p]paletteuse=dither=bayer:bayer_scale=3", "-loop", "0"]
        + ["-f", "gif"],
    }
    data = _ffmpeg(
        f"{fmt} video",
        [
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-s",
            f"{width}x{height}",
            "-framerate",
            f"{rate.numerator}/{rate.denominator}",
        ],
        (memoryview(frame).cast("B") for frame in video),
        ["-an", *codec[fmt]],
        fmt,
    )
    return Encoded(data, fmt, width, height, count / float(fps))


def _numpy_number() -> type:
    import numpy as np

    return np.number


def video_file(data: bytes, suffix: str) -> Encoded:
    """A video file stored as given (mp4, webm, gif, mov, ...): its format from ``suffix``; a GIF's size from its
    header."""
    fmt = _suffix_format("video", suffix)
    width = height = None
    if fmt == "gif":
        try:
            image = _open_image(data)
            width, height = image.size
        except ValueError:
            pass
    return Encoded(bytes(data), fmt, width, height)


# -- 3D ----------------------------------------------------------------------------------------------


def encode_points(points: Any) -> Encoded:
    """A point cloud as a binary little-endian PLY: x, y, z (float), red, green, blue and category (uchar).

    ``points`` (numpy) is (N, 3) xyz; (N, 4) xyz + a category 1..14 (coloured with trackio's palette); or
    (N, 6) xyz + RGB, integers 0..255 (as trackio takes them) or floats in 0..1 (every colour value <= 1).
    Over `MAX_POINT_COUNT` points are thinned evenly, as trackio does."""
    import numpy as np

    array = np.asarray(points)
    accepted = "accepted: numeric arrays shaped (N, 3) xyz, (N, 4) xyz + category or (N, 6) xyz + RGB, N >= 1"
    if array.ndim != 2 or array.shape[1] not in (3, 4, 6) or array.shape[0] == 0:
        raise ValueError(f"point array of shape {array.shape} cannot be stored; {accepted}")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"point array of dtype {array.dtype} cannot be stored; {accepted}")
    if not np.isfinite(array).all() or np.abs(array[:, :3]).max() > np.finfo(np.float32).max:
        raise ValueError(f"point array of shape {array.shape} holds NaN, infinite or float32-overflowing values")
    if len(array) > MAX_POINT_COUNT:
        array = array[np.linspace(0, len(array) - 1, MAX_POINT_COUNT, dtype=np.int64)]
    count = len(array)
    records = np.zeros(count, dtype=[("xyz", "<f4", (3,)), ("rgb", "u1", (3,)), ("category", "u1")])
    records["xyz"] = array[:, :3]
    if array.shape[1] == 4:
        categories = array[:, 3]
        if not (np.equal(categories, np.floor(categories)) & (categories >= 1) & (categories <= 14)).all():
            raise ValueError(
                f"point categories (column 4 of shape {array.shape}) must be integers 1..14, got values from "
                f"{categories.min()} to {categories.max()}"
            )
        records["category"] = categories
        records["rgb"] = np.asarray(CATEGORY_COLORS, dtype=np.uint8)[categories.astype(np.int64) - 1]
    elif array.shape[1] == 6:
        colors = array[:, 3:6]
        if array.dtype.kind == "f" and colors.min() >= 0 and colors.max() <= 1:
            colors = np.rint(colors * 255.0)
        if not (np.equal(colors, np.floor(colors)) & (colors >= 0) & (colors <= 255)).all():
            raise ValueError(
                f"point colours (columns 4-6 of shape {array.shape}) must be integers 0..255 or floats 0..1, got "
                f"values from {colors.min()} to {colors.max()}"
            )
        records["rgb"] = colors
    else:
        records["rgb"] = POINT_COLOR
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {count}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty uchar category\n"
        "end_header\n"
    )
    return Encoded(header.encode("ascii") + records.tobytes(), "ply")


def model_file(data: bytes, suffix: str) -> Encoded:
    """A 3D file stored as given (glb, gltf, obj, ply, stl, splat, ksplat, spz)."""
    fmt = _suffix_format("3D model", suffix)
    if fmt not in MODEL_FORMATS:
        raise ValueError(f"3D file format {suffix!r} cannot be stored; accepted: {', '.join(MODEL_FORMATS)}")
    return Encoded(bytes(data), fmt)


# -- shared ------------------------------------------------------------------------------------------


def _choice(what: str, value: Any, accepted: tuple[str, ...]) -> str:
    fmt = value.lower() if isinstance(value, str) else value
    if fmt not in accepted:
        raise ValueError(f"{what} {value!r} is not one of: {', '.join(accepted)}")
    return fmt


def _suffix_format(what: str, suffix: str) -> str:
    """``suffix`` (".wav", "WAV", "wav") as the stored format: lowercase, no dot, letters and digits only
    (it names the file in the store and on the Hub)."""
    fmt = suffix.lower().removeprefix(".") if isinstance(suffix, str) else None
    if fmt is None or not _SUFFIX.fullmatch(fmt):
        raise ValueError(
            f"{what} file suffix {suffix!r} cannot be used; accepted: an extension such as '.mp4' or 'mp4'"
        )
    return fmt


def _ffmpeg_exe(what: str) -> str:
    """The ffmpeg binary of imageio-ffmpeg, or MissingExtraError saying how to install it."""
    try:
        import imageio_ffmpeg
    except ImportError as error:
        raise MissingExtraError(
            f"encoding {what} needs the 'imageio-ffmpeg' package (it brings its own ffmpeg): {_EXTRA_HINT}"
        ) from error
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as error:  # installed without a binary for this platform
        raise MissingExtraError(
            f"encoding {what} needs ffmpeg, and imageio-ffmpeg has none here ({error}): {_EXTRA_HINT}"
        ) from error


def _ffmpeg(what: str, input_args: list[str], chunks: Iterable[Any], output_args: list[str], suffix: str) -> bytes:
    """The bytes ffmpeg writes for raw input ``chunks`` fed to its stdin.

    The output goes to a temporary file, not a pipe: MP4's fast start and FLAC's header are rewritten once
    the stream ends, which needs a seekable output. ffmpeg's messages go to a file too, so that a full
    stderr pipe can never stall it while this thread writes."""
    exe = _ffmpeg_exe(what)
    with tempfile.TemporaryDirectory(prefix="trackio-encode-") as folder:
        output, log = Path(folder) / f"out.{suffix}", Path(folder) / "ffmpeg.log"
        command = [exe, "-hide_banner", "-nostats", "-loglevel", "error", "-y", *input_args, "-i", "pipe:0"]
        with log.open("wb") as messages:
            process = subprocess.Popen(
                [*command, *output_args, str(output)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=messages
            )
            try:
                try:
                    for chunk in chunks:
                        process.stdin.write(chunk)
                    process.stdin.close()
                except BrokenPipeError:  # ffmpeg stopped early: its exit code and log say why
                    pass
                code = process.wait()
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if code != 0 or not output.exists():
            detail = log.read_text(errors="replace").strip()[-2000:]
            raise RuntimeError(f"ffmpeg could not encode {what} (exit code {code}): {detail}")
        return output.read_bytes()
