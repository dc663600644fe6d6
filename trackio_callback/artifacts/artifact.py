"""`Artifact`: a named, typed, versioned bundle of files and references (trackio's constructor and properties).

Build one, add files (`Artifact.add_file`, `Artifact.add_dir`: their bytes go to the project's blob
store when it is logged) or references (`Artifact.add_reference`: a URI, no bytes copied), and log
it with ``log_artifact``: that freezes it and sets its ``version`` (``"v0"``, ``"v1"``, ...),
``aliases`` (``latest`` and the ones given), ``size``, ``manifest`` and ``digest``. ``use_artifact``
returns a logged one, and `Artifact.download` writes its files into a folder, fetching blobs this
machine lacks from the Hub dataset the run syncs to (or the artifact was pulled from).

Example::

    artifact = Artifact("model", type="model", metadata={"epoch": 3})
    artifact.add_dir("checkpoint/")
    run.log_artifact(artifact, aliases=["best"])
    artifact.qualified_name                        # "my-project/model:v0"
    run.use_artifact("model:best").download("restored/")
"""

from __future__ import annotations

import os
import uuid
import warnings
from pathlib import Path
from typing import Any

from ..errors import TrackioWarning, UnsupportedFeatureError
from ..store.artifacts import ArtifactVersion, ManifestEntry
from . import names, references
from .blobs import BlobStore


class Artifact:
    """A versioned, named bundle of files and references attached to a project.

    ``name``: unique within the project (letters, digits, ``.``, ``_``, ``-``); ``type``: a free-form
    category such as ``"model"`` or ``"dataset"``; ``description`` and ``metadata`` (a JSON-able
    dict) are stored with each version.
    """

    def __init__(
        self,
        name: str,
        type: str,  # noqa: A002 - trackio's name
        description: str | None = None,
        metadata: dict | None = None,
    ):
        self._name = names.check_name(name)
        self._type = names.check_type(type)
        self._description = description
        self._metadata: dict = dict(metadata) if metadata else {}
        self._pending_files: list[tuple[Path, str]] = []
        self._pending_references: list[ManifestEntry] = []
        self._logged = False
        self._version: int | None = None
        self._aliases: tuple[str, ...] = ()
        self._size: int | None = None
        self._entries: tuple[ManifestEntry, ...] | None = None
        self._digest: str | None = None
        self._project: str | None = None
        self._blobs: BlobStore | None = None
        self._sources: tuple[str, ...] = ()  # Hub datasets to fetch missing blobs from

    # -- properties (trackio's) -------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def type(self) -> str:
        return self._type

    @property
    def description(self) -> str | None:
        return self._description

    @description.setter
    def description(self, value: str | None) -> None:
        self._description = value

    @property
    def metadata(self) -> dict:
        """The metadata dict itself: changes made before logging are logged."""
        return self._metadata

    @metadata.setter
    def metadata(self, value: dict | None) -> None:
        self._metadata = dict(value) if value else {}

    @property
    def version(self) -> str | None:
        """``"v<N>"`` once logged or fetched, else None."""
        return None if self._version is None else f"v{self._version}"

    @property
    def aliases(self) -> tuple[str, ...]:
        return self._aliases

    @property
    def size(self) -> int | None:
        """Bytes of the files plus the known sizes of the references; None until logged."""
        return self._size

    @property
    def manifest(self) -> list[dict] | None:
        """One dict per entry (``path``, ``digest``, ``size``; references ``ref`` too), a copy; None until logged."""
        if self._entries is None:
            return None
        return [_entry_dict(entry) for entry in self._entries]

    @property
    def manifest_digest(self) -> str | None:
        """The sha256 of the canonical manifest: the identity of this version's content."""
        return self._digest

    @property
    def digest(self) -> str | None:
        return self._digest

    @property
    def project(self) -> str | None:
        return self._project

    @property
    def qualified_name(self) -> str:
        """``"<project>/<name>:v<N>"``; RuntimeError before the artifact is logged or fetched."""
        if self._project is None or self._version is None:
            raise RuntimeError(f"artifact {self._name!r} has no qualified name until it is logged or fetched")
        return f"{self._project}/{self._name}:v{self._version}"

    @property
    def is_link(self) -> bool:
        return False  # registries are not supported: an artifact is always its own source

    @property
    def source_name(self) -> str:
        return self._name

    @property
    def source_version(self) -> str | None:
        return self.version

    @property
    def source_project(self) -> str | None:
        return self._project

    @property
    def source_qualified_name(self) -> str:
        return self.qualified_name

    @property
    def references(self) -> list[dict]:
        """The reference entries (``path``, ``ref``, ``digest``, ``size``); [] before logging."""
        return [_entry_dict(e) for e in self._entries or () if e.ref is not None]

    def get_entry_uri(self, name: str) -> str | None:
        """The URI of the reference entry at ``name``, or None."""
        for entry in self._entries or ():
            if entry.path == name and entry.ref is not None:
                return entry.ref
        return None

    def wait(self, timeout: int | None = None) -> Artifact:
        """The artifact itself: logging is synchronous (the version is committed when ``log_artifact`` returns)."""
        if not self._logged:
            raise RuntimeError(f"artifact {self._name!r} has not been logged: call log_artifact first")
        return self

    def __repr__(self) -> str:
        parts = [f"name={self._name!r}", f"type={self._type!r}"]
        if self._version is not None:
            parts.append(f"version=v{self._version}")
        if self._aliases:
            parts.append(f"aliases={list(self._aliases)!r}")
        return f"Artifact({', '.join(parts)})"

    # -- adding content ---------------------------------------------------------------------------

    def add_file(self, local_path: str | os.PathLike, name: str | None = None) -> None:
        """Add one file, under ``name`` inside the artifact (default: its file name)."""
        self._check_open("add files to")
        source = Path(local_path).resolve()
        if not source.is_file():
            raise ValueError(f"add_file: {local_path} is not a regular file")
        self._pending_files.append((source, names.check_path(name if name is not None else source.name)))

    def add_dir(self, local_dir: str | os.PathLike, name: str | None = None) -> None:
        """Add every regular file below a folder (symlinks skipped), under ``name/`` (default: no prefix)."""
        self._check_open("add files to")
        root = Path(local_dir).resolve()
        if not root.is_dir():
            raise ValueError(f"add_dir: {local_dir} is not a directory")
        prefix = names.check_path(name.rstrip("/")) + "/" if name else ""
        for folder, subfolders, filenames in os.walk(root, followlinks=False):
            subfolders.sort()
            for filename in sorted(filenames):
                path = Path(folder) / filename
                if path.is_symlink() or not path.is_file():
                    continue
                self._pending_files.append((path, names.check_path(prefix + path.relative_to(root).as_posix())))

    def add_reference(
        self, uri: str, name: str | None = None, checksum: bool = True, max_objects: int | None = None
    ) -> None:
        """Record external data by URI, copying no bytes (``file://``, ``http(s)://``, ``hf://``, a registered scheme).

        With ``checksum``, the source is probed for its size and a checksum (a folder or prefix becomes
        one entry per object, at most ``max_objects``); without one, the URI stands for the content.
        """
        self._check_open("add references to")
        scheme, uri = references.check_uri(uri)
        if references.looks_signed(uri):
            warnings.warn(
                f"reference {uri!r} looks like a signed URL: the whole URI, credential included, is stored in the "
                "manifest (and synced to the dataset); prefer the object's unsigned URI",
                TrackioWarning,
                stacklevel=2,
            )
        limit = references.DEFAULT_MAX_OBJECTS if max_objects is None else max_objects
        resolved = references.handler_for(scheme, uri).resolve(uri, checksum, limit)
        if not resolved:
            raise ValueError(f"reference {uri!r} matched no objects")
        prefix = f"{name.rstrip('/')}/" if name is not None else ""
        unchecked = False
        for item in resolved:
            if item.relkey is None:
                logical = name if name is not None else references.default_name(item.uri)
                if not logical:
                    raise ValueError(f"cannot derive a name from {uri!r}: pass name=")
            else:
                logical = prefix + item.relkey
            unchecked |= item.digest is None
            entry = ManifestEntry(names.check_path(logical), item.digest or item.uri, item.size or 0, item.uri)
            self._pending_references.append(entry)
        if checksum and unchecked:
            warnings.warn(
                f"reference {uri!r} was recorded without a checksum, so its URI stands for its content: new content "
                f"at the same URI logs as the same version. {references.hint(uri)}",
                TrackioWarning,
                stacklevel=2,
            )

    def _check_open(self, what: str) -> None:
        if self._logged:
            raise RuntimeError(
                f"cannot {what} artifact {self._name!r}: it was logged or fetched (build a new Artifact)"
            )

    def _stage(self, blobs: BlobStore) -> list[ManifestEntry]:
        """The manifest to log: each added file's bytes put in ``blobs``, then the references."""
        if not self._pending_files and not self._pending_references:
            raise ValueError(f"artifact {self._name!r} is empty: add_file, add_dir or add_reference first")
        names.check_paths_compatible(
            [logical for _, logical in self._pending_files] + [e.path for e in self._pending_references]
        )
        entries = []
        for source, logical in self._pending_files:
            digest, size = blobs.add_file(source)
            entries.append(ManifestEntry(logical, digest, size))
        return entries + self._pending_references

    # -- logged or fetched ------------------------------------------------------------------------

    def _hydrate(self, stored: ArtifactVersion, project: str, blobs: BlobStore, sources: tuple[str, ...]) -> None:
        """Become the stored version ``stored`` of ``project`` (after logging, or fetched by ``use_artifact``)."""
        self._description = stored.description
        self._metadata = dict(stored.metadata)
        self._version = stored.version
        self._aliases = stored.aliases
        self._size = stored.size
        self._entries = stored.entries
        self._digest = stored.digest
        self._project = project
        self._blobs = blobs
        self._sources = sources
        self._logged = True

    def download(self, root: str | os.PathLike | None = None) -> str:
        """Write the artifact's files (and fetch its references) into ``root``; its absolute path.

        Default ``root``: ``./.trackio/artifact-downloads/<project>/<name>_v<N>``. Blobs this machine
        lacks come from the Hub dataset of the run (or the one the artifact was pulled from). Repeated
        calls copy only what changed; a reference already on disk is not fetched again.
        """
        if not self._logged or self._entries is None or self._blobs is None:
            raise RuntimeError(f"artifact {self._name!r} has not been logged or fetched: nothing to download")
        if root is None:
            folder = (
                Path.cwd() / ".trackio" / "artifact-downloads" / str(self._project) / f"{self._name}_v{self._version}"
            )
        else:
            folder = Path(root)
        folder = folder.absolute()
        folder.mkdir(parents=True, exist_ok=True)
        for entry in self._entries:
            destination = folder / names.check_path(entry.path)
            if entry.ref is not None:
                _fetch_reference(entry, destination)
                continue
            if not self._blobs.has(entry.digest):
                self._fetch_blob(entry)
            self._blobs.copy_out(entry.digest, destination)
        return str(folder)

    def _fetch_blob(self, entry: ManifestEntry) -> None:
        if not self._sources:
            raise FileNotFoundError(
                f"{self.qualified_name}: the bytes of {entry.path!r} (blob {entry.digest}) are not on this machine, "
                "and the run syncs to no Hub dataset to fetch them from"
            )
        from .remote import fetch_blob

        errors = []
        for dataset_id in self._sources:
            try:
                fetch_blob(dataset_id, str(self._project), entry.digest, self._blobs)
                return
            except Exception as error:  # try the next source; all failing is reported below
                errors.append(f"{dataset_id}: {type(error).__name__}: {error}")
        raise FileNotFoundError(
            f"{self.qualified_name}: the bytes of {entry.path!r} (blob {entry.digest}) are neither on this machine "
            f"nor fetchable ({'; '.join(errors)})"
        )

    def link(self, target_path: str, aliases: list[str] | None = None, bucket_id: str | None = None) -> Artifact:
        raise UnsupportedFeatureError(
            "artifact registries are trackio's Space/bucket feature, not supported by trackio-callback; "
            "name versions with aliases (log_artifact(..., aliases=[...])) instead"
        )

    def unlink(self) -> None:
        raise UnsupportedFeatureError("artifact registries are not supported by trackio-callback (see Artifact.link)")


def _entry_dict(entry: ManifestEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"path": entry.path, "digest": entry.digest, "size": entry.size}
    if entry.ref is not None:
        data["ref"] = entry.ref
    return data


def _fetch_reference(entry: ManifestEntry, destination: Path) -> None:
    """Fetch a reference into ``destination`` atomically, unless a file is there (references are not re-verified)."""
    if destination.is_file():
        return
    if entry.digest != entry.ref:  # a real checksum was recorded: say when the source changed since
        try:
            now = references.resolve(entry.ref, checksum=True, max_objects=1)[0].digest
        except Exception:  # the source cannot be probed: fetch it anyway
            now = None
        if now is not None and now != entry.digest:
            warnings.warn(
                f"reference {entry.ref!r} may have changed since it was logged (checksum {entry.digest} then, "
                f"{now} now): fetching it as it is",
                TrackioWarning,
                stacklevel=3,
            )
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
    try:
        references.fetch(entry.ref, partial)
        os.replace(partial, destination)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
