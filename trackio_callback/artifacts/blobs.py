"""`BlobStore`: the content-addressed store of a project's file bytes, beside its database.

``<dir>/<project>.files/blobs/sha256/<first two hex digits>/<sha256>`` holds each distinct content
once, whatever artifact or saved file it belongs to. A blob is written under ``blobs/tmp/`` while it
is copied (and hashed in the same pass), flushed to disk (``fsync``) and renamed into place: a blob
at its final path is always complete, whatever kills the process, and the database references a
digest only after its blob is in place. A process killed mid-copy leaves only a ``tmp/`` file, which
nothing references and `BlobStore.clean_partials` removes later.

Example::

    blobs = BlobStore(files.project_files_dir(Path("runs"), "demo"))
    digest, size = blobs.add_file(Path("model.safetensors"))
    blobs.path(digest).read_bytes() == Path("model.safetensors").read_bytes()   # True
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from .. import settings
from ..errors import FileTooLargeError
from ..store import files
from . import progress
from .progress import progress_bar

CHUNK_BYTES = 4 * 2**20
SHA256 = re.compile(r"[0-9a-f]{64}")
PARTIAL_MAX_AGE_S = 24 * 3600  # a copy this old was left by a dead process (a live one renames it in minutes)


def check_digest(digest: object) -> str:
    """``digest`` if it is a sha256 in lowercase hex, else ValueError (a digest becomes a file name)."""
    if not isinstance(digest, str) or not SHA256.fullmatch(digest):
        raise ValueError(f"invalid blob digest {digest!r}: expected 64 lowercase hex digits (a sha256)")
    return digest


def check_size(path: Path, size: int, limit: int | None = None) -> None:
    """Raise `FileTooLargeError` naming ``path``, its size and the limit when ``size`` is over it."""
    limit = settings.max_file_bytes() if limit is None else limit
    if size > limit:
        raise FileTooLargeError(
            f"{path} is {size:,} bytes, over the limit of {limit:,} bytes for one file "
            "(set TRACKIO_MAX_FILE_BYTES to raise it)"
        )


class BlobStore:
    """The blobs of one project (``files_dir`` is `store.files.project_files_dir`)."""

    def __init__(self, files_dir: Path):
        self.files_dir = Path(files_dir)
        self.root = self.files_dir / "blobs" / "sha256"
        self.tmp = self.files_dir / "blobs" / "tmp"

    def path(self, digest: str) -> Path:
        return files.blob_path(self.files_dir, check_digest(digest))

    def has(self, digest: str) -> bool:
        return self.path(digest).is_file()

    def add_file(self, source: Path, limit: int | None = None) -> tuple[str, int]:
        """Copy ``source`` in unless its content is here already; ``(sha256, size)``.

        A first pass only hashes (content already stored costs a read, no write: a checkpoint logged
        again); a new content is then copied, hashing what is written: what is stored is what was
        read, under the digest of those bytes, even if the file changed in between. Over ``limit``
        (default `settings.max_file_bytes`): `FileTooLargeError`.
        """
        source = Path(source)
        limit = settings.max_file_bytes() if limit is None else limit
        expected = source.stat().st_size
        check_size(source, expected, limit)
        digest, size = _hashed(source, limit, f"hashing {source.name}")
        if self.has(digest):
            return digest, size
        sha = hashlib.sha256()
        copied = 0

        def write(out) -> None:
            nonlocal copied
            with source.open("rb") as src, progress_bar(expected, f"storing {source.name}") as advance:
                while chunk := src.read(CHUNK_BYTES):
                    copied += len(chunk)
                    check_size(source, copied, limit)  # it grew while being copied
                    sha.update(chunk)
                    out.write(chunk)
                    advance(len(chunk))

        partial = self._write_partial(write)
        self._settle(partial, sha.hexdigest())
        return sha.hexdigest(), copied

    def add_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data`` (an encoded media file) unless this content is here already; ``(sha256, size)``."""
        digest = hashlib.sha256(data).hexdigest()
        if not self.has(digest):
            self._settle(self._write_partial(lambda out: out.write(data)), digest)
        return digest, len(data)

    def adopt_file(self, path: Path, digest: str) -> None:
        """Make ``path`` (a file in ``tmp/``, e.g. just downloaded) the blob ``digest``, after checking its bytes.

        ValueError (and ``path`` deleted) when they hash otherwise.
        """
        sha = hashlib.sha256()
        with Path(path).open("rb") as f:
            while chunk := f.read(CHUNK_BYTES):
                sha.update(chunk)
        if sha.hexdigest() != digest:
            Path(path).unlink(missing_ok=True)
            raise ValueError(f"the bytes fetched for blob {digest} hash to {sha.hexdigest()}: not stored")
        self._settle(Path(path), digest)

    def copy_out(self, digest: str, destination: Path) -> None:
        """Write blob ``digest`` to ``destination`` atomically (nothing to do when it has the same size and time).

        The copy gets the blob's modification time, so a repeated download recognises its own files.
        """
        blob = self.path(digest)
        stat = blob.stat()
        destination = Path(destination)
        if destination.is_file():
            current = destination.stat()
            if current.st_size == stat.st_size and current.st_mtime_ns == stat.st_mtime_ns:
                return
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.{uuid.uuid4().hex}.partial")
        try:
            if stat.st_size < progress.PROGRESS_MIN_BYTES:  # no bar to move: the kernel copies (sendfile)
                shutil.copyfile(blob, partial)
            else:
                bar = progress_bar(stat.st_size, f"copying {destination.name}")
                with blob.open("rb") as src, partial.open("wb") as out, bar as advance:
                    while chunk := src.read(CHUNK_BYTES):
                        out.write(chunk)
                        advance(len(chunk))
            os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            os.replace(partial, destination)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise

    def remove(self, digests: Iterable[str]) -> None:
        """Delete blobs nothing references any more (the caller knows; a missing one is fine)."""
        for digest in digests:
            path = self.path(digest)
            path.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # other blobs share the folder
                path.parent.rmdir()

    def clean_partials(self, max_age: float = PARTIAL_MAX_AGE_S) -> int:
        """Delete copies older than ``max_age`` seconds that a killed process left in ``tmp/``; how many."""
        if not self.tmp.is_dir():
            return 0
        removed = 0
        cutoff = time.time() - max_age
        for path in self.tmp.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed

    # -- the atomic write -----------------------------------------------------------------------

    def _write_partial(self, write: Callable) -> Path:
        """A new file in ``tmp/`` filled by ``write(file)`` and flushed to disk; deleted if ``write`` fails."""
        self.tmp.mkdir(parents=True, exist_ok=True)
        partial = self.tmp / f"{uuid.uuid4().hex}.partial"
        try:
            with partial.open("wb") as out:
                write(out)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return partial

    def _settle(self, partial: Path, digest: str) -> None:
        """Rename a complete copy to its blob path (or drop it: the content is here already), durably."""
        target = self.path(digest)
        if target.is_file():
            partial.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(partial, 0o444)  # a blob never changes: a stray write fails instead of corrupting every user
        os.replace(partial, target)
        _fsync_dir(target.parent)


def _hashed(path: Path, limit: int, description: str) -> tuple[str, int]:
    """``(sha256, size)`` of the bytes of ``path`` as read now; `FileTooLargeError` once past ``limit``."""
    sha, size = hashlib.sha256(), 0
    with path.open("rb") as src, progress_bar(path.stat().st_size, description) as advance:
        while chunk := src.read(CHUNK_BYTES):
            size += len(chunk)
            check_size(path, size, limit)
            sha.update(chunk)
            advance(len(chunk))
    return sha.hexdigest(), size


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
