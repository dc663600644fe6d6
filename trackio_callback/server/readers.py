"""`ThreadReaders`: one `Reader` per server thread, so concurrent requests never share a SQLite connection."""

from __future__ import annotations

import os
import threading

from ..store.reader import Reader


class ThreadReaders:
    """Hands each thread its own `Reader` over one storage directory; `close` closes them all.

    Example::

        readers = ThreadReaders("runs/")
        readers.get().runs("demo")   # in any worker thread
        readers.close()
    """

    def __init__(self, directory: str | os.PathLike | None = None):
        self.directory = directory
        self._local = threading.local()
        self._readers: list[Reader] = []
        self._lock = threading.Lock()

    def get(self) -> Reader:
        reader = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._local.reader = Reader(self.directory)
            with self._lock:
                self._readers.append(reader)
        return reader

    def close(self) -> None:
        with self._lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
