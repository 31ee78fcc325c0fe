"""Errors raised by event store backends, and how a full filesystem is recognised."""

from __future__ import annotations

import errno
import sqlite3
import sys
from pathlib import Path

from .space import mount_point

#: SQLite's primary result code for "database or disk is full" (https://sqlite.org/rescode.html).
SQLITE_FULL = 13
#: errno values that mean the filesystem (or the user's quota on it) has no room left.
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


class StoreLockedError(RuntimeError):
    """Another process holds the event store's directory lock (``<directory>/LOCK``)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        super().__init__(f"event store {directory} is locked by another process")


class DataDirectoryFullError(RuntimeError):
    """A write failed because the filesystem holding ``directory`` has no room left (SQLite's
    SQLITE_FULL, ``ENOSPC`` or ``EDQUOT``). Nothing of the failed write was acknowledged; the same
    call succeeds again once space is freed (no restart needed). ``filesystem`` is the mount point
    of that filesystem."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.filesystem = mount_point(self.directory)
        super().__init__(f"the data directory {self.directory} is full: free space on {self.filesystem} and retry")


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised ``from``) says the disk or quota is full: a
    :class:`DataDirectoryFullError`, a ``sqlite3.Error`` with result code SQLITE_FULL, or an
    ``OSError`` with errno ``ENOSPC`` / ``EDQUOT``."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:  # along ``raise ... from``
        seen.add(id(current))
        if isinstance(current, DataDirectoryFullError):
            return True
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF == SQLITE_FULL:
                return True
            if code is None and "database or disk is full" in str(current):
                return True
        if isinstance(current, OSError) and current.errno in _FULL_ERRNOS:
            return True
        current = current.__cause__
    return False


def is_database_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised ``from``) says the PostgreSQL database
    cannot be reached or stopped answering: ``psycopg.OperationalError`` (connection refused or
    lost, server shutting down; ``psycopg_pool.PoolTimeout`` is one too)."""
    psycopg = sys.modules.get("psycopg")  # not imported: no PostgreSQL store, not a psycopg error
    if psycopg is None:
        return False
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, psycopg.OperationalError):
            return True
        current = current.__cause__
    return False
