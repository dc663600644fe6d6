"""`SnapshotPool`: recycled, already-mapped buffers for the copies media values take of their arrays.

An `Image` copies its array when it is built, so that a later change to the array never reaches what
was logged. Copying 196 KB into memory the process has used takes ~5-20 µs; into fresh memory it
takes ~120 µs, because the kernel maps each new 4 KB page on first touch (a page fault), and a queued
copy cannot reuse the memory of the previous one. So the copies go into buffers from this pool:

- the writer thread hands a snapshot's buffer back once the value is encoded (`give`): a loop that
  logs an image per step reuses the same few buffers;
- a copy that finds no spare buffer (`copy` misses) asks the writer (``waker``) to map more ahead of
  need (`top_up`, on the writer's thread): one large allocation per size, in huge pages where the
  kernel offers them (numpy asks for them above 4 MB), twice as large each time the spares ran out.
  The first copy of a size maps the first allocation itself (once: ~5 ms for `FIRST_TOP_UP_BYTES`), so
  that a burst of images costs the training thread the copies, not the page faults.

Bounded: at most `MAX_POOL_BYTES` of spare buffers in all. A miss falls back to a plain copy.

Example::

    snapshot = POOL.copy(array)     # an independent copy (same shape and dtype)
    ...                             # the writer encodes it
    POOL.give(snapshot)             # its memory serves a later copy
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

MAX_POOL_BYTES = 64 * 2**20  # spare buffers kept, all sizes together
FIRST_TOP_UP_BYTES = 16 * 2**20  # huge pages from 4 MB up (numpy asks for them): a few faults per top-up
MIN_POOLED_BYTES = 64 * 2**10  # smaller copies come from malloc's own free lists: nothing to gain

_np: Any = None  # numpy, imported by the first pooled copy (this module must not load it)


class SnapshotPool:
    """Spare byte buffers by size (``list.pop``/``append`` are atomic: `copy` takes no lock)."""

    def __init__(self, max_bytes: int = MAX_POOL_BYTES):
        self.max_bytes = max_bytes
        self.waker: Callable[[], None] | None = None  # wakes the writer thread to `top_up` (the latest run's)
        self._spares: dict[int, list[Any]] = {}
        self._bytes = 0  # approximate (`copy` updates it without the lock): a bound, not an account
        self._missed: dict[int, int] = {}  # size -> copies that found no spare since the last top-up
        self._top_up_bytes: dict[int, int] = {}  # size -> the bytes the next top-up of that size maps
        self._lock = threading.Lock()  # give/top_up (the writer's side)

    def copy(self, array: Any) -> Any:
        """A copy of ``array`` (a numpy array), in a spare buffer of its size when there is one."""
        global _np
        nbytes = array.nbytes
        if nbytes < MIN_POOLED_BYTES:
            return array.copy()
        spares = self._spares.get(nbytes)
        try:
            buffer = spares.pop() if spares else None
        except IndexError:  # the writer took the last one in between
            buffer = None
        if buffer is None:
            self._missed[nbytes] = self._missed.get(nbytes, 0) + 1
            if nbytes in self._top_up_bytes:  # the writer maps more, meanwhile a plain copy
                if self.waker is not None:
                    self.waker()
                return array.copy()
            self.top_up()  # a size seen for the first time: mapped here, once (~5 ms), so a burst finds spares
            return self.copy(array)
        self._bytes -= nbytes
        if _np is None:
            import numpy

            _np = numpy
        snapshot = buffer.view(array.dtype).reshape(array.shape)
        _np.copyto(snapshot, array)
        return snapshot

    def give(self, snapshot: Any) -> None:
        """Take back a copy nothing uses any more (the writer's, after encoding it)."""
        nbytes = getattr(snapshot, "nbytes", 0)
        if nbytes < MIN_POOLED_BYTES or not snapshot.flags.c_contiguous:
            return
        with self._lock:
            if self._bytes + nbytes <= self.max_bytes:
                self._spares.setdefault(nbytes, []).append(snapshot.reshape(-1).view("uint8"))
                self._bytes += nbytes

    def top_up(self) -> None:
        """Map spare buffers for the sizes whose copies missed since the last call (the writer thread's)."""
        if not self._missed:
            return
        missed, self._missed = self._missed, {}
        global _np
        if _np is None:
            import numpy

            _np = numpy
        for nbytes in missed:
            with self._lock:
                wanted = self._top_up_bytes.get(nbytes, FIRST_TOP_UP_BYTES)
                count = min(wanted, self.max_bytes - self._bytes) // nbytes
                self._top_up_bytes[nbytes] = min(2 * wanted, self.max_bytes)  # ran out again: twice as many
            if count < 1:
                continue
            arena = _np.ones(count * nbytes, dtype=_np.uint8)  # ones, not empty: every page mapped here, now
            with self._lock:
                self._spares.setdefault(nbytes, []).extend(arena[i * nbytes : (i + 1) * nbytes] for i in range(count))
                self._bytes += count * nbytes


POOL = SnapshotPool()
