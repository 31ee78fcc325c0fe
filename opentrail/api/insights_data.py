"""ListInsightsData: the Insights events of a trail, LookupEvents-style.

Request (botocore model ``ListInsightsDataRequest``; types, the DataType enum ``InsightsEvents``,
the one-entry Dimensions map with keys EventId|EventName|EventSource and MaxResults 1-50 are checked
by the model validation first): ``InsightSource`` (a trail ARN), ``DataType``, ``Dimensions``,
``StartTime`` / ``EndTime`` (inclusive, epoch seconds), ``MaxResults`` (default 50), ``NextToken``.

Answer: ``{"Events": [...], "NextToken"?}``, newest first, each event as LookupEvents renders it
(:func:`opentrail.api.rendered_events.render_event`: EventId, EventName, EventSource, EventTime,
CloudTrailEvent, ...). The events are the Insights events (eventCategory Insight) of the caller's
account and signing Region in the event store, within the event history retention, filtered by
the dimension (an Insights record's eventName/eventSource are its insightDetails', as for
LookupEvents with EventCategory insight).

- InsightSource must be the ARN of a trail of the caller visible in the Region; anything else is
  InvalidParameterException (the model lists no trail error for this operation).
- StartTime after EndTime is InvalidParameterException.
- NextToken is LookupEvents' token (:func:`opentrail.api.lookup_events.encode_token`) bound to
  "ListInsightsData", the partition, InsightSource, the dimension and the times; a token that does
  not verify is InvalidParameterException.
- AWS limits the operation to 2 requests per second per account and Region; opentrail does not.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from ..ingest import retention_bound
from ..store.base import LookupQuery
from ..trails.errors import TrailError
from .errors import InvalidNextTokenException, declare_errors
from .lookup_events import MAX_RESULTS, decode_token, encode_token
from .operations import OperationContext
from .rendered_events import render_event
from .services import context_part
from .token_key import process_token_key
from .trail_errors import WIRE_ERRORS
from .wire_common import integer, who

InvalidParameterException = WIRE_ERRORS["InvalidParameterException"]


def _check_source(ctx: OperationContext, source: str) -> None:
    trails = context_part(ctx, "trails", "ListInsightsData")
    if ":trail/" not in source:
        raise InvalidParameterException(f"InsightSource {source} is not a trail ARN.")
    try:
        trails.get_trail(*who(ctx), source)
    except TrailError:
        raise InvalidParameterException(f"InsightSource {source} is not a trail of account {ctx.caller.account_id}.") from None


def list_insights_data(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    source = params["InsightSource"]
    _check_source(ctx, source)
    dimensions = params.get("Dimensions") or {}
    attribute = next(iter(dimensions.items()), None)
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise InvalidParameterException("StartTime must be before EndTime.")
    max_results = integer(params, "MaxResults") or MAX_RESULTS
    binding = orjson.dumps(["ListInsightsData", *who(ctx), source, attribute, start, end])
    key = ctx.token_key or process_token_key()
    token = params.get("NextToken")
    try:
        after = decode_token(token, binding, key) if token is not None else None
    except InvalidNextTokenException:
        raise InvalidParameterException("The NextToken is not valid for this request.") from None
    start_s = None if start is None else math.ceil(start)
    end_s = None if end is None else math.floor(end)
    if start_s is not None and end_s is not None and start_s > end_s:
        return {"Events": []}
    page = ctx.store.lookup(LookupQuery(
        account_id=ctx.caller.account_id, region=ctx.caller.region, attribute=attribute, start_time=start_s,
        end_time=end_s, insight=True, limit=max_results, after=after,
        expired=retention_bound(ctx.store, ctx.settings.event_history_retention_days, ctx.clock()),
    ))
    out: dict[str, Any] = {"Events": [render_event(e) for e in page.events]}
    if page.next_cursor is not None:
        out["NextToken"] = encode_token(page.next_cursor, binding, key)
    return out


declare_errors(list_insights_data, WIRE_ERRORS, "InvalidParameterException")
