"""A real opentrail server with trails (uvicorn in a thread, local-folder buckets) and boto3 clients."""

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
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from tests.serving import serving

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "us-east-1"
BUCKET = "trail-bucket"


class Clock:
    """The injected clock: a fixed time tests move by hand."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now



@dataclass
class TrailServer:
    url: str
    data_dir: Path
    storage: LocalFolderStorage
    trails: TrailService
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
def trail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrailServer]:
    data_dir = tmp_path_factory.mktemp("trails")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    other = accounts.create_access_key(OTHER_ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    # The signature check uses the injected clock too; keep it near real time.
    clock = Clock(time.time())
    trails = TrailService(data_dir, storage, clock)
    store = MemoryEventStore()
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, trails=trails)
    try:
        with serving(app) as url:
            yield TrailServer(url, data_dir, storage, trails, clock, key, other)
    finally:
        trails.close()
        store.close()
        accounts.close()


@pytest.fixture
def srv(trail_server: TrailServer) -> Iterator[TrailServer]:
    """The shared server, with every trail deleted after the test."""
    yield trail_server
    for trail in trail_server.trails.trails():
        trail_server.trails.delete_trail(trail.account_id, trail.home_region, trail.name)
