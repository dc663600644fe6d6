"""Artifacts and saved files: the rows that name, version and alias content, and the runs that logged or used it.

An artifact (trackio's name) has versions ``v0``, ``v1``, ...; each version is a manifest (`ManifestEntry`:
a path inside the artifact and the sha256 of its bytes, or a reference's URI) identified by the digest
of the canonical manifest (`manifest_digest`), so identical content logged again is the same version.
``latest`` moves to each new version; the user's aliases never move backwards. An overwrite removes
every other version and continues the numbering. `artifact_uses` is the lineage: which versions a run
logged (``output``) and used (``input``). `saved_files` are the files ``save()`` kept, by path.

The bytes themselves live in the content-addressed blob store beside the database
(`artifacts.blobs`); this module only says which digests are in use, so a blob nothing references
any more can be removed.

Example::

    committed = store.commit_artifact_version(
        "model", "model", None, [ManifestEntry("weights.bin", digest, 1024)], {}, run.uid, ["best"]
    )
    committed.version.version, committed.version.aliases     # 0, ("best", "latest")
    store.artifact_version("model", "best").digest           # the manifest's digest
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time
from collections.abc import Iterable
from typing import Any, NamedTuple

from ..utils.jsontext import dumps
from .connection import Connection

LATEST = "latest"
DIRECTIONS = ("input", "output")
VERSION_SPEC = re.compile(r"v(\d+)")


class ManifestEntry(NamedTuple):
    """One file of an artifact version: its bytes' sha256 (a blob), or, for a reference, the URI in ``ref``."""

    path: str
    digest: str  # a file: sha256 hex; a reference: its checksum, the provider's ETag, or the URI itself
    size: int
    ref: str | None = None


class ArtifactVersion(NamedTuple):
    """One version of an artifact as stored (read)."""

    name: str
    type: str
    description: str | None
    version: int
    digest: str  # `manifest_digest` of ``entries``
    metadata: dict[str, Any]
    size: int
    producer_run_uid: str | None
    created_at: float
    aliases: tuple[str, ...]  # sorted
    entries: tuple[ManifestEntry, ...]  # sorted by path
    origin: str | None = None  # the Hub dataset the artifact was imported from (None: logged in this store)


class CommittedVersion(NamedTuple):
    """What `Artifacts.commit_artifact_version` did."""

    version: ArtifactVersion
    created: bool  # False: identical content was already a version, which is returned
    unreferenced: frozenset[str]  # blob digests an overwrite left unused (the caller deletes the blobs)


class ArtifactRecord(NamedTuple):
    """A whole artifact, every version and alias: what a Hub dataset's document of it holds."""

    name: str
    type: str
    description: str | None
    created_at: float
    versions: tuple[ArtifactVersion, ...]  # by version number
    aliases: dict[str, int]  # alias -> version number


class ArtifactUse(NamedTuple):
    """A run logged (``output``) or used (``input``) a version of an artifact."""

    run_uid: str
    artifact: str
    version: int
    direction: str
    created_at: float


class SavedFile(NamedTuple):
    """A file ``save()`` kept: its path relative to the working directory then, and its blob."""

    path: str
    digest: str
    size: int
    run_uid: str | None
    saved_at: float


def manifest_digest(entries: Iterable[ManifestEntry]) -> str:
    """The sha256 of the canonical manifest (entries by path, keys sorted): the identity of a version's content."""
    canonical = [
        {"digest": e.digest, "path": e.path, **({"ref": e.ref} if e.ref is not None else {}), "size": int(e.size)}
        for e in sorted(entries, key=lambda e: e.path)
    ]
    return hashlib.sha256(dumps(canonical).encode()).hexdigest()


_VERSIONS = """SELECT v.id, a.name, a.type, a.description, v.version, v.digest, v.metadata, v.size,
                      v.producer_run_uid, v.created_at, a.origin
               FROM artifact_versions v JOIN artifacts a ON a.id = v.artifact_id"""


def _versions(conn: sqlite3.Connection, where: str, params: tuple) -> list[ArtifactVersion]:
    rows = conn.execute(f"{_VERSIONS} WHERE {where} ORDER BY a.name, v.version", params).fetchall()
    found = []
    for vid, name, kind, description, version, digest, metadata, size, producer, created_at, origin in rows:
        entries = tuple(
            ManifestEntry._make(row)
            for row in conn.execute(
                "SELECT path, digest, size, ref FROM artifact_entries WHERE version_id = ? ORDER BY path", (vid,)
            )
        )
        aliases = tuple(
            alias
            for (alias,) in conn.execute(
                "SELECT alias FROM artifact_aliases WHERE version_id = ? ORDER BY alias", (vid,)
            )
        )
        found.append(
            ArtifactVersion(
                name,
                kind,
                description,
                version,
                digest,
                json.loads(metadata),
                size,
                producer,
                created_at,
                aliases,
                entries,
                origin,
            )  # fmt: skip
        )
    return found


def _artifact_id(conn: sqlite3.Connection, name: str) -> int | None:
    row = conn.execute("SELECT id FROM artifacts WHERE name = ?", (name,)).fetchone()
    return None if row is None else row[0]


def _insert_version(conn: sqlite3.Connection, artifact_id: int, version: ArtifactVersion) -> int:
    cursor = conn.execute(
        """INSERT INTO artifact_versions (artifact_id, version, digest, metadata, size, producer_run_uid, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (
            artifact_id,
            version.version,
            version.digest,
            dumps(version.metadata),
            version.size,
            version.producer_run_uid,
            version.created_at,
        ),
    )
    version_id = cursor.lastrowid
    conn.executemany(
        "INSERT INTO artifact_entries (version_id, path, digest, size, ref) VALUES (?, ?, ?, ?, ?)",
        [(version_id, e.path, e.digest, e.size, e.ref) for e in version.entries],
    )
    return version_id


def _set_alias(conn: sqlite3.Connection, artifact_id: int, alias: str, version_id: int, forward_only: bool) -> None:
    """Point ``alias`` at ``version_id``; with ``forward_only``, never at a lower version than it points at now."""
    if forward_only:
        current = conn.execute(
            """SELECT v.version FROM artifact_aliases a JOIN artifact_versions v ON v.id = a.version_id
               WHERE a.artifact_id = ? AND a.alias = ?""",
            (artifact_id, alias),
        ).fetchone()
        (target,) = conn.execute("SELECT version FROM artifact_versions WHERE id = ?", (version_id,)).fetchone()
        if current is not None and current[0] > target:
            return
    conn.execute(
        """INSERT INTO artifact_aliases (artifact_id, alias, version_id) VALUES (?, ?, ?)
           ON CONFLICT (artifact_id, alias) DO UPDATE SET version_id = excluded.version_id""",
        (artifact_id, alias, version_id),
    )


def _file_digests(conn: sqlite3.Connection, where: str = "1", params: tuple = ()) -> set[str]:
    rows = conn.execute(
        f"""SELECT DISTINCT e.digest FROM artifact_entries e JOIN artifact_versions v ON v.id = e.version_id
            WHERE e.ref IS NULL AND {where}""",
        params,
    )
    return {digest for (digest,) in rows}


def _blob_digests_in_use(conn: sqlite3.Connection) -> set[str]:
    return _file_digests(conn) | {digest for (digest,) in conn.execute("SELECT DISTINCT digest FROM saved_files")}


class Artifacts(Connection):
    """A project's artifacts, their versions, aliases and lineage, and its saved files."""

    # -- logging --------------------------------------------------------------------------------

    def commit_artifact_version(
        self,
        name: str,
        type: str,  # noqa: A002 - trackio's name
        description: str | None,
        entries: list[ManifestEntry],
        metadata: dict[str, Any],
        run_uid: str | None,
        aliases: list[str] = (),
        overwrite: bool = False,
    ) -> CommittedVersion:
        """Record a version of ``name`` holding ``entries`` (their blobs already stored), in one transaction.

        Content identical to an existing version's is that version (its metadata refreshed when
        ``metadata`` is not empty); ``latest`` moves only to a new version, ``aliases`` move to the
        version unless that would move them backwards. ``overwrite`` removes every other version first;
        the numbering continues. A ``type`` other than the artifact's raises ValueError.
        """
        digest = manifest_digest(entries)
        now = time.time()
        ordered = tuple(sorted(entries, key=lambda e: e.path))

        def body(conn: sqlite3.Connection) -> CommittedVersion:
            row = conn.execute("SELECT id, type FROM artifacts WHERE name = ?", (name,)).fetchone()
            if row is None:
                artifact_id = conn.execute(
                    "INSERT INTO artifacts (name, type, description, created_at) VALUES (?, ?, ?, ?)",
                    (name, type, description, now),
                ).lastrowid
            else:
                artifact_id, stored_type = row
                if stored_type != type:
                    raise ValueError(
                        f"artifact {name!r} already exists with type {stored_type!r}; cannot log it with type {type!r}"
                    )
                if description is not None:
                    conn.execute("UPDATE artifacts SET description = ? WHERE id = ?", (description, artifact_id))
            (highest,) = conn.execute(
                "SELECT max(version) FROM artifact_versions WHERE artifact_id = ?", (artifact_id,)
            ).fetchone()
            obsolete: set[str] = set()
            if overwrite and highest is not None:
                obsolete = _file_digests(conn, "v.artifact_id = ?", (artifact_id,))
                _delete_versions(conn, artifact_id)
            existing = conn.execute(
                "SELECT id, version FROM artifact_versions WHERE artifact_id = ? AND digest = ?", (artifact_id, digest)
            ).fetchone()
            if existing is not None:
                version_id, number = existing
                if metadata:
                    conn.execute(
                        "UPDATE artifact_versions SET metadata = ? WHERE id = ?", (dumps(metadata), version_id)
                    )
            else:
                number = 0 if highest is None else highest + 1
                size = sum(e.size for e in ordered)
                record = ArtifactVersion(
                    name, type, description, number, digest, metadata, size, run_uid, now, (), ordered
                )
                version_id = _insert_version(conn, artifact_id, record)
            if existing is None or overwrite:
                _set_alias(conn, artifact_id, LATEST, version_id, forward_only=False)
            for alias in aliases:
                _set_alias(conn, artifact_id, alias, version_id, forward_only=True)
            if run_uid is not None:
                _insert_use(conn, run_uid, artifact_id, number, "output", now)
            unreferenced = frozenset(obsolete - _blob_digests_in_use(conn))
            (version,) = _versions(conn, "v.id = ?", (version_id,))
            return CommittedVersion(version, existing is None, unreferenced)

        return self._transact(body)

    def record_artifact_use(self, run_uid: str, name: str, version: int, direction: str = "input") -> None:
        """Record that the run ``run_uid`` used (``input``) or logged (``output``) ``name`` version ``version``."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {DIRECTIONS}, got {direction!r}")

        def body(conn: sqlite3.Connection) -> None:
            artifact_id = _artifact_id(conn, name)
            if artifact_id is not None:
                _insert_use(conn, run_uid, artifact_id, version, direction, time.time())

        self._transact(body)

    # -- reading --------------------------------------------------------------------------------

    def artifact_version(self, name: str, spec: str | None = None) -> ArtifactVersion | None:
        """The version ``spec`` of ``name``: ``"v3"``, an alias, or None for ``latest``; None when there is none."""
        spec = spec or LATEST
        number = VERSION_SPEC.fullmatch(spec)

        def read() -> list[ArtifactVersion]:
            if number is not None:
                return _versions(self._conn, "a.name = ? AND v.version = ?", (name, int(number.group(1))))
            return _versions(
                self._conn,
                """a.name = ? AND v.id = (SELECT version_id FROM artifact_aliases
                                          WHERE artifact_id = a.id AND alias = ?)""",
                (name, spec),
            )

        found = self._retry(read)
        return found[0] if found else None

    def artifact_versions(self, name: str) -> list[ArtifactVersion]:
        """Every version of ``name``, oldest first."""
        return self._retry(lambda: _versions(self._conn, "a.name = ?", (name,)))

    def artifact_names(self) -> list[str]:
        return [name for (name,) in self._read("SELECT name FROM artifacts ORDER BY name")]

    def artifact_record(self, name: str) -> ArtifactRecord | None:
        """The whole artifact ``name`` (for its Hub document); None when it does not exist."""

        def read() -> ArtifactRecord | None:
            row = self._conn.execute(
                "SELECT id, type, description, created_at FROM artifacts WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return None
            artifact_id, kind, description, created_at = row
            aliases = dict(
                self._conn.execute(
                    """SELECT a.alias, v.version FROM artifact_aliases a JOIN artifact_versions v ON v.id = a.version_id
                       WHERE a.artifact_id = ? ORDER BY a.alias""",
                    (artifact_id,),
                ).fetchall()
            )
            versions = tuple(_versions(self._conn, "a.id = ?", (artifact_id,)))
            return ArtifactRecord(name, kind, description, created_at, versions, aliases)

        return self._retry(read)

    def artifact_uses(self, run_uid: str | None = None) -> list[ArtifactUse]:
        """The lineage rows (of one run), by run, artifact, version and direction."""
        sql = """SELECT u.run_uid, a.name, u.version, u.direction, u.created_at FROM artifact_uses u
                 JOIN artifacts a ON a.id = u.artifact_id"""
        params: tuple = ()
        if run_uid is not None:
            sql += " WHERE u.run_uid = ?"
            params = (run_uid,)
        rows = self._read(sql + " ORDER BY u.run_uid, a.name, u.version, u.direction", params)
        return [ArtifactUse._make(row) for row in rows]

    def blob_digests_in_use(self) -> set[str]:
        """The sha256 of every blob an artifact version or a saved file references."""
        return self._retry(lambda: _blob_digests_in_use(self._conn))

    # -- saved files ----------------------------------------------------------------------------

    def record_saved_files(self, saved: list[SavedFile]) -> None:
        """Record files ``save()`` kept (their blobs already stored); a path saved again points at its new bytes."""
        self._transact(
            lambda conn: conn.executemany(
                "INSERT OR REPLACE INTO saved_files (path, digest, size, run_uid, saved_at) VALUES (?, ?, ?, ?, ?)",
                [tuple(f) for f in saved],
            )
        )

    def saved_files(self) -> list[SavedFile]:
        rows = self._read("SELECT path, digest, size, run_uid, saved_at FROM saved_files ORDER BY path")
        return [SavedFile._make(row) for row in rows]

    # -- import (from a Hub dataset) ------------------------------------------------------------

    def replace_artifact(self, record: ArtifactRecord, origin: str | None) -> None:
        """Make ``record`` the whole state of its artifact here (pulled from the dataset ``origin``).

        Lineage rows of versions the record still holds are kept; those of versions it lacks go.
        """

        def body(conn: sqlite3.Connection) -> None:
            artifact_id = _artifact_id(conn, record.name)
            if artifact_id is None:
                artifact_id = conn.execute(
                    "INSERT INTO artifacts (name, type, description, created_at, origin) VALUES (?, ?, ?, ?, ?)",
                    (record.name, record.type, record.description, record.created_at, origin),
                ).lastrowid
            else:
                conn.execute(
                    "UPDATE artifacts SET type = ?, description = ?, created_at = ?, origin = ? WHERE id = ?",
                    (record.type, record.description, record.created_at, origin, artifact_id),
                )
                _delete_versions(conn, artifact_id, keep_uses=True)
            ids = {version.version: _insert_version(conn, artifact_id, version) for version in record.versions}
            for alias, number in record.aliases.items():
                if number in ids:
                    _set_alias(conn, artifact_id, alias, ids[number], forward_only=False)
            placeholders = ",".join("?" * len(ids)) or "NULL"
            conn.execute(
                f"DELETE FROM artifact_uses WHERE artifact_id = ? AND version NOT IN ({placeholders})",
                (artifact_id, *ids),
            )

        self._transact(body)

    def import_artifact_uses(self, uses: list[ArtifactUse]) -> int:
        """Add lineage rows pulled from a dataset (those of artifacts this store has); returns how many were new."""

        def body(conn: sqlite3.Connection) -> int:
            added = 0
            for use in uses:
                artifact_id = _artifact_id(conn, use.artifact)
                if artifact_id is not None and use.direction in DIRECTIONS:
                    added += _insert_use(conn, use.run_uid, artifact_id, use.version, use.direction, use.created_at)
            return added

        return self._transact(body)


def _insert_use(
    conn: sqlite3.Connection, run_uid: str, artifact_id: int, version: int, direction: str, now: float
) -> int:
    cursor = conn.execute(
        """INSERT OR IGNORE INTO artifact_uses (run_uid, artifact_id, version, direction, created_at)
           VALUES (?, ?, ?, ?, ?)""",
        (run_uid, artifact_id, version, direction, now),
    )
    return cursor.rowcount


def _delete_versions(conn: sqlite3.Connection, artifact_id: int, keep_uses: bool = False) -> None:
    """Delete every version of the artifact, with its entries and aliases (and its lineage unless ``keep_uses``)."""
    conn.execute("DELETE FROM artifact_aliases WHERE artifact_id = ?", (artifact_id,))
    conn.execute(
        "DELETE FROM artifact_entries WHERE version_id IN (SELECT id FROM artifact_versions WHERE artifact_id = ?)",
        (artifact_id,),
    )
    conn.execute("DELETE FROM artifact_versions WHERE artifact_id = ?", (artifact_id,))
    if not keep_uses:
        conn.execute("DELETE FROM artifact_uses WHERE artifact_id = ?", (artifact_id,))
