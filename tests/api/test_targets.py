"""X-Amz-Target forms: botocore's ``<targetPrefix>.<Op>`` and Smithy SDKs' ``<service shape>.<Op>``."""

from __future__ import annotations

import botocore.session
import pytest

from opentrail.api.operations import OPERATIONS, TARGET_PREFIXES, operation_from_target
from opentrail.api.targets import accepted_target_prefixes, operation_for_target

from .conftest import Server, signed_request


def test_cloudtrail_prefixes_come_from_the_model() -> None:
    model = botocore.session.get_session().get_service_model("cloudtrail")
    assert TARGET_PREFIXES == accepted_target_prefixes(model.metadata["targetPrefix"])
    assert TARGET_PREFIXES == {"com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101", "CloudTrail_20131101"}


@pytest.mark.parametrize(("service", "expected"), [
    ("logs", {"Logs_20140328"}),
    ("events", {"AWSEvents"}),
    ("kms", {"TrentService"}),
    ("dynamodb", {"DynamoDB_20120810"}),
    ("codestar-connections", {"com.amazonaws.codestar.connections.CodeStar_connections_20191201",
                              "CodeStar_connections_20191201"}),
])
def test_prefixes_of_other_json_services(service: str, expected: set[str]) -> None:
    model = botocore.session.get_session().get_service_model(service)
    assert accepted_target_prefixes(model.metadata["targetPrefix"]) == expected


def test_aliases_and_empty_prefix() -> None:
    assert accepted_target_prefixes("GraniteServiceVersion20100801", "com.amazonaws.monitoring.X") == {
        "GraniteServiceVersion20100801", "com.amazonaws.monitoring.X"}
    with pytest.raises(ValueError):
        accepted_target_prefixes("")


@pytest.mark.parametrize(("target", "operation"), [
    ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.CreateTrail", "CreateTrail"),
    ("CloudTrail_20131101.CreateTrail", "CreateTrail"),
    ("CloudTrail_20131101.LookupEvents", "LookupEvents"),
    (None, None),
    ("", None),
    ("CreateTrail", None),
    (".CreateTrail", None),
    ("CloudTrail_20131101.", None),
    ("CloudTrail_20131101.Nope", None),
    ("cloudtrail_20131101.CreateTrail", None),  # matching is exact
    ("CloudTrail_20131101.createTrail", None),
    ("v20131101.CloudTrail_20131101.CreateTrail", None),
    ("com.amazonaws.cloudtrail.CloudTrail_20131101.CreateTrail", None),
    ("DynamoDB_20120810.ListTables", None),
    ("Logs_20140328.CreateTrail", None),
])
def test_operation_from_target(target: str | None, operation: str | None) -> None:
    assert operation_from_target(target) == operation


def test_operation_for_target_of_another_service() -> None:
    prefixes = accepted_target_prefixes("Logs_20140328")
    assert operation_for_target("Logs_20140328.PutLogEvents", prefixes, {"PutLogEvents"}) == "PutLogEvents"
    assert operation_for_target("Logs_20140328.Nope", prefixes, {"PutLogEvents"}) is None
    assert operation_for_target("CloudTrail_20131101.CreateTrail", prefixes, OPERATIONS) is None


def test_smithy_target_over_http(server: Server) -> None:
    r = signed_request(server.url, b"{}", key=server.admin_key,
                       headers={"X-Amz-Target": "CloudTrail_20131101.LookupEvents"})
    assert r.status_code == 200
    assert r.json() == {"Events": []}
    r = signed_request(server.url, b"{}", key=server.admin_key,
                       headers={"X-Amz-Target": "CloudTrail_20131101.LookupEvent"})
    assert (r.status_code, r.json()) == (400, {"__type": "UnknownOperationException"})
    # The recorded call is named by the operation, whatever form the header had.
    names = [e["EventName"] for e in server.client().lookup_events()["Events"]]
    assert names == ["LookupEvents"]
