"""Delivery unit fixtures: a memory event store, folder buckets, a hand-moved clock."""

from __future__ import annotations

import gzip
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson
import pytest

from opentrail.delivery import DeliveringTrailService, DeliveryState, DeliveryWorker
from opentrail.events.record import read_record
from opentrail.objectstore import LocalFolderStorage
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailSettings

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
BUCKET = "trail-bucket"
#: The key pattern Splunk's and Elastic's CloudTrail inputs use to pick log files.
SIEM_KEY = re.compile(r".*_CloudTrail_.*\.json\.gz")
#: The whole AWS key layout.
AWS_KEY = re.compile(
    r"(?:(?P<prefix>.+)/)?AWSLogs/(?P<account>\d{12})/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T(?P<hm>\d{4})Z_(?P<unique>[A-Za-z0-9]{16})\.json\.gz"
)


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


_ids = itertools.count(1)


def record(region: str = "us-east-1", source: str = "ec2.amazonaws.com", name: str = "RunInstances",
           account: str = ACCOUNT, **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    rec = {"eventVersion": "1.11", "userIdentity": {"type": "Root", "accountId": account},
           "eventTime": "2024-05-01T10:00:00Z", "eventSource": source, "eventName": name, "awsRegion": region,
           "readOnly": False, "eventID": f"00000000-0000-4000-8000-{n:012d}", "eventType": "AwsApiCall",
           "managementEvent": True, "recipientAccountId": account, "eventCategory": "Management"}
    rec.update(extra)
    return rec


@dataclass
class Env:
    path: Path
    clock: Clock
    store: MemoryEventStore
    storage: LocalFolderStorage
    state: DeliveryState
    trails: DeliveringTrailService

    def ingest(self, *records: dict[str, Any]) -> list[bytes]:
        events = [read_record(r) for r in records]
        result = self.store.append(events)
        assert result.accepted == len(events)
        return [e.record for e in events]

    def worker(self, **kw: Any) -> DeliveryWorker:
        kw.setdefault("interval_s", 2.0)
        return DeliveryWorker(self.store, self.trails, self.storage, self.state, clock=self.clock, **kw)

    def trail(self, name: str = "main", region: str = "us-east-1", start: bool = True, **settings: Any) -> str:
        settings.setdefault("s3_bucket_name", BUCKET)
        t = self.trails.create_trail(ACCOUNT, region, name, TrailSettings(**settings))
        if start:
            self.trails.start_logging(ACCOUNT, region, name)
        return t.arn

    def restart(self) -> None:
        """A new state connection and trail service over the same files (the store survives)."""
        self.state.close()
        self.trails.close()
        self.state = DeliveryState(self.path / "delivery.db")
        self.trails = DeliveringTrailService(self.path, self.storage, self.clock, state=self.state, store=self.store)

    def files(self, bucket: str = BUCKET) -> list[str]:
        return self.storage.list_objects(bucket)

    def body(self, key: str, bucket: str = BUCKET) -> bytes:
        return gzip.decompress(self.storage.get_object(bucket, key).body)

    def records(self, key: str, bucket: str = BUCKET) -> list[dict[str, Any]]:
        return orjson.loads(self.body(key, bucket))["Records"]

    def delivered_ids(self) -> list[str]:
        return [r["eventID"] for k in self.files() for r in self.records(k)]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    clock = Clock()
    store = MemoryEventStore()
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket(BUCKET)
    state = DeliveryState(tmp_path / "delivery.db")
    trails = DeliveringTrailService(tmp_path, storage, clock, state=state, store=store)
    e = Env(tmp_path, clock, store, storage, state, trails)
    yield e
    e.state.close()
    e.trails.close()
