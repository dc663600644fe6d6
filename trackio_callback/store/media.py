"""Media, histograms and traces: the rich rows of a run, written (`insert_media`) and read (`MediaRecords`).

A media row names its file by sha256 (``digest``); the bytes live in the project's blob store
(`artifacts.blobs`), written and made durable before the row is committed, so a row never names a
missing or half-written file. ``media_files`` lists each file once, for the Hub sync; images inside
table cells are listed there too (their table's JSON names them). Histograms keep their edges and
counts as float64 little-endian bytes. Rows are numbered within their run and kind (``run_seq``, read
back as ``seq``), as the other records are.

Example::

    store.append(run_id, [], [], RunUpdate(), media=[MediaRow(time.time(), 0, "sample", 0, "image", None,
                 digest, "png", 1234, 64, 64, None)], media_files=[MediaFile(digest, "png", 1234)])
    store.media(run_id)[0].digest == digest
"""

from __future__ import annotations

import sqlite3
import struct
from typing import Any

from .connection import Connection
from .rows import HistogramRow, MediaFile, MediaRow, TraceRow

_MEDIA = """SELECT m.timestamp, m.step, k.name, m.item, m.kind, m.caption, m.digest, m.format, m.size, m.width,
                   m.height, m.duration, m.run_seq FROM media m JOIN metric_keys k ON k.id = m.key_id
            WHERE m.run_id = ?"""
_HISTOGRAMS = """SELECT h.timestamp, h.step, k.name, h.edges, h.counts, h.run_seq FROM histograms h
                 JOIN metric_keys k ON k.id = h.key_id WHERE h.run_id = ?"""
_TRACES = """SELECT t.timestamp, t.step, k.name, t.value, t.run_seq FROM traces t JOIN metric_keys k ON k.id = t.key_id
             WHERE t.run_id = ?"""
MEDIA_TABLES = {"media": "media", "histograms": "histograms", "traces": "traces"}  # record kind -> table


def pack_floats(values: Any) -> bytes:
    """Floats as float64 little-endian bytes (a histogram's edges or counts)."""
    values = [float(v) for v in values]
    return struct.pack(f"<{len(values)}d", *values)


def unpack_floats(data: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(data) // 8}d", data)


def media_keys_of(media: list[MediaRow], histograms: list[HistogramRow], traces: list[TraceRow]) -> set[str]:
    return {m.key for m in media} | {h.key for h in histograms} | {t.key for t in traces}


def insert_media(
    conn: sqlite3.Connection,
    run_id: int,
    ids: dict[str, int],
    numbers: Any,
    media: list[MediaRow],
    histograms: list[HistogramRow],
    traces: list[TraceRow],
    files: list[MediaFile],
) -> None:
    """Insert a run's media, histograms and traces and the project's new media files (``numbers``: `_RunSeqs`)."""
    if files:
        conn.executemany(
            "INSERT INTO media_files (digest, format, size) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
            [(f.digest, f.format, f.size) for f in files],
        )
    if media:
        seqs = numbers(conn, "media", run_id)
        conn.executemany(
            """INSERT INTO media (run_id, key_id, step, timestamp, item, kind, caption, digest, format, size, width,
                                  height, duration, run_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    run_id,
                    ids[m.key],
                    m.step,
                    m.timestamp,
                    m.item,
                    m.kind,
                    m.caption,
                    m.digest,
                    m.format,
                    m.size,
                    m.width,
                    m.height,
                    m.duration,
                    seqs.take(1, m.seq),
                )
                for m in media
            ],  # fmt: skip
        )
    if histograms:
        seqs = numbers(conn, "histograms", run_id)
        conn.executemany(
            """INSERT INTO histograms (run_id, key_id, step, timestamp, edges, counts, run_seq)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            [
                (
                    run_id,
                    ids[h.key],
                    h.step,
                    h.timestamp,
                    pack_floats(h.edges),
                    pack_floats(h.counts),
                    seqs.take(1, h.seq),
                )
                for h in histograms
            ],
        )
    if traces:
        seqs = numbers(conn, "traces", run_id)
        conn.executemany(
            "INSERT INTO traces (run_id, key_id, step, timestamp, value, run_seq) VALUES (?, ?, ?, ?, ?, ?)",
            [(run_id, ids[t.key], t.step, t.timestamp, t.value, seqs.take(1, t.seq)) for t in traces],
        )


class MediaRecords(Connection):
    """Reads of a run's media, histograms and traces (oldest first), and of the project's media files."""

    def _keys_of(self, table: str, run_id: int) -> list[str]:
        rows = self._read(
            f"""SELECT DISTINCT k.name FROM {table} x JOIN metric_keys k ON k.id = x.key_id
                WHERE x.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def _window(self, sql: str, alias: str, run_id: int, key_id: int | None, after: int | None, until: int | None):
        params: list[Any] = [run_id]
        if key_id is not None:
            sql += f" AND {alias}.key_id = ?"
            params.append(key_id)
        if after is not None:
            sql += f" AND {alias}.run_seq > ? AND {alias}.run_seq <= ?"
            params += [after, until]
        return self._read(sql + f" ORDER BY {alias}.run_seq", params)

    # -- media ----------------------------------------------------------------------------------

    def media_keys(self, run_id: int) -> list[str]:
        return self._keys_of("media", run_id)

    def media(self, run_id: int, key_id: int | None = None) -> list[MediaRow]:
        """The run's media (of one key), in the order they were logged."""
        return [MediaRow._make(row) for row in self._window(_MEDIA, "m", run_id, key_id, None, None)]

    def media_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[MediaRow]:
        """The run's media in a seq window ``after_seq < seq <= until_seq``."""
        return [MediaRow._make(row) for row in self._window(_MEDIA, "m", run_id, None, after_seq, until_seq)]

    def media_files(self) -> list[MediaFile]:
        """Every file the project's media reference, by digest."""
        return [
            MediaFile._make(row) for row in self._read("SELECT digest, format, size FROM media_files ORDER BY digest")
        ]

    def media_file(self, digest: str) -> MediaFile | None:
        rows = self._read("SELECT digest, format, size FROM media_files WHERE digest = ?", (digest,))
        return MediaFile._make(rows[0]) if rows else None

    # -- histograms -----------------------------------------------------------------------------

    def histogram_keys(self, run_id: int) -> list[str]:
        return self._keys_of("histograms", run_id)

    def histograms(self, run_id: int, key_id: int | None = None) -> list[HistogramRow]:
        return [_histogram(row) for row in self._window(_HISTOGRAMS, "h", run_id, key_id, None, None)]

    def histogram_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[HistogramRow]:
        return [_histogram(row) for row in self._window(_HISTOGRAMS, "h", run_id, None, after_seq, until_seq)]

    # -- traces ---------------------------------------------------------------------------------

    def trace_keys(self, run_id: int) -> list[str]:
        return self._keys_of("traces", run_id)

    def traces(self, run_id: int, key_id: int | None = None) -> list[TraceRow]:
        return [TraceRow._make(row) for row in self._window(_TRACES, "t", run_id, key_id, None, None)]

    def trace_rows(self, run_id: int, after_seq: int, until_seq: int) -> list[TraceRow]:
        return [TraceRow._make(row) for row in self._window(_TRACES, "t", run_id, None, after_seq, until_seq)]


def _histogram(row: tuple) -> HistogramRow:
    timestamp, step, key, edges, counts, seq = row
    return HistogramRow(timestamp, step, key, unpack_floats(edges), unpack_floats(counts), seq)
