"""Logging and using artifact versions for a run: what `Run.log_artifact` and `Run.use_artifact` do.

`log_artifact` puts the artifact's files in the project's blob store, then commits the version
(`store.artifacts`): identical content is the existing version (``latest`` stays, the given aliases
still move to it unless that moves them backwards), ``overwrite=True`` removes the other versions
and the blobs nothing else uses. `use_artifact` resolves ``"name"``, ``"name:v3"`` or
``"name:alias"`` in the local store, else in the Hub dataset the run syncs to (importing the
artifact's document), and records the run as its user. The bytes stay where they are until
`Artifact.download` asks for them.

Example::

    context = RunContext(store, directory, "demo", run.uid, dataset_id=None)
    logged = log_artifact(context, "checkpoint/", type="model", aliases=["best"])
    use_artifact(context, "checkpoint:best").download("restored")
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import NamedTuple

from ..errors import ArtifactNotFoundError, TrackioWarning, UnsupportedFeatureError
from ..store import Store, files
from ..store.artifacts import ArtifactVersion
from . import names
from .artifact import Artifact
from .blobs import BlobStore

REGISTRY_PREFIX = "registry-"


class RunContext(NamedTuple):
    """What an artifact call needs of the run it is made for."""

    store: Store  # the run's project store (open)
    directory: Path  # the storage directory
    project: str
    run_uid: str
    dataset_id: str | None  # the Hub dataset the run syncs to


def blob_store(directory: Path, project: str) -> BlobStore:
    return BlobStore(files.project_files_dir(directory, project))


def log_artifact(
    context: RunContext,
    artifact_or_path: Artifact | str | os.PathLike,
    name: str | None = None,
    type: str | None = None,  # noqa: A002 - trackio's name
    aliases: list[str] | None = None,
    overwrite: bool = False,
) -> Artifact:
    """Log ``artifact_or_path`` as an output of the run: an `Artifact`, or a file or folder (``name`` default:
    its base name, ``type`` default ``"unspecified"``). Returns the logged `Artifact`."""
    if isinstance(artifact_or_path, Artifact):
        if name is not None or type is not None:
            raise ValueError("name= and type= go with a path; an Artifact has its own (set them on it)")
        artifact = artifact_or_path
    elif isinstance(artifact_or_path, (str, os.PathLike)):
        path = Path(artifact_or_path)
        if not path.exists():
            raise ValueError(f"log_artifact: {path} does not exist (pass an Artifact, a file or a folder)")
        artifact = Artifact(name or path.resolve().name, type or "unspecified")
        if path.is_dir():
            artifact.add_dir(path)
        else:
            artifact.add_file(path)
    else:
        raise TypeError(
            f"log_artifact takes an Artifact or a path, got {artifact_or_path.__class__.__name__}: {artifact_or_path!r}"
        )
    if artifact._logged:
        raise RuntimeError(f"artifact {artifact.name!r} was already logged or fetched: build a new Artifact to log")
    if not isinstance(overwrite, bool):
        raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
    user_aliases = names.check_aliases(aliases)
    blobs = blob_store(context.directory, context.project)
    entries = artifact._stage(blobs)
    committed = context.store.commit_artifact_version(
        artifact.name,
        artifact.type,
        artifact.description,
        entries,
        artifact.metadata,
        context.run_uid,
        user_aliases,
        overwrite=overwrite,
    )
    blobs.remove(committed.unreferenced)
    artifact._hydrate(committed.version, context.project, blobs, _sources(committed.version, context))
    return artifact


def use_artifact(
    context: RunContext,
    artifact_or_name: Artifact | str,
    type: str | None = None,  # noqa: A002 - trackio's name
) -> Artifact:
    """The version ``artifact_or_name`` names (``"name"`` = ``"name:latest"``, ``"name:v3"``, ``"name:alias"``, or
    a logged `Artifact`), recorded as an input of the run; ``type`` given and different: ValueError."""
    project = context.project
    if isinstance(artifact_or_name, Artifact):
        if not artifact_or_name._logged or artifact_or_name._version is None:
            raise ValueError("use_artifact() takes an Artifact only once it was logged or fetched")
        spec = f"{artifact_or_name.name}:v{artifact_or_name._version}"
        project = artifact_or_name.project or project
    elif isinstance(artifact_or_name, str):
        spec = artifact_or_name
    else:
        raise TypeError(f"use_artifact takes an artifact name or an Artifact, got {artifact_or_name!r}")
    name, colon, alias = spec.partition(":")
    if colon and not alias:
        raise ValueError(f"artifact spec {spec!r} has nothing after ':': use 'name', 'name:v<N>' or 'name:<alias>'")
    if name.startswith(REGISTRY_PREFIX) and "/" in name:
        raise UnsupportedFeatureError(
            f"{spec!r} names a registry collection: registries are not supported by trackio-callback; "
            "use the artifact's own name"
        )
    names.check_name(name)
    if project != context.project:  # an Artifact of another project of the same storage directory
        store = Store(files.project_path(context.directory, project))
        try:
            return _use(context._replace(store=store, project=project), spec, name, alias or None, type)
        finally:
            store.close()
    return _use(context, spec, name, alias or None, type)


def _use(context: RunContext, spec: str, name: str, alias: str | None, expected_type: str | None) -> Artifact:
    stored = context.store.artifact_version(name, alias)
    if stored is None and context.dataset_id is not None:
        from .remote import import_artifacts

        import_artifacts(context.dataset_id, context.project, context.store, names=[name])
        stored = context.store.artifact_version(name, alias)
    if stored is None:
        raise ArtifactNotFoundError(
            "artifact",
            spec,
            _specs(context.store, name),
            where=f" in project {context.project!r}" + (f" nor in {context.dataset_id}" if context.dataset_id else ""),
        )
    if expected_type is not None and stored.type != expected_type:
        raise ValueError(f"artifact {spec!r} has type {stored.type!r}, not {expected_type!r}")
    try:
        context.store.record_artifact_use(context.run_uid, stored.name, stored.version, "input")
    except Exception as error:  # the lineage is a record: the artifact is still usable
        warnings.warn(f"could not record that this run used {spec!r}: {error}", TrackioWarning, stacklevel=4)
    artifact = Artifact(stored.name, stored.type)
    artifact._hydrate(
        stored, context.project, blob_store(context.directory, context.project), _sources(stored, context)
    )
    return artifact


def _specs(store: Store, name: str) -> list[str]:
    """What could have been meant: the artifact's versions and aliases, else the project's artifact names."""
    versions = store.artifact_versions(name)
    if not versions:
        return store.artifact_names()
    return [f"{name}:v{v.version}" for v in versions] + [f"{name}:{a}" for v in versions for a in v.aliases]


def _sources(stored: ArtifactVersion, context: RunContext) -> tuple[str, ...]:
    """Where missing blobs can come from: the dataset the artifact was pulled from, then the run's."""
    return tuple(dict.fromkeys(d for d in (stored.origin, context.dataset_id) if d is not None))
