"""LookupEvents through boto3 against a real server: paging, filters, every error code."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from opentrail.events.times import format_event_time
from opentrail.ingest import ingest_records
from opentrail.server import RetentionPurger
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore

from .conftest import Server, management_record, start_server


def seed(server: Server, records: list[dict[str, Any]]) -> None:
    outcome = ingest_records(server.store, records)
    assert outcome.accepted == len(records)


def error_of(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


def test_paginator_returns_every_event_once_newest_first(server: Server) -> None:
    base = int(time.time()) - 3600
    seed(server, [management_record(i, format_event_time(base + i // 2)) for i in range(123)])
    client = server.client()
    pages = list(client.get_paginator("lookup_events").paginate(
        LookupAttributes=[{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}],
        PaginationConfig={"PageSize": 20},
    ))
    assert [len(p["Events"]) for p in pages] == [20, 20, 20, 20, 20, 20, 3]
    ids = [e["EventId"] for p in pages for e in p["Events"]]
    assert len(ids) == 123 and len(set(ids)) == 123
    times = [e["EventTime"].timestamp() for p in pages for e in p["Events"]]
    assert times == sorted(times, reverse=True)
    assert ids[0] == "10000000-0000-4000-8000-000000000122"
    assert "NextToken" not in pages[-1]


def test_event_shape(server: Server) -> None:
    now = int(time.time())
    rec = management_record(7, format_event_time(now - 60), event_name="DescribeInstances")
    rec["resources"] = [{"ARN": "arn:aws:ec2:us-east-1:111122223333:instance/i-1", "type": "AWS::EC2::Instance"}]
    seed(server, [rec])
    resp = server.client().lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DescribeInstances"}]
    )
    (event,) = resp["Events"]
    assert event["EventId"] == "10000000-0000-4000-8000-000000000007"
    assert event["EventName"] == "DescribeInstances"
    assert event["ReadOnly"] == "true"
    assert event["AccessKeyId"] == "AKIAEXAMPLEEXAMPLE01"
    assert int(event["EventTime"].timestamp()) == now - 60
    assert event["EventSource"] == "ec2.amazonaws.com"
    assert event["Username"] == "alice"
    assert event["Resources"] == [
        {"ResourceType": "AWS::EC2::Instance", "ResourceName": "arn:aws:ec2:us-east-1:111122223333:instance/i-1"}
    ]
    assert orjson.loads(event["CloudTrailEvent"]) == rec


def test_time_range_is_inclusive_and_partition_is_account_and_region(server: Server) -> None:
    now = int(time.time())
    seed(server, [
        management_record(1, format_event_time(now - 300)),
        management_record(2, format_event_time(now - 200)),
        management_record(3, format_event_time(now - 100)),
        management_record(4, format_event_time(now - 200), region="eu-west-1"),
        management_record(5, format_event_time(now - 200), account="999988887777"),
    ])
    client = server.client()
    resp = client.lookup_events(StartTime=now - 300, EndTime=now - 200,
                                LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}])
    assert [e["EventId"][-1] for e in resp["Events"]] == ["2", "1"]
    eu = server.client(region="eu-west-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "alice"}])
    assert [e["EventId"][-1] for e in eu["Events"]] == ["4"]


@pytest.mark.parametrize("received_days_ago,shown", [(0, ["3", "2", "1"]), (1.5, ["3", "2"])])
def test_retention_counts_from_receipt_and_hides_what_the_purger_deletes(
    tmp_path: Path, received_days_ago: float, shown: list[str]
) -> None:
    store = MemoryEventStore(clock=lambda: time.time() - received_days_ago * 86400)
    for server in start_server(tmp_path, Settings(event_history_retention_days=1), store=store):
        now = int(time.time())
        seed(server, [management_record(1, format_event_time(now - 2 * 86400)),  # imported: old eventTime
                      management_record(2, format_event_time(now - 3600)),
                      management_record(3, format_event_time(now + 86400))])  # a clock ahead of ours
        attrs = [{"AttributeKey": "EventSource", "AttributeValue": "ec2.amazonaws.com"}]
        events = server.client().lookup_events(LookupAttributes=attrs)["Events"]
        assert [e["EventId"][-1] for e in events] == shown
        assert RetentionPurger(server.store, 1).purge_once(time.time()) == 3 - len(shown)
        kept = [e for e in server.store.read_since(0, 10) if orjson.loads(e.record)["eventSource"] == "ec2.amazonaws.com"]
        assert [e.event_id[-1] for e in kept] == sorted(shown)


def test_insight_category_returns_only_insights(server: Server) -> None:
    seed(server, [management_record(1, format_event_time(int(time.time()) - 10))])
    resp = server.client().lookup_events(EventCategory="insight")
    assert resp["Events"] == []


@pytest.mark.parametrize(
    ("kwargs", "code", "message"),
    [
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "a"},
                                  {"AttributeKey": "Username", "AttributeValue": "b"}]},
            "InvalidLookupAttributesException",
            "You can specify only one lookup attribute per request.",
        ),
        (
            {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x" * 2001}]},
            "InvalidLookupAttributesException",
            "AttributeValue must be between 1 and 2000 characters.",
        ),
        (
            {"EventCategory": "insight", "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "b"}]},
            "InvalidLookupAttributesException",
            "Attribute key Username is not valid for Insights events. Valid keys: EventId, EventName, EventSource.",
        ),
        ({"StartTime": 2000, "EndTime": 1000}, "InvalidTimeRangeException", "Start time must be before end time."),
        ({"MaxResults": 51}, "InvalidMaxResultsException", "Max results must be between 1 and 50."),
        ({"MaxResults": 0}, "InvalidMaxResultsException", "Max results must be between 1 and 50."),
        ({"NextToken": "garbage!"}, "InvalidNextTokenException", "Invalid NextToken."),
    ],
)
def test_errors(server: Server, kwargs: dict[str, Any], code: str, message: str) -> None:
    client = server.client(validate=False)  # botocore would refuse MaxResults 0 itself
    assert error_of(client.lookup_events, **kwargs) == (code, message)


def test_invalid_event_category_and_attribute_key_raw(server: Server) -> None:
    # botocore validates enums client-side only for some shapes; send raw JSON to be sure.
    from .conftest import signed_request

    r = signed_request(server.url, b'{"EventCategory": "management"}', key=server.admin_key)
    assert r.status_code == 400
    assert r.json() == {"__type": "InvalidEventCategoryException",
                        "message": "Event category 'management' is not valid. Valid value: insight."}
    r = signed_request(server.url, b'{"LookupAttributes": [{"AttributeKey": "Bogus", "AttributeValue": "x"}]}',
                       key=server.admin_key)
    assert r.json()["__type"] == "InvalidLookupAttributesException"
    assert r.json()["message"] == ("Attribute key 'Bogus' is not valid. Valid keys: EventId, EventName, ReadOnly, "
                                   "Username, ResourceType, ResourceName, EventSource, AccessKeyId.")
    r = signed_request(server.url, b'{"MaxResults": "5"}', key=server.admin_key)
    assert r.status_code == 400
    assert r.json() == {"__type": "SerializationException",
                        "message": "class java.lang.String can not be converted to an Integer"}


@pytest.mark.parametrize(
    ("body", "message"),
    [  # Coral's deserializer wording (architect/dynalite validations/index.js, recorded from DynamoDB)
        (b'{"MaxResults": true}', "class java.lang.Boolean can not be converted to an Integer"),
        (b'{"MaxResults": {}}', "Start of structure or map found where not expected."),
        (b'{"MaxResults": [1]}', "Start of list found where not expected"),
        (b'{"EventCategory": 5}',
         "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
        (b'{"EventCategory": false}', "class java.lang.Boolean can not be converted to an String"),
        (b'{"LookupAttributes": "EventName"}', "Expected list or null"),
        (b'{"LookupAttributes": {"AttributeKey": "EventName"}}', "Start of structure or map found where not expected."),
        (b'{"LookupAttributes": ["EventName"]}', "Expected null"),
        (b'{"LookupAttributes": [[]]}', "Start of list found where not expected"),
        (b'{"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": 7}]}',
         "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
        (b'{"NextToken": 12}',
         "class com.amazon.coral.value.json.numbers.TruncatingBigNumber can not be converted to an String"),
    ],
)
def test_wrongly_typed_members(server: Server, body: bytes, message: str) -> None:
    from .conftest import signed_request

    r = signed_request(server.url, body, key=server.admin_key)
    assert (r.status_code, r.json()) == (400, {"__type": "SerializationException", "message": message})


def test_fractional_max_results_is_truncated(server: Server) -> None:
    from .conftest import signed_request

    base = int(time.time()) - 60
    seed(server, [management_record(i, format_event_time(base + i)) for i in range(3)])
    r = signed_request(server.url, b'{"MaxResults": 2.9}', key=server.admin_key)
    assert r.status_code == 200
    assert [e["EventId"][-1] for e in r.json()["Events"]] == ["2", "1"]
    r = signed_request(server.url, b'{"MaxResults": 0.5}', key=server.admin_key)
    assert r.json() == {"__type": "InvalidMaxResultsException", "message": "Max results must be between 1 and 50."}


def test_next_token_is_bound_to_parameters(server: Server) -> None:
    base = int(time.time()) - 600
    seed(server, [management_record(i, format_event_time(base + i)) for i in range(5)])
    client = server.client()
    attrs = [{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}]
    first = client.lookup_events(LookupAttributes=attrs, MaxResults=2)
    token = first["NextToken"]
    second = client.lookup_events(LookupAttributes=attrs, MaxResults=2, NextToken=token)
    assert [e["EventId"][-1] for e in second["Events"]] == ["2", "1"]
    other = [{"AttributeKey": "Username", "AttributeValue": "alice"}]
    assert error_of(client.lookup_events, LookupAttributes=other, NextToken=token) == (
        "InvalidNextTokenException", "Invalid NextToken.")
    assert error_of(client.lookup_events, LookupAttributes=attrs, StartTime=base, NextToken=token) == (
        "InvalidNextTokenException", "Invalid NextToken.")


def test_rate_limit(make_server: Any) -> None:
    server = make_server(lookup_events_rate_limit_per_s=2)
    client = server.client()
    server.clock.frozen = time.time()  # the bucket must not refill during the test
    codes = []
    for _ in range(3):
        try:
            client.lookup_events(MaxResults=1)
            codes.append("ok")
        except ClientError as exc:
            codes.append((exc.response["Error"]["Code"], exc.response["Error"]["Message"]))
    assert codes[:2] == ["ok", "ok"]
    assert codes[2] == ("ThrottlingException", "Rate exceeded")
    # Another Region is another bucket.
    server.client(region="eu-west-1").lookup_events(MaxResults=1)
