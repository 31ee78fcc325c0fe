from __future__ import annotations

from typing import Any

import pytest

from opentrail.events.classify import event_category


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"eventCategory": "Data", "managementEvent": True}, "Data"),
        ({"eventCategory": "management"}, "Management"),
        ({"eventCategory": "NetworkActivity"}, "NetworkActivity"),
        ({"eventCategory": "Insight"}, "Insight"),
        ({"eventCategory": "eventCategory1", "eventType": "AwsCloudTrailInsight"}, "Insight"),
        ({"eventType": "AwsCloudTrailInsight"}, "Insight"),
        ({"eventType": "AwsVpceEvent", "managementEvent": False}, "NetworkActivity"),
        ({"managementEvent": True, "eventSource": "s3.amazonaws.com", "eventName": "GetObject"}, "Management"),
        ({"managementEvent": False, "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances"}, "Data"),
        ({"managementEvent": "false"}, "Data"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "GetObject"}, "Data"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "PutObject"}, "Data"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "DeleteObjects"}, "Data"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "CreateMultipartUpload"}, "Data"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "CreateBucket"}, "Management"),
        ({"eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy"}, "Management"),
        ({"eventSource": "lambda.amazonaws.com", "eventName": "Invoke"}, "Data"),
        ({"eventSource": "lambda.amazonaws.com", "eventName": "CreateFunction20150331"}, "Management"),
        ({"eventSource": "dynamodb.amazonaws.com", "eventName": "GetItem"}, "Data"),
        ({"eventSource": "dynamodb.amazonaws.com", "eventName": "TransactWriteItems"}, "Data"),
        ({"eventSource": "dynamodb.amazonaws.com", "eventName": "CreateTable"}, "Management"),
        ({"eventSource": "ec2.amazonaws.com", "eventName": "GetObject"}, "Management"),
        ({}, "Management"),
        ({"eventSource": None, "eventName": ["GetObject"], "managementEvent": None}, "Management"),
    ],
)
def test_event_category(record: dict[str, Any], expected: str) -> None:
    assert event_category(record) == expected
