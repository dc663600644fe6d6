"""SQLite storage of a project: the `Store` (one project file), its schema, encodings, reads and downsampling.

The `Store` and the rows it takes and returns are exported here; each job's module says what it owns
(`connection`, `runs`, `metrics`, `records`, `ledger`, `rebase`, `files`; `project` composes them into `Store`;
`end_reasons`: the format of a run's end reason, which readers describe; `tags`: what a run's tags and notes may be,
checked for every writer; `extremes`: the per-block extremes of each chunk, which downsampled reads use).

May import: the standard library, `.settings`, `.errors`, `.utils`; numpy only in ``arrays`` (the read
path's twin, used where numpy is installed). Never the core (it sits under the core), the Hub or the server.
"""

from .project import Store
from .rows import (
    AlertRow,
    HistogramRow,
    MediaFile,
    MediaRow,
    SyncedFile,
    SyncMark,
    SystemSample,
    SystemValue,
    TableRow,
    TextRow,
    TraceRow,
)
from .runs import RESUME_MODES, OpenedRun, RunRow, RunUpdate

__all__ = [
    "RESUME_MODES",
    "AlertRow",
    "HistogramRow",
    "MediaFile",
    "MediaRow",
    "OpenedRun",
    "RunRow",
    "RunUpdate",
    "Store",
    "SyncMark",
    "SyncedFile",
    "SystemSample",
    "SystemValue",
    "TableRow",
    "TextRow",
    "TraceRow",
]
