"""`MediaEncoder`: the writer thread's step that turns queued rich values into stored files and rows.

For each `QueuedValue` it encodes the value (`media.encoding`: PNG, WAV, MP4, PLY; a `Histogram` is
binned), writes the file into the project's content-addressed blob store (`artifacts.blobs`: atomic,
flushed to disk, an identical file stored once) and returns the rows that reference it, which the
writer commits with the metrics. A file is complete on disk before any row names it, so a process
killed mid-encoding leaves at most an unreferenced partial file. A value that cannot be encoded (bad
data, ffmpeg missing) is dropped with a warning once per key; a file that cannot be written (a full
disk) raises, and the writer keeps the values to try again.

Example::

    encoder = MediaEncoder(files.project_files_dir(directory, project), warn)
    stored = encoder.store(queue.take())
    store.append(run_id, [], [], RunUpdate(), stored.tables, media=stored.media, media_files=stored.files, ...)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NamedTuple

from ..media import Histogram, Media
from ..media.snapshots import POOL
from ..store import HistogramRow, MediaFile, MediaRow, TableRow
from .media_queue import QueuedValue
from .table import Table


class StoredValues(NamedTuple):
    """What a batch of queued values became: rows to commit, the files they added, and the values left for later."""

    media: list[MediaRow]
    histograms: list[HistogramRow]
    tables: list[TableRow]
    files: list[MediaFile]
    rest: list[QueuedValue]  # not encoded: the deadline came first


class MediaEncoder:
    """Encodes queued values into one project's blob store (``files_dir``: `store.files.project_files_dir`)."""

    def __init__(self, files_dir: Path, warn: Any):
        self.files_dir = files_dir
        self._warn = warn  # WarnOnce: (key, message, stacklevel)
        self._blobs: Any = None

    def store(self, values: list[QueuedValue], deadline: float | None = None) -> StoredValues:
        """Encode and store ``values``, in order, until ``deadline`` (`time.monotonic`; None: all of them).

        OSError (the disk) propagates, with nothing of this batch committed. At least one value is
        stored before the deadline is looked at, so a slow value never blocks the queue.
        """
        result = StoredValues([], [], [], [], [])
        for index, queued in enumerate(values):
            if deadline is not None and index and time.monotonic() > deadline:
                result.rest.extend(values[index:])
                break
            POOL.top_up()  # buffers for the copies being made meanwhile, mapped here rather than on the training thread
            try:
                if isinstance(queued.value, Histogram):
                    result.histograms.append(_histogram_row(queued))
                elif isinstance(queued.value, Table):
                    stored = lambda media, key=queued.key: self._cell(media, key, result.files)  # noqa: E731
                    data = queued.value.to_json(stored)
                    result.tables.append(TableRow(queued.timestamp, queued.step, queued.key, data))
                else:
                    result.media.append(self._media_row(queued, result.files))
            except OSError:
                raise
            except Exception as error:  # the value is bad or its encoder missing: drop it, say so once per key
                self._warn(
                    (queued.key, "media"),
                    f"{type(queued.value).__name__} logged under {queued.key!r} at step {queued.step} was not "
                    f"stored: {type(error).__name__}: {error}",
                    stacklevel=1,
                )
        return result

    def _file(self, media: Media, files: list[MediaFile]) -> tuple[Any, str, int]:
        encoded = media.stored()
        if self._blobs is None:
            from ..artifacts.blobs import BlobStore

            self._blobs = BlobStore(self.files_dir)
            self._blobs.clean_partials()  # what a killed process left half-written (referenced by nothing)
        digest, size = self._blobs.add_bytes(encoded.data)
        files.append(MediaFile(digest, encoded.format, size))
        return encoded, digest, size

    def _media_row(self, queued: QueuedValue, files: list[MediaFile]) -> MediaRow:
        media = queued.value
        encoded, digest, size = self._file(media, files)
        return MediaRow(
            queued.timestamp,
            queued.step,
            queued.key,
            queued.item,
            media.kind,
            None if media.caption is None else str(media.caption),
            digest,
            encoded.format,
            size,
            encoded.width,
            encoded.height,
            encoded.duration,
        )

    def _cell(self, media: Media, key: str, files: list[MediaFile]) -> dict | str:
        """A table cell's image as the table's JSON names it (a cell that cannot be stored: its description)."""
        try:
            encoded, digest, _ = self._file(media, files)
        except OSError:
            raise
        except Exception as error:
            self._warn((key, "table media"), f"an image in table {key!r} was not stored: {error}", stacklevel=1)
            return str(media)
        return {
            "_type": f"trackio.{media.kind}",
            "digest": digest,
            "format": encoded.format,
            "width": encoded.width,
            "height": encoded.height,
            "caption": media.caption,
        }


def _histogram_row(queued: QueuedValue) -> HistogramRow:
    histogram = queued.value
    counts, edges = histogram.histogram, histogram.bins
    return HistogramRow(queued.timestamp, queued.step, queued.key, tuple(edges.tolist()), tuple(counts.tolist()))
