"""Backends under test: every entry of BACKENDS runs the whole conformance suite.

A factory opens a store; calling it again with ``reopen=True`` reopens the same data (only
backends with ``durable`` set support that). The ``postgres`` backend uses the real PostgreSQL on
this machine (tests/postgres.py): one database per test session, one schema per store; it is
skipped with the reason when the server does not answer."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from opentrail.store.base import EventStore
from opentrail.store.memory import MemoryEventStore
from opentrail.store.sqlite import SqliteEventStore
from tests import postgres as pg


class StoreFactory:
    """``factory()`` -> a fresh store (closing the previous one); ``factory.durable`` tells
    whether ``factory.reopen()`` returns a new store over the same data."""

    def __init__(self, name: str, make: Callable[[int], EventStore], durable: bool) -> None:
        self.name = name
        self._make = make
        self.durable = durable
        self.stores: list[EventStore] = []
        self._last = 0

    def __call__(self) -> EventStore:
        self.close_all()
        self._last = len(self.stores)
        store = self._make(self._last)
        self.stores.append(store)
        return store

    def reopen(self) -> EventStore:
        assert self.durable, f"{self.name} is not durable"
        self.stores[-1].close()
        store = self._make(self._last)
        self.stores.append(store)
        return store

    def close_all(self) -> None:
        for s in self.stores:
            s.close()


def _memory(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    return StoreFactory("memory", lambda n: MemoryEventStore(), durable=False)


def _sqlite(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    return StoreFactory("sqlite", lambda n: SqliteEventStore(tmp_path / f"store{n}", cache_mb=16), durable=True)


def _sqlite_small_blocks(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    """SQLite with posting blocks of 3 ords and eventID merges every 7 new events, so every test
    crosses block boundaries, meets blocks whose ord ranges overlap, and finds eventIDs on both
    sides of a merge."""
    return StoreFactory(
        "sqlite-small-blocks",
        lambda n: SqliteEventStore(tmp_path / f"store{n}", cache_mb=16, block_ords=3, merge_at_ids=7),
        durable=True,
    )


_schemas = iter(range(1, 1 << 30))


def _postgres(tmp_path: Path, request: pytest.FixtureRequest) -> StoreFactory:
    """PostgreSQL: each store a fresh schema of the session's database (reopen: the same one)."""
    from opentrail.store.postgres import PostgresEventStore

    database = request.getfixturevalue("postgres_database")

    def make(n: int) -> EventStore:
        schema = schemas.setdefault(n, f"store_{next(_schemas)}")
        pg.create_schema(database, schema)
        return PostgresEventStore(pg.url_of(database.rsplit("/", 1)[1], schema), pool_max=4)

    schemas: dict[int, str] = {}
    return StoreFactory("postgres", make, durable=True)


BACKENDS: dict[str, Callable[[Path, pytest.FixtureRequest], StoreFactory]] = {
    "memory": _memory,
    "postgres": _postgres,
    "sqlite": _sqlite,
    "sqlite-small-blocks": _sqlite_small_blocks,
}


@pytest.fixture(params=sorted(BACKENDS))
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    factory = BACKENDS[request.param](tmp_path, request)
    yield factory
    factory.close_all()


@pytest.fixture
def store(store_factory: StoreFactory) -> EventStore:
    return store_factory()

