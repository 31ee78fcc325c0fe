"""The event data store database ``<data-dir>/lake.db``: one row per store, its document as JSON.

Every store is held in memory too (at most 10 per account and Region); reads never touch the
disk, writes go to SQLite first (``synchronous=FULL``, one transaction per change) and then to the
in-memory copy, under one lock, as :mod:`opentrail.trails.repository` does. Safe from many threads.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import orjson

from ..state_db import open_state_db
from ..trails.model import AdvancedEventSelector, AdvancedFieldSelector, InsightSelector
from .model import EventDataStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS event_data_stores (
    id   TEXT PRIMARY KEY,
    doc  BLOB NOT NULL
)
"""
UPSERT = "INSERT OR REPLACE INTO event_data_stores (id, doc) VALUES (?, ?)"
DELETE = "DELETE FROM event_data_stores WHERE id = ?"
SELECT_ALL = "SELECT doc FROM event_data_stores"


def dump_store(eds: EventDataStore) -> bytes:
    """The document of ``eds`` (UTF-8 JSON, field names are the dataclass names)."""
    return orjson.dumps(dataclasses.asdict(eds))


def _selector(d: dict[str, Any]) -> AdvancedEventSelector:
    return AdvancedEventSelector(
        field_selectors=tuple(
            AdvancedFieldSelector(**{k: (v if k == "field" else tuple(v or ())) for k, v in fs.items()})
            for fs in d["field_selectors"]
        ),
        name=d.get("name"),
    )


def load_store(doc: bytes) -> EventDataStore:
    """The store in ``doc`` (written by :func:`dump_store`)."""
    d = orjson.loads(doc)
    d["advanced_event_selectors"] = tuple(_selector(s) for s in d["advanced_event_selectors"])
    d["tags"] = tuple((k, v) for k, v in d["tags"])
    d["insight_selectors"] = tuple(
        InsightSelector(s["insight_type"], None if s.get("event_categories") is None else tuple(s["event_categories"]))
        for s in d.get("insight_selectors") or ()
    )
    known = {f.name for f in dataclasses.fields(EventDataStore)}
    return EventDataStore(**{k: v for k, v in d.items() if k in known})


class StoreRepository:
    """Durable event data store storage over SQLite at ``path`` with an in-memory copy."""

    def __init__(self, path: Path) -> None:
        self._db = open_state_db(path)
        self._db.execute(SCHEMA)
        self.lock = threading.RLock()
        self._stores: dict[str, EventDataStore] = {}
        for (doc,) in self._db.execute(SELECT_ALL):
            eds = load_store(doc)
            self._stores[eds.id] = eds

    def all(self) -> list[EventDataStore]:
        """Every store, ordered by (creation time, id)."""
        with self.lock:
            return sorted(self._stores.values(), key=lambda s: (s.created_time, s.id))

    def get(self, eds_id: str) -> EventDataStore | None:
        with self.lock:
            return self._stores.get(eds_id)

    def put(self, eds: EventDataStore) -> None:
        """Insert or replace ``eds`` durably."""
        with self.lock:
            self._db.execute(UPSERT, (eds.id, dump_store(eds)))
            self._stores[eds.id] = eds

    def delete(self, eds_id: str) -> None:
        with self.lock:
            self._db.execute(DELETE, (eds_id,))
            self._stores.pop(eds_id, None)

    def close(self) -> None:
        with self.lock:
            self._db.close()
