"""CloudWatch Logs handlers (:data:`LOGS_HANDLERS`, loaded by :mod:`.logs_operations`): log groups,
log streams, retention and tags here; log events in :mod:`.logs_event_handlers`; metric filters in
:mod:`.logs_filter_handlers`.

Each handler reads the request (already checked against the model), calls
:class:`opentrail.monitoring.logs.LogsService` in the caller's account and signing Region and renders
the model's output shape. Pages: DescribeLogGroups and DescribeLogStreams ``limit`` 1-50 (default
50), ListLogGroups 1-1000 (default 50); ``nextToken`` is sealed (:mod:`.logs_tokens`).

Where AWS's text for a refusal is not known, the message is opentrail's (said at the raise).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ..monitoring.logs_errors import LogGroupNotFound
from ..monitoring.logs_model import LogGroup
from .logs_errors import InvalidParameterException, ResourceNotFoundException
from .logs_event_handlers import EVENT_HANDLERS
from .logs_filter_handlers import FILTER_HANDLERS
from .logs_wire import (Handler, domain_errors, group_json, group_name_of_arn, make_token, named_group, read_token,
                        service, stream_json)
from .wire_common import integer, who

DEFAULT_LIMIT = 50
#: DescribeLogGroups' logGroupClass filter: INFREQUENT_ACCESS and ESSENTIALS include each other.
_CLASS_FAMILY = {"STANDARD": {"STANDARD"}, "DELIVERY": {"DELIVERY"},
                 "INFREQUENT_ACCESS": {"INFREQUENT_ACCESS", "ESSENTIALS"},
                 "ESSENTIALS": {"INFREQUENT_ACCESS", "ESSENTIALS"}}


@domain_errors
def create_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "CreateLogGroup").create_log_group(
        *who(ctx), params["logGroupName"], tags=params.get("tags"), kms_key_id=params.get("kmsKeyId"),
        log_group_class=params.get("logGroupClass"), deletion_protection=bool(params.get("deletionProtectionEnabled")))
    return {}


@domain_errors
def delete_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DeleteLogGroup").delete_log_group(*who(ctx), params["logGroupName"])
    return {}


def _groups_page(ctx: Any, operation: str, params: dict[str, Any], *, keep: Any, limit: int,
                 prefix: str | None = None, contains: str | None = None) -> tuple[list[LogGroup], str | None]:
    """Groups of the caller's account and Region passing ``keep``, a page after the token's name,
    and the next token."""
    account, region = who(ctx)
    binding = [operation, account, region, prefix, contains, params.get("logGroupClass"),
               params.get("logGroupNamePattern")]
    after = read_token(ctx, binding, params) or ""
    logs = service(ctx, operation)
    out: list[LogGroup] = []
    while len(out) <= limit:
        chunk = logs.describe_log_groups(account, region, prefix=prefix, contains=contains, after=after, limit=500)
        if not chunk:
            break
        for group in chunk:
            after = group.name
            if keep(group):
                out.append(group)
                if len(out) > limit:
                    break
    if len(out) > limit:
        return out[:limit], make_token(ctx, binding, out[limit - 1].name)
    return out, None


@domain_errors
def describe_log_groups(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeLogGroups: by prefix xor by substring (``logGroupNamePattern``, the short form of
    each group), or the groups ``logGroupIdentifiers`` names; optionally of one class."""
    prefix = params.get("logGroupNamePrefix")
    pattern = params.get("logGroupNamePattern")
    if prefix is not None and pattern is not None:
        raise InvalidParameterException(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters.")
    classes = _CLASS_FAMILY.get(params.get("logGroupClass") or "")
    identifiers = params.get("logGroupIdentifiers")
    if identifiers is not None:
        logs = service(ctx, "DescribeLogGroups")
        names = {group_name_of_arn(ctx, i) if i.startswith("arn:") else i for i in identifiers}
        found = []
        for name in sorted(n for n in names if n is not None):
            try:
                found.append(logs.group(*who(ctx), name))
            except LogGroupNotFound:
                continue
        return {"logGroups": [group_json(g) for g in found if classes is None or g.log_group_class in classes]}
    limit = integer(params, "limit") or DEFAULT_LIMIT
    groups, token = _groups_page(ctx, "DescribeLogGroups", params, limit=limit, prefix=prefix,
                                 contains=pattern or None,
                                 keep=lambda g: classes is None or g.log_group_class in classes)
    out: dict[str, Any] = {"logGroups": [group_json(g, by_pattern=pattern is not None) for g in groups]}
    if token is not None:
        out["nextToken"] = token
    return out


def _name_matcher(expression: str | None) -> Any:
    """ListLogGroups' ``logGroupNamePattern``: up to five ``|``-separated terms, each a substring
    or, after ``^``, a prefix (case-sensitive)."""
    if not expression:
        return lambda name: True
    terms = [(t.startswith("^"), t.lstrip("^")) for t in expression.split("|")]
    return lambda name: any(name.startswith(t) if anchored else t in name for anchored, t in terms)


@domain_errors
def list_log_groups(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """ListLogGroups: name pattern and class filters (tag, data source and field index filters
    are not supported: they match nothing opentrail keeps)."""
    matcher = _name_matcher(params.get("logGroupNamePattern"))
    classes = _CLASS_FAMILY.get(params.get("logGroupClass") or "")
    limit = integer(params, "limit") or DEFAULT_LIMIT
    groups, token = _groups_page(ctx, "ListLogGroups", params, limit=limit,
                                 keep=lambda g: matcher(g.name) and (classes is None or g.log_group_class in classes))
    out: dict[str, Any] = {"logGroups": [{"logGroupName": g.name, "logGroupArn": g.arn,
                                          "logGroupClass": g.log_group_class} for g in groups]}
    if token is not None:
        out["nextToken"] = token
    return out


@domain_errors
def create_log_stream(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "CreateLogStream").create_log_stream(*who(ctx), params["logGroupName"], params["logStreamName"])
    return {}


@domain_errors
def delete_log_stream(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DeleteLogStream").delete_log_stream(*who(ctx), params["logGroupName"], params["logStreamName"])
    return {}


@domain_errors
def describe_log_streams(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """DescribeLogStreams: by name (default) or by last event time, ascending unless
    ``descending``; a name prefix only with name order."""
    group = named_group(ctx, params, "DescribeLogStreams")
    by_time = params.get("orderBy") == "LastEventTime"
    descending = bool(params.get("descending"))
    prefix = params.get("logStreamNamePrefix")
    limit = integer(params, "limit") or DEFAULT_LIMIT
    binding = ["DescribeLogStreams", *who(ctx), group.id, by_time, descending, prefix]
    after = read_token(ctx, binding, params)
    logs = service(ctx, "DescribeLogStreams")
    streams = logs.describe_log_streams(group, prefix=prefix, by_time=by_time, descending=descending,
                                        after=tuple(after) if after is not None else None, limit=limit + 1)
    out: dict[str, Any] = {"logStreams": [stream_json(group, s) for s in streams[:limit]]}
    if len(streams) > limit:
        last = streams[limit - 1]
        out["nextToken"] = make_token(ctx, binding, [last.last_event_ms if last.last_event_ms is not None else -1,
                                                     last.name])
    return out


@domain_errors
def put_retention_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "PutRetentionPolicy").put_retention_policy(*who(ctx), params["logGroupName"],
                                                            math.floor(params["retentionInDays"]))
    return {}


@domain_errors
def delete_retention_policy(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DeleteRetentionPolicy").delete_retention_policy(*who(ctx), params["logGroupName"])
    return {}


@domain_errors
def tag_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "TagLogGroup").tag_log_group(*who(ctx), params["logGroupName"], params["tags"])
    return {}


@domain_errors
def untag_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "UntagLogGroup").untag_log_group(*who(ctx), params["logGroupName"], params["tags"])
    return {}


@domain_errors
def list_tags_log_group(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    group = service(ctx, "ListTagsLogGroup").group(*who(ctx), params["logGroupName"])
    return {"tags": dict(group.tags)}


_RESOURCE_ARN = re.compile(r"arn:aws[a-z-]*:logs:[a-z0-9-]*:\d*:[a-z-]+:.+")


def _tagged_group(ctx: Any, arn: str) -> str:
    """The log group name of a TagResource/UntagResource/ListTagsForResource ARN. Only log groups
    carry tags in opentrail (no destinations): another resource type answers
    ResourceNotFoundException, a string that is not a CloudWatch Logs ARN InvalidParameterException
    (both texts are opentrail's)."""
    name = group_name_of_arn(ctx, arn)
    if name is not None:
        return name
    if _RESOURCE_ARN.fullmatch(arn) is None:
        raise InvalidParameterException(f"Invalid resource ARN: {arn}")
    if ":log-group:" in arn:
        raise LogGroupNotFound()
    raise ResourceNotFoundException("The specified resource does not exist.")


@domain_errors
def tag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "TagResource").tag_log_group(*who(ctx), _tagged_group(ctx, params["resourceArn"]), params["tags"],
                                              resource_api=True)
    return {}


@domain_errors
def untag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "UntagResource").untag_log_group(*who(ctx), _tagged_group(ctx, params["resourceArn"]),
                                                  params["tagKeys"])
    return {}


@domain_errors
def list_tags_for_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    logs = service(ctx, "ListTagsForResource")
    group = logs.group(*who(ctx), _tagged_group(ctx, params["resourceArn"]))
    return {"tags": dict(group.tags)}


#: Operation -> handler, for every implemented CloudWatch Logs operation.
LOGS_HANDLERS: dict[str, Handler] = {
    "CreateLogGroup": create_log_group,
    "DeleteLogGroup": delete_log_group,
    "DescribeLogGroups": describe_log_groups,
    "ListLogGroups": list_log_groups,
    "CreateLogStream": create_log_stream,
    "DeleteLogStream": delete_log_stream,
    "DescribeLogStreams": describe_log_streams,
    "PutRetentionPolicy": put_retention_policy,
    "DeleteRetentionPolicy": delete_retention_policy,
    "TagLogGroup": tag_log_group,
    "UntagLogGroup": untag_log_group,
    "ListTagsLogGroup": list_tags_log_group,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    **EVENT_HANDLERS,
    **FILTER_HANDLERS,
}
