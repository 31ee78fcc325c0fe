"""A stand-in for ``opentrail.monitoring.logs.LogsService`` (being built on branch h-logs) with the two
methods trail -> CloudWatch Logs delivery uses -- ``group_exists`` and ``append_events`` (with the
optional ``batch_id``) -- plus what the tests need to set up and read back, over a real SQLite
file (so a killed process's appends survive, as they would in the real service).

To be replaced by the real LogsService once h-logs is merged (the tests then create groups with
``aws logs create-log-group`` and read events with ``get-log-events``).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
                                   PRIMARY KEY (account, region, name));
CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL,
                                   grp TEXT NOT NULL, stream TEXT NOT NULL, timestamp INTEGER NOT NULL,
                                   message TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY);
"""


class ResourceNotFoundException(Exception):
    """CloudWatch Logs' error for a log group that does not exist."""

    code = "ResourceNotFoundException"


class StandInLogs:
    """Log groups and their events in the SQLite file ``path``; thread-safe."""

    def __init__(self, path: Path) -> None:
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        #: Calls of append_events, and the batch ids it ignored as already appended.
        self.appends = 0
        self.repeated_batches: list[str] = []

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def create_log_group(self, account_id: str, region: str, name: str) -> None:
        with self._lock:
            self._conn.execute("INSERT INTO groups VALUES (?, ?, ?)", (account_id, region, name))

    def delete_log_group(self, account_id: str, region: str, name: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM groups WHERE account = ? AND region = ? AND name = ?", (account_id, region, name))
            self._conn.execute("DELETE FROM events WHERE account = ? AND region = ? AND grp = ?", (account_id, region, name))

    def group_exists(self, account_id: str, region: str, group_name: str) -> bool:
        with self._lock:
            return self._conn.execute("SELECT 1 FROM groups WHERE account = ? AND region = ? AND name = ?",
                                      (account_id, region, group_name)).fetchone() is not None

    def append_events(self, account_id: str, region: str, group_name: str, stream_name: str,
                      events: list[tuple[int, str]], *, create_stream: bool = True, batch_id: str | None = None) -> None:
        """Append ``events`` in one transaction; a ``batch_id`` appended before is ignored.
        Raises ResourceNotFoundException when the group does not exist."""
        with self._lock:
            self.appends += 1
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                if self._conn.execute("SELECT 1 FROM groups WHERE account = ? AND region = ? AND name = ?",
                                      (account_id, region, group_name)).fetchone() is None:
                    raise ResourceNotFoundException("The specified log group does not exist.")
                if batch_id is not None:
                    if self._conn.execute("SELECT 1 FROM batches WHERE batch_id = ?", (batch_id,)).fetchone():
                        self.repeated_batches.append(batch_id)
                        self._conn.execute("ROLLBACK")
                        return
                    self._conn.execute("INSERT INTO batches VALUES (?)", (batch_id,))
                self._conn.executemany(
                    "INSERT INTO events (account, region, grp, stream, timestamp, message) VALUES (?, ?, ?, ?, ?, ?)",
                    [(account_id, region, group_name, stream_name, ts, message) for ts, message in events])
                self._conn.execute("COMMIT")
            except BaseException:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise

    def events(self, account_id: str, region: str, group_name: str) -> list[tuple[str, int, str]]:
        """(stream, timestamp ms, message) of the group's events, in append order."""
        with self._lock:
            return [tuple(r) for r in self._conn.execute(  # type: ignore[misc]
                "SELECT stream, timestamp, message FROM events WHERE account = ? AND region = ? AND grp = ? ORDER BY id",
                (account_id, region, group_name))]
