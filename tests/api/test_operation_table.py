"""The operation table names each operation's IAM action and resource type, for every operation of
the botocore model (Service Authorization Reference, ../shared/reference/access.md §E2)."""

from __future__ import annotations

from opentrail.api.model import service_model
from opentrail.api.operations import MODEL_OPERATIONS, OPERATION_RESOURCES, OPERATIONS, iam_action

#: The model's operations whose action has no resource-level permissions (access.md §E2).
WILDCARD = {"DescribeTrails", "GetImport", "ListChannels", "ListDashboards", "ListEventDataStores",
            "ListImportFailures", "ListImports", "ListPublicKeys", "ListTrails", "LookupEvents",
            "SearchSampleQueries", "StartImport", "StopImport", "RegisterOrganizationDelegatedAdmin",
            "DeregisterOrganizationDelegatedAdmin"}
TRAIL = {"CreateTrail", "UpdateTrail", "DeleteTrail", "GetTrail", "GetTrailStatus", "StartLogging", "StopLogging",
         "GetEventSelectors", "PutEventSelectors", "ListInsightsData"}


def test_every_model_operation_has_an_iam_action_and_resource_type() -> None:
    assert list(MODEL_OPERATIONS) == sorted(service_model().operation_names) == list(OPERATIONS)
    assert {op for op, r in OPERATION_RESOURCES.items() if r == "*"} == WILDCARD
    assert TRAIL <= {op for op, r in OPERATION_RESOURCES.items() if r == "trail"}
    assert set(OPERATION_RESOURCES.values()) == {"*", "trail", "eventdatastore", "channel", "dashboard",
                                                 "trail|eventdatastore", "named"}
    assert OPERATION_RESOURCES["StartQuery"] == "eventdatastore"
    assert OPERATION_RESOURCES["AddTags"] == "named"
    assert iam_action("StopLogging") == "cloudtrail:StopLogging"


def test_every_eventbridge_operation_has_a_resource_type() -> None:
    from opentrail.api.events_operations import EVENTS, OPERATION_RESOURCES as EVENTS_RESOURCES

    assert sorted(EVENTS_RESOURCES) == sorted(service_model("events").operation_names) == sorted(EVENTS.operations)
    assert set(EVENTS_RESOURCES.values()) == {"*", "rule", "event-bus", "connection", "api-destination", "archive",
                                              "replay", "endpoint", "event-source", "named"}
    assert {op for op, r in EVENTS_RESOURCES.items() if r == "rule"} == {
        "DeleteRule", "DescribeRule", "DisableRule", "EnableRule", "ListRuleNamesByTarget", "ListTargetsByRule",
        "PutRule", "PutTargets", "RemoveTargets"}
    assert {op for op, r in EVENTS_RESOURCES.items() if r == "named"} == {
        "ListTagsForResource", "TagResource", "UntagResource"}
    assert (EVENTS_RESOURCES["PutEvents"], EVENTS_RESOURCES["TestEventPattern"]) == ("event-bus", "*")
    assert EVENTS.iam_action("PutTargets") == "events:PutTargets"
