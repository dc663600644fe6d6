"""Run management in one project file: deleting, renaming and copying out (moving) a run, and what datasets owe.

`Removal` is the part of `Store` that owns ``removed_runs`` and ``pending_removals``. Every table that
holds a run's rows is found in the schema itself (`run_tables`: each table with a ``run_id`` column), so
a kind of row added later is deleted and moved with the run without a change here. Rows that name a run
by uid (artifact lineage, saved files) are project-level: the run's own ones (uid NOT NULL) are deleted,
references to it (a nullable uid, e.g. an artifact version's producer) are cleared, and a moved run
leaves its artifacts in the project they belong to, as trackio does.

A removed run's Hub files are deleted by the next sync to each dataset that holds them
(`pending_removals` lists them; `hub.uploader` deletes them, then `finish_removal` forgets the run's
ledger rows). A run with a live writer (its lease, see `runs`) is never deleted, renamed or moved.

A move is two transactions in two files: `import_run` copies the run (uid and every row) into the
other project, then `remove_run` deletes it here. Killed in between, the run is in both; running
the move again finds the copy complete and only deletes it here.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, NamedTuple

from ..errors import InvalidNameError, RunInUseError, TrackioError
from .connection import Connection
from .runs import RUN_COLUMNS, RunRow, derived_status

REASONS = ("deleted", "moved")
LEDGER_TABLES = ("sync_state", "synced_files", "pending_files", "pending_removals")  # by run_uid, per dataset
_RUN_TABLE = "runs"
_KEY_TABLE = "metric_keys"


class RemovedRun(NamedTuple):
    """A run deleted from this project, or moved to another (``moved_to``)."""

    uid: str
    name: str
    removed_at: float
    reason: str  # deleted | moved
    moved_to: str | None


class RunTable(NamedTuple):
    """A table that holds a run's rows, as the schema declares it."""

    name: str
    columns: tuple[str, ...]
    rowid: str | None  # its INTEGER PRIMARY KEY column: renumbered in another file
    refs: dict[str, str]  # column -> the table whose id it holds (runs, metric_keys, another run table)


class RunCopy(NamedTuple):
    """Everything of one run in a portable form: what `import_run` writes into another project file."""

    run: dict[str, Any]  # the runs row by column (its id left out)
    keys: dict[int, str]  # the metric key names its rows use, by their id in the source file
    rows: dict[str, list[tuple]]  # table -> rows, columns as `RunTable.columns`, in `run_tables` order
    counts: dict[str, int]  # table -> how many rows: with ``next_seq``, how far the run got


def run_tables(conn: sqlite3.Connection) -> list[RunTable]:
    """Every table with a ``run_id`` column, the tables others point to first.

    A column points to another table by a declared foreign key, or by name: ``run_id`` to ``runs``,
    ``key_id`` to ``metric_keys`` (some tables declare none).
    """
    names = [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
    ]
    tables: dict[str, RunTable] = {}
    for name in names:
        info = conn.execute(f'PRAGMA table_info("{name}")').fetchall()  # cid, name, type, notnull, default, pk
        columns = tuple(row[1] for row in info)
        if "run_id" not in columns or name == _RUN_TABLE:
            continue
        keys = [row for row in info if row[5]]
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        rowid = None
        if len(keys) == 1 and keys[0][2].upper() == "INTEGER" and "WITHOUT ROWID" not in sql.upper():
            rowid = keys[0][1]
        refs = {row[3]: row[2] for row in conn.execute(f'PRAGMA foreign_key_list("{name}")')}
        refs.setdefault("run_id", _RUN_TABLE)
        if "key_id" in columns:
            refs.setdefault("key_id", _KEY_TABLE)
        tables[name] = RunTable(name, columns, rowid, refs)
    ordered: list[RunTable] = []

    def visit(table: RunTable, path: tuple[str, ...]) -> None:
        if table in ordered or table.name in path:
            return
        for target in table.refs.values():
            if target in tables:
                visit(tables[target], (*path, table.name))
        ordered.append(table)

    for table in tables.values():
        visit(table, ())
    return ordered


def uid_columns(conn: sqlite3.Connection) -> list[tuple[str, str, bool]]:
    """``(table, column, owned)`` for each column naming a run by uid outside the ledger (``run_uid``,
    ``*_run_uid``): ``owned`` when NOT NULL (the row is the run's), else a reference to it."""
    found = []
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"):
        if name in LEDGER_TABLES or name == _RUN_TABLE:
            continue
        for _, column, _, notnull, _, pk in conn.execute(f'PRAGMA table_info("{name}")').fetchall():
            if column == "run_uid" or column.endswith("_run_uid"):
                found.append((name, column, bool(notnull or pk)))
    return found


def _counts(conn: sqlite3.Connection, tables: list[RunTable], run_id: int) -> dict[str, int]:
    return {
        t.name: conn.execute(f'SELECT count(*) FROM "{t.name}" WHERE run_id = ?', (run_id,)).fetchone()[0]
        for t in tables
    }


def _row(conn: sqlite3.Connection, where: str, value: Any) -> RunRow | None:
    found = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE {where} = ?", (value,)).fetchone()
    return RunRow.from_row(found) if found is not None else None


def check_free(row: RunRow, doing: str, now: float | None = None) -> None:
    """Raise `RunInUseError` if a live process writes ``row`` here (a pulled run has no writer here)."""
    if row.pid is not None and derived_status(row, now) == "running":
        raise RunInUseError(
            f"cannot {doing} run {row.name!r}: it is being written by process {row.pid} on host {row.hostname!r}; "
            f"finish it first (or wait until its writer stops)"
        )


def delete_rows(conn: sqlite3.Connection, tables: list[RunTable], row: RunRow) -> None:
    """Delete the run's rows in every table, its own uid-named rows, and clear references to its uid."""
    for table in reversed(tables):
        conn.execute(f'DELETE FROM "{table.name}" WHERE run_id = ?', (row.id,))
    for table, column, owned in uid_columns(conn):
        if owned:
            conn.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (row.uid,))
        else:
            conn.execute(f'UPDATE "{table}" SET "{column}" = NULL WHERE "{column}" = ?', (row.uid,))
    conn.execute("DELETE FROM runs WHERE id = ?", (row.id,))


def _ledger_datasets(conn: sqlite3.Connection, uid: str) -> list[str]:
    union = " UNION ".join(f"SELECT dataset_id FROM {t} WHERE run_uid = :uid" for t in LEDGER_TABLES)
    return sorted(r[0] for r in conn.execute(union, {"uid": uid}))


class Removal(Connection):
    """Deleting, renaming and moving runs; the removals each dataset is owed."""

    # -- delete, rename -----------------------------------------------------------------------------

    def remove_run(
        self, run_id: int, reason: str = "deleted", moved_to: str | None = None, expected: RunCopy | None = None
    ) -> RunRow:
        """Delete the run and every row of it in one transaction, and record it as removed (``reason``).

        Each dataset the ledger says holds its files gets a pending removal. ``expected`` (a move): the
        copy made of the run; `TrackioError` if the run changed since. `RunInUseError` while it has a writer.
        """
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(map(repr, REASONS))}, got {reason!r}")

        def body(conn: sqlite3.Connection) -> RunRow:
            row = _row(conn, "id", run_id)
            if row is None:
                raise TrackioError(f"run id {run_id} is no longer in {self.path}")
            check_free(row, "move" if reason == "moved" else "delete")
            tables = run_tables(conn)
            if expected is not None and (
                _counts(conn, tables, row.id) != expected.counts or row.next_seq != expected.run["next_seq"]
            ):
                raise TrackioError(f"run {row.name!r} was written to while it was being moved; move it again")
            conn.executemany(
                "INSERT OR IGNORE INTO pending_removals (dataset_id, run_uid) VALUES (?, ?)",
                [(dataset, row.uid) for dataset in _ledger_datasets(conn, row.uid)],
            )
            conn.execute(
                "INSERT OR REPLACE INTO removed_runs (uid, name, removed_at, reason, moved_to) VALUES (?, ?, ?, ?, ?)",
                (row.uid, row.name, time.time(), reason, moved_to),
            )
            delete_rows(conn, tables, row)
            return row

        return self._transact(body)

    def rename_run(self, run_id: int, new_name: str) -> RunRow:
        """Give the run ``new_name`` (a valid run name); `InvalidNameError` when another run has it."""

        def body(conn: sqlite3.Connection) -> RunRow:
            row = _row(conn, "id", run_id)
            if row is None:
                raise TrackioError(f"run id {run_id} is no longer in {self.path}")
            check_free(row, "rename")
            if new_name == row.name:
                return row
            if _row(conn, "name", new_name) is not None:
                raise InvalidNameError(f"cannot rename run {row.name!r} to {new_name!r}: a run of that name exists")
            conn.execute("UPDATE runs SET name = ? WHERE id = ?", (new_name, run_id))
            return _row(conn, "id", run_id)

        return self._transact(body)

    # -- move: copy out, copy in ----------------------------------------------------------------------

    def export_run(self, run_id: int) -> RunCopy:
        """The run with every row of it, read in one transaction (writers wait). `RunInUseError` while written."""

        def body(conn: sqlite3.Connection) -> RunCopy:
            row = _row(conn, "id", run_id)
            if row is None:
                raise TrackioError(f"run id {run_id} is no longer in {self.path}")
            check_free(row, "move")
            names = [c.strip() for c in RUN_COLUMNS.split(",")]
            values = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            run = {name: value for name, value in zip(names, values) if name != "id"}
            tables = run_tables(conn)
            rows = {
                t.name: conn.execute(
                    f"SELECT {', '.join(map(_quote, t.columns))} FROM {_quote(t.name)} WHERE run_id = ?", (run_id,)
                ).fetchall()
                for t in tables
            }
            key_ids = {
                r[t.columns.index(c)]
                for t in tables
                for c, target in t.refs.items()
                if target == _KEY_TABLE
                for r in rows[t.name]
            }
            keys = {i: n for i, n in conn.execute("SELECT id, name FROM metric_keys") if i in key_ids}
            return RunCopy(run, keys, rows, {name: len(found) for name, found in rows.items()})

        return self._transact(body)

    def import_run(self, copy: RunCopy) -> RunRow:
        """Write ``copy`` (another project's run) here with its uid, in one transaction; returns its row here.

        A run of that uid already here (a move killed after copying) is kept when it holds as much as
        the copy, replaced when it holds less; `TrackioError` when it holds more (it was continued here).
        `InvalidNameError` when another run here has the name.
        """
        uid, name = copy.run["uid"], copy.run["name"]

        def body(conn: sqlite3.Connection, ids: dict[str, int]) -> RunRow:
            tables = run_tables(conn)
            existing = _row(conn, "uid", uid)
            if existing is not None:
                counts = _counts(conn, tables, existing.id)
                if counts == copy.counts and existing.next_seq == copy.run["next_seq"]:
                    conn.execute("DELETE FROM removed_runs WHERE uid = ?", (uid,))
                    return existing
                if existing.next_seq > copy.run["next_seq"] or any(
                    counts.get(t, 0) > n for t, n in copy.counts.items()
                ):
                    raise TrackioError(
                        f"run {existing.name!r} (uid {uid}) in {self.path.name} holds more than the copy being moved "
                        f"in: it was continued there; delete one of the two first"
                    )
                check_free(existing, "replace")
                delete_rows(conn, tables, existing)
            if _row(conn, "name", name) is not None:
                raise InvalidNameError(
                    f"cannot move run {name!r} into {self.path.name}: a run of that name is there; rename one first"
                )
            columns = list(copy.run)
            cursor = conn.execute(
                f"INSERT INTO runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                [copy.run[c] for c in columns],
            )
            _insert_rows(conn, tables, copy, cursor.lastrowid, {old: ids[n] for old, n in copy.keys.items()})
            conn.execute("DELETE FROM removed_runs WHERE uid = ?", (uid,))
            return _row(conn, "id", cursor.lastrowid)

        return self._transact_with_keys(set(copy.keys.values()), body)

    # -- what datasets are owed -----------------------------------------------------------------------

    def removed_runs(self) -> list[RemovedRun]:
        """The runs removed from this project (deleted, or moved away and not back), oldest first."""
        rows = self._read(
            """SELECT uid, name, removed_at, reason, moved_to FROM removed_runs
               WHERE uid NOT IN (SELECT uid FROM runs) ORDER BY removed_at"""
        )
        return [RemovedRun._make(row) for row in rows]

    def pending_removals(self, dataset_id: str) -> list[str]:
        """The uids of the removed runs whose files ``dataset_id`` may still hold, sorted.

        Those recorded at removal, and any removed run the ledger has rows of for the dataset (a sync
        that was sending it when it was removed recorded them after).
        """
        ledger = LEDGER_TABLES[:3]
        exists = " OR ".join(f"EXISTS (SELECT 1 FROM {t} WHERE dataset_id = ? AND run_uid = r.uid)" for t in ledger)
        rows = self._read(
            f"""SELECT run_uid FROM pending_removals WHERE dataset_id = ?
                UNION SELECT r.uid FROM removed_runs r WHERE r.uid NOT IN (SELECT uid FROM runs) AND ({exists})
                ORDER BY 1""",
            [dataset_id] * (1 + len(ledger)),
        )
        return [r[0] for r in rows]

    def removal_datasets(self) -> list[str]:
        """Every dataset owed a removal (`pending_removals` is not empty there), sorted."""
        union = " UNION ".join(
            f"SELECT dataset_id FROM {t} WHERE run_uid IN (SELECT uid FROM removed_runs WHERE uid NOT IN "
            f"(SELECT uid FROM runs))"
            for t in LEDGER_TABLES[:3]
        )
        return [r[0] for r in self._read(f"SELECT dataset_id FROM pending_removals UNION {union} ORDER BY 1")]

    def finish_removal(self, dataset_id: str, run_uid: str) -> None:
        """``dataset_id`` no longer holds any file of the run: forget its ledger rows there and the pending removal."""

        def body(conn: sqlite3.Connection) -> None:
            for table in LEDGER_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE dataset_id = ? AND run_uid = ?", (dataset_id, run_uid))

        self._transact(body)

    def forget_run(self, run_id: int) -> RunRow | None:
        """Delete the run, its rows and its ledger rows, recording nothing (a mirror's run its dataset no longer
        holds). None when it is gone already; `RunInUseError` while it has a writer."""

        def body(conn: sqlite3.Connection) -> RunRow | None:
            row = _row(conn, "id", run_id)
            if row is None:
                return None
            check_free(row, "delete")
            delete_rows(conn, run_tables(conn), row)
            for table in LEDGER_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE run_uid = ?", (row.uid,))
            return row

        return self._transact(body)


def _quote(name: str) -> str:
    return f'"{name}"'


def _insert_rows(
    conn: sqlite3.Connection, tables: list[RunTable], copy: RunCopy, run_id: int, key_ids: dict[int, int]
) -> None:
    """Insert the copy's rows as the run ``run_id``: its ids mapped to this file's (keys by name, rows renumbered)."""
    referenced = {target for t in tables for target in t.refs.values()}
    renumbered: dict[str, dict[int, int]] = {}
    for table in tables:
        rows = copy.rows.get(table.name, [])
        if not rows:
            continue
        maps: dict[int, Any] = {}
        for column, target in table.refs.items():
            index = table.columns.index(column)
            if target == _RUN_TABLE:
                maps[index] = lambda _old: run_id
            elif target == _KEY_TABLE:
                maps[index] = key_ids.__getitem__
            elif any(t.name == target for t in tables):  # inserted before: `run_tables` puts it first
                maps[index] = renumbered.setdefault(target, {}).__getitem__
            else:
                raise TrackioError(f"{table.name}.{column} points to {target}, which a run does not carry along")
        keep = [i for i, column in enumerate(table.columns) if column != table.rowid]
        sql = (
            f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(table.columns[i]) for i in keep)}) "
            f"VALUES ({', '.join('?' * len(keep))})"
        )

        if table.rowid is not None and table.name in referenced:
            numbers = renumbered.setdefault(table.name, {})
            old_index = table.columns.index(table.rowid)
            for row in rows:
                numbers[row[old_index]] = conn.execute(sql, _mapped(row, maps, keep)).lastrowid
        else:
            conn.executemany(sql, [_mapped(row, maps, keep) for row in rows])


def _mapped(row: tuple, maps: dict[int, Any], keep: list[int]) -> list[Any]:
    """The columns ``keep`` of ``row``, ids mapped by ``maps`` (column index -> old id -> new id)."""
    return [maps[i](row[i]) if i in maps and row[i] is not None else row[i] for i in keep]
