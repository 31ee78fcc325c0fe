"""Resource ARNs per operation (Service Authorization Reference forms), table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.api.resource_arns import Scope, request_tags, resource_account, resource_arns
from opentrail.api.services import served_services
from opentrail.organizations.model import Organization

A, R = "111122223333", "eu-west-1"
CT = f"arn:aws:cloudtrail:{R}:{A}:"
ORG = Organization("o-abcdefghij", "ALL", A, "r-ab12", 0.0)

CASES: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
    ("cloudtrail", "LookupEvents", {}, ("*",)),
    ("cloudtrail", "CreateTrail", {"Name": "prod"}, (CT + "trail/prod",)),
    ("cloudtrail", "StopLogging", {"Name": "arn:aws:cloudtrail:us-east-1:999988887777:trail/org"},
     ("arn:aws:cloudtrail:us-east-1:999988887777:trail/org",)),
    ("cloudtrail", "GetEventSelectors", {"TrailName": "prod"}, (CT + "trail/prod",)),
    ("cloudtrail", "GetInsightSelectors", {"EventDataStore": "abc"}, (CT + "eventdatastore/abc",)),
    ("cloudtrail", "GetInsightSelectors", {"TrailName": "t"}, (CT + "trail/t",)),
    ("cloudtrail", "GetEventDataStore", {"EventDataStore": f"{CT}eventdatastore/x"}, (CT + "eventdatastore/x",)),
    ("cloudtrail", "CreateEventDataStore", {"Name": "lake"}, (CT + "eventdatastore/*",)),
    ("cloudtrail", "StartQuery", {"QueryStatement": "SELECT eventName FROM 0f1e-22 WHERE x = 1"},
     (CT + "eventdatastore/0f1e-22",)),
    ("cloudtrail", "CreateDashboard", {"Name": "d"}, (CT + "dashboard/d",)),
    ("cloudtrail", "GetChannel", {"Channel": "c-1"}, (CT + "channel/c-1",)),
    ("cloudtrail", "ListTags", {"ResourceIdList": [CT + "trail/a", CT + "trail/b"]}, (CT + "trail/a", CT + "trail/b")),
    ("cloudtrail", "AddTags", {"ResourceId": CT + "trail/a"}, (CT + "trail/a",)),
    ("cloudtrail", "GetTrail", {}, ("*",)),
    ("logs", "CreateLogGroup", {"logGroupName": "/app/web"}, (f"arn:aws:logs:{R}:{A}:log-group:/app/web:log-stream:",)),
    ("logs", "DeleteDataProtectionPolicy", {"logGroupIdentifier": f"arn:aws:logs:{R}:{A}:log-group:g:*"},
     (f"arn:aws:logs:{R}:{A}:log-group:g:log-stream:",)),
    ("logs", "PutLogEvents", {"logGroupName": "g", "logStreamName": "s"}, (f"arn:aws:logs:{R}:{A}:log-group:g:log-stream:s",)),
    ("logs", "DescribeLogGroups", {"logGroupNamePrefix": "a"}, ("*",)),
    ("logs", "PutDestination", {"destinationName": "d"}, (f"arn:aws:logs:{R}:{A}:destination:d",)),
    ("logs", "TagResource", {"resourceArn": f"arn:aws:logs:{R}:{A}:log-group:g"}, (f"arn:aws:logs:{R}:{A}:log-group:g",)),
    ("monitoring", "PutMetricAlarm", {"AlarmName": "high"}, (f"arn:aws:cloudwatch:{R}:{A}:alarm:high",)),
    ("monitoring", "DeleteAlarms", {"AlarmNames": ["a", "b"]},
     (f"arn:aws:cloudwatch:{R}:{A}:alarm:a", f"arn:aws:cloudwatch:{R}:{A}:alarm:b")),
    ("monitoring", "GetDashboard", {"DashboardName": "ops"}, (f"arn:aws:cloudwatch::{A}:dashboard/ops",)),
    ("monitoring", "PutMetricData", {"Namespace": "x"}, ("*",)),
    ("events", "PutRule", {"Name": "r"}, (f"arn:aws:events:{R}:{A}:rule/r",)),
    ("events", "PutRule", {"Name": "r", "EventBusName": "orders"}, (f"arn:aws:events:{R}:{A}:rule/orders/r",)),
    ("events", "PutTargets", {"Rule": "r", "EventBusName": f"arn:aws:events:{R}:{A}:event-bus/orders"},
     (f"arn:aws:events:{R}:{A}:rule/orders/r",)),
    ("events", "DescribeEventBus", {}, (f"arn:aws:events:{R}:{A}:event-bus/default",)),
    ("events", "PutEvents", {"Entries": [{}, {"EventBusName": "orders"}, {}]},
     (f"arn:aws:events:{R}:{A}:event-bus/default", f"arn:aws:events:{R}:{A}:event-bus/orders")),
    ("events", "CreateConnection", {"Name": "c"}, (f"arn:aws:events:{R}:{A}:connection/c",)),
    ("sts", "AssumeRole", {"RoleArn": "arn:aws:iam::999988887777:role/ci"}, ("arn:aws:iam::999988887777:role/ci",)),
    ("sts", "AssumeRoot", {"TargetPrincipal": "999988887777"}, ("arn:aws:iam::999988887777:root",)),
    ("sts", "GetFederationToken", {"Name": "bob"}, (f"arn:aws:sts::{A}:federated-user/bob",)),
    ("sts", "GetCallerIdentity", {}, ("*",)),
    ("organizations", "AttachPolicy", {"PolicyId": "p-12345678", "TargetId": "ou-ab12-abcdefgh"},
     (f"arn:aws:organizations::{A}:policy/o-abcdefghij/service_control_policy/p-12345678",
      f"arn:aws:organizations::{A}:ou/o-abcdefghij/ou-ab12-abcdefgh")),
    ("organizations", "DescribeAccount", {"AccountId": "999988887777"},
     (f"arn:aws:organizations::{A}:account/o-abcdefghij/999988887777",)),
    ("organizations", "EnablePolicyType", {"RootId": "r-ab12"}, (f"arn:aws:organizations::{A}:root/o-abcdefghij/r-ab12",)),
    ("organizations", "CreateOrganization", {}, ("*",)),
]


@pytest.mark.parametrize("service,operation,params,expected", CASES)
def test_resource_arns(service: str, operation: str, params: dict[str, Any], expected: tuple[str, ...]) -> None:
    scope = Scope(A, R, organization=ORG)
    assert resource_arns(served_services()[service], operation, params, scope) == expected


def test_organizations_outside_an_organization() -> None:
    assert resource_arns(served_services()["organizations"], "DescribeAccount", {"AccountId": A}, Scope(A, R)) == ("*",)


def test_every_operation_of_every_service_gives_arns() -> None:
    for service in served_services().values():
        for operation in service.resources:
            arns = resource_arns(service, operation, {}, Scope(A, R))
            assert arns and all(a == "*" or a.startswith("arn:") for a in arns), (service.name, operation)


@pytest.mark.parametrize("arns,account", [
    (("*",), None), ((CT + "trail/x",), A), (("arn:aws:iam::aws:policy/X",), None),
    (("arn:aws:events:us-east-1::event-source/aws.partner/x",), None), (("*", CT + "trail/x"), A)])
def test_resource_account(arns: tuple[str, ...], account: str | None) -> None:
    assert resource_account(arns) == account


def test_request_tags() -> None:
    assert request_tags({"TagsList": [{"Key": "env", "Value": "prod"}]}) == {
        "aws:RequestTag/env": "prod", "aws:TagKeys": ["env"]}
    assert request_tags({"tags": {"team": "a", "env": "b"}}) == {
        "aws:RequestTag/team": "a", "aws:RequestTag/env": "b", "aws:TagKeys": ["team", "env"]}
    assert request_tags({"TagKeys": ["a", "b"]}) == {"aws:TagKeys": ["a", "b"]}
    assert request_tags({"Name": "x"}) == {}
