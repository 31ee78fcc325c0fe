"""Records for console tests, stored the way ingest stores them (read_record -> store.append)."""

from __future__ import annotations

import itertools
from typing import Any

from opentrail.events.record import read_record
from opentrail.events.times import format_event_time
from opentrail.store.base import EventStore

_ids = itertools.count(1)


def record(*, account: str, event_time: int, name: str = "RunInstances", region: str = "us-east-1",
           source: str = "ec2.amazonaws.com", user: str = "alice", **extra: Any) -> dict[str, Any]:
    n = next(_ids)
    rec: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": f"arn:aws:iam::{account}:user/{user}",
                         "accountId": account, "accessKeyId": f"AKIASEED{n:012d}", "userName": user},
        "eventTime": format_event_time(event_time),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": f"192.0.2.{n % 250}",
        "userAgent": "seed",
        "requestParameters": {"instanceType": "t3.micro"},
        "responseElements": None,
        "requestID": f"req-{n}",
        "eventID": f"00000000-0000-4000-8000-{n:012d}",
        "readOnly": False,
        "resources": [{"ARN": f"arn:aws:ec2:{region}:{account}:instance/i-{n:08x}", "accountId": account,
                       "type": "AWS::EC2::Instance"}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    rec.update(extra)
    return rec


def store_records(store: EventStore, records: list[dict[str, Any]]) -> None:
    store.append([read_record(r) for r in records])
