"""CloudTrail records as EventBridge events: envelope fields, detail-types, sources, stable ids, and
which read-only management events need ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from opentrail.eventbridge.envelope import (cloudtrail_event, envelope_id, event_source_name,
                                            needs_all_management_events)

ACCOUNT = "111122223333"


def record(**extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {"eventVersion": "1.11", "eventTime": "2026-03-01T10:00:00Z",
                           "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging",
                           "awsRegion": "eu-west-1", "readOnly": False, "eventID": "8f2b1c3e-0000-4000-8000-000000000001",
                           "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCOUNT,
                           "eventCategory": "Management"}
    rec.update(extra)
    return rec


def test_envelope_of_an_api_call() -> None:
    rec = record()
    event = cloudtrail_event(rec, "999999999999", "us-east-1")
    assert event == {
        "version": "0",
        "id": str(uuid.uuid5(uuid.UUID("5b0e1f7c-3d7e-4f64-9d27-6a1c2e9f0b41"),
                             f"{ACCOUNT}:8f2b1c3e-0000-4000-8000-000000000001")),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": ACCOUNT,
        "time": "2026-03-01T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": rec,
    }
    assert event["detail"] is rec


def test_partition_fills_missing_account_and_region() -> None:
    rec = record()
    del rec["recipientAccountId"], rec["awsRegion"]
    event = cloudtrail_event(rec, "999999999999", "ap-south-1")
    assert (event["account"], event["region"]) == ("999999999999", "ap-south-1")


@pytest.mark.parametrize("event_type, detail_type", [
    ("AwsApiCall", "AWS API Call via CloudTrail"),
    ("AwsConsoleSignIn", "AWS Console Signin via CloudTrail"),
    ("AwsConsoleAction", "AWS Console Action via CloudTrail"),
    ("AwsServiceEvent", "AWS Service Event via CloudTrail"),
    ("AwsCloudTrailInsight", "AWS Insight via CloudTrail"),
    ("AwsVpceEvent", "AWS Network Activity Event via CloudTrail"),
    ("SomethingNew", "AWS API Call via CloudTrail"),
])
def test_detail_types(event_type: str, detail_type: str) -> None:
    assert cloudtrail_event(record(eventType=event_type), ACCOUNT, "us-east-1")["detail-type"] == detail_type


@pytest.mark.parametrize("event_source, source", [
    ("cloudtrail.amazonaws.com", "aws.cloudtrail"),
    ("signin.amazonaws.com", "aws.signin"),
    ("sts.amazonaws.com", "aws.sts"),
    ("monitoring.amazonaws.com", "aws.monitoring"),
    ("cloudtrail-data.amazonaws.com", "aws.cloudtrail-data"),
    ("s3.amazonaws.com", "aws.s3"),
    ("billing.example.internal", "aws.billing"),
    (None, "aws.unknown"),
])
def test_source_from_event_source(event_source: str | None, source: str) -> None:
    assert event_source_name(event_source) == source


def test_insights_events_come_from_cloudtrail() -> None:
    rec = {"eventType": "AwsCloudTrailInsight", "eventID": "e-1", "eventTime": "2024-05-01T10:00:00Z",
           "insightDetails": {"eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}}
    event = cloudtrail_event(rec, ACCOUNT, "us-east-1")
    assert (event["source"], event["detail-type"]) == ("aws.cloudtrail", "AWS Insight via CloudTrail")


def test_id_is_stable_and_depends_on_account_and_event_id() -> None:
    a = envelope_id(ACCOUNT, "e-1")
    assert a == envelope_id(ACCOUNT, "e-1")
    assert a != envelope_id("444455556666", "e-1")
    assert a != envelope_id(ACCOUNT, "e-2")
    assert uuid.UUID(a).version == 5


@pytest.mark.parametrize("extra, category, expected", [
    ({"readOnly": True, "eventName": "DescribeTrails"}, "Management", True),
    ({"readOnly": True, "eventName": "GetTrailStatus"}, "Management", True),
    ({"readOnly": "true", "eventName": "ListTrails"}, "Management", True),
    ({"readOnly": True, "eventName": "LookupEvents"}, "Management", False),
    ({"readOnly": True, "eventName": "TestEventPattern"}, "Management", False),
    ({"readOnly": True, "eventName": "GetSessionToken", "eventSource": "sts.amazonaws.com"}, "Management", False),
    ({"readOnly": True, "eventName": "GetFederationToken", "eventSource": "sts.amazonaws.com"}, "Management", False),
    ({"readOnly": True, "eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com"}, "Management", True),
    ({"readOnly": False, "eventName": "GetSomethingWritten"}, "Management", False),
    ({"readOnly": True, "eventName": "GetObject"}, "Data", False),
])
def test_read_only_management_events(extra: dict[str, Any], category: str, expected: bool) -> None:
    assert needs_all_management_events(record(**extra), category) is expected
