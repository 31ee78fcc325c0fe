"""The SQLite files that hold opentrail's state beside the event store (trails, delivery and digest
state, event data stores, Lake ingestion and imports): one way to open them."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def open_state_db(path: Path) -> sqlite3.Connection:
    """A connection to the state database ``path`` (its folder created if missing), usable from any
    thread (callers serialize access with their own lock), in autocommit mode (callers open their
    transactions), WAL journal and ``synchronous=FULL``: a committed change is on disk."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    return conn
