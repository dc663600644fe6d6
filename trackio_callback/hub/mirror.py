"""`DatasetMirror`: a local copy of a trackio-callback Hub dataset, pulled again in a daemon thread.

The dashboard (`server.show.show`) and the stdio MCP server (`server.mcp_server.serve_stdio`) serve a
Hub dataset through it: they read the mirror's folder as they read the storage dir.

Example::

    mirror = DatasetMirror.of("alice/trackio-dataset")  # <storage dir>/mirrors/alice--trackio-dataset, pulled
    mirror.start()
    ...
    mirror.stop()
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from .. import settings
from ..utils.warn import WarnOnce

logger = logging.getLogger(__name__)

PULL_EVERY_S = 30.0


class DatasetMirror:
    """Keeps a local copy of a trackio-callback Hub dataset, pulling it again every ``every`` seconds.

    A run the dataset no longer holds (deleted, moved to another project) leaves the copy at the next pull.

    The first `pull` runs in the caller (`of` does it, so a dashboard opens with data); `start` then pulls in a
    daemon thread until `stop`. A failed pull warns once and is retried on the next round.

    `hub.pull` (``huggingface_hub``, ``pyarrow``) is imported by the first pull, not with this module: a
    dashboard over the local storage dir never loads it.
    """

    def __init__(self, dataset_id: str, directory: Path, every: float = PULL_EVERY_S, project: str | None = None):
        self.dataset_id = dataset_id
        self.directory = directory
        self.every = every
        self.project = project
        self.pulls = 0
        self.last_error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = WarnOnce()

    @classmethod
    def of(
        cls,
        dataset_id: str,
        directory: str | os.PathLike | None = None,
        every: float = PULL_EVERY_S,
        project: str | None = None,
    ) -> DatasetMirror:
        """The mirror of ``dataset_id`` (a bare name is the token owner's) in ``<dir>/mirrors/``, pulled once."""
        if "/" not in dataset_id:
            from .repo import resolve

            dataset_id = resolve(None, dataset_id).dataset_id
        folder = settings.storage_dir(directory) / "mirrors" / dataset_id.replace("/", "--")
        mirror = cls(dataset_id, folder, every, project)
        mirror.pull()
        return mirror

    def pull(self) -> dict[str, int] | None:
        """Pull once: the counts `hub.pull.pull` returns, or None when it failed (warned the first time)."""
        from .pull import pull

        try:
            counts = pull(self.dataset_id, self.directory, project=self.project, prune=True)  # a copy: runs go too
        except Exception as error:  # the Hub may be down for a while: keep serving what we have
            self.last_error = error
            self._warned("pull", f"pulling {self.dataset_id} failed ({error}); retrying")
            logger.info("pull of %s failed: %s", self.dataset_id, error)
            return None
        self.pulls += 1
        self.last_error = None
        return counts

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="trackio-mirror", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.pull()
