"""Metrics: batches of ``log()`` calls, their per-key chunks and summaries: writes, compaction, reads.

`insert_batches` writes inside the caller's transaction (`Store.append`, pulled data); `Metrics` is
the part of `Store` that compacts a run's batches and reads its series back (decoded by `chunks`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from . import codec
from .batch import Batch, block_extremes
from .chunks import CHUNK_COLUMNS, ChunkRow, SeriesData, chunk_positions, decode_chunks
from .connection import Connection
from .schema import UPSERT_SUMMARY, summary_params

_INSERT_BATCH = """INSERT INTO batches (run_id, first_seq, size, min_step, max_step, steps, times)
                   VALUES (?, ?, ?, ?, ?, ?, ?)"""
_INSERT_CHUNK = "INSERT INTO chunks (run_id, key_id, batch_id, positions, count, vals) VALUES (?, ?, ?, ?, ?, ?)"
_INSERT_EXTREMES = "INSERT INTO chunk_extremes (run_id, key_id, batch_id, blocks) VALUES (?, ?, ?, ?)"


def batch_keys(batches: list[Batch]) -> set[str]:
    """The metric key names ``batches`` hold (`Connection._transact_with_keys` gives their ids)."""
    return {key for batch in batches for key in batch.columns}


def insert_batches(conn: sqlite3.Connection, run_id: int, ids: dict[str, int], batches: list[Batch]) -> None:
    """Insert ``batches`` with their chunks, and fold them into the run's summaries (``ids``: key name -> id)."""
    for batch in batches:
        batch_id = conn.execute(
            _INSERT_BATCH,
            (run_id, batch.first_seq, batch.size, batch.min_step, batch.max_step, batch.steps, batch.times),
        ).lastrowid
        columns = batch.columns.items()
        conn.executemany(
            _INSERT_CHUNK, [(run_id, ids[k], batch_id, c.positions, c.count, c.values) for k, c in columns]
        )
        conn.executemany(_INSERT_EXTREMES, [(run_id, ids[k], batch_id, c.extremes) for k, c in columns])
        conn.executemany(UPSERT_SUMMARY, [summary_params(run_id, ids[k], c) for k, c in columns])


class Metrics(Connection):
    """Compaction and reads of a project's metrics."""

    def compact(self, run_id: int, *, small: int = 1024, target: int = 8192) -> int:
        """Merge runs of consecutive small batches of ``run_id`` into batches of up to ``target`` calls.

        Seq numbers, steps, times and values are unchanged; only the number of rows shrinks (a run
        logging once per second otherwise leaves one small batch per flush). Returns batches removed.
        """

        def body(conn: sqlite3.Connection) -> int:
            rows = conn.execute(
                "SELECT id, first_seq, size, steps, times FROM batches WHERE run_id = ? ORDER BY first_seq",
                (run_id,),
            ).fetchall()
            groups, current, total = [], [], 0
            for row in rows:
                size = row[2]
                if size >= small or total + size > target:
                    if len(current) > 1:
                        groups.append(current)
                    current, total = [], 0
                if size < small:
                    current.append(row)
                    total += size
            if len(current) > 1:
                groups.append(current)
            removed = 0
            for group in groups:
                _merge_batches(conn, run_id, group)
                removed += len(group) - 1
            return removed

        return self._transact(body)

    def metric_keys(self, run_id: int) -> list[str]:
        rows = self._read(
            """SELECT k.name FROM metric_summaries s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        return [r[0] for r in rows]

    def summaries(self, run_id: int) -> dict[str, dict[str, Any]]:
        rows = self._read(
            """SELECT k.name, s.count, s.nan_count, s.first_step, s.last_step, s.last_value, s.last_time,
                      s.min_value, s.max_value
               FROM metric_summaries s JOIN metric_keys k ON k.id = s.key_id
               WHERE s.run_id = ? ORDER BY k.name""",
            (run_id,),
        )
        nan = float("nan")
        return {
            name: {
                "count": count,
                "nan_count": nans,
                "first_step": first_step,
                "last_step": last_step,
                "last": nan if last is None else last,
                "last_timestamp": last_time,
                "min": nan if low is None else low,
                "max": nan if high is None else high,
            }
            for name, count, nans, first_step, last_step, last, last_time, low, high in rows
        }

    def series_chunks(
        self, run_id: int, key_id: int, min_step: int | None = None, max_step: int | None = None
    ) -> list[ChunkRow]:
        """The encoded chunks of one key, in log order, of the batches that reach into a step range.

        What `series` decodes (and `arrays.decode_chunks`, with numpy). Points outside the range are still in them.
        """
        sql = f"""SELECT {CHUNK_COLUMNS} FROM chunks c JOIN batches b ON b.id = c.batch_id
                  WHERE c.run_id = ? AND c.key_id = ?"""
        where, params = _reaching("b.", min_step, max_step)
        return [
            ChunkRow._make(row) for row in self._read(sql + where + " ORDER BY b.first_seq", [run_id, key_id, *params])
        ]

    def keys_chunks(
        self, run_id: int, key_ids: list[int], min_step: int | None = None, max_step: int | None = None
    ) -> list[ChunkRow]:
        """`series_chunks` of several keys of one run at once, in log order (keys interleaved).

        Each batch's step and time columns are read once and shared (the same ``bytes`` objects) by
        its chunks, so a decoder can decode them once per batch (`arrays.decode_keys`). Both reads
        are one read transaction: a compaction committed meanwhile cannot mix old and new batches.
        """
        if not key_ids:
            return []
        where, params = _reaching("", min_step, max_step)
        batch_sql = "SELECT id, first_seq, size, steps, times FROM batches WHERE run_id = ?" + where
        batch_params = [run_id, *params]
        marks = ",".join("?" * len(key_ids))
        chunk_sql = (
            f"SELECT key_id, batch_id, positions, count, vals FROM chunks WHERE run_id = ? AND key_id IN ({marks})"
        )

        batch_rows, chunk_rows = self._read_together((batch_sql, batch_params), (chunk_sql, (run_id, *key_ids)))
        batches = {row[0]: row[1:] for row in batch_rows}
        rows = [
            ChunkRow(key_id, *batch, positions, count, vals)
            for key_id, batch_id, positions, count, vals in chunk_rows
            if (batch := batches.get(batch_id)) is not None  # outside the step range
        ]
        rows.sort(key=lambda row: row.first_seq)  # stable: each key's chunks stay in log order
        return rows

    def keys_blocks(self, run_id: int, key_ids: list[int]) -> list[tuple[ChunkRow, bytes | None]]:
        """`keys_chunks` (every step) with each chunk's extremes (`extremes`) and without its values, in log order.

        A chunk written before schema v11 has no extremes: its row comes with its values (``vals``), and None. Both
        reads are one read transaction, as in `keys_chunks`.
        """
        if not key_ids:
            return []
        marks = ",".join("?" * len(key_ids))
        chunk_sql = f"""SELECT c.key_id, c.batch_id, c.positions, c.count, e.blocks,
                               CASE WHEN e.blocks IS NULL THEN c.vals END
                        FROM chunks c LEFT JOIN chunk_extremes e
                             ON e.run_id = c.run_id AND e.key_id = c.key_id AND e.batch_id = c.batch_id
                        WHERE c.run_id = ? AND c.key_id IN ({marks})"""

        batch_sql = "SELECT id, first_seq, size, steps, times FROM batches WHERE run_id = ?"
        batch_rows, chunk_rows = self._read_together((batch_sql, (run_id,)), (chunk_sql, (run_id, *key_ids)))
        batches = {row[0]: row[1:] for row in batch_rows}
        rows = [
            (ChunkRow(key_id, *batches[batch_id], positions, count, vals), blocks)
            for key_id, batch_id, positions, count, blocks, vals in chunk_rows
        ]
        rows.sort(key=lambda row: row[0].first_seq)
        return rows

    def _read_together(self, *statements: tuple[str, Any]) -> list[list[tuple]]:
        """The rows of each ``(sql, params)``, read in one read transaction (one snapshot of the file)."""

        def read() -> list[list[tuple]]:
            conn = self._conn
            conn.execute("BEGIN")
            try:
                return [conn.execute(sql, tuple(params)).fetchall() for sql, params in statements]
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

        return self._retry(read)

    def series(self, run_id: int, key_id: int, min_step: int | None = None, max_step: int | None = None) -> SeriesData:
        """One key's points, in log order, optionally within a step range."""
        rows = self.series_chunks(run_id, key_id, min_step, max_step)
        data = decode_chunks(rows).get(key_id, SeriesData([], [], [], []))
        if min_step is None and max_step is None:
            return data
        low = min_step if min_step is not None else -(2**63)
        high = max_step if max_step is not None else 2**63
        return _keep(data, lambda i: low <= data.steps[i] <= high)

    def points(self, run_id: int, after_seq: int = -1, until_seq: int | None = None) -> dict[str, SeriesData]:
        """Every key's points of the ``log()`` calls ``after_seq < seq <= until_seq``: what a sync sends."""
        sql = f"""SELECT {CHUNK_COLUMNS} FROM chunks c JOIN batches b ON b.id = c.batch_id
                  WHERE c.run_id = ? AND b.first_seq + b.size - 1 > ?"""
        params: list[Any] = [run_id, after_seq]
        if until_seq is not None:
            sql += " AND b.first_seq <= ?"
            params.append(until_seq)
        decoded = decode_chunks(ChunkRow._make(row) for row in self._read(sql + " ORDER BY b.first_seq", params))
        names = dict(self._read("SELECT id, name FROM metric_keys"))
        high = until_seq if until_seq is not None else 2**63
        result = {}
        for key_id, data in decoded.items():
            data = _keep(data, lambda i, d=data: after_seq < d.seqs[i] <= high)
            if data.seqs:
                result[names[key_id]] = data
        return result


def _merge_batches(conn: sqlite3.Connection, run_id: int, group: list[tuple]) -> None:
    """Replace the consecutive batches ``group`` (rows ``id, first_seq, size, steps, times``) by one."""
    first_seq = group[0][1]
    size = sum(r[2] for r in group)
    steps: list[int] = []
    micros: list[int] = []
    for _, _, n, step_blob, time_blob in group:
        steps.extend(codec.decode_ints(step_blob, n))
        micros.extend(codec.decode_ints(time_blob, n))
    offsets = {r[0]: (r[1] - first_seq, r[2]) for r in group}
    marks = ",".join("?" * len(group))
    chunks = conn.execute(
        f"SELECT key_id, batch_id, positions, count, vals FROM chunks WHERE batch_id IN ({marks})",
        tuple(offsets),
    ).fetchall()
    # Values are moved as they are stored (float64 bytes, concatenated): only positions are decoded.
    merged: dict[int, tuple[list[int], list[bytes]]] = {}
    for key_id, batch_id, positions, count, vals in sorted(chunks, key=lambda c: offsets[c[1]][0]):
        offset, n = offsets[batch_id]
        entry = merged.setdefault(key_id, ([], []))
        entry[0].extend(offset + p for p in chunk_positions(positions, count, n))
        entry[1].append(vals)
    conn.execute(f"DELETE FROM chunks WHERE batch_id IN ({marks})", tuple(offsets))
    conn.execute(f"DELETE FROM batches WHERE id IN ({marks})", tuple(offsets))
    batch_id = conn.execute(
        _INSERT_BATCH,
        (run_id, first_seq, size, min(steps), max(steps), codec.encode_ints(steps), codec.encode_ints(micros)),
    ).lastrowid
    chunks = [
        (key_id, None if len(where) == size else codec.encode_ints(where), len(where), b"".join(parts))
        for key_id, (where, parts) in merged.items()
    ]
    conn.executemany(_INSERT_CHUNK, [(run_id, key_id, batch_id, *rest) for key_id, *rest in chunks])
    # The merged values' extremes (the trigger deleted the merged chunks' own with them).
    conn.executemany(
        _INSERT_EXTREMES,
        [(run_id, key_id, batch_id, block_extremes(codec.decode_floats(vals), vals)) for key_id, *_, vals in chunks],
    )


def _keep(data: SeriesData, wanted: Callable[[int], bool]) -> SeriesData:
    """The points ``i`` of ``data`` for which ``wanted(i)``."""
    keep = [i for i in range(len(data.seqs)) if wanted(i)]
    if len(keep) == len(data.seqs):
        return data
    return SeriesData(*([column[i] for i in keep] for column in (data.seqs, data.steps, data.micros, data.values)))


def _reaching(table: str, min_step: int | None, max_step: int | None) -> tuple[str, list[int]]:
    """The SQL condition (`` AND ...``, on ``table``'s batch columns) and parameters of the batches that reach
    into the step range [min_step, max_step] (a bound of None: open)."""
    where, params = "", []
    if min_step is not None:
        where, params = where + f" AND {table}max_step >= ?", [*params, min_step]
    if max_step is not None:
        where, params = where + f" AND {table}min_step <= ?", [*params, max_step]
    return where, params
