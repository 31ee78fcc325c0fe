"""The trail database ``<data-dir>/trails.db``: one row per trail, its document as JSON.

All trails are held in memory too (they are few: 5 per account and Region); reads never touch the
disk, writes go to SQLite first (``synchronous=FULL``, one transaction per change) and then to the
in-memory copy, under one lock. Safe to use from many threads.
"""

from __future__ import annotations

import threading
from pathlib import Path

from ..state_db import open_state_db
from .codec import dump_trail, load_trail
from .model import Trail

#: Trail key: (account_id, home_region, name).
TrailKey = tuple[str, str, str]

SCHEMA = """
CREATE TABLE IF NOT EXISTS trails (
    account_id  TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name        TEXT NOT NULL,
    doc         BLOB NOT NULL,
    PRIMARY KEY (account_id, home_region, name)
)
"""
UPSERT = "INSERT OR REPLACE INTO trails (account_id, home_region, name, doc) VALUES (?, ?, ?, ?)"
DELETE = "DELETE FROM trails WHERE account_id = ? AND home_region = ? AND name = ?"
SELECT_ALL = "SELECT doc FROM trails"


def key_of(trail: Trail) -> TrailKey:
    return (trail.account_id, trail.home_region, trail.name)


class TrailRepository:
    """Durable trail storage over SQLite at ``path`` with an in-memory copy."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_db(path)
        self._db.execute(SCHEMA)
        self.lock = threading.RLock()
        self._trails: dict[TrailKey, Trail] = {}
        for (doc,) in self._db.execute(SELECT_ALL):
            trail = load_trail(doc)
            self._trails[key_of(trail)] = trail

    def all(self) -> list[Trail]:
        """Every trail, sorted by (account, home Region, name)."""
        with self.lock:
            return [self._trails[k] for k in sorted(self._trails)]

    def get(self, key: TrailKey) -> Trail | None:
        with self.lock:
            return self._trails.get(key)

    def put(self, trail: Trail) -> None:
        """Insert or replace ``trail`` durably."""
        with self.lock:
            self._db.execute(UPSERT, (*key_of(trail), dump_trail(trail)))
            self._trails[key_of(trail)] = trail

    def delete(self, key: TrailKey) -> None:
        with self.lock:
            self._db.execute(DELETE, key)
            self._trails.pop(key, None)

    def close(self) -> None:
        with self.lock:
            self._db.close()
