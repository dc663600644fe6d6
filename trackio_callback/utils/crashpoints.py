"""Numbered crash points: the places in the sync protocol where a process may die, for tests to kill it there.

The sync protocol (`hub.uploader`, `hub.pull`) calls `reached` at each point where a process
killed then leaves a different state behind (before a commit is sent, after the Hub applied it but
before the watermark moved, ...). `POINTS` lists them in protocol order. Normally `reached` costs
one environment lookup. A test makes a process exit there (``TRACKIO_CALLBACK_CRASH_AT=<point>``,
exit status `CRASH_EXIT`), or, in-process, sets `observer` to see every point reached (and may raise).

Example::

    TRACKIO_CALLBACK_CRASH_AT=commit:applied trackio-callback sync   # dies after the Hub took the commit
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .. import settings

POINTS = (
    "sync:locked",  # the store's sync lock is held; nothing planned yet
    "remove:applied",  # the Hub deleted removed runs' files; the ledger still holds them
    "remove:confirmed",  # the ledger forgot the removed runs in that dataset
    "sync:planned",  # what to send is known; nothing recorded
    "commit:pending",  # the commit's files are recorded as pending; nothing sent
    "commit:applied",  # the Hub applied the commit; the watermark has not moved
    "commit:confirmed",  # the watermark moved past the commit
    "compact:applied",  # the Hub applied a compaction (merged files added, shards deleted); not recorded
    "compact:confirmed",  # the store knows the merged files
    "pull:downloaded",  # a pull has the dataset's files on disk; nothing imported
    "pull:imported",  # a pull imported one run's data; its metadata not yet
)
CRASH_EXIT = 86  # the exit status of a process killed at a crash point

observer: Callable[[str], None] | None = None  # in-process tests: called at every point reached


def reached(point: str) -> None:
    """The protocol is at ``point``: exit if a test asked to crash here."""
    if point not in POINTS:
        raise ValueError(f"unknown crash point {point!r}; the points are {', '.join(POINTS)}")
    if observer is not None:
        observer(point)
    if settings.crash_at() == point:
        os._exit(CRASH_EXIT)
