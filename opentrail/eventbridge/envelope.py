"""CloudTrail records as EventBridge events on the default event bus.

What AWS does (EventBridge User Guide, "AWS service events delivered via AWS CloudTrail",
"Receiving read-only management events from AWS services"; the EventBridge events reference,
one page per service, e.g. "AWS CloudTrail events", "Amazon CloudWatch Monitoring events"):

- The envelope: ``version`` "0", ``id``, ``detail-type`` by the record's eventType
  (:data:`DETAIL_TYPES`), ``source`` ``aws.<service>`` from eventSource (``cloudtrail.amazonaws.com``
  -> ``aws.cloudtrail``, ``monitoring.amazonaws.com`` -> ``aws.monitoring``, ``signin.amazonaws.com``
  -> ``aws.signin``: :func:`event_source_name`; Insights events, which have no top-level eventSource,
  come from CloudTrail itself: ``aws.cloudtrail``), ``account`` (recipientAccountId), ``time``
  (eventTime), ``region`` (awsRegion), ``resources`` empty, ``detail`` the record.
- ``id``: AWS draws a UUID per event; opentrail derives it (UUID v5) from the account and the
  record's eventID (:func:`envelope_id`), so an event read again after a restart carries the same
  id and receivers can drop repeats.
- Read-only management events whose eventName starts with ``Describe``, ``Get`` or ``List`` reach
  only rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; STS ``GetFederationToken`` and
  ``GetSessionToken`` are change events for EventBridge despite their names, and read-only events
  named otherwise (``LookupEvents``, ``TestEventPattern``...) reach every enabled rule
  (:func:`needs_all_management_events`).
- Events larger than 256 KB are not sent (:data:`MAX_EVENT_BYTES`).
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

#: The envelope's detail-type per CloudTrail eventType (AWS spells "Signin", one word).
DETAIL_TYPES: Mapping[str, str] = {
    "AwsApiCall": "AWS API Call via CloudTrail",
    "AwsConsoleSignIn": "AWS Console Signin via CloudTrail",
    "AwsConsoleAction": "AWS Console Action via CloudTrail",
    "AwsServiceEvent": "AWS Service Event via CloudTrail",
    "AwsCloudTrailInsight": "AWS Insight via CloudTrail",
    "AwsVpceEvent": "AWS Network Activity Event via CloudTrail",
}
#: Records without a known eventType are API calls (the most common kind).
DEFAULT_DETAIL_TYPE = DETAIL_TYPES["AwsApiCall"]
#: Largest event EventBridge takes (bytes of the envelope's JSON): 256 KB.
MAX_EVENT_BYTES = 256 * 1024
#: Read-only management events with these eventName prefixes need
#: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS ...
READ_ONLY_PREFIXES = ("Describe", "Get", "List")
#: ... except these, which EventBridge treats as change events.
CHANGE_EVENTS_NAMED_GET: frozenset[tuple[str, str]] = frozenset({
    ("sts.amazonaws.com", "GetFederationToken"),
    ("sts.amazonaws.com", "GetSessionToken"),
})
#: The source of Insights events (CloudTrail makes them; their API is in detail.insightDetails).
INSIGHT_SOURCE = "aws.cloudtrail"
#: The namespace of envelope ids (a fixed random UUID; changing it changes every id).
ID_NAMESPACE = uuid.UUID("5b0e1f7c-3d7e-4f64-9d27-6a1c2e9f0b41")
_SUFFIX = ".amazonaws.com"


def event_source_name(event_source: object) -> str:
    """``aws.`` and eventSource without ``.amazonaws.com`` (``s3.amazonaws.com`` -> ``aws.s3``,
    ``cloudtrail-data.amazonaws.com`` -> ``aws.cloudtrail-data``); another host name gives its first
    label; a missing eventSource gives ``aws.unknown``."""
    if not isinstance(event_source, str) or not event_source:
        return "aws.unknown"
    if event_source.endswith(_SUFFIX) and len(event_source) > len(_SUFFIX):
        return "aws." + event_source[: -len(_SUFFIX)]
    return "aws." + event_source.split(".", 1)[0]


def envelope_id(account_id: str, event_id: str) -> str:
    """The envelope's id: UUID v5 of ``<account>:<eventID>`` (stable across reads)."""
    return str(uuid.uuid5(ID_NAMESPACE, f"{account_id}:{event_id}"))


def cloudtrail_event(record: dict[str, Any], account_id: str, region: str, *, with_id: bool = True) -> dict[str, Any]:
    """The EventBridge event of ``record`` (``account_id`` / ``region``: the record's partition,
    used when recipientAccountId / awsRegion are missing). ``detail`` is ``record`` itself (not
    copied). ``with_id`` False leaves ``id`` empty for :func:`fill_id` (the bus computes it only for
    matched events, unless a pattern names ``id``)."""
    account = record.get("recipientAccountId")
    if not isinstance(account, str) or not account:
        account = account_id
    event_region = record.get("awsRegion")
    if not isinstance(event_region, str) or not event_region:
        event_region = region
    event_type = record.get("eventType")
    event_id = record.get("eventID")
    return {
        "version": "0",
        "id": envelope_id(account, event_id if isinstance(event_id, str) else str(event_id)) if with_id else "",
        "detail-type": DETAIL_TYPES.get(event_type, DEFAULT_DETAIL_TYPE) if isinstance(event_type, str)
        else DEFAULT_DETAIL_TYPE,
        "source": INSIGHT_SOURCE if event_type == "AwsCloudTrailInsight" else event_source_name(record.get("eventSource")),
        "account": account,
        "time": record.get("eventTime", ""),
        "region": event_region,
        "resources": [],
        "detail": record,
    }


def fill_id(event: dict[str, Any]) -> None:
    """Set the ``id`` of an event :func:`cloudtrail_event` built without it."""
    event_id = event["detail"].get("eventID")
    event["id"] = envelope_id(event["account"], event_id if isinstance(event_id, str) else str(event_id))


def is_read_only(record: Mapping[str, Any]) -> bool:
    """The record's readOnly (a boolean, or the strings "true"/"false" some producers write)."""
    value = record.get("readOnly")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def needs_all_management_events(record: Mapping[str, Any], category: str) -> bool:
    """True when only ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS rules take the record: a
    read-only management event named ``Describe*``, ``Get*`` or ``List*``, but not STS
    GetFederationToken / GetSessionToken."""
    if category != "Management" or not is_read_only(record):
        return False
    name = record.get("eventName")
    if not isinstance(name, str) or not name.startswith(READ_ONLY_PREFIXES):
        return False
    return (record.get("eventSource"), name) not in CHANGE_EVENTS_NAMED_GET
