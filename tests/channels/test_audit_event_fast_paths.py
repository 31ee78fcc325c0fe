"""The shortcuts of PutAuditEvents' per-event work give the answers of the long way: eventIDs
formatted from one hex string, accept()'s inlined checks (objects measured only when eventData is
long enough to exceed a limit), and Lake ingestion reading the channel ARN of accept()'s records
without decoding them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
import pytest

from opentrail.lake.audit_events import MAX_OBJECT_BYTES, AuditEventRejected, accept, new_event_ids
from opentrail.lake.ingest import _ACCEPTED_RECORD

OWNER, REGION = "111122223333", "eu-west-1"
ARN = f"arn:aws:cloudtrail:{REGION}:{OWNER}:channel/0a1b2c3d-0000-4000-8000-000000000001"


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"version": "1.0", "userIdentity": {"type": "CustomUser", "principalId": "alice"},
                            "eventSource": "app.example.com", "eventName": "Login",
                            "eventTime": "2026-01-02T03:04:05Z", "UID": "u-1", "recipientAccountId": OWNER}
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def _refused(event_data: str) -> tuple[str, str]:
    with pytest.raises(AuditEventRejected) as info:
        accept(event_data, None, owner=OWNER, region=REGION, channel_arn=ARN, now=1_767_323_045.5, event_id="e-1")
    return info.value.code, info.value.message


def test_event_ids_are_uuid4_text() -> None:
    ids = new_event_ids(300)
    assert len(set(ids)) == 300
    for text in ids:
        parsed = uuid.UUID(text)
        assert (str(parsed), parsed.version, parsed.variant) == (text, 4, uuid.RFC_4122)


def test_accepted_record_bytes() -> None:
    event_data = json.dumps(_data(requestParameters={"n": 1e15}))
    got = accept(event_data, None, owner=OWNER, region=REGION, channel_arn=ARN, now=1_767_323_045.5, event_id="e-1")
    assert (got.event_id, got.event_time) == ("e-1", 1_767_323_045)
    assert got.record == orjson.dumps({
        "eventVersion": "1.0", "eventCategory": "ActivityAuditLog", "eventType": "ActivityLog", "eventID": "e-1",
        "eventTime": "2026-01-02T03:04:05Z", "awsRegion": REGION, "recipientAccountId": OWNER,
        "metadata": {"ingestionTime": "2026-01-02T03:04:05Z", "channelARN": ARN},
        "eventData": orjson.loads(event_data)})


@pytest.mark.parametrize(("changes", "expected"), [
    ({"UID": None}, ("FieldNotFound", "The required field UID is missing from eventData.")),
    ({"userIdentity": {"type": "T"}},
     ("FieldNotFound", "The required field userIdentity.principalId is missing from eventData.")),
    ({"userIdentity": {"type": 7, "principalId": "p"}}, ("InvalidData", "userIdentity.type must be a string.")),
    ({"userIdentity": {"type": "T" * 129, "principalId": "p"}},
     ("FieldTooLong", "userIdentity.type is longer than 128 characters.")),
    ({"userIdentity": {"type": "T", "principalId": "p", "details": []}},
     ("InvalidData", "userIdentity.details must be a JSON object.")),
    ({"eventName": ["x"]}, ("InvalidData", "eventName must be a string.")),
    ({"errorCode": "E" * 257}, ("FieldTooLong", "errorCode is longer than 256 characters.")),
    ({"errorCode": "E" * 257, "eventName": 3}, ("InvalidData", "eventName must be a string.")),
    ({"responseElements": "x"}, ("InvalidData", "responseElements must be a JSON object.")),
    ({"additionalEventData": {"x": "y" * (28 * 1024)}},
     ("FieldTooLong", "additionalEventData is larger than 28 kB.")),
    ({"recipientAccountId": "999988887777"},
     ("InvalidRecipient", f"recipientAccountId must be {OWNER}, the account that owns the channel.")),
    ({"eventTime": 123}, ("InvalidData", "eventTime must be a string in the format yyyy-MM-DDTHH:mm:ss.")),
    ({"eventTime": ["2026-01-02T03:04:05Z"]},
     ("InvalidData", "eventTime must be a string in the format yyyy-MM-DDTHH:mm:ss.")),
])
def test_refusals(changes: dict[str, Any], expected: tuple[str, str]) -> None:
    assert _refused(json.dumps(_data(**changes))) == expected


def test_numbers_that_grow_are_measured() -> None:
    """``1e15`` (4 characters) is written as ``1000000000000000.0`` (18 bytes): 1,600 of them fit
    in 28 kB as text but not as the compact JSON the limit is measured on."""
    numbers = ",".join(["1e15"] * 1_600)
    event_data = json.dumps(_data())[:-1] + ',"additionalEventData":{"n":[' + numbers + "]}}"
    assert len(event_data) < MAX_OBJECT_BYTES["additionalEventData"]
    assert _refused(event_data) == ("FieldTooLong", "additionalEventData is larger than 28 kB.")


def test_ingestion_reads_the_channel_arn_of_accepted_records() -> None:
    record = accept(json.dumps(_data()), None, owner=OWNER, region=REGION, channel_arn=ARN, now=0.0).record
    match = _ACCEPTED_RECORD.match(record)
    assert match is not None and match.group(1).decode() == ARN
    # any other layout is decoded instead
    other = orjson.dumps({**orjson.loads(record), "metadata": {"channelARN": ARN, "ingestionTime": "x"}})
    assert _ACCEPTED_RECORD.match(other) is None
    escaped = record.replace(b'"awsRegion":"eu-west-1"', b'"awsRegion":"eu-west-1\\"x"')
    assert _ACCEPTED_RECORD.match(escaped) is None
