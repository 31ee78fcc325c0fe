"""Durable file writes shared by the local bucket folders and the digest key store.

:func:`write_atomic` gives readers either the old file or the whole new one, never a torn one,
and survives a crash once it returns (data and directory entry fsynced).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def fsync_dir(path: Path) -> None:
    """fsync the directory ``path`` so a rename or new entry in it is durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(dest: Path, data: bytes, *, tmp_dir: Path | None = None, mode: int | None = None) -> None:
    """Write ``data`` to ``dest``: into a temporary file in ``tmp_dir`` (default: ``dest``'s folder,
    which must be on the same file system), fsynced, given ``mode`` if set (e.g. 0o600 for
    secrets; mkstemp's default is 0600), renamed over ``dest``, then the folder fsynced.
    Raises ``OSError``; the temporary file never outlives a failure."""
    fd, tmp = tempfile.mkstemp(dir=tmp_dir or dest.parent, prefix=".tmp-")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    fsync_dir(dest.parent)
