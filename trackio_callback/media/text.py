"""trackio's values stored as text: `Markdown`, `Html` (also figures) and `Trace`, with trackio 0.43's constructors.

Example::

    trackio.log({
        "report": trackio.Markdown("## Eval\\n- accuracy 0.91"),               # a text point of kind "markdown"
        "rollout": trackio.Trace(messages=[{"role": "user", "content": "hi"}]),  # a trace: JSON text
    })
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

from ..utils.jsontext import dumps


class TextValue:
    """A value ``log()`` stores as text: `text` is what is stored, ``kind`` says how to show it."""

    kind = "text"

    @property
    def text(self) -> str:
        raise NotImplementedError


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
