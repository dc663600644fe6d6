"""Choosing SQLite's journal mode for the filesystem a project file lives on.

WAL keeps readers and writers from blocking each other, but its ``-shm`` index is shared memory
mapped from a file, which network filesystems do not keep coherent between machines (and which
can SIGBUS when the mapping goes away). On those filesystems the store uses the rollback journal
(``DELETE``) instead, relying only on POSIX byte-range locks; ``TRACKIO_SQLITE_JOURNAL`` forces
either mode.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import settings

NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "9p",
        "afs",
        "ceph",
        "glusterfs",
        "lustre",
        "gpfs",
        "beegfs",
        "ocfs2",
        "gfs2",
        "virtiofs",
        "davfs",
        "ncpfs",
        "panfs",
        "wekafs",
        "orangefs",
    }
)


def filesystem_type(path: Path, mounts_text: str | None = None) -> str | None:
    """The filesystem type of the mount holding ``path``, read from ``/proc/mounts`` (Linux)."""
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/mounts").read_text()
        except OSError:
            return None
    target = os.path.realpath(path)
    best, best_type = "", None
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def is_network_filesystem(fs_type: str | None) -> bool:
    if fs_type is None:
        return False
    # FUSE mounts of object stores and remote shares (sshfs, gcsfuse, s3fs, ...) cannot share memory maps.
    return fs_type in NETWORK_FILESYSTEMS or fs_type.startswith("fuse.") and fs_type != "fuse.lxcfs"


def journal_mode(path: Path, mounts_text: str | None = None) -> str:
    forced = settings.sqlite_journal()
    if forced:
        return forced
    return "delete" if is_network_filesystem(filesystem_type(path, mounts_text)) else "wal"
