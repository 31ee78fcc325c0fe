"""A real opentrail server with trails and CloudTrail Lake event data stores (uvicorn in a thread)
and boto3 clients."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.lake import Lake
from opentrail.lake.service import EventDataStoreService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from opentrail.lake.queries import TERMINAL, QueryManager
from tests.lake.fakes import FakeStores, load_records, write_store
from tests.serving import serving

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
BUCKET = "trail-bucket"


class Clock:
    """The injected clock: a fixed time tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class LakeServer:
    url: str
    data_dir: Path
    trails: TrailService
    stores: EventDataStoreService
    lake: Lake
    store: MemoryEventStore
    clock: Clock
    key: AccessKey
    other_key: AccessKey

    def client(self, region: str = REGION, key: AccessKey | None = None) -> Any:
        key = key or self.key
        return boto3.client(
            "cloudtrail",
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )


@pytest.fixture(scope="module")
def lake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LakeServer]:
    data_dir = tmp_path_factory.mktemp("lake")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    other = accounts.create_access_key(OTHER_ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    clock = Clock(time.time())  # the signature check uses it too: keep it near real time
    trails = TrailService(data_dir, storage, clock)
    stores = EventDataStoreService(data_dir, clock)
    lake = Lake(stores=stores, queries=None, root=data_dir / "lake")
    store = MemoryEventStore()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, trails=trails, lake=lake)
    try:
        with serving(app) as url:
            yield LakeServer(url, data_dir, trails, stores, lake, store, clock, key, other)
    finally:
        trails.close()
        stores.close()
        store.close()
        accounts.close()


@pytest.fixture
def srv(lake_server: LakeServer) -> Iterator[LakeServer]:
    """The shared server; every event data store and trail is removed after the test."""
    yield lake_server
    for eds in lake_server.stores.all():
        lake_server.stores._remove(eds.id)
    for trail in lake_server.trails.trails():
        lake_server.trails.delete_trail(trail.account_id, trail.home_region, trail.name)


# --- SQL queries over Parquet files of real records (tests/lake/test_sql_examples.py) ------------

EDS = "0233062b-51c6-4d18-8dec-a8c90da840d9"


@pytest.fixture(scope="session")
def records() -> list[dict[str, Any]]:
    return load_records()


class Runner:
    def __init__(self, manager: QueryManager) -> None:
        self.manager = manager

    def wait(self, query_id: str, timeout: float = 20) -> Any:
        deadline = time.time() + timeout
        while True:
            info = self.manager.describe(ACCOUNT, query_id)
            if info.status in TERMINAL or time.time() > deadline:
                return info
            time.sleep(0.01)

    def __call__(self, statement: str) -> tuple[tuple[str, ...], list[list[str]]]:
        """Run ``statement`` (``$EDS`` = the store) to the end; Lake's names and every row."""
        query_id = self.manager.start(ACCOUNT, REGION, statement.replace("$EDS", EDS))
        info = self.wait(query_id)
        assert info.status == "FINISHED", (info.status, info.error)
        rows: list[list[str]] = []
        token = None
        while True:
            info, page, token = self.manager.results(ACCOUNT, query_id, 1000, token)
            rows += page
            if token is None:
                return info.column_names, rows


@pytest.fixture(scope="session")
def lake_dir(tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]]) -> Path:
    root = tmp_path_factory.mktemp("lake")
    write_store(root / "lake", EDS, records, files=3)
    return root


@pytest.fixture(scope="session")
def run(lake_dir: Path) -> Iterator[Runner]:
    stores = FakeStores()
    stores.add(EDS)
    manager = QueryManager(lake_dir / "lake", stores, lake_dir / "results", time.time)
    yield Runner(manager)
    manager.close()
