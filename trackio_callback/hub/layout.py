"""Where each file of a trackio-callback Hub dataset lives: the one source of the path layout (pure).

::

    metrics/<project>/<run uid>/<first seq>-<last seq>.parquet     (seqs zero-padded to 12 digits)
    system/<project>/<run uid>[/<node>]/<first>-<last>.parquet      (<node>: another node's samples)
    tables/<project>/<run uid>/<first>-<last>.parquet
    alerts/<project>/<run uid>/<first>-<last>.parquet
    texts/<project>/<run uid>/<first>-<last>.parquet
    media/<project>/<run uid>/<first>-<last>.parquet                (rows naming each file; image thumbnails)
    histograms/<project>/<run uid>/<first>-<last>.parquet
    traces/<project>/<run uid>/<first>-<last>.parquet
    runs/<project>/<run uid>.parquet
    media/<project>/files/<sha256[:2]>/<sha256>.<format>            (a media file's bytes, once: the project's)
    artifacts/<project>/blobs/<sha256>                              (the bytes of artifacts' and saved files)
    artifacts/<project>/artifacts/<artifact name>.json              (an artifact: versions, manifests, aliases)
    artifacts/<project>/uses/<run uid>.json                         (the versions a run logged and used)
    files/<project>/<path>                                          (a file save() kept, at its relative path)

`parse` reads a path back. The static Space's page parses the same paths in JavaScript
(``server/static/sources.js``); ``tests/test_static_js.py`` checks the two agree. The artifacts' and
files' paths are outside both (`parse` answers None; `parse_artifact_file` reads them): the page reads none.
Media files are outside `parse` too (`parse_media_file` reads them; the page finds them by the ``file``
column of the media rows). They belong to the project, not to a run: identical bytes logged by several
runs are one file, and deleting a run leaves them (`run_files` never lists them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

KINDS = ("metrics", "system", "tables", "alerts", "texts", "media", "histograms", "traces")
SEQ_DIGITS = 12

_SHARD = re.compile(rf"({'|'.join(KINDS)})/([^/]+)/([^/]+)(?:/([^/]+))?/([0-9]+)-([0-9]+)\.parquet")
_RUN = re.compile(r"runs/([^/]+)/([^/]+)\.parquet")


class DatasetFile(NamedTuple):
    """A dataset path, read back: a shard (``kind`` in `KINDS`) or a runs file (``kind == "runs"``, seqs None)."""

    kind: str
    project: str
    run_uid: str
    node: str | None = None
    first_seq: int | None = None
    last_seq: int | None = None


def shard_path(kind: str, project: str, run_uid: str, first_seq: int, last_seq: int, node: str | None = None) -> str:
    """A shard's path; ``node``: system samples another node of a multi-node job sent (its own folder)."""
    folder = f"{kind}/{project}/{run_uid}" + (f"/{node}" if node is not None else "")
    return f"{folder}/{first_seq:0{SEQ_DIGITS}d}-{last_seq:0{SEQ_DIGITS}d}.parquet"


def run_path(project: str, run_uid: str) -> str:
    return f"runs/{project}/{run_uid}.parquet"


def parse(path: str) -> DatasetFile | None:
    """The file ``path`` names, or None for a path outside the layout (the card, ``.gitattributes``)."""
    shard = _SHARD.fullmatch(path)
    if shard:
        kind, project, uid, node, first, last = shard.groups()
        if node is not None and kind != "system":
            return None
        return DatasetFile(kind, project, uid, node, int(first), int(last))
    run = _RUN.fullmatch(path)
    if run:
        return DatasetFile("runs", run.group(1), run.group(2))
    return None


# -- media files (not Parquet: the media rows' ``file`` column names them) -------------------------------

MEDIA_FILES_FOLDER = "files"  # media/<project>/files/...: beside the runs' folders of the media config
_MEDIA_FILE = re.compile(r"media/([^/]+)/files/([0-9a-f]{2})/([0-9a-f]{64})\.([a-z0-9]{1,10})")


class MediaFilePath(NamedTuple):
    """A media file's path, read back: the project, the sha256 of its bytes and its format (extension)."""

    project: str
    digest: str
    format: str


def media_file_path(project: str, digest: str, format: str) -> str:  # noqa: A002 - the media rows' column name
    """Where the media file of sha256 ``digest`` lives: derived from its content alone, so it is sent once."""
    return f"media/{project}/{MEDIA_FILES_FOLDER}/{digest[:2]}/{digest}.{format}"


def parse_media_file(path: str) -> MediaFilePath | None:
    """The media file ``path`` names, or None."""
    found = _MEDIA_FILE.fullmatch(path)
    if found is None or not found.group(3).startswith(found.group(2)):
        return None
    project, _, digest, extension = found.groups()
    return MediaFilePath(project, digest, extension)


# -- artifacts and saved files (not Parquet: the page reads none of them) --------------------------------

_ARTIFACT_FILE = re.compile(r"artifacts/([^/]+)/(blobs|artifacts|uses)/([^/]+)")
_SAVED_FILE = re.compile(r"files/([^/]+)/(.+)")


class ArtifactFile(NamedTuple):
    """An artifacts or files path, read back: ``kind`` is ``blob`` (``key``: the sha256), ``artifact`` (the
    artifact's name), ``uses`` (the run's uid) or ``file`` (the saved file's relative path)."""

    kind: str
    project: str
    key: str


def artifact_blob_path(project: str, digest: str) -> str:
    return f"artifacts/{project}/blobs/{digest}"


def artifact_path(project: str, name: str) -> str:
    return f"artifacts/{project}/artifacts/{name}.json"


def artifact_uses_path(project: str, run_uid: str) -> str:
    return f"artifacts/{project}/uses/{run_uid}.json"


def saved_file_path(project: str, path: str) -> str:
    return f"files/{project}/{path}"


def parse_artifact_file(path: str) -> ArtifactFile | None:
    """The artifacts or files path ``path`` names, or None."""
    found = _ARTIFACT_FILE.fullmatch(path)
    if found:
        project, folder, name = found.groups()
        if folder == "blobs":
            return ArtifactFile("blob", project, name)
        if name.endswith(".json") and len(name) > len(".json"):
            return ArtifactFile("artifact" if folder == "artifacts" else "uses", project, name[: -len(".json")])
        return None
    found = _SAVED_FILE.fullmatch(path)
    if found:
        return ArtifactFile("file", found.group(1), found.group(2))
    return None


def run_files(paths: Iterable[str], project: str, run_uid: str) -> list[str]:
    """The files of one run of ``project`` among ``paths``, sorted: its runs file, its artifact lineage, and
    every file in a ``<kind>/<project>/<run uid>/`` folder (an observer node's too). Compared part by part,
    so another run's or another project's files never match; artifacts' bytes, saved files and media files are
    the project's (even for a run whose uid is ``files``)."""
    own = {run_path(project, run_uid), artifact_uses_path(project, run_uid)}
    found = []
    for path in paths:
        parts = path.split("/")
        if path in own or (
            len(parts) > 3 and parts[0] in KINDS and parts[1:3] == [project, run_uid] and parse_media_file(path) is None
        ):
            found.append(path)
    return sorted(found)
