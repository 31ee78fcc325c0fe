"""Digest fixtures: a memory event store, folder buckets, delivery and digest workers on one
hand-moved clock."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from opentrail.delivery import DeliveringTrailService, DeliveryState, DeliveryWorker
from opentrail.digests import DigestState, DigestWorker, KeyStore, delivery_caught_up
from opentrail.digests import format as F
from opentrail.events.record import read_record
from opentrail.objectstore import LocalFolderStorage, ObjectStorage
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailSettings

ACCOUNT = "111122223333"
BUCKET = "trail-bucket"
#: 2024-03-01T10:00:00Z
T0 = 1709287200
HOUR = 3600


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = float(now)

    def __call__(self) -> float:
        return self.now


_ids = itertools.count(1)


def record(event_time: int, region: str = "us-east-1", account: str = ACCOUNT, name: str = "RunInstances") -> dict[str, Any]:
    n = next(_ids)
    return {"eventVersion": "1.11", "userIdentity": {"type": "Root", "accountId": account},
            "eventTime": F.format_time(event_time), "eventSource": "ec2.amazonaws.com", "eventName": name,
            "awsRegion": region, "readOnly": False, "eventID": f"00000000-0000-4000-8000-{n:012d}",
            "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account,
            "eventCategory": "Management"}


@dataclass
class Env:
    path: Path
    clock: Clock
    store: MemoryEventStore
    storage: ObjectStorage
    state: DeliveryState
    trails: DeliveringTrailService
    keys: KeyStore
    digest_state: DigestState
    digests: DigestWorker
    delivery: DeliveryWorker
    uniques: Iterator[str] = field(default_factory=lambda: (f"{n:016d}" for n in itertools.count(1)))

    def ingest(self, *event_times: int, region: str = "us-east-1") -> None:
        events = [read_record(record(t, region)) for t in event_times]
        assert self.store.append(events).accepted == len(events)

    def trail(self, name: str = "main", region: str = "us-east-1", start: bool = True, **settings: Any) -> str:
        settings.setdefault("s3_bucket_name", BUCKET)
        settings.setdefault("enable_log_file_validation", True)
        t = self.trails.create_trail(ACCOUNT, region, name, TrailSettings(**settings))
        if start:
            self.trails.start_logging(ACCOUNT, region, name)
        return t.arn

    def run(self, seconds: float, every: float = 1.0) -> None:
        """Move the clock ``seconds`` forward, stepping both workers every ``every`` seconds."""
        end = self.clock.now + seconds
        while True:
            self.delivery.step()
            self.digests.step()
            if self.clock.now >= end:
                return
            self.clock.now = min(end, self.clock.now + every)

    def digest_keys(self, bucket: str = BUCKET) -> list[str]:
        return [k for k in self.storage.list_objects(bucket) if "/CloudTrail-Digest/" in k]

    def log_keys(self, bucket: str = BUCKET) -> list[str]:
        return [k for k in self.storage.list_objects(bucket) if "/CloudTrail/" in k]

    def digest(self, key: str, bucket: str = BUCKET) -> tuple[dict[str, Any], bytes, dict[str, str]]:
        obj = self.storage.get_object(bucket, key)
        raw = F.gunzip_body(obj.body)
        return F.parse_digest(raw), raw, obj.metadata

    def close(self) -> None:
        self.state.close()
        self.trails.close()
        self.digest_state.close()


def make_env(path: Path, storage: ObjectStorage | None = None, clock: Clock | None = None, **digest_kw: Any) -> Env:
    clock = clock or Clock()
    if storage is None:
        local = LocalFolderStorage(path / "buckets")
        local.create_bucket(BUCKET)
        storage = local
    store = MemoryEventStore()
    state = DeliveryState(path / "delivery.db")
    trails = DeliveringTrailService(path, storage, clock, state=state, store=store)
    keys = KeyStore(path / "keys", clock)
    digest_state = DigestState(path / "digests.db")
    digest_kw.setdefault("interval_s", HOUR)
    digests = DigestWorker(trails, storage, keys, digest_state, clock=clock,
                           delivery_caught_up=delivery_caught_up(state), **digest_kw)
    env = Env(path, clock, store, storage, state, trails, keys, digest_state, digests, None)  # type: ignore[arg-type]
    env.delivery = DeliveryWorker(store, trails, storage, state, clock=clock, interval_s=2.0,
                                  unique=lambda: next(env.uniques), on_delivered=digests.recorder.record_log_file)
    return env


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path)
    yield e
    e.close()
