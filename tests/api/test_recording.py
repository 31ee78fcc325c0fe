"""Self-recording: CloudTrail API calls show up in the caller's own event history."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from .conftest import ADMIN_ACCOUNT, Server


def history(server: Server, **kwargs: Any) -> list[dict[str, Any]]:
    server.store.flush()  # self-recording is asynchronous: wait for what was recorded so far
    events = server.client().lookup_events(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "cloudtrail.amazonaws.com"}], **kwargs
    )["Events"]
    return [orjson.loads(e["CloudTrailEvent"]) for e in events]


def test_first_lookup_events_call_is_recorded(server: Server) -> None:
    client = server.client()
    start = int(time.time())
    first = client.lookup_events(
        LookupAttributes=[{"AttributeKey": "ReadOnly", "AttributeValue": "false"}], MaxResults=5,
        StartTime=1_700_000_000, EndTime=1_700_003_600,
    )
    server.store.flush()
    (event,) = client.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "LookupEvents"}])["Events"]
    record = orjson.loads(event["CloudTrailEvent"])
    assert list(record) == [
        "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "eventType",
        "managementEvent", "recipientAccountId", "eventCategory",
    ]
    key = server.admin_key
    assert record["userIdentity"] == {
        "type": "Root", "principalId": ADMIN_ACCOUNT, "arn": f"arn:aws:iam::{ADMIN_ACCOUNT}:root",
        "accountId": ADMIN_ACCOUNT, "accessKeyId": key.access_key_id,
    }
    assert record["eventVersion"] == "1.11"
    assert abs(event["EventTime"].timestamp() - start) <= 2
    assert record["eventSource"] == "cloudtrail.amazonaws.com"
    assert record["eventName"] == "LookupEvents"
    assert record["awsRegion"] == "us-east-1"
    assert record["sourceIPAddress"] == "127.0.0.1"
    assert record["userAgent"].startswith("Boto3/")
    assert record["requestParameters"] == {
        "lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue": "false"}],
        "maxResults": 5,
        "startTime": "Nov 14, 2023, 10:13:20 PM",
        "endTime": "Nov 14, 2023, 11:13:20 PM",
    }
    assert record["responseElements"] is None
    assert record["requestID"] == first["ResponseMetadata"]["RequestId"]
    assert uuid.UUID(record["eventID"]).version == 4 and event["EventId"] == record["eventID"]
    assert record["readOnly"] is True and event["ReadOnly"] == "true"
    assert (record["eventType"], record["managementEvent"], record["eventCategory"]) == ("AwsApiCall", True,
                                                                                         "Management")
    assert record["recipientAccountId"] == ADMIN_ACCOUNT
    assert event["Username"] == "root"


def test_failed_calls_are_recorded_with_error(server: Server) -> None:
    client = server.client(validate=False)
    with pytest.raises(ClientError):
        client.lookup_events(MaxResults=99)
    with pytest.raises(ClientError):
        client.describe_trails(trailNameList=["a"])
    with pytest.raises(ClientError):
        server.client(secret="y" * 40).lookup_events()
    records = history(server)
    by_error = {(r["eventName"], r.get("errorCode")): r for r in records}
    bad_max = by_error[("LookupEvents", "InvalidMaxResultsException")]
    assert bad_max["errorMessage"] == "Max results must be between 1 and 50."
    assert bad_max["requestParameters"] == {"maxResults": 99}
    assert list(bad_max).index("errorCode") == list(bad_max).index("userAgent") + 1
    trails = by_error[("DescribeTrails", "UnknownOperationException")]
    assert trails["requestParameters"] == {"trailNameList": ["a"]}
    assert trails["readOnly"] is True
    bad_sig = by_error[("LookupEvents", "InvalidSignatureException")]
    assert bad_sig["requestParameters"] is None
    assert len(records) == 3


def test_unknown_key_is_not_recorded(server: Server) -> None:
    with pytest.raises(ClientError):
        server.client(access_key_id="AKIAUNKNOWNUNKNOWN00").lookup_events()
    assert history(server) == []
    server.store.flush()
    assert server.store.count() == 1  # only the history() lookup itself, by the admin key
