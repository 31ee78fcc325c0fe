from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest

from opentrail.events.record import MAX_RECORD_BYTES, RecordRejected, derived_event_id, read_record

BASE: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "IAMUser", "accountId": "111111111111", "userName": "alice", "accessKeyId": "AKIAX"},
    "eventTime": "2023-07-10T11:42:18Z",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "DescribeInstances",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "08.1.250.216",
    "readOnly": True,
    "eventID": "0828c0d2-3589-4390-b954-c78b4a7df44b",
    "eventType": "AwsApiCall",
    "recipientAccountId": "222222222222",
}
T = 1688989338  # 2023-07-10T11:42:18Z


def rejected(obj: Any, **kw: Any) -> tuple[str, str]:
    with pytest.raises(RecordRejected) as info:
        read_record(obj, **kw)
    return info.value.code, info.value.reason


def test_plain_record() -> None:
    e = read_record(BASE)
    assert (e.event_id, e.event_time, e.account_id, e.region, e.category) == (
        BASE["eventID"], T, "222222222222", "eu-west-1", "Management")
    assert e.record == json.dumps(BASE, separators=(",", ":")).encode()
    assert e.lookup == (
        ("EventId", BASE["eventID"]), ("EventName", "DescribeInstances"), ("ReadOnly", "true"),
        ("Username", "alice"), ("EventSource", "ec2.amazonaws.com"), ("AccessKeyId", "AKIAX"),
    )


def test_record_bytes_keep_key_order_unknown_fields_and_nulls() -> None:
    obj = {"z": 1, "p_log_type": "AWS.CloudTrail", **BASE, "@version": "1", "a": None, "nested": {"b": [1, {"y": 2, "x": 3}]}}
    e = read_record(obj)
    assert list(json.loads(e.record)) == list(obj)
    assert e.record == orjson.dumps(obj)
    assert json.loads(e.record) == obj


def test_big_integers_fall_back_to_stdlib_json() -> None:
    obj = {**BASE, "requestParameters": {"n": 2**70, "m": -(2**65)}}
    e = read_record(obj)
    assert b'"n":1180591620717411303424' in e.record
    assert json.loads(e.record) == obj


@pytest.mark.parametrize("obj", [[BASE], "x", 5, None, True])
def test_not_an_object(obj: Any) -> None:
    assert rejected(obj)[0] == "NotAnObject"


def test_not_json() -> None:
    assert rejected({**BASE, 1: "int key"})[0] == "NotJson"
    assert rejected({**BASE, "s": {1, 2}})[0] == "NotJson"


def test_too_large() -> None:
    overhead = len(orjson.dumps({**BASE, "pad": ""}))
    fits = {**BASE, "pad": "x" * (MAX_RECORD_BYTES - overhead)}
    assert len(read_record(fits).record) == MAX_RECORD_BYTES
    code, reason = rejected({**BASE, "pad": "x" * (MAX_RECORD_BYTES - overhead + 1)})
    assert code == "TooLarge"
    assert reason == f"record is {MAX_RECORD_BYTES + 1} bytes, the limit is 262144"


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"eventTime": "2023-07-10 11:42:18"}, T),
        ({"eventTime": "2023-07-10 11:42:18.000000000"}, T),
        ({"eventTime": "2023-07-10T11:42:18.123Z"}, T),
        ({"eventTime": "2023-07-10T22:42:18+11:00"}, T),
        ({"eventTime": None, "@timestamp": "2023-07-10T11:42:18.000Z"}, T),
        ({"eventTime": None, "p_event_time": "2023-07-10 11:42:18.000000000"}, T),
    ],
)
def test_event_time_variants(fields: dict[str, Any], expected: int) -> None:
    assert read_record({**BASE, **fields}).event_time == expected


def test_logstash_record_without_event_time() -> None:
    obj = {k: v for k, v in BASE.items() if k != "eventTime"}
    obj = {"@version": "1", "@timestamp": "2023-07-10T11:42:19.000Z", **obj}
    e = read_record(obj)
    assert e.event_time == T + 1
    assert b"eventTime" not in e.record


def test_event_time_rejections() -> None:
    no_time = {k: v for k, v in BASE.items() if k != "eventTime"}
    assert rejected(no_time) == ("MissingEventTime", "record has no eventTime (nor @timestamp / p_event_time)")
    assert rejected({**BASE, "eventTime": None})[0] == "MissingEventTime"
    assert rejected({**BASE, "eventTime": "redacted"}) == ("InvalidEventTime", "eventTime: unrecognised eventTime 'redacted'")
    assert rejected({**BASE, "eventTime": 1688989338})[0] == "InvalidEventTime"
    # eventTime wins over fallbacks, even when invalid
    assert rejected({**BASE, "eventTime": "...", "@timestamp": "2023-07-10T11:42:18Z"})[0] == "InvalidEventTime"


def test_derived_event_id_is_deterministic_uuid_and_record_unchanged() -> None:
    obj = {k: v for k, v in BASE.items() if k != "eventID"}
    e1, e2 = read_record(obj), read_record(dict(obj))
    assert e1.event_id == e2.event_id == derived_event_id(orjson.dumps(obj))
    u = uuid.UUID(e1.event_id)
    assert (u.version, u.variant) == (8, uuid.RFC_4122)
    assert b"eventID" not in e1.record
    assert ("EventId", e1.event_id) in e1.lookup
    assert read_record({**obj, "eventName": "Other"}).event_id != e1.event_id
    assert read_record({**obj, "eventID": None}).event_id != e1.event_id  # different bytes
    assert read_record({**obj, "eventID": ""}).event_id == derived_event_id(orjson.dumps({**obj, "eventID": ""}))


def test_derived_event_id_known_value() -> None:
    # sha256(b"{}") = 44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
    assert derived_event_id(b"{}") == "44136fa3-55b3-878a-9146-ad16f7e8649e"


def test_account_fallbacks() -> None:
    assert read_record(BASE).account_id == "222222222222"
    no_recipient = {k: v for k, v in BASE.items() if k != "recipientAccountId"}
    assert read_record(no_recipient).account_id == "111111111111"
    bare = {"eventTime": "2023-07-10T11:42:18Z", "userIdentity": {"type": "AWSService"}, "recipientAccountId": None}
    assert read_record(bare, default_account_id="333333333333").account_id == "333333333333"
    assert rejected(bare) == ("MissingAccount", "no recipientAccountId or userIdentity.accountId, and no default account")
    assert rejected({"eventTime": "2023-07-10T11:42:18Z", "userIdentity": "x"})[0] == "MissingAccount"
    # synthetic account ids are not validated
    assert read_record({**BASE, "recipientAccountId": "001"}).account_id == "001"


def test_region_fallbacks() -> None:
    assert read_record({**BASE, "awsRegion": "sagov-westsouth-1r"}).region == "sagov-westsouth-1r"
    assert read_record({**BASE, "awsRegion": None}, default_region="ap-south-1").region == "ap-south-1"
    no_region = {k: v for k, v in BASE.items() if k != "awsRegion"}
    assert read_record(no_region).region == "us-east-1"
    assert read_record(no_region, default_region="eu-north-1").region == "eu-north-1"


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1", "us-isob-east-1", "awsRegion1", "apiso-northsouth-3r",
                                    "redacted", "a" * 64])
def test_region_names_of_aws_and_of_anonymised_logs_are_accepted(region: str) -> None:
    assert read_record({**BASE, "awsRegion": region}).region == region


@pytest.mark.parametrize("region", ["../..", "..", ".", "a/b", "us-east-1/", "-us", "us east 1", "us_east_1",
                                    "us-east-1\n", "ｕｓ-east-1", "a" * 65])
def test_region_that_is_not_a_region_name_is_rejected(region: str) -> None:
    assert rejected({**BASE, "awsRegion": region}) == (
        "InvalidRegion", f"awsRegion {region!r} is not a Region name (letters, digits and hyphens, at most 64)")


def test_default_region_that_is_not_a_region_name_is_rejected_when_used() -> None:
    no_region = {k: v for k, v in BASE.items() if k != "awsRegion"}
    assert rejected(no_region, default_region="a/b") == (
        "InvalidRegion", "default Region 'a/b' is not a Region name (letters, digits and hyphens, at most 64)")
    assert read_record(BASE, default_region="a/b").region == "eu-west-1"


def test_invalid_region_reason_is_shortened() -> None:
    assert rejected({**BASE, "awsRegion": "/" * 1000})[1] == (
        f"awsRegion {'/' * 80!r}... is not a Region name (letters, digits and hyphens, at most 64)")


def test_insights_record_without_user_identity() -> None:
    obj = {
        "eventVersion": "1.07", "eventTime": "2023-07-10T11:42:18Z", "awsRegion": "us-east-1",
        "eventID": "ins-1", "eventType": "AwsCloudTrailInsight", "recipientAccountId": "123456789012",
        "sharedEventID": "s", "insightDetails": {"state": "Start", "eventSource": "ssm.amazonaws.com",
                                                 "eventName": "UpdateInstanceInformation", "insightType": "ApiCallRateInsight"},
        "eventCategory": "Insight",
    }
    e = read_record(obj)
    assert e.category == "Insight"
    assert e.lookup == (("EventId", "ins-1"), ("EventName", "UpdateInstanceInformation"), ("EventSource", "ssm.amazonaws.com"))


def test_user_identity_without_type_and_data_event() -> None:
    obj = {**BASE, "userIdentity": {"accountId": "1", "invokedBy": "ec2.amazonaws.com"},
           "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "readOnly": True}
    del obj["eventVersion"]
    e = read_record(obj)
    assert e.category == "Data"
    assert ("Username", "alice") not in e.lookup and all(k != "Username" for k, _ in e.lookup)


def test_rejected_is_an_exception_with_code_and_reason() -> None:
    exc = RecordRejected("TooLarge", "too big")
    assert (exc.code, exc.reason, str(exc)) == ("TooLarge", "too big", "TooLarge: too big")
    assert isinstance(exc, Exception)


@pytest.mark.parametrize("when", ["1969-12-31T23:59:59Z", "2106-02-07T06:28:16Z", "9999-12-31T23:59:59Z"])
def test_event_time_outside_the_stored_range_is_rejected(when: str) -> None:
    with pytest.raises(RecordRejected) as err:
        read_record({"eventTime": when, "recipientAccountId": "123456789012", "eventID": "e"})
    assert err.value.code == "InvalidEventTime"
    assert err.value.reason == f"eventTime: {when!r} is outside 1970-01-01 .. 2106-02-07"


def test_event_time_at_the_range_ends_is_kept() -> None:
    first = read_record({"eventTime": "1970-01-01T00:00:00Z", "recipientAccountId": "123456789012"})
    last = read_record({"eventTime": "2106-02-07T06:28:15Z", "recipientAccountId": "123456789012"})
    assert (first.event_time, last.event_time) == (0, 2**32 - 1)
