"""The JSON documents a Hub dataset holds for a project's artifacts, written and read back (standard library only).

An artifact's document (`hub.layout.artifact_path`) holds the whole artifact: every version with
its manifest and metadata, and the aliases. A run's document (`hub.layout.artifact_uses_path`)
holds its lineage: the versions it logged and used. The bytes are blobs
(`hub.layout.artifact_blob_path`), sent before any document that names them.

The encoding is canonical (fixed key order, versions by number, entries by path, aliases by name):
a store that pulled a document and changed nothing writes the same bytes, so comparing the digest
of what was sent or pulled (`document_digest`) tells whether there is anything to send.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..store.artifacts import ArtifactRecord, ArtifactUse, ArtifactVersion, ManifestEntry
from ..utils.jsontext import dumps
from . import names
from .blobs import check_digest

ARTIFACT_FORMAT = "trackio-callback/artifact/1"
USES_FORMAT = "trackio-callback/artifact-uses/1"


def document_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def artifact_document(record: ArtifactRecord) -> bytes:
    versions = [
        {
            "version": v.version,
            "digest": v.digest,
            "size": v.size,
            "metadata": v.metadata,
            "producer_run_uid": v.producer_run_uid,
            "created_at": v.created_at,
            "entries": [
                {"path": e.path, "digest": e.digest, "size": e.size, **({"ref": e.ref} if e.ref is not None else {})}
                for e in sorted(v.entries, key=lambda e: e.path)
            ],
        }
        for v in sorted(record.versions, key=lambda v: v.version)
    ]
    document = {
        "format": ARTIFACT_FORMAT,
        "name": record.name,
        "type": record.type,
        "description": record.description,
        "created_at": record.created_at,
        "aliases": dict(sorted(record.aliases.items())),
        "versions": versions,
    }
    return dumps(document).encode()


def read_artifact_document(data: bytes) -> ArtifactRecord:
    """The artifact a document holds; ValueError naming what is wrong with one this package did not write."""
    document = _load(data, ARTIFACT_FORMAT)
    try:
        name = names.check_name(document["name"])
        kind = names.check_type(document["type"])
        versions = []
        for v in document["versions"]:
            entries = []
            for e in v["entries"]:
                ref = e.get("ref")
                digest = e["digest"] if ref is not None else check_digest(e["digest"])
                entries.append(ManifestEntry(names.check_path(e["path"]), str(digest), int(e["size"]), ref))
            versions.append(
                ArtifactVersion(
                    name,
                    kind,
                    document["description"],
                    int(v["version"]),
                    str(v["digest"]),
                    dict(v["metadata"]),
                    int(v["size"]),
                    v["producer_run_uid"],
                    float(v["created_at"]),
                    (),
                    tuple(entries),
                )  # fmt: skip
            )
        aliases = {str(alias): int(number) for alias, number in document["aliases"].items()}
        return ArtifactRecord(
            name, kind, document["description"], float(document["created_at"]), tuple(versions), aliases
        )
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not an artifact document of trackio-callback: {type(error).__name__}: {error}") from None


def uses_document(run_uid: str, uses: list[ArtifactUse]) -> bytes:
    rows = [
        {"artifact": u.artifact, "version": u.version, "direction": u.direction, "created_at": u.created_at}
        for u in sorted(uses, key=lambda u: (u.artifact, u.version, u.direction))
    ]
    return dumps({"format": USES_FORMAT, "run_uid": run_uid, "uses": rows}).encode()


def read_uses_document(data: bytes) -> list[ArtifactUse]:
    document = _load(data, USES_FORMAT)
    try:
        return [
            ArtifactUse(
                str(document["run_uid"]), u["artifact"], int(u["version"]), u["direction"], float(u["created_at"])
            )
            for u in document["uses"]
        ]
    except (KeyError, TypeError) as error:
        raise ValueError(f"not an artifact-uses document of trackio-callback: {error}") from None


def _load(data: bytes, expected: str) -> dict[str, Any]:
    try:
        document = json.loads(data)
    except ValueError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("format") != expected:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ValueError(f"expected a document of format {expected!r}, found {found!r}")
    return document
