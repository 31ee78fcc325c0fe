"""Every call that succeeded is recorded, and a change whose record cannot be made durable is not
made (issue 10 §1: StopLogging with a 300 KB or 1,000-deep extra member used to take effect
unrecorded).

The stack is the one `opentrail serve` runs: the SQLite event store, the delivering trail service
with its delivery state, local-folder buckets, the API over a real socket, signed raw requests so
any JSON can be sent.
"""

from __future__ import annotations

import errno
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import boto3
import orjson
import pytest
from botocore.config import Config

from opentrail.api.app import MAX_REQUEST_DEPTH, build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.delivery import DELIVERY_DB, DeliveringTrailService, DeliveryState
from opentrail.objectstore import LocalFolderStorage
from opentrail.settings import Settings
from opentrail.store.base import AppendResult, NewEvent
from opentrail.store.sqlite import SqliteEventStore
from tests.api.conftest import signed_request
from tests.serving import serving

ACCOUNT = "111122223333"
REGION = "us-east-1"
BUCKET = "trail-bucket"
TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."


class FaultyStore(SqliteEventStore):
    """The real SQLite store; while ``full`` is set, appends fail as on a full disk."""

    full = False

    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().append(events, wait_visible=wait_visible)


@dataclass
class Stack:
    url: str
    store: FaultyStore
    trails: DeliveringTrailService
    state: DeliveryState
    key: AccessKey

    def call(self, operation: str, body: dict[str, Any] | bytes) -> tuple[int, str, dict[str, Any]]:
        """POST ``body`` to ``operation``; returns (status, request id, response JSON)."""
        raw = body if isinstance(body, bytes) else body_of(body)
        r = signed_request(self.url, raw, key=self.key, headers={"X-Amz-Target": TARGET + operation})
        return r.status_code, r.headers["x-amzn-requestid"], r.json()

    def client(self) -> Any:
        return boto3.client("cloudtrail", endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.key.access_key_id,
                            aws_secret_access_key=self.key.secret_access_key,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def records(self, operation: str) -> dict[str, dict[str, Any]]:
        """Every record of ``operation`` in the event history, by requestID (LookupEvents)."""
        self.store.flush()
        pages = self.client().get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": operation}])
        out = {}
        for page in pages:
            for e in page["Events"]:
                record = json.loads(e["CloudTrailEvent"])
                out[record["requestID"]] = record
        return out


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    data = tmp_path / "data"
    data.mkdir()
    storage = LocalFolderStorage(data / "buckets")
    storage.create_bucket(BUCKET)
    accounts = AccountStore(data / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = FaultyStore(data / "events")
    state = DeliveryState(data / DELIVERY_DB)
    trails = DeliveringTrailService(data, storage, lambda: 1_700_000_000.0, state=state, store=store)
    app = build_app(settings=Settings(), store=store, accounts=accounts, trails=trails)
    try:
        with serving(app) as url:
            yield Stack(url, store, trails, state, key)
    finally:
        store.close()
        trails.close()
        state.close()
        accounts.close()


class Nested:
    """A JSON value nesting ``depth`` levels, ``[[["x"]]]`` (written as text: orjson refuses to
    write more than 254 levels)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def json(self) -> bytes:
        return b"[" * self.depth + b'"x"' + b"]" * self.depth


def body_of(params: dict[str, Any]) -> bytes:
    """The request JSON of ``params``, :class:`Nested` values included."""
    plain = {k: v for k, v in params.items() if not isinstance(v, Nested)}
    deep = [b'"%s":%s' % (k.encode(), v.json()) for k, v in params.items() if isinstance(v, Nested)]
    text = orjson.dumps(plain)
    if not deep:
        return text
    return text[:-1] + (b"," if plain else b"") + b",".join(deep) + b"}"


def nested(depth: int) -> Nested:
    return Nested(depth)


#: The state-changing operations, each with a valid request for trail "trail1".
CHANGES: list[tuple[str, dict[str, Any]]] = [
    ("CreateTrail", {"Name": "trail1", "S3BucketName": BUCKET}),
    ("StartLogging", {"Name": "trail1"}),
    ("UpdateTrail", {"Name": "trail1", "EnableLogFileValidation": True}),
    ("PutEventSelectors", {"TrailName": "trail1", "EventSelectors": [{"ReadWriteType": "WriteOnly"}]}),
    ("PutInsightSelectors", {"TrailName": "trail1", "InsightSelectors": [{"InsightType": "ApiCallRateInsight"}]}),
    ("AddTags", {"ResourceId": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trail1",
                 "TagsList": [{"Key": "team", "Value": "sec"}]}),
    ("RemoveTags", {"ResourceId": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trail1",
                    "TagsList": [{"Key": "team"}]}),
    ("StopLogging", {"Name": "trail1"}),
    ("DeleteTrail", {"Name": "trail1"}),
]

#: Extra members sent along: none, unknown ones that are huge, deep (within the limit), too deep.
EXTRAS: list[tuple[str, dict[str, Any]]] = [
    ("plain", {}),
    ("unknown 300 KB", {"Padding": "p" * 300_000}),
    ("unknown nested to the limit", {"Deep": nested(MAX_REQUEST_DEPTH - 1)}),
    ("unknown nested 1,000 deep", {"Deep": nested(999)}),
    ("several unknown", {"A": 1, "b": {"c": [1, 2, {"d": None}]}, "E": True}),
]


def test_every_successful_state_change_is_recorded(stack: Stack) -> None:
    answered: dict[str, list[tuple[str, int, str]]] = {}
    for label, extra in EXTRAS:
        for operation, params in CHANGES:
            status, request_id, body = stack.call(operation, {**params, **extra})
            answered.setdefault(operation, []).append((label, status, request_id))
            if label == "unknown nested 1,000 deep":
                assert (status, body) == (400, {
                    "__type": "SerializationException",
                    "message": f"JSON nesting depth exceeds the limit of {MAX_REQUEST_DEPTH}"}), operation
            else:
                assert (status, body.get("__type")) == (200, None), (label, operation, body)
    for operation, calls in answered.items():
        records = stack.records(operation)
        for label, status, request_id in calls:
            record = records[request_id]  # every call is recorded, the refused ones too
            assert record["eventName"] == operation
            if status == 200:
                assert "errorCode" not in record, (label, operation)
                # unknown members are not recorded (the service ignores them), known ones are
                params = dict(CHANGES)[operation]
                assert set(record["requestParameters"]) == {k[:1].lower() + k[1:] for k in params}, label
            else:
                assert record["errorCode"] == "SerializationException"
                assert record["requestParameters"] is None  # the request could not be read
    assert stack.trails.trails() == []  # the last round deleted trail1 again


def test_a_request_nested_too_deep_changes_nothing(stack: Stack) -> None:
    ct = stack.client()
    ct.create_trail(Name="trail1", S3BucketName=BUCKET)
    ct.start_logging(Name="trail1")
    status, _, body = stack.call("StopLogging", {"Name": "trail1", "Deep": nested(MAX_REQUEST_DEPTH)})
    assert (status, body["__type"]) == (400, "SerializationException")
    assert ct.get_trail_status(Name="trail1")["IsLogging"] is True
    status, _, _ = stack.call("StopLogging", {"Name": "trail1", "Deep": nested(MAX_REQUEST_DEPTH - 1)})
    assert status == 200
    assert ct.get_trail_status(Name="trail1")["IsLogging"] is False


def test_oversized_known_members_are_recorded_truncated(stack: Stack) -> None:
    """PutEventSelectors with 500 long values: the call succeeds; requestParameters and
    responseElements exceed AWS's 100 KB field limit, so members are left out and the field says
    ``"omitted": true``."""
    ct = stack.client()
    ct.create_trail(Name="trail1", S3BucketName=BUCKET)
    values = [f"arn:aws:s3:::bucket-{i:03d}/" + "k" * 300 for i in range(500)]
    selectors = [{"Name": "big", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
        {"Field": "resources.ARN", "StartsWith": values[:498]}]}]
    status, request_id, body = stack.call("PutEventSelectors", {"TrailName": "trail1", "AdvancedEventSelectors": selectors})
    assert status == 200, body
    record = stack.records("PutEventSelectors")[request_id]
    assert record["requestParameters"] == {"trailName": "trail1", "omitted": True}
    assert record["responseElements"] == {"trailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/trail1",
                                          "omitted": True}
    assert len(orjson.dumps(record)) < 256 * 1024


def test_a_change_that_cannot_be_recorded_is_not_made(stack: Stack) -> None:
    ct = stack.client()
    ct.create_trail(Name="trail1", S3BucketName=BUCKET)
    ct.start_logging(Name="trail1")
    marks_before = stack.state.marks()
    stack.store.full = True
    try:
        for operation, params in [("StopLogging", {"Name": "trail1"}), ("DeleteTrail", {"Name": "trail1"}),
                                  ("UpdateTrail", {"Name": "trail1", "IsMultiRegionTrail": True}),
                                  ("CreateTrail", {"Name": "trail2", "S3BucketName": BUCKET})]:
            status, _, body = stack.call(operation, params)
            assert (status, body["__type"]) == (503, "ServiceUnavailable"), operation
    finally:
        stack.store.full = False
    assert [(t.name, t.status.is_logging, t.is_multi_region_trail) for t in stack.trails.trails()] == [
        ("trail1", True, False)]
    assert stack.state.marks() == marks_before
    # and once the store takes writes again, the same call works and is recorded
    status, request_id, _ = stack.call("StopLogging", {"Name": "trail1"})
    assert status == 200
    assert request_id in stack.records("StopLogging")
    assert ct.get_trail_status(Name="trail1")["IsLogging"] is False
