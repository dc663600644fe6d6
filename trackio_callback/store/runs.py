"""Run rows: opening (creating, resuming, observing) a run, free names, reading runs, imported runs, crash status.

`Runs` is the part of `Store` that owns the ``runs`` table; `update_run` is the in-transaction
update other writes carry along. `derived_status` is the status readers and the uploader show:
a ``running`` run whose process is gone is ``crashed``.

A run has one writer at a time. Its row is the writer's lease: ``hostname``, ``pid`` and
``heartbeat_at`` (which every write moves, and the writer thread moves when idle). Opening a
running run whose writer is alive (`derived_status`) is a `RunInUseError` naming that process; a
stale lease (the process is gone, or silent for `STALE_AFTER_S`) is taken over. A writer on another
host cannot be asked whether it lives: its heartbeat is watched for `LEASE_WATCH_S` (over two of an
idle writer's heartbeats), and a heartbeat that does not move is a dead writer's (a job requeued on
another node of a shared filesystem continues its run after that wait, not after minutes). A `Store` that
opened a run checks, in each `append`'s transaction, that the lease is still its own, so a writer
whose lease was taken over (it was frozen for minutes) stops instead of interleaving its calls.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from typing import NamedTuple

from .. import settings
from ..errors import RunInUseError, RunNotFoundError
from ..utils.jsontext import dumps
from .connection import Connection
from .end_reasons import heartbeat_lost
from .run_names import generate_run_name
from .schema import new_run_uid
from .tags import clean_notes, clean_tags, merge_tags, parse_tags, tags_json

RUN_COLUMNS = (
    "id, name, group_name, status, config, settings, created_at, heartbeat_at, finished_at, "
    "hostname, pid, next_seq, last_step, summary, uid, end_reason, checkpoints, seq_floors, tags, notes"
)
RESUME_MODES = ("never", "allow", "must")
UNRECONCILED = "unreconciled"  # run setting: started offline under a name a Hub dataset may hold (`hub.resume`)
STALE_AFTER_S = 120.0  # a running run whose writer has not been heard from for this long has crashed
LEASE_WATCH_S = 25.0  # a writer moves its heartbeat at least every 10 s (core.writer.HEARTBEAT_S): watched this long


class RunRow(NamedTuple):
    id: int
    name: str
    group: str | None
    status: str
    config: dict
    settings: dict
    created_at: float
    heartbeat_at: float
    finished_at: float | None
    hostname: str | None
    pid: int | None
    next_seq: int
    last_step: int | None
    summary: dict
    uid: str  # unique across machines (a random UUID): identifies the run in a Hub dataset
    end_reason: dict | None = None  # why the run last ended (`core.end_reason`); None while it runs
    checkpoints: list = []  # the checkpoints it saved, oldest first (`integrations.checkpoints`)
    seq_floors: dict = {}  # {kind: first seq of new rows}: resumed from the Hub without the rows before
    tags: tuple[str, ...] = ()  # a person's labels (`tags`: validated), in the order given
    notes: str = ""  # a person's free text about the run

    @classmethod
    def from_row(cls, row: tuple) -> RunRow:
        """A row selected as `RUN_COLUMNS`, its JSON columns parsed."""
        values = list(row)
        for json_column in (4, 5, 13, 15, 16, 17):  # config, settings, summary, end_reason, ...: in RUN_COLUMNS
            if values[json_column] is not None:
                values[json_column] = json.loads(values[json_column])
        if len(values) > 18:  # tags, notes
            values[18] = parse_tags(values[18])
            values[19] = values[19] or ""
        return cls(*values)


class OpenedRun(NamedTuple):
    row: RunRow
    resumed: bool
    requested_name: str | None  # set when a name clash made us pick another name


class RunUpdate(NamedTuple):
    """Changes to a run's row that travel with a write (all optional)."""

    next_seq: int | None = None
    last_step: int | None = None
    config_json: str | None = None
    summary_json: str | None = None
    checkpoints_json: str | None = None  # the run's checkpoint records (`Run.record_checkpoint`), a JSON list
    status: str | None = None
    finished_at: float | None = None
    heartbeat_at: float | None = None  # None: now
    end_reason_json: str | None = None  # why the run ended (`end_reasons`): set with the final status
    tags_json: str | None = None  # the run's whole tag list (`tags.tags_json` of clean tags)
    notes: str | None = None  # the run's notes (`tags.clean_notes`)


class Runs(Connection):
    """The run rows of a project."""

    def open_run(
        self,
        name: str | None,
        *,
        group: str | None,
        config: dict,
        settings: dict,
        resume: str,
        hostname: str | None = None,
        pid: int | None = None,
        observer: bool = False,
        uid: str | None = None,
        tags: tuple[str, ...] = (),
        notes: str | None = None,
    ) -> OpenedRun:
        """Create a run, or reopen one (``resume``: never | allow | must).

        With ``resume="never"`` a name that is taken gets the first free ``-2``, ``-3``, ... suffix.
        An ``observer`` (another node's system sampler) opens the run as it is, changing nothing.
        ``uid`` fixes a new run's uid (nodes of one job agree on it without talking; a checkpoint names its run);
        default: random. With ``resume``, the run of that uid is continued whatever its name here.
        ``tags`` (clean: `tags.clean_tags`) are added to a resumed run's; ``notes`` (None: keep) replace its notes.
        """
        if resume not in RESUME_MODES:
            raise ValueError(f"resume={resume!r} is not one of {', '.join(map(repr, RESUME_MODES))}")
        now = time.time()

        silent_heartbeat: float | None = None  # a remote writer's heartbeat seen not to move for LEASE_WATCH_S

        def body(conn: sqlite3.Connection) -> OpenedRun:
            existing = None
            if uid is not None and resume != "never":  # the run of that uid, whatever it is called here now
                existing = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE uid = ?", (uid,)).fetchone()
            if existing is None and name is not None:
                existing = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE name = ?", (name,)).fetchone()
            if existing is not None and observer:
                return OpenedRun(RunRow.from_row(existing), resumed=True, requested_name=None)
            if existing is not None and resume != "never":
                row = RunRow.from_row(existing)
                _check_lease(row, hostname, pid, now, silent_heartbeat)
                merged = {**row.config, **config}
                conn.execute(
                    """UPDATE runs SET status = 'running', finished_at = NULL, end_reason = NULL, heartbeat_at = ?,
                       hostname = ?, pid = ?, config = ?, settings = ?, group_name = coalesce(?, group_name),
                       tags = ?, notes = coalesce(?, notes) WHERE id = ?""",
                    (
                        now,
                        hostname,
                        pid,
                        dumps(merged),
                        dumps({**row.settings, **settings}),
                        group,
                        tags_json(clean_tags((*row.tags, *tags))),
                        notes,
                        row.id,
                    ),
                )
                return OpenedRun(_run_row(conn, row.id), resumed=True, requested_name=None)
            if existing is None and resume == "must":
                names = [r[0] for r in conn.execute("SELECT name FROM runs ORDER BY id")]
                raise RunNotFoundError("run", str(name), names, " (resume='must')")
            chosen = _free_name(conn, name)
            cursor = conn.execute(
                """INSERT INTO runs (name, group_name, config, settings, created_at, heartbeat_at, hostname, pid, uid,
                                     tags, notes)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    chosen,
                    group,
                    dumps(config),
                    dumps(settings),
                    now,
                    now,
                    hostname,
                    pid,
                    uid or new_run_uid(),
                    tags_json(clean_tags(tags)),
                    notes or "",
                ),
            )
            renamed = name if name is not None and chosen != name else None
            return OpenedRun(_run_row(conn, cursor.lastrowid), resumed=False, requested_name=renamed)

        try:
            opened = self._transact(body)
        except _RemoteLease as remote:
            silent_heartbeat = self._watch_heartbeat(remote.row)
            try:
                opened = self._transact(body)
            except _RemoteLease as again:  # heard from again between the watch and now
                raise RunInUseError(_in_use(again.row)) from None
        if not observer:
            self.leases[opened.row.id] = (hostname, pid)
        return opened

    def _watch_heartbeat(self, row: RunRow) -> float | None:
        """Watch a writer on another host for `LEASE_WATCH_S`: `RunInUseError` if its heartbeat moves.

        Returns the heartbeat seen not to move (the lease may be taken over), or None when the run
        stopped being written meanwhile (it finished).
        """
        deadline = time.monotonic() + LEASE_WATCH_S
        while time.monotonic() < deadline:
            time.sleep(min(0.5, LEASE_WATCH_S / 10))
            now = self._read("SELECT status, hostname, pid, heartbeat_at FROM runs WHERE id = ?", (row.id,))[0]
            if now[0] != "running":
                return None
            if now[1:] != (row.hostname, row.pid, row.heartbeat_at):
                raise RunInUseError(_in_use(row._replace(hostname=now[1], pid=now[2], heartbeat_at=now[3])))
        return row.heartbeat_at

    def run(self, name: str) -> RunRow | None:
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE name = ?", (name,))
        return RunRow.from_row(rows[0]) if rows else None

    def run_by_uid(self, uid: str) -> RunRow | None:
        rows = self._read(f"SELECT {RUN_COLUMNS} FROM runs WHERE uid = ?", (uid,))
        return RunRow.from_row(rows[0]) if rows else None

    def runs(self) -> list[RunRow]:
        return [RunRow.from_row(r) for r in self._read(f"SELECT {RUN_COLUMNS} FROM runs ORDER BY id")]

    def annotate_run(
        self,
        run_id: int,
        *,
        tags: list[str] | tuple[str, ...] | None = None,
        add: tuple[str, ...] | list[str] = (),
        remove: tuple[str, ...] | list[str] = (),
        notes: str | None = None,
    ) -> RunRow:
        """Set the run's tags (``tags``: the whole list; then ``add`` and ``remove``) and its ``notes`` (None: keep),
        validated (`tags`), in one transaction; returns the row. A live run may be annotated: its writer is not
        disturbed (it holds no copy of them unless its own process sets them too)."""
        notes = None if notes is None else clean_notes(notes)
        base = None if tags is None else clean_tags(tags)
        add, remove = clean_tags(add), clean_tags(remove)

        def body(conn: sqlite3.Connection) -> RunRow:
            row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFoundError("run", f"id {run_id}", [], "")
            current = RunRow.from_row(row)
            new_tags = merge_tags(current.tags if base is None else base, add, remove)
            conn.execute(
                "UPDATE runs SET tags = ?, notes = coalesce(?, notes) WHERE id = ?",
                (tags_json(new_tags), notes, run_id),
            )
            return _run_row(conn, run_id)

        return self._transact(body)

    # -- runs copied from a Hub dataset (`hub.pull`) ------------------------------------------------

    def create_imported_run(
        self,
        uid: str,
        name: str,
        *,
        group: str | None,
        status: str,
        config: dict,
        settings: dict,
        summary: dict,
        created_at: float,
        finished_at: float | None,
        heartbeat_at: float,
        end_reason: dict | None = None,
        checkpoints: list = (),
        seq_floors: dict[str, int] | None = None,
        last_step: int | None = None,
        tags: tuple[str, ...] = (),
        notes: str = "",
    ) -> tuple[RunRow, bool]:
        """Create the run ``uid`` that another store logged; a name taken by another run gets ``-2``, ``-3``, ...

        ``seq_floors`` (``{kind: next seq}``): the run continues here without its earlier rows (resumed from the
        Hub, `hub.resume`): its new calls and rows are numbered from those seqs on, after the dataset's.
        Returns ``(row, created)``: a run with that uid already here is returned as it is.
        """
        floors = dict(seq_floors or {})

        def body(conn: sqlite3.Connection) -> tuple[RunRow, bool]:
            existing = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE uid = ?", (uid,)).fetchone()
            if existing is not None:
                return RunRow.from_row(existing), False
            cursor = conn.execute(
                """INSERT INTO runs (name, group_name, status, config, settings, summary, created_at, heartbeat_at,
                                     finished_at, uid, end_reason, checkpoints, seq_floors, next_seq, last_step,
                                     tags, notes)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    _free_name(conn, name),
                    group,
                    status,
                    dumps(config),
                    dumps(settings),
                    dumps(summary),
                    created_at,
                    heartbeat_at,
                    finished_at,
                    uid,
                    None if end_reason is None else dumps(end_reason),
                    dumps(list(checkpoints)),
                    dumps(floors),
                    floors.get("metrics", 0),
                    last_step,
                    tags_json(tags),
                    notes,
                ),
            )
            return _run_row(conn, cursor.lastrowid), True

        return self._transact(body)

    def update_imported_run(
        self,
        run_id: int,
        *,
        status: str,
        finished_at: float | None,
        config: dict,
        summary: dict,
        heartbeat_at: float,
        end_reason: dict | None = None,
        checkpoints: list = (),
        tags: tuple[str, ...] | None = None,
        notes: str | None = None,
    ) -> None:
        """Set a pulled run's metadata as the dataset has it (``finished_at`` may go back to NULL; ``tags`` and
        ``notes`` None: a runs file without them, the run's are kept)."""
        self._transact(
            lambda conn: conn.execute(
                """UPDATE runs SET status = ?, finished_at = ?, config = ?, summary = ?, end_reason = ?,
                   checkpoints = ?, heartbeat_at = max(heartbeat_at, ?), tags = coalesce(?, tags),
                   notes = coalesce(?, notes) WHERE id = ?""",
                (
                    status,
                    finished_at,
                    dumps(config),
                    dumps(summary),
                    None if end_reason is None else dumps(end_reason),
                    dumps(list(checkpoints)),
                    heartbeat_at,
                    None if tags is None else tags_json(tags),
                    notes,
                    run_id,
                ),
            )
        )


class _RemoteLease(Exception):
    """A running run's writer is on another host, heard from recently: watch its heartbeat, then decide."""

    def __init__(self, row: RunRow):
        super().__init__(row.name)
        self.row = row


def _check_lease(
    row: RunRow, hostname: str | None, pid: int | None, now: float, silent_heartbeat: float | None = None
) -> None:
    """Raise `RunInUseError` if another live process writes ``row`` (a stale lease may be taken over).

    A run no process of this store has written (pulled from a dataset) has no lease here: a job restarted
    on a new machine continues it (one writer per store; stores do not see each other's processes). A
    writer on another host is `_RemoteLease` until its heartbeat was seen not to move (``silent_heartbeat``).
    """
    if row.status != "running" or row.pid is None or (row.hostname, row.pid) == (hostname, pid):
        return
    if derived_status(row, now, hostname) != "running":
        return
    if row.hostname != hostname:
        if silent_heartbeat is not None and row.heartbeat_at == silent_heartbeat:
            return  # watched for LEASE_WATCH_S without a heartbeat: that writer is gone
        raise _RemoteLease(row)
    raise RunInUseError(_in_use(row, now))


def _in_use(row: RunRow, now: float | None = None) -> str:
    now = time.time() if now is None else now
    return (
        f"run {row.name!r} is being written by process {row.pid} on host {row.hostname!r} "
        f"(heard from {max(0.0, now - row.heartbeat_at):.0f} s ago); "
        f"a run has one writer at a time: finish it there, wait until it stops (its lease lapses "
        f"{STALE_AFTER_S:.0f} s after it is last heard from), or start a run of another name"
    )


def check_lease(conn: sqlite3.Connection, run_id: int, owner: tuple[str | None, int | None]) -> None:
    """Inside a write: raise `RunInUseError` if the run's lease is no longer ``owner``'s (taken over)."""
    found = conn.execute("SELECT hostname, pid, name FROM runs WHERE id = ?", (run_id,)).fetchone()
    if found is None:  # deleted or moved away while this process was silent (no live writer may be)
        raise RunInUseError(f"run id {run_id} was deleted or moved to another project: this process writes no more")
    hostname, pid, name = found
    if (hostname, pid) != owner:
        raise RunInUseError(
            f"run {name!r} was taken over by process {pid} on host {hostname!r} after this process "
            f"({owner[1]} on {owner[0]!r}) was silent for over {STALE_AFTER_S:.0f} s; this process writes no more of it"
        )


_UPDATED_COLUMNS = (  # (runs column, RunUpdate field): set when the field is not None
    ("next_seq", "next_seq"),
    ("last_step", "last_step"),
    ("status", "status"),
    ("finished_at", "finished_at"),
    ("config", "config_json"),
    ("summary", "summary_json"),
    ("checkpoints", "checkpoints_json"),
    ("end_reason", "end_reason_json"),
    ("tags", "tags_json"),
    ("notes", "notes"),
)


def update_run(conn: sqlite3.Connection, run_id: int, update: RunUpdate) -> None:
    """Apply ``update`` to the run's row, inside the caller's transaction (the heartbeat always moves)."""
    sets, params = ["heartbeat_at = ?"], [update.heartbeat_at or time.time()]
    for column, field in _UPDATED_COLUMNS:
        value = getattr(update, field)
        if value is not None:
            sets.append(f"{column} = ?")
            params.append(value)
    conn.execute(f"UPDATE runs SET {', '.join(sets)} WHERE id = ?", (*params, run_id))


def _free_name(conn: sqlite3.Connection, name: str | None) -> str:
    def taken(candidate: str) -> bool:
        return conn.execute("SELECT 1 FROM runs WHERE name = ?", (candidate,)).fetchone() is not None

    if name is None:
        ordinal = conn.execute("SELECT count(*) FROM runs").fetchone()[0] + 1
        while True:
            candidate = generate_run_name(ordinal)
            if not taken(candidate):
                return candidate
            ordinal += 1
    suffix = 2
    candidate = name
    while taken(candidate):
        candidate = f"{name}-{suffix}"
        suffix += 1
    return candidate


def _run_row(conn: sqlite3.Connection, run_id: int) -> RunRow:
    return RunRow.from_row(conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone())


# -- crash status -------------------------------------------------------------------------------------


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists but belongs to someone else
        return True
    return True


def derived_status(row: RunRow, now: float | None = None, host: str | None = None) -> str:
    """The stored status, except that a ``running`` run whose process is gone is ``crashed``.

    Gone: on this host, its pid is not alive; anywhere, its heartbeat is over `STALE_AFTER_S` old.
    The uploader exports this status too, so a dataset agrees with `Reader` about killed runs.
    """
    if row.status != "running":
        return row.status
    now = time.time() if now is None else now
    host = settings.hostname() if host is None else host
    if row.hostname == host and row.pid and row.pid != os.getpid() and not _pid_alive(row.pid):
        return "crashed"
    if now - row.heartbeat_at > STALE_AFTER_S:
        return "crashed"
    return "running"


def effective_end_reason(row: RunRow, status: str) -> dict | None:
    """Why the run ended as readers show it, for ``status`` = `derived_status` of ``row``.

    The stored reason, except that a run stored as ``running`` whose process is gone (``status`` is not
    ``running``) ended without writing one: its reason is `end_reasons.heartbeat_lost`, with its last
    heartbeat and step. None while the run runs (and for runs that ended before reasons were recorded).
    """
    if status == "running":
        return None
    if row.status == "running":
        return heartbeat_lost(row.heartbeat_at, row.last_step)
    return row.end_reason
