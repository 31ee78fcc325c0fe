"""Pure parts of the SDK: audit_event, client address behind proxies, names, backoff."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from opentrail.client import audit_event
from opentrail.client.delivery import Backoff, is_retryable
from opentrail.client.ingest import IngestError
from opentrail.events.record import read_record
from opentrail.middleware.common import camel_case, client_address, error_of, query_parameters, trusted_networks


def test_audit_event_is_an_aws_api_call_record_in_aws_key_order() -> None:
    record = audit_event(
        event_source="myapp.example.com", event_name="DeleteProject",
        user_identity={"userName": "alice", "principalId": "u-1"}, recipient_account_id="123456789012",
        aws_region="eu-west-1", request_parameters={"projectId": "p-9"}, error_code="Conflict",
        error_message="busy", resources=[{"ARN": "arn:myapp:project/p-9", "type": "MyApp::Project"}],
        read_only=False, source_ip="198.51.100.7", user_agent="cli/2",
        event_time=datetime(2026, 1, 2, 3, 4, 5, 900000, tzinfo=timezone.utc),
        request_id="11111111-1111-4111-8111-111111111111", event_id="22222222-2222-4222-8222-222222222222",
    )
    assert record == {
        "eventVersion": "1.11",
        "userIdentity": {"type": "Unknown", "userName": "alice", "principalId": "u-1"},
        "eventTime": "2026-01-02T03:04:05Z",
        "eventSource": "myapp.example.com",
        "eventName": "DeleteProject",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "cli/2",
        "errorCode": "Conflict",
        "errorMessage": "busy",
        "requestParameters": {"projectId": "p-9"},
        "responseElements": None,
        "requestID": "11111111-1111-4111-8111-111111111111",
        "eventID": "22222222-2222-4222-8222-222222222222",
        "readOnly": False,
        "resources": [{"ARN": "arn:myapp:project/p-9", "type": "MyApp::Project"}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "123456789012",
        "eventCategory": "Management",
    }
    assert list(record)[:3] == ["eventVersion", "userIdentity", "eventTime"]
    event = read_record(record)
    assert (event.event_id, event.account_id, event.region, event.category) == (
        "22222222-2222-4222-8222-222222222222", "123456789012", "eu-west-1", "Management")


def test_audit_event_refuses_incomplete_input() -> None:
    with pytest.raises(ValueError):
        audit_event(event_source="", event_name="X")
    with pytest.raises(ValueError):
        audit_event(event_source="a", event_name="X", error_message="no code")
    with pytest.raises(ValueError):
        audit_event(event_source="a", event_name="X", event_time=datetime(2026, 1, 1))


@pytest.mark.parametrize(("peer", "xff", "trusted", "expected"), [
    ("203.0.113.5", "1.2.3.4", [], "203.0.113.5"),                      # no trusted proxies: header ignored
    ("203.0.113.5", "1.2.3.4", ["10.0.0.0/8"], "203.0.113.5"),          # peer not trusted: header ignored
    ("10.0.0.2", "1.2.3.4", ["10.0.0.0/8"], "1.2.3.4"),
    ("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.9", ["10.0.0.0/8"], "1.2.3.4"),  # rightmost untrusted hop
    ("10.0.0.2", "10.0.0.7, 10.0.0.9", ["10.0.0.0/8"], "10.0.0.7"),     # all trusted: the first
    ("10.0.0.2", None, ["10.0.0.0/8"], "10.0.0.2"),
    ("::1", "2001:db8::1", ["::1"], "2001:db8::1"),
    (None, "1.2.3.4", ["10.0.0.0/8"], "unknown"),
])
def test_client_address(peer: str | None, xff: str | None, trusted: list[str], expected: str) -> None:
    assert client_address(peer, xff, trusted_networks(trusted)) == expected


def test_names_queries_and_errors() -> None:
    assert camel_case("list_items") == "ListItems"
    assert camel_case("listItems") == "ListItems"
    assert camel_case("NOT_FOUND") == "NotFound"
    assert query_parameters("a=1&b=2&b=3&c=&b=4") == {"a": "1", "b": ["2", "3", "4"], "c": ""}
    assert query_parameters("") == {}
    assert error_of(200) is None
    assert error_of(429) == ("TooManyRequests", "Too Many Requests")
    assert error_of(599) == ("Http599", "HTTP status 599")
    with pytest.raises(ValueError):
        trusted_networks(["not-an-ip"])


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    low = Backoff(base_s=0.1, max_s=1.0, rand=lambda: 0.0)
    assert [low.next_delay() for _ in range(6)] == [0.05, 0.1, 0.2, 0.4, 0.5, 0.5]
    high = Backoff(base_s=0.1, max_s=1.0, rand=lambda: 1.0)
    assert [high.next_delay() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    high.reset()
    assert high.next_delay() == 0.1


@pytest.mark.parametrize(("status", "code", "retry"), [
    (500, "InternalFailure", True), (503, None, True), (429, None, True), (404, None, True),
    (400, "UnrecognizedClientException", True), (400, "InvalidSignatureException", True),
    (400, "AccessDeniedException", True), (400, "SerializationException", False),
    (400, "ValidationException", False), (413, "RequestEntityTooLargeException", False),
])
def test_which_errors_are_retried(status: int, code: str | None, retry: bool) -> None:
    assert is_retryable(IngestError(status, code, "m")) is retry
