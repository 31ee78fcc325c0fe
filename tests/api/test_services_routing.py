"""One endpoint, several services: requests are routed by the SigV4 credential scope's service,
answered in that service's protocol, and recorded under its eventSource (issue 12, Scope 1)."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from opentrail.api.services import scope_service, served_services, service_for_request

from .conftest import REGION, Server, signed_request


def client(server: Server, service: str) -> Any:
    key = server.admin_key
    return boto3.client(service, endpoint_url=server.url, region_name=REGION,
                        aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def recorded(server: Server, event_name: str) -> dict[str, Any]:
    deadline = time.time() + 5
    while time.time() < deadline:
        events = server.client().lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": event_name}])["Events"]
        if events:
            return json.loads(events[0]["CloudTrailEvent"])
        time.sleep(0.05)
    raise AssertionError(f"{event_name} was not recorded")


@pytest.mark.parametrize("authorization,expected", [
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/logs/aws4_request, SignedHeaders=host, Signature=x", "logs"),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261202/eu-west-1/monitoring/aws4_request,SignedHeaders=host,Signature=x",
     "monitoring"),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/cloudtrail/aws4_request, SignedHeaders=host", "cloudtrail"),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261202/us-east-1/events/aws4_request, SignedHeaders=host", "events"),
    ("AWS4-HMAC-SHA256 SignedHeaders=host", None),
    (None, None),
])
def test_scope_service(authorization: str | None, expected: str | None) -> None:
    assert scope_service(authorization) == expected


def test_scope_service_of_a_presigned_query() -> None:
    query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20261202%2Fus-east-1%2Flogs%2Faws4_request"
    assert scope_service(None, query) == "logs"


@pytest.mark.parametrize("kwargs,expected", [
    ({"authorization": None, "target": "Logs_20140328.CreateLogGroup", "content_type": "application/x-amz-json-1.1"},
     "logs"),
    ({"authorization": None, "target": "GraniteServiceVersion20100801.PutMetricData",
      "content_type": "application/x-amz-json-1.0"}, "monitoring"),
    ({"authorization": None, "target": None, "content_type": "application/x-www-form-urlencoded; charset=utf-8"},
     "monitoring"),
    ({"authorization": None, "target": None, "content_type": "application/cbor",
      "path": "/service/GraniteServiceVersion20100801/operation/PutMetricData"}, "monitoring"),
    ({"authorization": None, "target": "CloudTrail_20131101.ListTrails", "content_type": ""}, "cloudtrail"),
    ({"authorization": None, "target": "AWSEvents.PutRule", "content_type": "application/x-amz-json-1.1"}, "events"),
    ({"authorization": None, "target": "AWSOrganizationsV20161128.ListAccounts",
      "content_type": "application/x-amz-json-1.1"}, "organizations"),
    ({"authorization": None, "target": "Nope.ListTrails", "content_type": ""}, "cloudtrail"),
    # the scope wins over the target
    ({"authorization": "AWS4-HMAC-SHA256 Credential=A/20261202/us-east-1/logs/aws4_request, SignedHeaders=host",
      "target": "CloudTrail_20131101.ListTrails", "content_type": ""}, "logs"),
    ({"authorization": "AWS4-HMAC-SHA256 Credential=A/20261202/us-east-1/sts/aws4_request, SignedHeaders=host",
      "target": None, "content_type": "application/x-www-form-urlencoded"}, "sts"),
])
def test_service_for_request(kwargs: dict[str, Any], expected: str) -> None:
    args = {"query_string": "", "path": "/", **kwargs}
    assert service_for_request(**args).name == expected


def test_served_services_cover_their_models() -> None:
    services = served_services()
    assert sorted(services) == ["cloudtrail", "cloudtrail-data", "events", "iam", "logs", "monitoring",
                                "organizations", "sts"]
    assert (len(services["cloudtrail"].operations), len(services["logs"].operations),
            len(services["monitoring"].operations), len(services["events"].operations),
            len(services["organizations"].operations), len(services["sts"].operations),
            len(services["iam"].operations)) == (60, 118, 59, 57, 63, 12, 181)
    assert services["organizations"].iam_action("CreateAccount") == "organizations:CreateAccount"
    assert [s.name for s in services.values() if s.global_region] == ["organizations", "iam"]
    assert services["sts"].iam_action("GetSessionToken") == "sts:GetSessionToken"
    assert services["logs"].iam_action("CreateLogGroup") == "logs:CreateLogGroup"
    assert services["monitoring"].iam_action("PutMetricAlarm") == "cloudwatch:PutMetricAlarm"
    assert services["events"].iam_action("PutRule") == "events:PutRule"
    assert dict(services["events"].data_events) == {"PutEvents": "AWS::Events::EventBus"}
    for service in services.values():
        assert set(service.resources) == set(service.operations)


def test_a_logs_call_without_the_service_is_recorded_under_logs(server: Server) -> None:
    # Server built without a Logs service: every logs operation answers UnknownOperationException,
    # and the call is still recorded, as the logs event AWS writes.
    logs = client(server, "logs")
    with pytest.raises(ClientError) as info:
        logs.create_log_group(logGroupName="trail-events")
    assert info.value.response["Error"]["Code"] == "UnknownOperationException"
    assert info.value.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/x-amz-json-1.1"
    record = recorded(server, "CreateLogGroup")
    assert (record["eventSource"], record["errorCode"], record["requestParameters"], record["readOnly"],
            record["eventCategory"]) == ("logs.amazonaws.com", "UnknownOperationException",
                                         {"logGroupName": "trail-events"}, False, "Management")


def test_a_logs_target_signed_for_cloudtrail_is_answered_by_cloudtrail(server: Server) -> None:
    # The scope names cloudtrail, so CloudTrail answers: it has no such operation.
    response = signed_request(server.url, b'{"logGroupName": "x"}', key=server.admin_key, service="cloudtrail",
                              headers={"X-Amz-Target": "Logs_20140328.CreateLogGroup",
                                       "Content-Type": "application/x-amz-json-1.1"})
    assert (response.status_code, response.json()) == (400, {"__type": "UnknownOperationException"})


def test_an_unsigned_logs_request_is_answered_by_logs(server: Server) -> None:
    response = httpx.post(server.url, content=b"{}", headers={
        "x-amz-target": "Logs_20140328.CreateLogGroup", "content-type": "application/x-amz-json-1.1"})
    assert response.status_code == 400
    assert response.json() == {"__type": "MissingAuthenticationTokenException",
                               "message": "Request is missing Authentication Token"}


def test_an_events_call_without_the_service_is_recorded_under_events(server: Server) -> None:
    # Server built without the EventBridge rules service: its operations answer
    # UnknownOperationException naming them, recorded under events.amazonaws.com.
    events = client(server, "events")
    with pytest.raises(ClientError) as info:
        events.describe_rule(Name="r")
    assert info.value.response["Error"] == {
        "Code": "UnknownOperationException", "Message": "opentrail does not implement the DescribeRule operation yet."}
    record = recorded(server, "DescribeRule")
    assert (record["eventSource"], record["readOnly"], record["requestParameters"]) == (
        "events.amazonaws.com", True, {"name": "r"})


def test_monitoring_errors_carry_the_query_code(server: Server) -> None:
    cw = client(server, "cloudwatch")
    with pytest.raises(ClientError) as info:
        cw.describe_alarms()
    error = info.value.response["Error"]
    assert error["Code"] == "UnknownOperationException"
    headers = info.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert headers["x-amzn-query-error"] == "UnknownOperationException;Sender"
    record = recorded(server, "DescribeAlarms")
    assert (record["eventSource"], record["readOnly"]) == ("monitoring.amazonaws.com", True)
