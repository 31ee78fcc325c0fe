"""CloudTrail Data (signing name ``cloudtrail-data``, botocore model ``cloudtrail-data/2021-08-11``,
rest-json): PutAuditEvents, which hands events from outside AWS to a channel.

``POST /PutAuditEvents?channelArn=<arn>[&externalId=<id>]`` with ``{"auditEvents": [{id, eventData,
eventDataChecksum?}, ...]}`` (1-100 events, at most 1 MB of eventData). Request-level errors, in
this order: InvalidChannelARN (not a channel ARN), ChannelNotFound (no such channel in the ARN's
account and the signing Region), ChannelInsufficientPermission (the caller's account is not the
channel's and the channel's resource policy does not allow it ``cloudtrail-data:PutAuditEvents``,
evaluated with :func:`opentrail.access.evaluate`; the external ID is the condition key
``cloudtrail:ExternalId``), DuplicatedAuditEventId (two events with the same ``id``),
ValidationException (more than 1 MB of eventData). Then each event is accepted or refused on its
own (:func:`opentrail.lake.audit_events.accept`): the answer lists ``successful`` ``{id, eventID}``
and ``failed`` ``{id, errorCode, errorMessage}``.

**Accepted means durable**: the accepted events are appended to the event log (category
ActivityAuditLog, the channel owner's account, the channel's Region) right after the call's own
record, in the same append (:class:`opentrail.api.calls.WithEvents`: one group commit per call, the
record and the events durable together), and the answer is sent once that append is committed. The
call changes no service's state, so it runs without the services' staged changes (their locks):
concurrent calls share group commits; Lake ingestion then writes them into the channel's destination event data
stores (:mod:`opentrail.lake.ingest`). They go nowhere else: trails, LookupEvents, EventBridge and
Insights skip category ActivityAuditLog, as AWS keeps these events in Lake only. Once they are
durable, the call is noted in the channel's IngestionStatus (in memory, no I/O on this path; written
for every node within a second: :mod:`opentrail.lake.channel_status`).

Recording: CloudTrail logs PutAuditEvents as a *data* event (resource type
``AWS::CloudTrail::Channel``, "CloudTrail data events" in the User Guide's data event table).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..access import PolicySet, Principal, Request, evaluate, parse_policy
from ..lake.audit_events import AuditEventRejected, accept, new_event_ids
from ..lake.channels import parse_channel_arn
from ..store.base import NewEvent
from .calls import WithEvents
from .errors import AwsError, declare_errors
from .services import Service, operation_table

#: Most bytes of eventData in one call.
MAX_BATCH_BYTES = 1024 * 1024
ACTION = "cloudtrail-data:PutAuditEvents"


class ChannelInsufficientPermission(AwsError):
    """The caller's account ID must be the same as the channel owner's account ID."""


class ChannelNotFound(AwsError):
    """The channel could not be found."""


class InvalidChannelARN(AwsError):
    """The specified channel ARN is not a valid channel ARN."""


class ChannelUnsupportedSchema(AwsError):
    """The schema type of the event is not supported."""


class DuplicatedAuditEventId(AwsError):
    """Two or more entries in the request have the same event ID."""


class UnsupportedOperationException(AwsError):
    """The operation requested is not supported in this region or account."""


class ValidationException(AwsError):
    """The input fails to satisfy the constraints specified by an AWS service."""


WIRE_ERRORS: dict[str, type[AwsError]] = {c.__name__: c for c in (
    ChannelInsufficientPermission, ChannelNotFound, InvalidChannelARN, ChannelUnsupportedSchema,
    DuplicatedAuditEventId, UnsupportedOperationException, ValidationException)}

#: Stands for the caller's identity side, which the IAM check before the handler decided.
_IDENTITY_CHECKED = parse_policy('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                                 '"Action": "cloudtrail-data:PutAuditEvents", "Resource": "*"}]}',
                                 "identity", "identity side")


def caller_principal(caller: Any) -> Principal:
    """The :class:`opentrail.access.Principal` of an authenticated caller."""
    session = caller.role_session
    if session is not None:
        return Principal.role_session(caller.account_id, session.role_name, session.session_name, session.role_path)
    if caller.user_name is not None:
        return Principal.user(caller.account_id, caller.user_name, caller.user_path or "/")
    return Principal.root(caller.account_id)


def allowed_by_policy(ctx: Any, action: str, arn: str, owner: str, context: dict[str, Any]) -> bool:
    """True when the resource policy of ``arn`` (owned by ``owner``) allows the caller ``action``
    from another account (:func:`opentrail.access.evaluate` with the policy as the resource side)."""
    policies = getattr(ctx.lake, "policies", None)
    policy = policies.policy_for(arn) if policies is not None else None
    if policy is None:
        return False
    request = Request(caller_principal(ctx.caller), action, datetime.fromtimestamp(ctx.clock(), timezone.utc),
                      (arn,), owner, context=context)
    return evaluate(request, PolicySet(identity=(_IDENTITY_CHECKED,), resource=policy)).allowed


def put_audit_events(ctx: Any, params: dict[str, Any]) -> WithEvents:
    lake = getattr(ctx, "lake", None)
    channels = getattr(lake, "channels", None)
    arn = params.get("channelArn")
    if not isinstance(arn, str) or parse_channel_arn(arn) is None:
        raise InvalidChannelARN(f"The specified channel ARN {str(arn)[:256]} is not a valid channel ARN.")
    region, owner, channel_id = parse_channel_arn(arn)  # type: ignore[misc]
    channel = channels.get(channel_id) if channels is not None else None
    if channel is None or channel.account_id != owner or channel.region != region or region != ctx.caller.region:
        raise ChannelNotFound(f"The channel {arn} could not be found.")
    if ctx.caller.account_id != owner:
        external = params.get("externalId")
        context = {"cloudtrail:ExternalId": external} if isinstance(external, str) else {}
        if not allowed_by_policy(ctx, ACTION, channel.arn, owner, context):
            raise ChannelInsufficientPermission(
                f"The caller's account ID {ctx.caller.account_id} must be the same as the channel owner's account "
                f"ID {owner}, or the channel's resource policy must allow the caller.")
    events = params.get("auditEvents") or []
    ids = [e.get("id") for e in events]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DuplicatedAuditEventId(f"Two or more entries in the request have the same event ID: {dup}.")
    if sum(len(e.get("eventData") or "") for e in events) > MAX_BATCH_BYTES:
        raise ValidationException("The auditEvents of one request must not exceed 1 MB.")
    now = ctx.clock()
    successful: list[dict[str, str]] = []
    failed: list[dict[str, str]] = []
    stored: list[NewEvent] = []
    channel_arn = channel.arn
    for e, event_id in zip(events, new_event_ids(len(events))):
        try:
            accepted = accept(e["eventData"], e.get("eventDataChecksum"), owner=owner, region=region,
                              channel_arn=channel_arn, now=now, event_id=event_id)
        except AuditEventRejected as exc:
            failed.append({"id": e["id"], "errorCode": exc.code, "errorMessage": exc.message})
            continue
        stored.append(NewEvent(accepted.event_id, accepted.event_time, owner, region, "ActivityAuditLog",
                               accepted.record))
        successful.append({"id": e["id"], "eventID": accepted.event_id})
    last_id = successful[-1]["eventID"] if successful else None
    last_error = failed[-1]["errorCode"] if failed else None
    # appended with the call's record, in one durable append, before the answer: accepted means durable
    return WithEvents({"successful": successful, "failed": failed}, stored,
                      lambda: channels.record_ingestion(channel.id, now, last_id, last_error))


declare_errors(put_audit_events, WIRE_ERRORS, "ChannelInsufficientPermission", "ChannelNotFound",
               "InvalidChannelARN", "DuplicatedAuditEventId")

#: Every operation of the model -> the resource type of its IAM action.
RESOURCES = {"PutAuditEvents": "channel"}

CLOUDTRAIL_DATA = Service(
    name="cloudtrail-data", model="cloudtrail-data", iam_prefix="cloudtrail-data",
    event_source="cloudtrail-data.amazonaws.com", target_prefix="CloudTrailDataService",
    operations=operation_table("cloudtrail-data", RESOURCES, {"PutAuditEvents": put_audit_events}),
    resources=RESOURCES, json_content_type="application/json",
    data_events={"PutAuditEvents": "AWS::CloudTrail::Channel"}, unstaged=frozenset({"PutAuditEvents"}),
)
