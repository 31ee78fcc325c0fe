"""AWS JSON 1.1 protocol edges: targets, content types, bodies, request ids, the operation table."""

from __future__ import annotations

import uuid

import botocore.session
import httpx
import pytest
from botocore.exceptions import ClientError

from opentrail.api.operations import MODEL_OPERATIONS, OPERATIONS, TARGET_PREFIX, implemented_operations
from opentrail.store.space import free_bytes

from .conftest import Server, signed_request


def test_operation_table_matches_the_botocore_model() -> None:
    model = botocore.session.get_session().get_service_model("cloudtrail")
    assert sorted(model.operation_names) == list(MODEL_OPERATIONS)
    assert set(OPERATIONS) == set(model.operation_names)
    assert len(OPERATIONS) == 60
    assert model.metadata["targetPrefix"] == TARGET_PREFIX
    assert "LookupEvents" in implemented_operations()  # the full list is docs/operations.md (tested there)


def test_lookup_events_errors_are_in_the_model() -> None:
    from opentrail.api import errors

    model = botocore.session.get_session().get_service_model("cloudtrail")
    modeled = {e.name for e in model.operation_model("LookupEvents").error_shapes}
    for name in ("InvalidLookupAttributesException", "InvalidTimeRangeException", "InvalidMaxResultsException",
                 "InvalidNextTokenException", "InvalidEventCategoryException"):
        assert name in modeled
        assert getattr(errors, name)().code == name


def test_unimplemented_operation(server: Server) -> None:
    with pytest.raises(ClientError) as info:
        server.client().describe_trails()
    assert info.value.response["Error"] == {
        "Code": "UnknownOperationException",
        "Message": "opentrail does not implement the DescribeTrails operation yet.",
    }
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize("target", [None, "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.Nope",
                                    "DynamoDB_20120810.ListTables"])
def test_missing_or_unknown_target(server: Server, target: str | None) -> None:
    r = signed_request(server.url, b"{}", key=server.admin_key, headers={"X-Amz-Target": target})
    assert r.status_code == 400
    assert r.json() == {"__type": "UnknownOperationException"}
    assert uuid.UUID(r.headers["x-amzn-requestid"]).version == 4


def test_malformed_json(server: Server) -> None:
    r = signed_request(server.url, b'{"MaxResults": ', key=server.admin_key)
    assert r.status_code == 400
    # AWS sends no message for a body that does not parse (architect/dynalite, recorded from DynamoDB).
    assert r.json() == {"__type": "SerializationException"}
    r = signed_request(server.url, b"[1, 2]", key=server.admin_key)
    assert r.json() == {"__type": "SerializationException", "message": "Start of list found where not expected"}
    r = signed_request(server.url, b'"text"', key=server.admin_key)
    assert r.json() == {"__type": "SerializationException", "message": "Expected null"}
    r = signed_request(server.url, b"null", key=server.admin_key)  # a JSON null body is an empty request
    assert r.status_code == 200
    assert [e["EventName"] for e in r.json()["Events"]] == ["LookupEvents"] * 3  # the three calls above


def test_wrong_content_type(server: Server) -> None:
    r = signed_request(server.url, b"{}", key=server.admin_key, headers={"Content-Type": "text/plain"})
    # AWS answers a non-JSON Content-Type with 404 UnknownOperationException (architect/dynalite,
    # recorded from DynamoDB); opentrail sends it as JSON.
    assert r.status_code == 404
    assert r.json() == {"__type": "UnknownOperationException"}
    assert r.headers["content-type"] == "application/x-amz-json-1.1"


def test_oversize_body(server: Server) -> None:
    body = b'{"NextToken": "' + b"x" * (64 * 1024) + b'"}'
    r = signed_request(server.url, body, key=server.admin_key)
    assert r.status_code == 413
    assert r.json() == {"__type": "RequestEntityTooLargeException",
                        "message": "Request body is larger than the limit of 65536 bytes."}
    assert r.headers["x-amzn-requestid"]


def test_request_id_on_success_and_errors(server: Server) -> None:
    resp = server.client().lookup_events()
    rid = resp["ResponseMetadata"]["RequestId"]
    assert uuid.UUID(rid).version == 4
    r = httpx.get(server.url + "/nowhere")
    assert r.status_code == 404
    assert uuid.UUID(r.headers["x-amzn-requestid"]).version == 4


def test_health_and_console(server: Server) -> None:
    r = httpx.get(server.url + "/_opentrail/health")
    free = r.json()["dataDirectory"]["freeBytes"]
    assert (r.status_code, r.json()) == (200, {"status": "ok", "dataDirectory": {"freeBytes": free, "full": False}})
    assert abs(free - free_bytes(server.data_dir)) < 256 * 1024 * 1024  # other processes write meanwhile
    r = httpx.get(server.url + "/")  # the web console (tests/console)
    assert (r.status_code, r.headers["location"]) == (303, "/console/events")


def test_unexpected_exception_is_internal_failure(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(query: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(server.store, "lookup", boom)
    r = signed_request(server.url, b"{}", key=server.admin_key)
    assert r.status_code == 500
    assert r.json() == {
        "__type": "InternalFailure",
        "message": "The request processing has failed because of an unknown error, exception or failure.",
    }
