"""Amazon EventBridge on opentrail's port: the explicit operation table (every operation of
``botocore/data/events/2015-10-07``: 57) -> handler, IAM action ``events:<Operation>`` and the
resource type that action is authorized on (Service Authorization Reference, "Actions defined by
Amazon EventBridge": ``rule``, ``event-bus``, ``connection``, ``api-destination``, ``archive``,
``replay``, ``endpoint``, ``event-source``, ``named`` (the ARN given: a rule or an event bus), ``*``
(none)).

Protocol AWS JSON 1.1, ``X-Amz-Target: AWSEvents.<Operation>``, SigV4 signing name ``events``;
calls recorded with eventSource ``events.amazonaws.com``. PutEvents is a *data* event
(:data:`DATA_EVENTS`, resource type ``AWS::Events::EventBus``): since May 2026 EventBridge logs its
data plane (PutEvents) in CloudTrail as data events on the event bus, opt-in through a trail's or
event data store's data event selectors ("Logging Amazon EventBridge API calls using AWS
CloudTrail"); every other operation is a management event.
"""

from __future__ import annotations

from .services import Service, handlers_of, operation_table

#: The model's ``targetPrefix``.
TARGET_PREFIX = "AWSEvents"

#: Every operation of the model -> the resource type of its IAM action.
OPERATION_RESOURCES: dict[str, str] = {
    "ActivateEventSource": "event-source",
    "CancelReplay": "replay",
    "CreateApiDestination": "api-destination",
    "CreateArchive": "archive",
    "CreateConnection": "connection",
    "CreateEndpoint": "endpoint",
    "CreateEventBus": "event-bus",
    "CreatePartnerEventSource": "event-source",
    "DeactivateEventSource": "event-source",
    "DeauthorizeConnection": "connection",
    "DeleteApiDestination": "api-destination",
    "DeleteArchive": "archive",
    "DeleteConnection": "connection",
    "DeleteEndpoint": "endpoint",
    "DeleteEventBus": "event-bus",
    "DeletePartnerEventSource": "event-source",
    "DeleteRule": "rule",
    "DescribeApiDestination": "api-destination",
    "DescribeArchive": "archive",
    "DescribeConnection": "connection",
    "DescribeEndpoint": "endpoint",
    "DescribeEventBus": "event-bus",
    "DescribeEventSource": "event-source",
    "DescribePartnerEventSource": "event-source",
    "DescribeReplay": "replay",
    "DescribeRule": "rule",
    "DisableRule": "rule",
    "EnableRule": "rule",
    "ListApiDestinations": "*",
    "ListArchives": "*",
    "ListConnections": "*",
    "ListEndpoints": "*",
    "ListEventBuses": "*",
    "ListEventSources": "*",
    "ListPartnerEventSourceAccounts": "event-source",
    "ListPartnerEventSources": "*",
    "ListReplays": "*",
    "ListRuleNamesByTarget": "rule",
    "ListRules": "*",
    "ListTagsForResource": "named",
    "ListTargetsByRule": "rule",
    "PutEvents": "event-bus",
    "PutPartnerEvents": "*",
    "PutPermission": "event-bus",
    "PutRule": "rule",
    "PutTargets": "rule",
    "RemovePermission": "event-bus",
    "RemoveTargets": "rule",
    "StartReplay": "archive",
    "TagResource": "named",
    "TestEventPattern": "*",
    "UntagResource": "named",
    "UpdateApiDestination": "api-destination",
    "UpdateArchive": "archive",
    "UpdateConnection": "connection",
    "UpdateEndpoint": "endpoint",
    "UpdateEventBus": "event-bus",
}

#: The operations recorded as data events, with their CloudTrail resource type.
DATA_EVENTS: dict[str, str] = {"PutEvents": "AWS::Events::EventBus"}


def _service() -> Service:
    handlers = handlers_of("events_handlers", "EVENTS_HANDLERS")
    return Service(name="events", model="events", iam_prefix="events", event_source="events.amazonaws.com",
                   target_prefix=TARGET_PREFIX,
                   operations=operation_table("events", OPERATION_RESOURCES, handlers),
                   resources=OPERATION_RESOURCES, json_content_type="application/x-amz-json-1.1",
                   data_events=DATA_EVENTS)


#: Amazon EventBridge as a :class:`Service`.
EVENTS: Service = _service()
