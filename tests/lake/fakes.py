"""A small fake of the event data store service (the interface of LAKE.md) and a store filled with
real records (invictus-ir dataset) written through :mod:`opentrail.lake.schema`."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from opentrail.lake import layout
from opentrail.lake.model import EventDataStore
from opentrail.lake.schema import SCHEMA, record_row
from tests.paths import INVICTUS

DATASET = INVICTUS

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"


class EventDataStoreNotFoundException(Exception):
    """What the real service raises (same code and message attributes)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__


class FakeStores:
    """``find`` by ID or ARN in the caller's account, as the real service does."""

    def __init__(self) -> None:
        self.stores: dict[str, EventDataStore] = {}
        self.version = 0

    def add(self, eds_id: str, account_id: str = ACCOUNT, status: str = "ENABLED") -> EventDataStore:
        store = EventDataStore(id=eds_id, account_id=account_id, home_region=REGION, name=f"s-{eds_id[:4]}",
                               status=status, advanced_event_selectors=())
        self.stores[eds_id] = store
        self.version += 1
        return store

    def all(self) -> list[EventDataStore]:
        return list(self.stores.values())

    def find(self, account_id: str, region: str, id_or_arn: str) -> EventDataStore:
        eds_id = id_or_arn.rsplit("/", 1)[-1].lower()
        store = self.stores.get(eds_id)
        if store is None or store.account_id != account_id:
            raise EventDataStoreNotFoundException(f"The specified event data store {id_or_arn} was not found.")
        return store


def load_records() -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for path in sorted(glob.glob(str(DATASET / "*.json"))):
        records += json.loads(Path(path).read_text())["Records"]
    return records


def write_store(lake_root: Path, eds_id: str, records: list[dict[str, Any]], *, files: int = 2) -> list[Path]:
    """``records`` as ``files`` Parquet files of the store (as Lake ingestion writes them)."""
    folder = layout.store_dir(lake_root, eds_id)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    size = max(1, -(-len(records) // files))
    for n in range(0, len(records), size):
        rows = [record_row(r, orjson.dumps(r)) for r in records[n:n + size]]
        path = folder / f"part-{n:06d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path, compression="zstd")
        out.append(path)
    return out
