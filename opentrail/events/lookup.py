"""LookupEvents fields of a record: the values event history shows and indexes.

AWS returns, for each event, EventId, EventName, ReadOnly, AccessKeyId, EventSource, Username and
Resources (LookupEvents API Reference, ``Event`` shape), and accepts exactly one of the eight
lookup attributes per call. AWS derives these server-side; opentrail derives them from the record:

- EventId / EventName / EventSource: ``eventID`` / ``eventName`` / ``eventSource``; for Insights
  events, which have no top-level eventName/eventSource, those of ``insightDetails``.
- ReadOnly: the record's boolean ``readOnly`` as the string "true"/"false" (absent -> None).
- AccessKeyId: ``userIdentity.accessKeyId``.
- Username: see :func:`username`.
- Resources: the record's ``resources`` array as (type, ARN) pairs. AWS also derives Resources from
  request parameters per service (an EC2 RunInstances lists the instance, AMI, VPC, subnet...
  even though the record has no ``resources``); that per-service knowledge is not published, so
  opentrail cannot reproduce it and lists only what the record itself carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LookupFields:
    """Event-history fields of one record; None when the record has no value for a field.
    ``read_only`` is the string "true"/"false"; ``resources`` holds (ResourceType, ResourceName)."""

    event_id: str | None
    event_name: str | None
    read_only: str | None
    access_key_id: str | None
    event_source: str | None
    username: str | None
    resources: tuple[tuple[str, str], ...] = ()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _arn_last_part(arn: Any) -> str | None:
    """``arn:aws:sts::1:assumed-role/Role/session`` -> ``session``."""
    if not isinstance(arn, str) or arn.count(":") < 5:
        return None
    resource = arn.split(":", 5)[5]
    return _text(resource.rsplit("/", 1)[-1]) if "/" in resource else None


def username(user_identity: Any) -> str | None:
    """The Username event history shows for a ``userIdentity`` object.

    - ``userName`` when present (IAMUser, Root on newer records, SAMLUser, WebIdentityUser,
      IdentityCenterUser, Unknown...);
    - AssumedRole: the role session name (last part of ``arn``, else the part of ``principalId``
      after ``:``); FederatedUser and IAMUser without userName: last part of ``arn``;
    - Root without userName: ``root``;
    - otherwise (AWSService, AWSAccount, identities with only ``invokedBy``): None, matching the
      real LookupEvents output in datasets/cloudtrail/plaso-test-data, where an AwsServiceEvent
      has no Username.
    """
    ui = _dict(user_identity)
    name = _text(ui.get("userName"))
    if name is not None:
        return name
    kind = ui.get("type")
    if kind == "AssumedRole":
        session = _arn_last_part(ui.get("arn"))
        if session is None:
            principal = _text(ui.get("principalId"))
            if principal is not None and ":" in principal:
                session = _text(principal.split(":", 1)[1])
        return session
    if kind in ("FederatedUser", "IAMUser"):
        return _arn_last_part(ui.get("arn"))
    if kind == "Root":
        return "root"
    return None


def bool_text(value: Any) -> str | None:
    """A record's boolean as event history spells it: ``"true"``/``"false"`` from a JSON boolean
    or either string in any case; None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower()
    return None


def _resources(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    out: list[tuple[str, str]] = []
    for item in value:
        item = _dict(item)
        kind, arn = _text(item.get("type")), _text(item.get("ARN"))
        if kind is not None and arn is not None:
            out.append((kind, arn))
    return tuple(out)


def lookup_fields(record: dict[str, Any], *, event_id: str | None = None) -> LookupFields:
    """Event-history fields of ``record`` (rules in the module docstring). ``event_id`` overrides
    the record's eventID (for records given a derived id). Never raises for any dict."""
    insight = _dict(record.get("insightDetails"))
    ui = _dict(record.get("userIdentity"))
    return LookupFields(
        event_id=event_id if event_id is not None else _text(record.get("eventID")),
        event_name=_text(record.get("eventName")) or _text(insight.get("eventName")),
        read_only=bool_text(record.get("readOnly")),
        access_key_id=_text(ui.get("accessKeyId")),
        event_source=_text(record.get("eventSource")) or _text(insight.get("eventSource")),
        username=username(ui),
        resources=_resources(record.get("resources")),
    )


def lookup_pairs(fields: LookupFields) -> tuple[tuple[str, str], ...]:
    """The (lookup attribute key, value) pairs to index for ``fields``: keys from
    :data:`opentrail.store.base.LOOKUP_ATTRIBUTE_KEYS`, absent values left out, one ResourceType
    and one ResourceName pair per distinct value, no pair repeated."""
    pairs: list[tuple[str, str]] = []
    for key, value in (
        ("EventId", fields.event_id),
        ("EventName", fields.event_name),
        ("ReadOnly", fields.read_only),
        ("Username", fields.username),
    ):
        if value is not None:
            pairs.append((key, value))
    for kind, _ in fields.resources:
        pairs.append(("ResourceType", kind))
    for _, name in fields.resources:
        pairs.append(("ResourceName", name))
    for key, value in (("EventSource", fields.event_source), ("AccessKeyId", fields.access_key_id)):
        if value is not None:
            pairs.append((key, value))
    return tuple(dict.fromkeys(pairs))
