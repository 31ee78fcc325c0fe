"""Free space of the data directory's filesystem: what the health endpoint, the console and the
start-up check report."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _existing(path: Path | str) -> Path:
    p = Path(os.path.abspath(path))
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def mount_point(path: Path | str) -> str:
    """The mount point of the filesystem holding ``path`` (or its nearest existing ancestor)."""
    p = _existing(path)
    while not os.path.ismount(p) and p != p.parent:
        p = p.parent
    return str(p)


def free_bytes(path: Path | str) -> int:
    """Bytes an unprivileged process may still write on the filesystem holding ``path``
    (``statvfs``: ``f_bavail * f_frsize``; user quotas are not counted)."""
    st = os.statvfs(_existing(path))
    return st.f_bavail * st.f_frsize


@dataclass(frozen=True, slots=True)
class DataDirectoryStatus:
    """``free_bytes`` on the data directory's filesystem (mounted at ``filesystem``); ``full`` when
    that is below the ``min_free_bytes`` setting or the store's writes fail for lack of space."""

    free_bytes: int
    full: bool
    filesystem: str

    def to_json(self) -> dict[str, object]:
        """The health endpoint's ``dataDirectory`` member: ``{"freeBytes": N, "full": bool}``."""
        return {"freeBytes": self.free_bytes, "full": self.full}


def data_directory_status(directory: Path | str, min_free_bytes: int, store_full: bool) -> DataDirectoryStatus:
    """The status of ``directory``; ``store_full`` is the store's :meth:`EventStore.is_full`."""
    free = free_bytes(directory)
    return DataDirectoryStatus(free, store_full or free < min_free_bytes, mount_point(directory))
