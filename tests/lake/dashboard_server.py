"""A real opentrail server with an event data store of real records (invictus-ir, 2,900 events on
2023-07-10 11:42-12:37 UTC), the query runner and dashboards (uvicorn in a thread), and boto3."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.lake import Lake
from opentrail.lake.dashboard_service import DashboardService
from opentrail.lake.queries import TERMINAL, QueryManager
from opentrail.lake.service import EventDataStoreService, StoreSettings
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.trails import TrailService
from opentrail.store.memory import MemoryEventStore
from tests.lake.conftest import ACCOUNT, REGION, Clock
from tests.lake.fakes import load_records, write_store
from tests.serving import serving

#: The records' time range as StartDashboardRefresh values.
START, END = "2023-07-10T11:00:00Z", "2023-07-10T13:00:00Z"


@dataclass
class DashboardServer:
    url: str
    data_dir: Path
    eds_id: str
    eds_arn: str
    records: list[dict[str, Any]]
    stores: EventDataStoreService
    queries: QueryManager
    dashboards: DashboardService
    store: MemoryEventStore
    clock: Clock
    key: AccessKey

    def client(self, region: str = REGION, *, validate: bool = True) -> Any:
        """boto3; ``validate`` False sends what botocore would refuse (the server's checks answer)."""
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=region,
                            aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"},
                                          parameter_validation=validate))

    def wait(self, query_id: str, timeout: float = 30) -> Any:
        deadline = time.time() + timeout
        while True:
            info = self.queries.describe(ACCOUNT, query_id)
            if info.status in TERMINAL or time.time() > deadline:
                return info
            time.sleep(0.02)


@contextlib.contextmanager
def dashboard_server(data_dir: Path) -> Iterator[DashboardServer]:
    """The server over ``data_dir``: one ENABLED event data store "records" holding the records."""
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    clock = Clock(time.time())  # the signature check uses it too: keep it near real time
    stores = EventDataStoreService(data_dir, clock)
    eds = stores.create(ACCOUNT, REGION, StoreSettings(name="records"))
    records = load_records()
    write_store(data_dir / "lake", eds.id, records, files=3)
    queries = QueryManager(data_dir / "lake", stores, data_dir / "results", clock)
    dashboards = DashboardService(data_dir, clock, queries)
    lake = Lake(stores=stores, queries=queries, root=data_dir / "lake", dashboards=dashboards)
    store = MemoryEventStore()
    trails = TrailService(data_dir, LocalFolderStorage(data_dir / "buckets"), clock)  # AddTags/ListTags/RemoveTags
    app = build_app(settings=Settings(data_dir=data_dir), store=store, accounts=accounts, clock=clock, lake=lake, trails=trails)
    try:
        with serving(app) as url:
            yield DashboardServer(url, data_dir, eds.id, eds.arn, records, stores, queries, dashboards, store, clock,
                                  key)
    finally:
        queries.close()
        trails.close()
        dashboards.close()
        stores.close()
        store.close()
        accounts.close()
