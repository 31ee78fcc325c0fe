"""The event data store database ``<data-dir>/lake.db``: one row per store, its document as JSON.

Every store is held in memory too (at most 10 per account and Region); reads ask the database only
whether anything changed, at most every 0.5 s; writes go to the database first (SQLite ``synchronous=FULL`` or PostgreSQL, one transaction per
change) and then to the in-memory copy, under one lock. What another node commits is reloaded
(:mod:`.fresh_rows`). Safe from many threads.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any, Callable

import orjson

from ..state_db import open_state_db
from ..state_migrate import apply_schema
from ..trails.model import AdvancedEventSelector, AdvancedFieldSelector, InsightSelector
from .fresh_rows import FreshRows
from .model import EventDataStore

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
    """Durable event data store storage over the state database ``path`` with an in-memory copy
    (:class:`.fresh_rows.FreshRows`: a change committed by another node is seen by the next read on
    SQLite, within :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL, and at once by
    a block holding :attr:`lock`; ``recheck_s`` overrides that interval)."""

    def __init__(self, path: Path, *, recheck_s: float | None = None) -> None:
        self._db = open_state_db(path)
        apply_schema(self._db, "opentrail.lake", "event_data_stores")
        self._rows: FreshRows[str, EventDataStore] = FreshRows(self._db, _load_all, recheck_s=recheck_s)
        #: hold for a read-check-write block (reloads what other nodes committed on entry)
        self.lock = self._rows.lock

    @property
    def generation(self) -> int:
        """Changes when the stores were reloaded after another node's (connection's) commit."""
        self._rows.sync()
        return self._rows.generation

    def all(self) -> list[EventDataStore]:
        """Every store, ordered by (creation time, id)."""
        return sorted(self._rows.rows().values(), key=lambda s: (s.created_time, s.id))

    def get(self, eds_id: str) -> EventDataStore | None:
        """The store ``eds_id``; one not in the copy is looked for again after a reload when
        another node committed (a store just created elsewhere is found at once)."""
        found = self._rows.rows().get(eds_id)
        if found is None and self._rows.sync(force=True):
            found = self._rows.rows().get(eds_id)
        return found

    def put(self, eds: EventDataStore, *, check: Callable[[], None] | None = None) -> None:
        """Insert or replace ``eds`` durably. ``check`` (a name free, a limit not reached, reading
        :meth:`all`) runs first inside the write transaction, with every other node's commit
        reloaded (:meth:`.fresh_rows.FreshRows.write_transaction`); what it raises is raised and
        nothing is written."""
        with self._rows.mutex:
            if check is None:
                self._db.execute(UPSERT, (eds.id, dump_store(eds)))
            else:
                with self._rows.write_transaction() as db:
                    check()
                    db.execute(UPSERT, (eds.id, dump_store(eds)))
            self._rows.put(eds.id, eds)

    def delete(self, eds_id: str) -> None:
        with self._rows.mutex:
            self._db.execute(DELETE, (eds_id,))
            self._rows.pop(eds_id)

    def close(self) -> None:
        with self._rows.mutex:
            self._db.close()


def _load_all(db: sqlite3.Connection) -> dict[str, EventDataStore]:
    stores = (load_store(bytes(doc)) for (doc,) in db.execute(SELECT_ALL))
    return {eds.id: eds for eds in stores}
