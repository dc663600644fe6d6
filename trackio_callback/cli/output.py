"""The commands' plain-text tables (``--json`` prints JSON instead)."""

from __future__ import annotations

import sys
from typing import Any


def table(rows: list[list[Any]], header: list[str]) -> None:
    """Print ``rows`` under ``header`` as aligned columns; None prints as ``-``."""
    cells = [header] + [["-" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        sys.stdout.write("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")
