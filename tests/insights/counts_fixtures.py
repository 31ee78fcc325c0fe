"""Shared by the counts, worker and crash tests: synthetic records, a fake clock, simple Insights
record builders (records.py's are built elsewhere) and a scope of fixed watches."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Sequence

import orjson

from opentrail.events.record import read_record
from opentrail.insights import records
from opentrail.insights.model import Anomaly, SeriesKey
from opentrail.insights.worker import Watch
from opentrail.store.base import EventStore

ACCOUNT, OTHER = "111122223333", "444455556666"
T0 = 1_780_000_020 // 60 * 60  # a minute boundary (2026-05-28)
_ids = itertools.count(1)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def iso(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(t: int, name: str = "RunInstances", *, read_only: bool = False, error: str | None = None,
           source: str = "ec2.amazonaws.com", account: str = ACCOUNT, region: str = "us-east-1",
           arn: str = "arn:aws:iam::111122223333:user/alice", agent: str = "aws-cli/2.15", data: bool = False,
           **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    rec: dict[str, Any] = {
        "eventVersion": "1.11", "userIdentity": {"type": "IAMUser", "accountId": account, "arn": arn},
        "eventTime": iso(t), "eventSource": source, "eventName": name, "awsRegion": region,
        "userAgent": agent, "readOnly": read_only, "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "eventType": "AwsApiCall", "managementEvent": not data, "recipientAccountId": account,
        "eventCategory": "Data" if data else "Management"}
    if error is not None:
        rec["errorCode"] = error
        rec["errorMessage"] = "denied"
    if data:
        rec["resources"] = [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}]
    rec.update(extra)
    return rec


def append(store: EventStore, recs: Sequence[dict[str, Any]], chunk: int = 5000) -> None:
    for i in range(0, len(recs), chunk):
        events = [read_record(r) for r in recs[i:i + chunk]]
        assert store.append(events).accepted == len(events)


def _insight(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[records.Attribution], state: str) -> dict[str, Any]:
    start_id, end_id, shared = records.event_ids(key, anomaly.start)
    minute = anomaly.start if state == "Start" else anomaly.end
    assert minute is not None
    details: dict[str, Any] = {
        "state": state, "eventSource": key.event_source, "eventName": key.event_name, "insightType": key.insight_type,
        "insightContext": {
            "statistics": {"baseline": {"average": anomaly.baseline_average},
                           "insight": {"average": anomaly.start_average if state == "Start" else anomaly.insight_average},
                           "insightDuration": anomaly.start_duration if state == "Start" else anomaly.end - anomaly.start,
                           "baselineDuration": anomaly.baseline_duration},
            "attributions": [{"attribute": a.attribute, "insight": [{"value": v, "average": x} for v, x in a.insight],
                              "baseline": [{"value": v, "average": x} for v, x in a.baseline]} for a in attributions]}}
    if key.error_code:
        details["errorCode"] = key.error_code
    return {"eventVersion": "1.08", "eventTime": iso(minute * 60), "awsRegion": key.region,
            "eventID": start_id if state == "Start" else end_id, "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": key.account_id, "sharedEventID": shared, "insightDetails": details,
            "eventCategory": "Insight"}


def start_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[records.Attribution]) -> dict[str, Any]:
    return _insight(key, anomaly, attributions, "Start")


def end_record(key: SeriesKey, anomaly: Anomaly, attributions: Sequence[records.Attribution]) -> dict[str, Any]:
    return _insight(key, anomaly, attributions, "End")


def use_simple_records(monkeypatch: Any) -> None:
    monkeypatch.setattr(records, "start_record", start_record)
    monkeypatch.setattr(records, "end_record", end_record)


class FixedScope:
    def __init__(self, *watches: Watch) -> None:
        self.list = list(watches)

    def watches(self) -> list[Watch]:
        return self.list


def insights_events(store: EventStore) -> list[dict[str, Any]]:
    """The Insights records in the store, in append order."""
    out, seq = [], 0
    while True:
        batch = store.read_since(seq, 10000)
        if not batch:
            return out
        out += [orjson.loads(e.record) for e in batch if e.category == "Insight"]
        seq = batch[-1].seq
