"""trackio's media stored as files: `Image`, `Audio`, `Video`, `Object3D`, with trackio 0.43's constructors.

A value takes a snapshot of what it was given when it is built, on the calling thread, and nothing
more: an array is copied (a later change to it never reaches what was logged: a 256×256×3 image costs
a few microseconds), a file's bytes are read (a script that saves a plot to the same path at every
step logs each version), a PIL image is copied. Encoding (PNG, WAV, MP4, PLY) is `encode`, which the
run's writer thread calls (`media.encoding`): ``log()`` only queues the value.

Example::

    trackio.log({"samples": trackio.Image(array, caption="step 10")})    # array: uint8, HWC or CHW
    trackio.log({"speech": trackio.Audio(waveform, sample_rate=16_000)})
    trackio.log({"episode": trackio.Video(frames, fps=30)})              # frames: uint8 (T, C, H, W)
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..errors import MediaValueError
from . import encoding
from .snapshots import POOL

_STORING = threading.Lock()  # one encoding of a value at a time: the same value may be logged to two runs

IMAGE_FORMATS = ("png", "jpeg", "jpg", "gif", "webp", "bmp", "tiff")
AUDIO_FORMATS = ("wav", "mp3", "flac", "ogg")
VIDEO_FORMATS = ("mp4", "webm", "gif")
OBJECT3D_FORMATS = ("obj", "glb", "gltf", "stl", "ply", "splat", "ksplat", "spz")


class Media:
    """A value stored as a file: ``kind``, ``caption``, the memory its snapshot holds (``nbytes``), `stored`."""

    kind = "media"
    caption: str | None = None
    nbytes = 0
    _encoded: encoding.Encoded | None = None
    _SNAPSHOTS: tuple[str, ...] = ()  # the attributes holding a copied array (given back to the pool once encoded)

    def stored(self) -> encoding.Encoded:
        """The file's bytes and what they are, encoded once (the writer thread calls this, never ``log()``).

        The snapshot's memory goes back to the pool then: a value logged again reuses its encoding.
        """
        with _STORING:
            if self._encoded is None:
                self._encoded = self.encode()
                for name in self._SNAPSHOTS:
                    snapshot = getattr(self, name)
                    setattr(self, name, None)
                    if _module(snapshot) == "numpy":
                        POOL.give(snapshot)
            return self._encoded

    def encode(self) -> encoding.Encoded:
        """Encode the snapshot (use `stored`, which encodes once)."""
        raise NotImplementedError

    def _file_or_copy(self, value: Any, refusal: str) -> Any:
        """A file's bytes kept in ``_file`` (returns None), or a copy of an array or tensor (returned).

        ``refusal``: the error for anything else, ``{}`` standing for the value's type.
        """
        if _is_path(value):
            self._file = _read_file(value)
            self.nbytes = len(self._file[0])
            return None
        if _module(value) == "torch":
            return _tensor_to_numpy(value)
        if _module(value) == "numpy":
            return POOL.copy(value)
        raise MediaValueError(refusal.format(type(value).__name__))

    def __repr__(self) -> str:
        caption = f", caption={self.caption!r}" if self.caption else ""
        return f"{type(self).__name__}({self._description()}{caption})"

    def _description(self) -> str:
        return f"{self.nbytes} bytes"


def _module(value: Any) -> str:
    return type(value).__module__.partition(".")[0]


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, Path))


def _read_file(value: str | Path) -> tuple[bytes, str]:
    """A file's bytes and lowercase suffix; ValueError("File not found: ...") as trackio says it."""
    if not os.path.isfile(value):
        raise MediaValueError(f"File not found: {value}")
    return Path(value).read_bytes(), Path(value).suffix[1:].lower()


def _tensor_to_numpy(value: Any) -> Any:
    """A torch tensor's copy as a numpy array (bfloat16 and half as float32: numpy has no bfloat16)."""
    tensor = value.detach()
    if str(tensor.dtype) in ("torch.bfloat16", "torch.float16"):
        tensor = tensor.float()
    array = tensor.cpu().numpy()
    return array.copy() if tensor.device.type == "cpu" else array  # .cpu() of a GPU tensor is a copy already


class Image(Media):
    """``trackio.Image(value, caption=None)``.

    ``value``: a numpy ``uint8`` array (H, W), (H, W, C) or (C, H, W) with 1, 3 or 4 channels; a torch
    tensor of those shapes (``uint8``, or floats in [0, 1]); a PIL image; the path of an image file; or
    an image file's bytes. Arrays and tensors are stored as lossless PNG, files and bytes as they are.
    """

    kind = "image"
    _SNAPSHOTS = ("_pixels",)

    def __init__(self, value: Any, caption: str | None = None):
        self.caption = caption
        self._file: bytes | None = None
        self._pixels: Any = None
        if _is_path(value):
            self._file, _ = _read_file(value)
        elif isinstance(value, (bytes, bytearray, memoryview)):
            self._file = bytes(value)
        elif _module(value) == "numpy":
            if value.dtype.char != "B":  # uint8 (str(dtype) costs microseconds)
                raise MediaValueError(f"Invalid value dtype, expected np.uint8, got {value.dtype}")
            _check_image_shape(value.shape)
            self._pixels = POOL.copy(value)
        elif _module(value) == "torch":
            _check_image_shape(tuple(value.shape))
            self._pixels = _tensor_to_numpy(value)
        elif _module(value) == "PIL":
            self._pixels = value.copy()
        else:
            raise MediaValueError(
                f"Invalid value type, expected a numpy array, torch tensor, PIL image, file path or bytes, "
                f"got {type(value).__name__}"
            )
        pixels = self._pixels
        if pixels is None:
            self.nbytes = len(self._file)
        elif _module(pixels) == "PIL":
            self.nbytes = pixels.width * pixels.height * len(pixels.getbands())
        else:
            self.nbytes = pixels.nbytes

    def encode(self) -> encoding.Encoded:
        if self._file is not None:
            return encoding.image_file(self._file)
        return encoding.encode_image(self._pixels)

    def _description(self) -> str:
        if self._file is not None:
            return f"{len(self._file)} bytes of an image file"
        if self._pixels is None:
            return f"{self._encoded.width}x{self._encoded.height} {self._encoded.format}"
        shape = getattr(self._pixels, "shape", None) or self._pixels.size
        return f"{tuple(shape)}"


def _check_image_shape(shape: tuple) -> None:
    channels = (1, 3, 4)
    plausible = len(shape) == 2 or (len(shape) == 3 and (shape[-1] in channels or shape[0] in channels))
    if plausible and all(side > 0 for side in shape):
        return
    raise MediaValueError(
        f"Image arrays must be (H, W), (H, W, C) or (C, H, W) with C in 1, 3, 4 and no empty side; got shape {shape}"
    )


class Audio(Media):
    """``trackio.Audio(value, caption=None, sample_rate=None, format=None)``.

    ``value``: samples, a numpy array (samples,) or (samples, channels) (needs ``sample_rate``;
    stored as 16-bit PCM, floats peak-normalised as trackio does), or an audio file's path (stored as
    it is). ``format``: ``"wav"`` (the default), ``"mp3"``, ``"flac"`` or ``"ogg"`` (these three need
    ``pip install 'trackio-callback[video]'``: ffmpeg).
    """

    kind = "audio"
    _SNAPSHOTS = ("_samples",)

    def __init__(
        self,
        value: Any,
        caption: str | None = None,
        sample_rate: int | None = None,
        format: str | None = None,  # noqa: A002 - trackio's name
    ):
        if format is not None and format not in AUDIO_FORMATS:
            raise MediaValueError(f"Unsupported format: {format!r}; use one of {', '.join(AUDIO_FORMATS)}")
        self.caption, self.sample_rate, self.format = caption, sample_rate, format
        self._file: tuple[bytes, str] | None = None
        self._samples: Any = None
        value = self._file_or_copy(value, "Audio takes a numpy array or a file path, got {}")
        if value is None:
            return
        if sample_rate is None:
            raise MediaValueError("Sample rate is required when value is an ndarray")
        if not isinstance(sample_rate, int) or isinstance(sample_rate, bool) or sample_rate <= 0:
            raise MediaValueError(f"Invalid sample_rate: {sample_rate!r}; expected a positive integer")
        if value.ndim not in (1, 2) or value.size == 0:
            raise MediaValueError(
                f"Audio data must be 1D (mono) or 2D ([samples, channels]) and not empty; got shape {value.shape}"
            )
        self.format = format or "wav"
        self._samples = value
        self.nbytes = value.nbytes

    def encode(self) -> encoding.Encoded:
        if self._file is not None:
            return encoding.audio_file(*self._file)
        return encoding.encode_audio(self._samples, self.sample_rate, self.format)


class Video(Media):
    """``trackio.Video(value, caption=None, fps=None, format=None)``.

    ``value``: frames, a numpy ``uint8`` array (T, C, H, W) or a batch (B, T, C, H, W) shown as a grid (as
    trackio takes them), or a video file's path (stored as it is). ``fps`` defaults to 24, ``format``
    to ``"mp4"`` (H.264; trackio's default is ``"gif"``: pass it for that), or ``"webm"``. Encoding
    frames needs ffmpeg: ``pip install 'trackio-callback[video]'`` (imageio-ffmpeg brings its own binary).
    """

    kind = "video"
    _SNAPSHOTS = ("_frames",)

    def __init__(
        self,
        value: Any,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,  # noqa: A002 - trackio's name
    ):
        if format is not None and format not in VIDEO_FORMATS:
            raise MediaValueError(f"Unsupported format: {format!r}; use one of {', '.join(VIDEO_FORMATS)}")
        self.caption, self.fps, self.format = caption, fps, format
        self._file: tuple[bytes, str] | None = None
        self._frames: Any = None
        value = self._file_or_copy(value, "Invalid value type, expected a file path or a numpy array, got {}")
        if value is None:
            return
        if value.dtype.char != "B":
            raise MediaValueError(f"Invalid value dtype, expected np.uint8, got {value.dtype}")
        if value.ndim not in (4, 5) or value.shape[-3] not in (1, 3):
            raise MediaValueError(
                f"Video frames must be (T, C, H, W) or (B, T, C, H, W) with C = 1 or 3; got shape {value.shape}"
            )
        self.fps = 24 if fps is None else fps
        self.format = format or "mp4"
        self._frames = value
        self.nbytes = value.nbytes

    def encode(self) -> encoding.Encoded:
        if self._file is not None:
            return encoding.video_file(*self._file)
        return encoding.encode_video(encoding.frames_from_trackio_array(self._frames), self.fps, self.format)


class Object3D(Media):
    """``trackio.Object3D(path_or_array, caption=None)``: a 3D file (glb, gltf, obj, ply, stl, splat) or points.

    Points: a numpy array (N, 3) (x, y, z), (N, 4) or (N, 6) (with colours), stored as a PLY file.
    """

    kind = "object3d"
    FORMATS = OBJECT3D_FORMATS
    _SNAPSHOTS = ("_points",)

    def __init__(self, path_or_array: Any, caption: str | None = None):
        self.caption = caption
        self._file: tuple[bytes, str] | None = None
        self._points: Any = None
        if _is_path(path_or_array):
            suffix = Path(path_or_array).suffix[1:].lower()
            if suffix not in self.FORMATS:
                raise MediaValueError(f"Unsupported 3D format {suffix!r}; use one of {', '.join(self.FORMATS)}")
            self._file = _read_file(path_or_array)
            self.format = suffix
            self.nbytes = len(self._file[0])
            return
        if _module(path_or_array) != "numpy":
            raise MediaValueError("Object3D requires a local file path or NumPy array")
        shape = path_or_array.shape
        if len(shape) != 2 or shape[1] not in (3, 4, 6) or shape[0] == 0:
            raise MediaValueError(f"Object3D arrays must have shape (N, 3), (N, 4), or (N, 6), got {tuple(shape)}")
        self._points = path_or_array.copy()
        self.format = "ply"
        self.nbytes = self._points.nbytes

    @classmethod
    def from_file(cls, path: str | Path, caption: str | None = None) -> Object3D:
        return cls(path, caption=caption)

    @classmethod
    def from_numpy(cls, array: Any, caption: str | None = None) -> Object3D:
        """Points: an array of shape (N, 3) (x, y, z), (N, 4) or (N, 6) (with colours)."""
        return cls(array, caption=caption)

    def encode(self) -> encoding.Encoded:
        if self._file is not None:
            return encoding.model_file(*self._file)
        return encoding.encode_points(self._points)
