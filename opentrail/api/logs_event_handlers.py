"""CloudWatch Logs log-event handlers: PutLogEvents, GetLogEvents, FilterLogEvents (none of them
recorded by CloudTrail, see :data:`opentrail.api.logs_operations.NOT_RECORDED`).

- PutLogEvents answers ``nextSequenceToken`` (AWS still returns one; the token sent is ignored) and
  ``rejectedLogEventsInfo`` when events were too new, too old or past the retention; the batch
  limits are :meth:`opentrail.monitoring.logs.LogsService.put_log_events`'.
- GetLogEvents answers ``nextForwardToken``/``nextBackwardToken`` (never null; the same token back
  at the end), :mod:`.logs_tokens`' ``f/``/``b/`` form.
- FilterLogEvents answers ``events`` with ``eventId`` (56 digits: the timestamp and the event's
  place in ingestion order), ``searchedLogStreams`` always empty (AWS: "no longer supported ...
  returns an empty list"), and a sealed ``nextToken`` while the search is not complete.
"""

from __future__ import annotations

import math
from typing import Any

from ..monitoring.logs_model import Cursor
from .logs_tokens import parse_stream_token, stream_token
from .logs_wire import Handler, domain_errors, make_token, named_group, read_token, service
from .wire_common import integer, who


@domain_errors
def put_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    events = [(math.floor(e["timestamp"]), e["message"]) for e in params["logEvents"]]
    token, rejected = service(ctx, "PutLogEvents").put_log_events(*who(ctx), params["logGroupName"],
                                                                  params["logStreamName"], events)
    out: dict[str, Any] = {"nextSequenceToken": token}
    if rejected.any:
        info: dict[str, int] = {}
        if rejected.too_new_start is not None:
            info["tooNewLogEventStartIndex"] = rejected.too_new_start
        if rejected.too_old_end is not None:
            info["tooOldLogEventEndIndex"] = rejected.too_old_end
        if rejected.expired_end is not None:
            info["expiredLogEventEndIndex"] = rejected.expired_end
        out["rejectedLogEventsInfo"] = info
    return out


@domain_errors
def get_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    logs = service(ctx, "GetLogEvents")
    group = named_group(ctx, params, "GetLogEvents")
    stream = logs.stream(group, params["logStreamName"])
    token = params.get("nextToken")
    cursor = parse_stream_token(token) if token is not None else None
    rows, forward, backward = logs.reads.get_log_events(
        group, stream.id, start_ms=integer(params, "startTime"), end_ms=integer(params, "endTime"), cursor=cursor,
        limit=integer(params, "limit"), start_from_head=bool(params.get("startFromHead")))
    return {
        "events": [{"timestamp": ts, "message": message, "ingestionTime": ingestion}
                   for _, _, ts, ingestion, message in rows],
        "nextForwardToken": token if token is not None and cursor == forward else stream_token(forward),
        "nextBackwardToken": token if token is not None and cursor == backward else stream_token(backward),
    }


def event_id(timestamp_ms: int, row_id: int) -> str:
    """A FilterLogEvents ``eventId``: 56 digits, unique and stable for the event."""
    return f"{timestamp_ms:020d}{row_id:036d}"


@domain_errors
def filter_log_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    logs = service(ctx, "FilterLogEvents")
    group = named_group(ctx, params, "FilterLogEvents")
    names = params.get("logStreamNames")
    prefix = params.get("logStreamNamePrefix")
    start, end, pattern = integer(params, "startTime"), integer(params, "endTime"), params.get("filterPattern")
    binding = ["FilterLogEvents", *who(ctx), group.id, names, prefix, start, end, pattern]
    payload = read_token(ctx, binding, params)
    cursor = Cursor(bool(payload[0]), (int(payload[1]), int(payload[2]))) if payload is not None else None
    found, more = logs.reads.filter_log_events(
        group, stream_names=names, stream_prefix=prefix, start_ms=start, end_ms=end, pattern=pattern, cursor=cursor,
        limit=integer(params, "limit"), start_from_head=params.get("startFromHead", True) is not False)
    out: dict[str, Any] = {
        "events": [{"logStreamName": stream_name, "timestamp": ts, "message": message, "ingestionTime": ingestion,
                    "eventId": event_id(ts, row_id)}
                   for (row_id, _, ts, ingestion, message), stream_name in found],
        "searchedLogStreams": [],
    }
    if more is not None:
        out["nextToken"] = make_token(ctx, binding, [more.forward, *more.key])
    return out


#: The log-event operations.
EVENT_HANDLERS: dict[str, Handler] = {
    "PutLogEvents": put_log_events,
    "GetLogEvents": get_log_events,
    "FilterLogEvents": filter_log_events,
}
