"""The strict record writer."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.events.record import read_record
from opentrail.events.writer import InvalidRecordError, api_call_record

IDENTITY = {"type": "Root", "principalId": "123456789012", "arn": "arn:aws:iam::123456789012:root",
            "accountId": "123456789012", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}


def args(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = dict(
        user_identity=IDENTITY, event_time=1_700_000_000.7, event_source="cloudtrail.amazonaws.com",
        event_name="CreateTrail", aws_region="eu-west-1", source_ip_address="192.0.2.1", user_agent="aws-cli/2",
        request_parameters={"name": "t"}, response_elements={"name": "t"},
        request_id="6e1a1f0e-6f38-4b39-9d0e-6c5b1a1e2f00", event_id="0f0c8a5e-2b1c-4d3e-8f9a-1b2c3d4e5f60",
        read_only=False, recipient_account_id="123456789012",
    )
    base.update(over)
    return base


def test_full_record_order_and_values() -> None:
    record = api_call_record(**args(error_code="AccessDenied", error_message="no",
                                    tls_details={"tlsVersion": "TLSv1.3"}))
    assert list(record) == [
        "eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
        "userAgent", "errorCode", "errorMessage", "requestParameters", "responseElements", "requestID", "eventID",
        "readOnly", "eventType", "managementEvent", "recipientAccountId", "eventCategory", "tlsDetails",
    ]
    assert record["eventTime"] == "2023-11-14T22:13:20Z"
    event = read_record(record)
    assert (event.account_id, event.region, event.category, event.event_time) == (
        "123456789012", "eu-west-1", "Management", 1_700_000_000)


@pytest.mark.parametrize("over", [
    {"user_identity": {"type": "Nobody", "accountId": "1"}},
    {"event_source": "cloudtrail"},
    {"event_name": ""},
    {"aws_region": "Mars 1"},
    {"event_id": "not-a-uuid"},
    {"recipient_account_id": "12"},
    {"read_only": "true"},
    {"error_message": "message without code"},
])
def test_rejects_what_aws_never_writes(over: dict[str, Any]) -> None:
    with pytest.raises(InvalidRecordError):
        api_call_record(**args(**over))
