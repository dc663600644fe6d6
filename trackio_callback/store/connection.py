"""`Connection`: the SQLite connection of one project file, the base every job of `Store` builds on.

Owns opening the file (PRAGMAs, schema migration), the busy retry, the two ways statements run
(`Connection._transact` for writes, `Connection._read`), and the ids of metric key names.

Several processes may write one project at once (one run each, e.g. a sweep): writes are short
``BEGIN IMMEDIATE`` transactions, SQLite's busy timeout waits for the lock and a retry with backoff
(`utils.retry`) covers what the timeout does not, so "database is locked" never reaches the caller
unless the lock is held for over a minute (`StoreBusyError`). The file uses WAL with memory-mapped
I/O off, or the rollback journal on network filesystems (see `fs`).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from ..errors import SchemaVersionError, StoreBusyError
from ..utils.retry import retry
from . import fs
from .schema import MIGRATIONS, SCHEMA_VERSION

T = TypeVar("T")
RETRY_BUDGET_S = 60.0  # how long writers wait for a lock other processes hold before giving up
RETRY_BASE_S = 0.02  # first wait of the backoff; doubles up to RETRY_CAP_S
RETRY_CAP_S = 1.0


def _is_busy(error: BaseException) -> bool:
    if not isinstance(error, sqlite3.OperationalError):
        return False
    message = str(error).lower()
    return "locked" in message or "busy" in message


class Connection:
    """One connection to a project file, shared by a process's threads (every statement holds `_lock`)."""

    def __init__(self, path: Path, *, create: bool = True, busy_timeout: float = 10.0):
        self.path = Path(path).absolute()
        if create:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        elif not self.path.exists():
            raise FileNotFoundError(self.path)
        self.journal_mode = fs.journal_mode(self.path.parent)
        self._lock = threading.RLock()  # the connection is shared by the run's threads
        self._key_ids: dict[str, int] = {}
        self.leases: dict[int, tuple[str | None, int | None]] = {}  # run id -> (host, pid): runs opened to write
        uri = self.path.as_uri() + ("" if create else "?mode=rw")
        self._conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            self._retry(self._configure)
            self._retry(self._migrate)
        except BaseException:
            self._conn.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _configure(self) -> None:
        conn = self._conn
        conn.execute("PRAGMA mmap_size=0")  # no memory maps: SIGBUS on network filesystems
        current = conn.execute("PRAGMA journal_mode").fetchone()[0].lower()
        if current != self.journal_mode:
            conn.execute(f"PRAGMA journal_mode={self.journal_mode}")
        # WAL + NORMAL survives any process crash; only an OS crash can lose the last commits.
        conn.execute("PRAGMA synchronous=" + ("NORMAL" if self.journal_mode == "wal" else "FULL"))

    def _migrate(self) -> None:
        version = self._conn.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has schema version {version}, newer than this trackio-callback "
                f"understands ({SCHEMA_VERSION}); upgrade trackio-callback to read it"
            )

        def migrate(conn: sqlite3.Connection) -> None:
            found = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have won
            for step in range(found, SCHEMA_VERSION):
                MIGRATIONS[step](conn)
                conn.execute(f"PRAGMA user_version={step + 1}")

        self._transact(migrate)

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA user_version").fetchone()[0]

    def integrity_check(self) -> str:
        return self._read("PRAGMA integrity_check")[0][0]

    # -- running statements ---------------------------------------------------------------------

    def _retry(self, fn: Callable[[], T]) -> T:
        """``fn()`` under the lock, retried while another process holds the database (lock released between tries)."""

        def attempt() -> T:
            with self._lock:
                return fn()

        def give_up(error: BaseException) -> BaseException:
            return StoreBusyError(f"{self.path} stayed locked by other writers for over {RETRY_BUDGET_S:.0f} s")

        return retry(
            attempt,
            retryable=_is_busy,
            deadline=time.monotonic() + RETRY_BUDGET_S,
            on_give_up=give_up,
            base=RETRY_BASE_S,
            cap=RETRY_CAP_S,
        )

    def _transact(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body`` in one write transaction, retried whole while the database is busy."""

        def attempt() -> T:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
                return result
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

        return self._retry(attempt)

    def _read(self, sql: str, params: Iterable = ()) -> list[tuple]:
        return self._retry(lambda: self._conn.execute(sql, tuple(params)).fetchall())

    # -- metric key ids -------------------------------------------------------------------------

    def key_id(self, name: str) -> int | None:
        """The id of a metric, system metric or table key name; None when nothing logged it yet."""
        if name in self._key_ids:
            return self._key_ids[name]
        rows = self._read("SELECT id FROM metric_keys WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def _transact_with_keys(self, names: set[str], body: Callable[[sqlite3.Connection, dict[str, int]], T]) -> T:
        """`_transact` of ``body(conn, ids)``, with ``ids`` the key ids of ``names`` (missing names inserted).

        Ids of inserted names are cached only once the transaction committed: a rolled-back insert's
        id may be given to another name later.
        """
        new_ids: dict[str, int] = {}

        def with_ids(conn: sqlite3.Connection) -> T:
            new_ids.clear()  # a retried attempt starts over
            missing = [n for n in names if n not in self._key_ids]
            if missing:
                conn.executemany("INSERT OR IGNORE INTO metric_keys (name) VALUES (?)", [(n,) for n in missing])
                for n in missing:
                    new_ids[n] = conn.execute("SELECT id FROM metric_keys WHERE name = ?", (n,)).fetchone()[0]
            return body(conn, {**self._key_ids, **new_ids})

        result = self._transact(with_ids)
        self._key_ids.update(new_ids)
        return result
