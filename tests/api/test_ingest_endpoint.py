"""The ingest endpoint and its client: admin keys only, outcome JSON, AWS-style errors."""

from __future__ import annotations

import time

import pytest

from opentrail.client.ingest import IngestClient, IngestError
from opentrail.events.times import format_event_time
from opentrail.store.memory import MemoryEventStore

from .conftest import ADMIN_ACCOUNT, OTHER_ACCOUNT, Server, management_record, signed_request


def test_admin_key_ingests_and_events_are_visible(server: Server) -> None:
    key = server.admin_key
    client = IngestClient(server.url, key.access_key_id, key.secret_access_key)
    now = int(time.time())
    records = [management_record(1, format_event_time(now - 10)), management_record(2, format_event_time(now - 5)),
               management_record(1, format_event_time(now - 10)), {"eventVersion": "1.0"},
               management_record(3, "2001-01-01T00:00:00Z")]
    try:
        outcome = client.send(records)
    finally:
        client.close()
    assert outcome["accepted"] == 3  # the 2001 record too: retention counts from receipt
    assert outcome["duplicates"] == 1
    assert outcome["expired"] == 0
    assert outcome["accounts"] == {ADMIN_ACCOUNT: 3}
    assert [r["index"] for r in outcome["rejected"]] == [3]
    events = server.client().lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "RunInstances"}])["Events"]
    assert [e["EventId"][-1] for e in events] == ["2", "1", "3"]


def test_defaults_and_visible_false(server: Server) -> None:
    key = server.admin_key
    record = management_record(9, format_event_time(int(time.time())))
    del record["recipientAccountId"], record["userIdentity"]["accountId"], record["awsRegion"]
    client = IngestClient(server.url, key.access_key_id, key.secret_access_key)
    outcome = client.send([record], wait_visible=False, default_account_id=OTHER_ACCOUNT,
                          default_region="eu-west-1")
    # The SQLite store acknowledges once the batch is durable in its log, before indexing.
    indexed = isinstance(server.store, MemoryEventStore)
    assert outcome == {"accepted": 1, "duplicates": 0, "expired": 0, "rejected": [], "indexed": indexed,
                       "accounts": {OTHER_ACCOUNT: 1}}
    server.store.flush()
    (stored,) = server.store.read_since(0, 10)
    assert (stored.account_id, stored.region) == (OTHER_ACCOUNT, "eu-west-1")


def test_other_account_is_denied(server: Server) -> None:
    key = server.accounts.create_access_key(OTHER_ACCOUNT, user_name="producer")
    client = IngestClient(server.url, key.access_key_id, key.secret_access_key)
    with pytest.raises(IngestError) as info:
        client.send([management_record(1, format_event_time(int(time.time())))])
    assert (info.value.status, info.value.code, info.value.message) == (
        400, "AccessDeniedException",
        f"User: arn:aws:iam::{OTHER_ACCOUNT}:user/producer is not authorized to perform: opentrail:Ingest")
    assert server.store.count() == 0


def test_cloudtrail_scope_is_refused_and_bad_body(server: Server) -> None:
    r = signed_request(server.url, b'{"Records": []}', key=server.admin_key, path="/_opentrail/ingest")
    assert r.json() == {"__type": "InvalidSignatureException",
                        "message": "Credential should be scoped to correct service: 'opentrail'. "}
    r = signed_request(server.url, b'{"records": []}', key=server.admin_key, path="/_opentrail/ingest",
                       service="opentrail")
    assert r.status_code == 400
    assert r.json() == {"__type": "SerializationException", "message": 'The body must be {"Records": [...]}.'}


def test_unknown_key(server: Server) -> None:
    client = IngestClient(server.url, "AKIAUNKNOWNUNKNOWN00", "s" * 40)
    with pytest.raises(IngestError) as info:
        client.send([])
    assert info.value.code == "UnrecognizedClientException"


def test_records_whose_region_is_not_a_region_name_are_rejected(server: Server) -> None:
    key = server.admin_key
    now = format_event_time(int(time.time()))
    records = [management_record(1, now, region="../.."), management_record(2, now, region="a/b"),
               management_record(3, now, region="sagov-westsouth-1r")]
    client = IngestClient(server.url, key.access_key_id, key.secret_access_key)
    try:
        outcome = client.send(records)
    finally:
        client.close()
    reason = "awsRegion {!r} is not a Region name (letters, digits and hyphens, at most 64)"
    assert outcome["accepted"] == 1
    assert outcome["rejected"] == [{"index": 0, "code": "InvalidRegion", "reason": reason.format("../..")},
                                   {"index": 1, "code": "InvalidRegion", "reason": reason.format("a/b")}]
    server.store.flush()
    assert [e.region for e in server.store.read_since(0, 10)] == ["sagov-westsouth-1r"]
