"""What the terminal commands (``get metric --plot``, ``watch``) share: the optional libraries, colour, size.

rich and plotext come with the ``terminal`` extra and are imported only by the commands that draw.
"""

from __future__ import annotations

import importlib
import math
import shutil
from types import ModuleType
from typing import Any, TextIO

from .. import settings
from ..errors import MissingExtraError

INSTALL = 'pip install "trackio-callback[terminal]"'
DEFAULT_SIZE = (100, 30)  # when the output is no terminal and $COLUMNS/$LINES say nothing


def library(name: str) -> ModuleType:
    """The module ``name`` (``rich``, ``plotext``, ...), or `MissingExtraError` saying how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError as error:
        missing = (error.name or name).split(".")[0]
        raise MissingExtraError(f"this command needs the 'terminal' extra ({missing} is missing): {INSTALL}") from None


def use_colour(stream: TextIO) -> bool:
    """Colour when ``$FORCE_COLOR`` says so, else only into a terminal and unless ``$NO_COLOR`` is set."""
    if settings.force_color():
        return True
    if settings.no_color():
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def console(stream: TextIO) -> Any:
    """A rich Console on ``stream`` that follows `use_colour` (rich must be importable: see `library`)."""
    from rich.console import Console

    forced = settings.force_color()
    return Console(
        file=stream, force_terminal=forced or None, no_color=not forced and settings.no_color(), highlight=False
    )


def terminal_size(width: int | None = None, height: int | None = None) -> tuple[int, int]:
    """``(columns, lines)``: the given ones, else the terminal's (``$COLUMNS``/``$LINES`` first, as the shell sets)."""
    size = shutil.get_terminal_size(DEFAULT_SIZE)
    return (width or size.columns, height or size.lines)


def number_text(value: float | None) -> str:
    """A value for a person: 6 significant digits (``0.000123457``, ``1.5e-08``, ``1.2e+12``), ``-`` for None."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.6g}"
