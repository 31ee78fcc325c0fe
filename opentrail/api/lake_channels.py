"""Handlers of the channel and resource-policy operations of CloudTrail: CreateChannel, GetChannel,
UpdateChannel, DeleteChannel, ListChannels, PutResourcePolicy, GetResourcePolicy,
DeleteResourcePolicy (AddTags/RemoveTags/ListTags on channel ARNs are routed from :mod:`.trails`).

Each handler calls :class:`opentrail.lake.channels.ChannelService` (``ctx.lake.channels``) or
:class:`opentrail.lake.resource_policies.ResourcePolicies` (``ctx.lake.policies``) in the caller's
account and signing Region and renders the model's output shape. GetChannel answers SourceConfig
``{ApplyToAllRegions: false, AdvancedEventSelectors: []}`` (a channel for events outside AWS selects
nothing) and IngestionStatus (times as epoch seconds, members without a value left out).
ListChannels: pages of at most MaxResults (1-1000, default 1000), NextToken
``base64url(orjson([created_time, id]))``.
"""

from __future__ import annotations

from typing import Any


from ..lake.channels import Channel, ChannelService
from . import trail_wire as wire
from .errors import declare_errors
from .lake_errors import WIRE_ERRORS, lake_part, list_cursor, translate
from .operations import OperationContext
from .wire_common import cursor_token

MAX_RESULTS = 1000


def _channels(ctx: OperationContext, operation: str) -> ChannelService:
    return lake_part(ctx, operation, "channels")


def _who(ctx: OperationContext) -> tuple[str, str]:
    return ctx.caller.account_id, ctx.caller.region


def _destinations(params: dict[str, Any], required: bool) -> list[tuple[str, str]] | None:
    items = wire.opt_list(params, "Destinations")
    if items is None:
        if required:
            wire.req_str(params, "Destinations")
        return None
    return [(str(d.get("Type")), str(d.get("Location"))) for d in items if isinstance(d, dict)]


def _destinations_json(c: Channel) -> list[dict[str, str]]:
    return [{"Type": t, "Location": loc} for t, loc in c.destinations]


def create_channel(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    channels = _channels(ctx, "CreateChannel")
    name = wire.req_str(params, "Name")
    source = wire.req_str(params, "Source")
    destinations = _destinations(params, True) or []
    tags = wire.tags(params, "Tags")
    with translate():
        c = channels.create(*_who(ctx), name, source, destinations, tags)
    out: dict[str, Any] = {"ChannelArn": c.arn, "Name": c.name, "Source": c.source,
                           "Destinations": _destinations_json(c)}
    if c.tags:
        out["Tags"] = wire.tags_json(c.tags)
    return out


def get_channel(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    channels = _channels(ctx, "GetChannel")
    ref = wire.req_str(params, "Channel")
    with translate():
        c = channels.find(*_who(ctx), ref)
    s = channels.status(c.id)
    status = {"LatestIngestionSuccessTime": s.latest_success_time,
              "LatestIngestionSuccessEventID": s.latest_success_event_id,
              "LatestIngestionErrorCode": s.latest_error_code,
              "LatestIngestionAttemptTime": s.latest_attempt_time,
              "LatestIngestionAttemptEventID": s.latest_attempt_event_id}
    return {"ChannelArn": c.arn, "Name": c.name, "Source": c.source,
            "SourceConfig": {"ApplyToAllRegions": False, "AdvancedEventSelectors": []},
            "Destinations": _destinations_json(c),
            "IngestionStatus": {k: v for k, v in status.items() if v is not None}}


def update_channel(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    channels = _channels(ctx, "UpdateChannel")
    ref = wire.req_str(params, "Channel")
    name = wire.opt_str(params, "Name")
    destinations = _destinations(params, False)
    with translate():
        c = channels.update(*_who(ctx), ref, name, destinations)
    return {"ChannelArn": c.arn, "Name": c.name, "Source": c.source, "Destinations": _destinations_json(c)}


def delete_channel(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    channels = _channels(ctx, "DeleteChannel")
    ref = wire.req_str(params, "Channel")
    with translate():
        channels.delete(*_who(ctx), ref)
    return {}


def list_channels(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    channels = _channels(ctx, "ListChannels")
    limit = params.get("MaxResults") or MAX_RESULTS
    token = wire.opt_str(params, "NextToken")
    after = list_cursor(token) if token is not None else None
    page, cursor = channels.list(*_who(ctx), after, int(limit))
    out: dict[str, Any] = {"Channels": [{"ChannelArn": c.arn, "Name": c.name} for c in page]}
    if cursor is not None:
        out["NextToken"] = cursor_token(cursor)
    return out


def put_resource_policy(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    policies = lake_part(ctx, "PutResourcePolicy", "policies")
    arn = wire.req_str(params, "ResourceArn")
    text = wire.req_str(params, "ResourcePolicy")
    with translate():
        stored = policies.put(*_who(ctx), arn, text)
    return {"ResourceArn": arn, "ResourcePolicy": stored}


def get_resource_policy(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    policies = lake_part(ctx, "GetResourcePolicy", "policies")
    arn = wire.req_str(params, "ResourceArn")
    with translate():
        text = policies.get(*_who(ctx), arn)
    return {"ResourceArn": arn, "ResourcePolicy": text}


def delete_resource_policy(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    policies = lake_part(ctx, "DeleteResourcePolicy", "policies")
    arn = wire.req_str(params, "ResourceArn")
    with translate():
        policies.delete(*_who(ctx), arn)
    return {}


_LOOKUP = ("ChannelARNInvalidException", "ChannelNotFoundException")
_DESTINATIONS = ("EventDataStoreARNInvalidException", "EventDataStoreNotFoundException",
                 "InvalidEventDataStoreCategoryException", "InactiveEventDataStoreException",
                 "InvalidParameterException")
_POLICY = ("ResourceARNNotValidException", "ResourceNotFoundException", "ResourceTypeNotSupportedException")
declare_errors(create_channel, WIRE_ERRORS, "ChannelMaxLimitExceededException", "InvalidSourceException",
               "ChannelAlreadyExistsException", "InvalidTagParameterException", "TagsLimitExceededException",
               *_DESTINATIONS)
declare_errors(get_channel, WIRE_ERRORS, *_LOOKUP)
declare_errors(update_channel, WIRE_ERRORS, *_LOOKUP, "ChannelAlreadyExistsException", *_DESTINATIONS)
declare_errors(delete_channel, WIRE_ERRORS, *_LOOKUP)
declare_errors(list_channels, WIRE_ERRORS)
declare_errors(put_resource_policy, WIRE_ERRORS, *_POLICY, "ResourcePolicyNotValidException")
declare_errors(get_resource_policy, WIRE_ERRORS, *_POLICY, "ResourcePolicyNotFoundException")
declare_errors(delete_resource_policy, WIRE_ERRORS, *_POLICY, "ResourcePolicyNotFoundException")

#: Operation name -> handler, registered in :mod:`opentrail.api.operations`.
CHANNEL_HANDLERS = {
    "CreateChannel": create_channel,
    "GetChannel": get_channel,
    "UpdateChannel": update_channel,
    "DeleteChannel": delete_channel,
    "ListChannels": list_channels,
    "PutResourcePolicy": put_resource_policy,
    "GetResourcePolicy": get_resource_policy,
    "DeleteResourcePolicy": delete_resource_policy,
}
