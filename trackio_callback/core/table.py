"""`Table`: rows of values that ``log()`` stores next to the metrics.

TRL's GRPO/RLOO trainers log their sampled completions as
``trackio.log({"completions": trackio.Table(dataframe=df)})``; the table is stored with the run (as
JSON: column names and rows) and read back with `trackio_callback.Reader.tables`. A cell may hold an
`Image` (or a list of them: TRL's VLM completions): the image is stored as a file by the writer
thread and the cell as ``{"_type": "trackio.image", "digest", "format", "width", "height", "caption"}``.

Example::

    run.log({"samples": Table(columns=["prompt", "completion", "reward"], data=[["2+2=", "4", 1.0]])})
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..media import Media
from ..utils.jsontext import dumps, jsonable

MAX_CELL_CHARS = 100_000  # a cell longer than this is cut (and says so): tables are for reading, not storage


class Table:
    """Rows of named columns, from ``columns`` + ``data`` (rows) or a pandas ``dataframe``."""

    def __init__(
        self,
        columns: Sequence[str] | None = None,
        data: Sequence[Sequence[Any]] | None = None,
        dataframe: Any = None,
        rows: Sequence[Sequence[Any]] | None = None,
        optional: bool | list[bool] = True,  # noqa: ARG002 - trackio's (W&B's column checks): not used, as in trackio
        allow_mixed_types: bool = False,  # noqa: ARG002 - likewise
        log_mode: str | None = "IMMUTABLE",  # noqa: ARG002 - likewise
    ):
        if dataframe is not None:
            if columns is not None or data is not None or rows is not None:
                raise ValueError("Table takes either dataframe= or columns= with data=, not both")
            columns = [str(c) for c in dataframe.columns]
            data = dataframe.itertuples(index=False, name=None)
        data = data if data is not None else rows
        self.columns = [str(c) for c in (columns or [])]
        self.rows = [[_cell(value) for value in row] for row in (data or [])]
        self.media = [m for row in self.rows for cell in row for m in _media_in(cell)]  # stored by the writer
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(f"Table row {i} has {len(row)} values for {len(self.columns)} columns {self.columns}")

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def nbytes(self) -> int:
        """The memory its media's snapshots hold until the writer has stored them."""
        return sum(media.nbytes for media in self.media)

    def __repr__(self) -> str:
        return f"Table(columns={self.columns!r}, rows={len(self.rows)})"

    def to_json(self, stored: Callable[[Media], dict] | None = None) -> str:
        """The table as JSON; ``stored(media)``: a media cell's reference (the writer's, once the file is stored)."""
        rows = self.rows
        if self.media:
            rows = [[_resolved(cell, stored) for cell in row] for row in rows]
        return dumps({"columns": self.columns, "rows": rows})


def _cell(value: Any) -> Any:
    """One table cell as JSON holds it (`jsontext`'s policy), with over-long strings cut; media kept as they are."""
    if isinstance(value, Media) or (
        isinstance(value, (list, tuple)) and value and all(isinstance(v, Media) for v in value)
    ):
        return list(value) if isinstance(value, (list, tuple)) else value
    return _cut_long(jsonable(value))


def _media_in(cell: Any) -> list[Media]:
    if isinstance(cell, Media):
        return [cell]
    if isinstance(cell, list) and cell and isinstance(cell[0], Media):
        return cell
    return []


def _resolved(cell: Any, stored: Callable[[Media], dict] | None) -> Any:
    if isinstance(cell, Media):
        return stored(cell) if stored is not None else str(cell)
    if isinstance(cell, list) and cell and isinstance(cell[0], Media):
        return [_resolved(m, stored) for m in cell]
    return cell


def _cut_long(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_CELL_CHARS else _cut(value)
    if isinstance(value, list):
        return [_cut_long(v) for v in value]
    if isinstance(value, dict):
        return {k: _cut_long(v) for k, v in value.items()}
    return value


def _cut(text: str) -> str:
    return text[:MAX_CELL_CHARS] + f"... [{len(text) - MAX_CELL_CHARS} more characters]"
