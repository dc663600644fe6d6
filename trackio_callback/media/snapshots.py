"""`SnapshotPool`: recycled, already-touched buffers for the copies media values take of their arrays.

An `Image` copies its array when it is built, so that a later change to the array never reaches what
was logged. Copying 196 KB takes a few microseconds, but into fresh memory it takes ~100 µs more: the
kernel maps each new 4 KB page on first touch. The copies live only until the writer thread has
encoded them, so the writer hands their buffers back here (`give`) and the next copy of the same size
reuses one (`copy`): a training loop that logs an image per step touches no new memory after the first
few steps. The writer also keeps a few spare buffers of each size in use (`top_up`), touched on its
own thread, for bursts. Bounded by `MAX_POOL_BYTES`; a miss falls back to a plain copy.

Example::

    snapshot = POOL.copy(array)     # an independent copy (same shape and dtype)
    ...                             # the writer encodes it
    POOL.give(snapshot)             # its memory serves the next copy
"""

from __future__ import annotations

import threading
from typing import Any

MAX_POOL_BYTES = 64 * 2**20  # spare buffers kept, all sizes together
SPARES_PER_SIZE = 16  # the most spare buffers of one size the writer keeps touched in advance
MIN_POOLED_BYTES = 64 * 2**10  # smaller copies come from malloc's own free lists: nothing to gain


class SnapshotPool:
    """Spare byte buffers by size, reused for array copies (``list.pop``/``append``: atomic, no lock on ``copy``)."""

    def __init__(self, max_bytes: int = MAX_POOL_BYTES):
        self.max_bytes = max_bytes
        self._spares: dict[int, list[Any]] = {}
        self._bytes = 0
        self._wanted: dict[int, int] = {}  # size -> copies asked for since the last top-up
        self._lock = threading.Lock()  # give/top_up (the writer's side) only

    def copy(self, array: Any) -> Any:
        """A copy of ``array`` (a numpy array), in a recycled buffer when one of its size is spare."""
        nbytes = array.nbytes
        if nbytes < MIN_POOLED_BYTES:
            return array.copy()
        self._wanted[nbytes] = self._wanted.get(nbytes, 0) + 1
        spares = self._spares.get(nbytes)
        try:
            buffer = spares.pop() if spares else None
        except IndexError:  # the writer took the last one in between
            buffer = None
        if buffer is None:
            return array.copy()
        self._bytes -= nbytes  # approximate under races: only a bound
        import numpy as np

        snapshot = buffer.view(array.dtype).reshape(array.shape)
        np.copyto(snapshot, array)
        return snapshot

    def give(self, snapshot: Any) -> None:
        """Take back a copy nothing uses any more (the writer's, after encoding it)."""
        nbytes = getattr(snapshot, "nbytes", 0)
        if nbytes < MIN_POOLED_BYTES or not getattr(snapshot, "flags", None) or not snapshot.flags.c_contiguous:
            return
        with self._lock:
            if self._bytes + nbytes > self.max_bytes or len(self._spares.get(nbytes, ())) >= SPARES_PER_SIZE:
                return
            base = snapshot.reshape(-1).view("uint8")
            self._spares.setdefault(nbytes, []).append(base)
            self._bytes += nbytes

    def top_up(self) -> None:
        """Touch new spare buffers for the sizes asked for since the last call (the writer thread's)."""
        wanted, self._wanted = self._wanted, {}
        if not wanted:
            return
        import numpy as np

        for nbytes, count in wanted.items():
            with self._lock:
                missing = min(count, SPARES_PER_SIZE) - len(self._spares.get(nbytes, ()))
                missing = min(missing, (self.max_bytes - self._bytes) // nbytes)
            for _ in range(max(0, missing)):
                buffer = np.ones(nbytes, dtype=np.uint8)  # ones, not empty: every page touched here, not later
                with self._lock:
                    self._spares.setdefault(nbytes, []).append(buffer)
                    self._bytes += nbytes


POOL = SnapshotPool()
