"""Where each file of a trackio-callback Hub dataset lives: the one source of the path layout (pure).

::

    metrics/<project>/<run uid>/<first seq>-<last seq>.parquet     (seqs zero-padded to 12 digits)
    system/<project>/<run uid>[/<node>]/<first>-<last>.parquet      (<node>: another node's samples)
    tables/<project>/<run uid>/<first>-<last>.parquet
    alerts/<project>/<run uid>/<first>-<last>.parquet
    runs/<project>/<run uid>.parquet

`parse` reads a path back. The static Space's page parses the same paths in JavaScript
(``server/static/sources.js``); ``tests/test_static_js.py`` checks the two agree.
"""

from __future__ import annotations

import re
from typing import NamedTuple

KINDS = ("metrics", "system", "tables", "alerts")
SEQ_DIGITS = 12

_SHARD = re.compile(r"(metrics|system|tables|alerts)/([^/]+)/([^/]+)(?:/([^/]+))?/([0-9]+)-([0-9]+)\.parquet")
_RUN = re.compile(r"runs/([^/]+)/([^/]+)\.parquet")


class DatasetFile(NamedTuple):
    """A dataset path, read back: a shard (``kind`` in `KINDS`) or a runs file (``kind == "runs"``, seqs None)."""

    kind: str
    project: str
    run_uid: str
    node: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None


def shard_path(kind: str, project: str, run_uid: str, first_seq: int, last_seq: int, node: str | None = None) -> str:
    """A shard's path; ``node``: system samples another node of a multi-node job sent (its own folder)."""
    folder = f"{kind}/{project}/{run_uid}" + (f"/{node}" if node is not None else "")
    return f"{folder}/{first_seq:0{SEQ_DIGITS}d}-{last_seq:0{SEQ_DIGITS}d}.parquet"


def run_path(project: str, run_uid: str) -> str:
    return f"runs/{project}/{run_uid}.parquet"


def parse(path: str) -> DatasetFile | None:
    """The file ``path`` names, or None for a path outside the layout (the card, ``.gitattributes``)."""
    shard = _SHARD.fullmatch(path)
    if shard:
        kind, project, uid, node, first, last = shard.groups()
        if node is not None and kind != "system":
            return None
        return DatasetFile(kind, project, uid, node, int(first), int(last))
    run = _RUN.fullmatch(path)
    if run:
        return DatasetFile("runs", run.group(1), run.group(2))
    return None
