"""References: data an artifact points at by URI instead of copying (trackio's ``add_reference``).

A `ReferenceHandler` serves one family of URIs: ``matches`` claims a URI, ``resolve`` probes it for
its size and a checksum (a folder or prefix becomes one `ResolvedReference` per object) and
``fetch`` downloads one object. The built-in handlers serve ``file://`` (hashed: sha256),
``http(s)://`` (``Content-Length`` and ``ETag`` of a HEAD request) and ``hf://`` (huggingface_hub's
file system: the LFS sha256 or the git blob id). Handlers registered with
`register_reference_handler` are asked first, so one can claim a new scheme (``s3://``) or take
over some URLs of a built-in one.

Example::

    class MemoryHandler(ReferenceHandler):
        def matches(self, scheme, uri): return scheme == "mem"
        def resolve(self, uri, checksum, max_objects): return [ResolvedReference(None, uri, 3, "abc")]
        def fetch(self, uri, dest): dest.write_bytes(b"abc")
        def hint(self): return "mem:// objects are always checksummed"

    register_reference_handler(MemoryHandler())
    artifact.add_reference("mem://bucket/a.txt")
"""

from __future__ import annotations

import hashlib
import shutil
from abc import ABC, abstractmethod
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qsl, quote, unquote, urlsplit

DEFAULT_MAX_OBJECTS = 10_000
HTTP_TIMEOUT_S = 30.0
_SIGNED_QUERY_KEYS = frozenset({"x-amz-signature", "x-goog-signature", "sig", "token", "signature"})


class ResolvedReference(NamedTuple):
    """One object a reference resolves to.

    ``relkey``: None for the single object a URI names, else its path below the folder or prefix the
    URI names. ``digest``: a sha256 of the content, the provider's ETag or blob id, or None when none
    could be had (the URI itself then stands for the content).
    """

    relkey: str | None
    uri: str
    size: int | None = None
    digest: str | None = None


class ReferenceHandler(ABC):
    """Resolves and fetches the references of some URI schemes; subclass it and `register_reference_handler` it."""

    @abstractmethod
    def matches(self, scheme: str, uri: str) -> bool:
        """Whether this handler serves ``uri`` (registered handlers are asked before the built-in ones)."""

    @abstractmethod
    def resolve(self, uri: str, checksum: bool, max_objects: int) -> list[ResolvedReference]:
        """Size and checksum of the object at ``uri``, or one entry per object below a folder or prefix.

        An unreachable remote gives one entry without size or digest. ``checksum=False`` skips the
        checksums (a prefix still lists its objects). More than ``max_objects`` objects: ValueError.
        """

    @abstractmethod
    def fetch(self, uri: str, dest: Path) -> None:
        """Download the single object at ``uri`` into the file ``dest``."""

    @abstractmethod
    def hint(self) -> str:
        """What to do so that ``resolve`` can checksum such a URI (shown when it could not)."""


def check_uri(uri: object) -> tuple[str, str]:
    """``(scheme, uri)`` of a reference URI: a non-empty string with a scheme, without whitespace or NUL."""
    if not isinstance(uri, str) or not uri:
        raise ValueError(f"invalid reference URI {uri!r}: it must be a non-empty string")
    if "\x00" in uri or any(c.isspace() for c in uri):
        raise ValueError(f"invalid reference URI {uri!r}: percent-encode spaces and special characters")
    scheme = urlsplit(uri).scheme.lower()
    if not scheme:
        raise ValueError(
            f"invalid reference URI {uri!r}: a scheme is required (file://, https://, hf://, s3://, ...); "
            "use add_file for a local path"
        )
    return scheme, uri


def looks_signed(uri: str) -> bool:
    """Whether the URI's query seems to carry a credential (a presigned URL, a SAS token, ``token=``)."""
    return any(key.lower() in _SIGNED_QUERY_KEYS for key, _ in parse_qsl(urlsplit(uri).query, keep_blank_values=True))


def default_name(uri: str) -> str:
    """The name a reference gets inside the artifact: the URI's last path segment, else its host."""
    parts = urlsplit(uri)
    return parts.path.rstrip("/").rsplit("/", 1)[-1] or parts.netloc


def local_path(uri: str) -> Path:
    """The local path a ``file://`` URI names (a host other than localhost: a UNC-style path)."""
    from urllib.request import url2pathname  # urllib.request loads http and ssl: only when a file:// is used

    parts = urlsplit(uri)
    path = url2pathname(parts.path)
    if parts.netloc and parts.netloc.lower() != "localhost":
        return Path(f"//{parts.netloc}{path}")
    return Path(path)


def resolve(uri: str, checksum: bool = True, max_objects: int = DEFAULT_MAX_OBJECTS) -> list[ResolvedReference]:
    scheme, uri = check_uri(uri)
    return handler_for(scheme, uri).resolve(uri, checksum, max_objects)


def fetch(uri: str, dest: Path) -> None:
    """Download the object at ``uri`` into ``dest`` (its folder created)."""
    scheme, uri = check_uri(uri)
    dest.parent.mkdir(parents=True, exist_ok=True)
    handler_for(scheme, uri).fetch(uri, dest)


def hint(uri: str) -> str:
    scheme, uri = check_uri(uri)
    return handler_for(scheme, uri).hint()


def _over_limit(count: int, max_objects: int, uri: str) -> None:
    if count > max_objects:
        raise ValueError(f"reference {uri!r} holds more than {max_objects} objects; pass a larger max_objects=")


# -- the built-in handlers --------------------------------------------------------------------------


class FileHandler(ReferenceHandler):
    """``file://``: a file (hashed) or a folder (one entry per file, symlinks skipped); a missing path raises."""

    def matches(self, scheme: str, uri: str) -> bool:
        return scheme == "file"

    def resolve(self, uri: str, checksum: bool, max_objects: int) -> list[ResolvedReference]:
        path = local_path(uri)
        if path.is_file():
            return [ResolvedReference(None, uri, path.stat().st_size, _sha256(path) if checksum else None)]
        if path.is_dir():
            found = []
            for item in sorted(path.rglob("*")):
                if item.is_symlink() or not item.is_file():
                    continue
                digest = _sha256(item) if checksum else None
                found.append(
                    ResolvedReference(item.relative_to(path).as_posix(), item.as_uri(), item.stat().st_size, digest)
                )
                _over_limit(len(found), max_objects, uri)
            return found
        raise ValueError(f"reference {uri!r}: {path} is neither a file nor a folder (use add_file to copy a file in)")

    def fetch(self, uri: str, dest: Path) -> None:
        path = local_path(uri)
        if not path.is_file():
            raise FileNotFoundError(f"the referenced file {path} ({uri}) does not exist any more")
        shutil.copyfile(path, dest)

    def hint(self) -> str:
        return "make sure the file exists so that it can be hashed"


class HttpHandler(ReferenceHandler):
    """``http(s)://``: size and ETag from a HEAD request (none when the server does not answer)."""

    def matches(self, scheme: str, uri: str) -> bool:
        return scheme in ("http", "https")

    def resolve(self, uri: str, checksum: bool, max_objects: int) -> list[ResolvedReference]:
        if not checksum:
            return [ResolvedReference(None, uri)]
        import urllib.request  # here: it loads http and ssl, which logging needs no more of

        try:
            with urllib.request.urlopen(urllib.request.Request(uri, method="HEAD"), timeout=HTTP_TIMEOUT_S) as answer:
                headers = answer.headers
        except (OSError, ValueError):  # URLError is an OSError
            return [ResolvedReference(None, uri)]
        length = headers.get("Content-Length")
        etag = (headers.get("ETag") or "").strip().removeprefix("W/").strip('"')
        size = int(length) if length is not None and length.isdigit() else None
        return [ResolvedReference(None, uri, size, etag or None)]

    def fetch(self, uri: str, dest: Path) -> None:
        import urllib.request

        with urllib.request.urlopen(uri, timeout=HTTP_TIMEOUT_S) as answer, dest.open("wb") as out:
            shutil.copyfileobj(answer, out, 2**20)

    def hint(self) -> str:
        return "check that the URL is reachable and that its server sends an ETag header"


class HfHandler(ReferenceHandler):
    """``hf://<repo path>``: huggingface_hub's file system (the LFS sha256, else the git blob id); folders expand."""

    def matches(self, scheme: str, uri: str) -> bool:
        return scheme == "hf"

    def resolve(self, uri: str, checksum: bool, max_objects: int) -> list[ResolvedReference]:
        if not checksum:
            return [ResolvedReference(None, uri)]
        try:
            fs = self._fs()
            path = self._path(uri)
            info = fs.info(path)
        except Exception:  # no huggingface_hub, a private or missing repo, no network: recorded by URI
            return [ResolvedReference(None, uri)]
        if info.get("type") != "directory":
            return [ResolvedReference(None, uri, info.get("size"), self._checksum(info))]
        prefix = path.rstrip("/") + "/"
        found = []
        for child, details in sorted(fs.find(path, detail=True).items()):
            if details.get("type") != "file":
                continue
            relkey = child[len(prefix) :] if child.startswith(prefix) else child.rsplit("/", 1)[-1]
            found.append(
                ResolvedReference(
                    relkey, "hf://" + quote(child, safe="/"), details.get("size"), self._checksum(details)
                )
            )
            _over_limit(len(found), max_objects, uri)
        return found

    def fetch(self, uri: str, dest: Path) -> None:
        self._fs().get_file(self._path(uri), str(dest))

    def hint(self) -> str:
        return "check that the hf:// path exists and is readable (log in for a private repo)"

    @staticmethod
    def _fs():
        from huggingface_hub import HfFileSystem

        return HfFileSystem()

    @staticmethod
    def _path(uri: str) -> str:
        return unquote(uri.split("://", 1)[1])

    @staticmethod
    def _checksum(info: dict) -> str | None:
        lfs = info.get("lfs")
        if isinstance(lfs, dict) and lfs.get("sha256"):
            return lfs["sha256"]
        return info.get("blob_id") or info.get("xet_hash") or None


_HANDLERS: list[ReferenceHandler] = [FileHandler(), HttpHandler(), HfHandler()]


def register_reference_handler(handler: ReferenceHandler) -> None:
    """Serve the URIs ``handler`` matches with it, before the built-in ``file://``, ``http(s)://`` and ``hf://``."""
    if not isinstance(handler, ReferenceHandler):
        raise TypeError(f"register_reference_handler takes a ReferenceHandler instance, got {handler!r}")
    _HANDLERS.insert(0, handler)


def handler_for(scheme: str, uri: str) -> ReferenceHandler:
    for handler in _HANDLERS:
        if handler.matches(scheme, uri):
            return handler
    raise ValueError(
        f"no reference handler for {uri!r} (scheme {scheme!r}): the built-in ones serve file://, http(s):// and "
        "hf://; register one for other schemes with register_reference_handler()"
    )


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(2**20):
            sha.update(chunk)
    return sha.hexdigest()
