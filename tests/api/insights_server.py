"""A real opentrail server for the Insights API tests: trails, event data stores, an event store and an
in-memory :class:`opentrail.insights.model.InsightMetrics` holding a few known series."""

from __future__ import annotations

import datetime
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.insights.model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, SeriesKey
from opentrail.lake import Lake
from opentrail.lake.service import EventDataStoreService
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from opentrail.trails import TrailService
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "trail-bucket"
DAY = 86400


class FakeMetrics:
    """An in-memory InsightMetrics: per-minute counts of each series, summed into periods on read."""

    def __init__(self) -> None:
        self.minutes: dict[SeriesKey, dict[int, int]] = defaultdict(dict)

    def add(self, key: SeriesKey, minute: int, calls: int) -> None:
        self.minutes[key][minute] = self.minutes[key].get(minute, 0) + calls

    def counts(self, key: SeriesKey, start_minute: int, end_minute: int, period_s: int) -> list[tuple[int, int]]:
        step = period_s // 60
        out: dict[int, int] = defaultdict(int)
        for minute, calls in self.minutes.get(key, {}).items():
            if start_minute <= minute < end_minute:
                out[minute - minute % step] += calls
        return sorted((m, c) for m, c in out.items() if c)

    def series(self, account_id: str, region: str) -> list[SeriesKey]:
        return sorted(k for k in self.minutes if (k.account_id, k.region) == (account_id, region))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class InsightsServer:
    url: str
    store: MemoryEventStore
    metrics: FakeMetrics
    clock: Clock
    key: AccessKey
    stores: EventDataStoreService
    data_dir: Path

    def client(self) -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))


#: The server's fixed time: 30 s into the current real minute (the signature check uses it too).
NOW = (int(time.time()) // 60) * 60 + 30
HOUR = NOW - NOW % 3600  # the current hour's start (before NOW)


def iam(insight_type: str = CALL_RATE, error_code: str = "", category: str = MANAGEMENT) -> SeriesKey:
    return SeriesKey(ACCOUNT, REGION, category, "iam.amazonaws.com", "CreateUser", insight_type, error_code)


def start_insights_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsServer]:
    data_dir: Path = tmp_path_factory.mktemp("insights")
    accounts = AccountStore(data_dir / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    storage = LocalFolderStorage(data_dir / "buckets")
    storage.create_bucket(BUCKET)
    clock = Clock(NOW)
    trails = TrailService(data_dir, storage, clock)
    stores = EventDataStoreService(data_dir, clock)
    lake = Lake(stores=stores, queries=None, root=data_dir / "lake")
    store = MemoryEventStore()
    metrics = FakeMetrics()
    m = HOUR // 60
    metrics.add(iam(), m - 120 + 5, 3)
    metrics.add(iam(), m - 120 + 6, 4)
    metrics.add(iam(), m - 1, 2)
    metrics.add(iam(), m, 1)
    metrics.add(iam(), (NOW - 16 * DAY) // 60, 9)  # past the 60 s and 300 s retention, within 3600 s
    metrics.add(iam(ERROR_RATE, "AccessDenied"), m - 60 + 10, 5)
    metrics.add(iam(ERROR_RATE, "NoSuchEntity"), m - 60 + 10, 8)
    metrics.add(SeriesKey(ACCOUNT, REGION, DATA, "s3.amazonaws.com", "PutObject", CALL_RATE), m - 60, 40)
    metrics.add(SeriesKey(ACCOUNT, REGION, MANAGEMENT, "s3.amazonaws.com", "PutObject", CALL_RATE), m - 60, 6)
    app = build_app(settings=Settings(), store=store, accounts=accounts, clock=clock, trails=trails, lake=lake,
                    insights=metrics)
    try:
        with serving(app) as url:
            yield InsightsServer(url, store, metrics, clock, key, stores, data_dir)
    finally:
        trails.close()
        stores.close()
        store.close()
        accounts.close()


def at(epoch: int) -> datetime.datetime:
    """``epoch`` seconds as boto3 renders a timestamp."""
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


def insight_record(event_id: str, event_time: int, name: str, source: str, state: str) -> dict[str, Any]:
    """A minimal trail Insights record (eventType AwsCloudTrailInsight, eventCategory Insight)."""
    return {"eventVersion": "1.08", "eventTime": at(event_time).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "awsRegion": REGION, "eventID": event_id, "eventType": "AwsCloudTrailInsight",
            "eventCategory": "Insight", "recipientAccountId": ACCOUNT, "sharedEventID": "shared-" + name,
            "insightDetails": {"state": state, "eventSource": source, "eventName": name,
                               "insightType": CALL_RATE, "insightContext": {"statistics": {
                                   "baseline": {"average": 0.5}, "insight": {"average": 12.0}}}}}
