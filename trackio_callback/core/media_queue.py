"""`MediaQueue`: rich values waiting for the writer thread, bounded by the memory their snapshots hold.

``log()`` puts an image, histogram or table of images here (`QueuedValue`: the value's snapshot, never
encoded yet) and returns; the writer takes them, encodes them and writes their files. When encoding
cannot keep up (a flood of large images) or the disk cannot be written, the queue would grow without
end: past ``budget`` bytes it is thinned, every other value dropped (the newest always kept), as the
writer thins buffered calls, and the count of what was dropped goes into the run's ``media_dropped``
alert. One lock, held for list operations only: ``put`` costs the training thread well under a
microsecond more than an append.

Example::

    queue = MediaQueue(budget=2**30)
    queue.put([QueuedValue(time.time(), 3, "sample", 0, image)])
    queue.take()       # [QueuedValue(...)]: the writer's
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple


class QueuedValue(NamedTuple):
    """A rich value logged at ``step`` under ``key`` (``item``: its place in a list logged under the key)."""

    timestamp: float
    step: int
    key: str
    item: int
    value: Any  # media.Media, media.Histogram or a core.table.Table holding media: each has ``nbytes``


class MediaQueue:
    """Rich values waiting to be encoded, at most ``budget`` bytes of snapshots."""

    def __init__(self, budget: int):
        self.budget = max(1, budget)
        self.dropped = 0  # values dropped to stay within the budget, since the run began
        self._items: list[QueuedValue] = []
        self._bytes = 0
        self._taken = 0  # bytes the writer took and is encoding: they count against the budget until `done`
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held: values waiting and values being encoded."""
        return self._bytes + self._taken

    def put(self, values: list[QueuedValue]) -> int:
        """Queue ``values``; how many queued values were dropped to make room (0 almost always)."""
        with self._lock:
            self._items.extend(values)
            self._bytes += sum(v.value.nbytes for v in values)
            return self._thin() if self._bytes + self._taken > self.budget else 0

    def put_back(self, values: list[QueuedValue]) -> int:
        """Return taken values not stored (the disk failed, or the pass ran out of time) to the front; how many
        were dropped to stay within the budget."""
        with self._lock:
            nbytes = sum(v.value.nbytes for v in values)
            self._items[:0] = values
            self._bytes += nbytes
            self._taken = max(0, self._taken - nbytes)
            return self._thin() if self._bytes + self._taken > self.budget else 0

    def take(self) -> list[QueuedValue]:
        """Everything queued, oldest first (the writer's); their bytes count until `done` or `put_back`."""
        with self._lock:
            items, self._items = self._items, []
            self._taken += self._bytes
            self._bytes = 0
            return items

    def done(self, values: list[QueuedValue]) -> None:
        """The writer stored ``values`` (taken before): their memory is free."""
        with self._lock:
            self._taken = max(0, self._taken - sum(v.value.nbytes for v in values))

    def _thin(self) -> int:
        """Drop every other value (the newest stays) until the rest fit the budget; how many went."""
        before = len(self._items)
        items = self._items
        while self._bytes + self._taken > self.budget and len(items) > 1:
            items = items[-1::-2][::-1]  # the newest, then every other one back from it
            self._bytes = sum(v.value.nbytes for v in items)
        self._items = items
        dropped = before - len(items)
        self.dropped += dropped
        return dropped
