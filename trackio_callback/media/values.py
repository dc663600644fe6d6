"""The classes of trackio's rich values, with trackio 0.43's constructors (see the package docstring).

Example::

    trackio.log({
        "report": trackio.Markdown("## Eval\\n- accuracy 0.91"),   # stored as text
        "rollout": trackio.Trace(messages=[{"role": "user", "content": "hi"}]),  # stored as JSON text
        "sample": trackio.Image(array, caption="step 10"),        # not stored yet: warns
    })
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..utils.jsontext import dumps


class TextValue:
    """A value ``log()`` stores as text: `text` is what is stored."""

    kind = "text"

    @property
    def text(self) -> str:
        raise NotImplementedError


class StoredLater:
    """A media value that ``log()`` does not store yet (it warns, naming the key)."""

    kind = "media"


def _existing_file(value: Any) -> None:
    if isinstance(value, (str, Path)) and not os.path.isfile(value):
        raise ValueError(f"File not found: {value}")


class Image(StoredLater):
    """``trackio.Image(value, caption=None)``: a numpy array (uint8, HWC), a PIL image, or a file path."""

    kind = "image"

    def __init__(self, value: Any, caption: str | None = None):
        _existing_file(value)
        if type(value).__module__ == "numpy" and str(getattr(value, "dtype", "")) != "uint8":
            raise ValueError(f"Invalid value dtype, expected np.uint8, got {value.dtype}")
        self.caption = caption
        self._value = value
        size = getattr(value, "size", None)  # PIL images: (width, height)
        shape = getattr(value, "shape", None)  # arrays and tensors
        self.description = f"image {tuple(size) if isinstance(size, tuple) else tuple(shape or ())}"

    def __str__(self) -> str:
        return f"<{self.description}{': ' + self.caption if self.caption else ''}>"


class Audio(StoredLater):
    """``trackio.Audio(value, caption=None, sample_rate=None, format=None)``: samples (needs the rate) or a path."""

    kind = "audio"

    def __init__(
        self, value: Any, caption: str | None = None, sample_rate: int | None = None, format: str | None = None
    ):  # noqa: A002
        _existing_file(value)
        if type(value).__module__ == "numpy" and sample_rate is None:
            raise ValueError("Sample rate is required when value is an ndarray")
        if format is not None and format not in ("wav", "mp3"):
            raise ValueError(f"Unsupported format: {format!r}; use 'wav' or 'mp3'")
        self.caption, self.sample_rate, self.format, self._value = caption, sample_rate, format, value


class Video(StoredLater):
    """``trackio.Video(value, caption=None, fps=None, format=None)``: frames (TCHW or BTCHW) or a file path."""

    kind = "video"

    def __init__(self, value: Any, caption: str | None = None, fps: int | None = None, format: str | None = None):  # noqa: A002
        _existing_file(value)
        if not isinstance(value, (str, Path)) and type(value).__module__ != "numpy":
            raise ValueError(f"Invalid value type, expected a file path or a numpy array, got {type(value)}")
        if format is not None and format not in ("gif", "mp4", "webm"):
            raise ValueError(f"Unsupported format: {format!r}; use 'gif', 'mp4' or 'webm'")
        self.caption, self.fps, self.format, self._value = caption, fps, format, value


class Object3D(StoredLater):
    """``trackio.Object3D(path_or_array, caption=None)``: a 3D file (glb, gltf, obj, ply, stl, splat) or points."""

    kind = "object3d"
    FORMATS = ("obj", "glb", "gltf", "stl", "ply", "splat", "ksplat", "spz")

    def __init__(self, path_or_array: Any, caption: str | None = None):
        if not isinstance(path_or_array, (str, Path)) and type(path_or_array).__module__ != "numpy":
            raise ValueError("Object3D requires a local file path or NumPy array")
        _existing_file(path_or_array)
        fmt = "ply" if not isinstance(path_or_array, (str, Path)) else Path(path_or_array).suffix[1:].lower()
        if fmt not in self.FORMATS:
            raise ValueError(f"Unsupported 3D format {fmt!r}; use one of {', '.join(self.FORMATS)}")
        if fmt == "ply" and not isinstance(path_or_array, (str, Path)):
            shape = getattr(path_or_array, "shape", ())
            if len(shape) != 2 or shape[1] not in (3, 4, 6) or shape[0] == 0:
                raise ValueError(f"Object3D arrays must have shape (N, 3), (N, 4), or (N, 6), got {tuple(shape)}")
        self.caption, self.format, self._value = caption, fmt, path_or_array

    @classmethod
    def from_file(cls, path: str | Path, caption: str | None = None) -> Object3D:
        return cls(path, caption=caption)

    @classmethod
    def from_numpy(cls, array: Any, caption: str | None = None) -> Object3D:
        """Points: an array of shape (N, 3) (x, y, z), (N, 4) or (N, 6) (with colours)."""
        return cls(array, caption=caption)


class Histogram(StoredLater):
    """``trackio.Histogram(sequence=None, np_histogram=None, num_bins=64)``: values, or numpy's (counts, edges)."""

    kind = "histogram"

    def __init__(self, sequence: Sequence[float] | Any = None, np_histogram: tuple | None = None, num_bins: int = 64):
        if sequence is None and np_histogram is None:
            raise ValueError("Must provide either sequence or np_histogram")
        if sequence is not None and np_histogram is not None:
            raise ValueError("Cannot provide both sequence and np_histogram")
        import numpy as np

        if np_histogram is not None:
            counts, edges = (np.asarray(part) for part in np_histogram)
        else:
            data = np.asarray(sequence, dtype=float).ravel()
            data = data[np.isfinite(data)]
            counts, edges = np.histogram(data, bins=min(num_bins, 512)) if data.size else (np.array([]), np.array([]))
        self.histogram, self.bins = counts, edges


class Markdown(TextValue):
    """``trackio.Markdown(text="")``: stored as its text."""

    kind = "markdown"

    def __init__(self, text: str = ""):
        if not isinstance(text, str):
            raise ValueError("Markdown text must be a string")
        self._text = text

    @property
    def text(self) -> str:
        return self._text


class Html(TextValue):
    """``trackio.Html(data, inject=True, data_is_not_path=False, caption=None)``: HTML text, a file, or a figure.

    ``data``: an HTML string, the path of an ``.html`` file, a Plotly figure, a matplotlib figure or
    ``matplotlib.pyplot`` (its current figure, as SVG). Stored as the HTML text.
    """

    kind = "html"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False, caption: str | None = None):  # noqa: ARG002
        self.caption = caption
        self._html = _html_of(data)

    @property
    def text(self) -> str:
        return self._html

    # trackio's checks of what Html takes (modules are looked up, never imported: a figure's library is loaded)
    @staticmethod
    def is_plotly_figure(obj: Any) -> bool:
        module = sys.modules.get("plotly.basedatatypes")
        return module is not None and isinstance(obj, module.BaseFigure)

    @staticmethod
    def is_matplotlib_figure(obj: Any) -> bool:
        module = sys.modules.get("matplotlib.figure")
        return module is not None and isinstance(obj, module.Figure)

    @staticmethod
    def is_matplotlib_animation(obj: Any) -> bool:
        module = sys.modules.get("matplotlib.animation")
        return module is not None and isinstance(obj, module.Animation)

    @staticmethod
    def is_pyplot_module(obj: Any) -> bool:
        module = sys.modules.get("matplotlib.pyplot")
        return module is not None and obj is module

    @staticmethod
    def is_loggable_figure(obj: Any) -> bool:
        return any(
            check(obj)
            for check in (
                Html.is_plotly_figure, Html.is_matplotlib_animation, Html.is_pyplot_module, Html.is_matplotlib_figure
            )
        )  # fmt: skip


def _html_of(data: Any) -> str:
    if Html.is_plotly_figure(data):
        return data.to_html(full_html=True, include_plotlyjs="cdn")
    if Html.is_matplotlib_animation(data):
        return data.to_jshtml()
    if Html.is_pyplot_module(data):
        data = data.gcf()
    if Html.is_matplotlib_figure(data):
        buffer = io.StringIO()
        data.savefig(buffer, format="svg", bbox_inches="tight")
        return buffer.getvalue()
    if isinstance(data, Path) or (isinstance(data, str) and "<" not in data and os.path.isfile(data)):
        return Path(data).read_text(encoding="utf-8")
    if isinstance(data, str):
        return data
    raise ValueError(
        "Html takes an HTML string, an .html file path, a Plotly figure or a matplotlib figure; "
        f"got {type(data).__name__}"
    )


class Trace(TextValue):
    """``trackio.Trace(messages, metadata=None, spans=None)``: a conversation or agent rollout, stored as JSON text.

    The text is ``{"messages": [...], "metadata": {...}, "spans": [...]}``.
    """

    kind = "trace"

    def __init__(
        self, messages: list[dict[str, Any]], metadata: dict | None = None, spans: list[dict[str, Any]] | None = None
    ):
        if not isinstance(messages, list) or not all(isinstance(message, dict) for message in messages):
            raise TypeError("`messages` must be a list of dictionaries.")
        if spans is not None and (not isinstance(spans, list) or not all(isinstance(span, dict) for span in spans)):
            raise TypeError("`spans` must be a list of dictionaries.")
        self.messages = [dict(message) for message in messages]
        self.metadata = dict(metadata) if metadata is not None else {}
        self.spans = [dict(span) for span in spans] if spans is not None else []

    @property
    def text(self) -> str:
        return dumps({"messages": self.messages, "metadata": self.metadata, "spans": self.spans})
