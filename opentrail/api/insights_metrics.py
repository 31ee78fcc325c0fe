"""ListInsightsMetricData: the per-period call counts CloudTrail Insights watches, from the
:class:`opentrail.insights.model.InsightMetrics` the server runs with.

Request (botocore model ``ListInsightsMetricDataRequest``; the model's types and constraints are
checked before the handler): ``EventSource``, ``EventName``, ``InsightType`` (required);
``ErrorCode`` (required for ApiErrorRateInsight, ignored for ApiCallRateInsight); ``TrailName`` (a
trail name or ARN: the Insights on *data* events of that trail, else the management-event series);
``StartTime`` (inclusive, default now - 90 days), ``EndTime`` (exclusive, default now), epoch
seconds; ``Period`` 60, 300 or 3600 seconds (default 3600); ``DataType`` ``NonZeroData`` (default)
or ``FillWithZeros``; ``MaxResults`` 1-21600 (default 21600); ``NextToken``.

Answer: ``{TrailARN? (TrailName given), EventSource, EventName, InsightType, ErrorCode?
(ApiErrorRateInsight), Timestamps [epoch seconds], Values [double], NextToken?}``, ascending.

- The series is the caller's account and signing Region (:class:`opentrail.insights.model.SeriesKey`,
  category Data with TrailName, Management without).
- **Values are sums**: the number of calls (or of calls answered with ErrorCode) in the period
  starting at the timestamp, never a per-minute average (AWS does not document which; the console
  charts counts and a sum keeps 60 s and 3600 s data comparable by adding up). A period is counted
  up to EndTime only (its minutes before EndTime).
- Timestamps are multiples of Period (epoch seconds): the periods that start at or after StartTime
  and before EndTime. ``FillWithZeros`` answers every such period, 0.0 where no call was counted;
  ``NonZeroData`` only the others.
- **Retention** (the model: "Data points with a period of 60 seconds are available for 15 days",
  300 s for 63 days, 3600 s for 90 days, "each cutoff is inclusive"): a StartTime older than the
  cutoff (now minus the retention of the Period) is moved to the cutoff, not refused -- AWS names
  no error for it and the default StartTime (90 days) is older than the 60 s and 300 s cutoffs.
- At most MaxResults points per page; NextToken (55 URL-safe characters) carries the timestamp of
  the next point, bound by HMAC-SHA256 (the server's token key, as LookupEvents' tokens) to the
  partition and every parameter but MaxResults and NextToken. A token that does not verify is
  InvalidParameterException (the model lists no token error for this operation).
- Errors: InvalidParameterException (Period not 60/300/3600, ErrorCode missing for
  ApiErrorRateInsight, StartTime after EndTime, a bad NextToken), InvalidTrailNameException (a
  TrailName that is not a trail of the caller: the model lists no TrailNotFoundException here).
- A server started without Insights metrics answers as if no call had been counted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import struct
from typing import Any

import orjson

from ..insights.model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, SeriesKey
from ..store.base import MAX_EVENT_TIME, MIN_EVENT_TIME
from ..trails.errors import TrailError
from .errors import declare_errors
from .operations import OperationContext
from .services import context_part
from .token_key import process_token_key
from .trail_errors import WIRE_ERRORS
from .wire_common import integer, who

InvalidParameterException = WIRE_ERRORS["InvalidParameterException"]
InvalidTrailNameException = WIRE_ERRORS["InvalidTrailNameException"]

PERIODS_S = (60, 300, 3600)
DEFAULT_PERIOD_S = 3600
#: Days of data kept per Period (ListInsightsMetricData in the API Reference).
RETENTION_DAYS = {60: 15, 300: 63, 3600: 90}
DEFAULT_RANGE_S = 90 * 86400
MAX_RESULTS = 21600
DATA_TYPES = ("NonZeroData", "FillWithZeros")

_TOKEN = struct.Struct(">Bq")
_TOKEN_VERSION = 1
_TOKEN_DOMAIN = b"opentrail ListInsightsMetricData NextToken v1\x00"
_TOKEN_BYTES = _TOKEN.size + 32


def _token_mac(key: bytes, binding: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _TOKEN_DOMAIN + binding + b"\x00" + payload, hashlib.sha256).digest()


def encode_token(next_timestamp: int, binding: bytes, key: bytes) -> str:
    """The NextToken resuming at ``next_timestamp`` (epoch seconds), valid only with ``binding``."""
    payload = _TOKEN.pack(_TOKEN_VERSION, next_timestamp)
    return base64.urlsafe_b64encode(payload + _token_mac(key, binding, payload)).decode("ascii").rstrip("=")


def decode_token(token: str, binding: bytes, key: bytes) -> int:
    """The timestamp in ``token``; InvalidParameterException unless :func:`encode_token` made it with
    the same ``binding`` and ``key``."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raw = b""
    payload = raw[: _TOKEN.size]
    if len(raw) != _TOKEN_BYTES or not hmac.compare_digest(raw[_TOKEN.size:], _token_mac(key, binding, payload)):
        raise InvalidParameterException("The NextToken is not valid for this request.")
    return int(_TOKEN.unpack(payload)[1])


def _time(params: dict[str, Any], name: str, default: float) -> float:
    """The time parameter in epoch seconds, within the times an event can have
    (MIN_EVENT_TIME..MAX_EVENT_TIME, as LookupEvents clamps them): nothing is counted outside."""
    value = params.get(name)
    return default if value is None else min(max(float(value), float(MIN_EVENT_TIME)), float(MAX_EVENT_TIME) + 60)


def _trail_arn(ctx: OperationContext, name: str) -> str:
    trails = context_part(ctx, "trails", "ListInsightsMetricData")
    try:
        return str(trails.get_trail(*who(ctx), name).arn)
    except TrailError as exc:  # TrailNotFound / CloudTrailARNInvalid: not modeled for this operation
        raise InvalidTrailNameException(exc.message) from None


def list_insights_metric_data(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    source, name, insight_type = params["EventSource"], params["EventName"], params["InsightType"]
    error_code = params.get("ErrorCode") or ""
    if insight_type == ERROR_RATE and not error_code:
        raise InvalidParameterException("ErrorCode is required when InsightType is ApiErrorRateInsight.")
    if insight_type == CALL_RATE:
        error_code = ""
    period = integer(params, "Period") or DEFAULT_PERIOD_S
    if period not in PERIODS_S:
        raise InvalidParameterException(f"Period must be 60, 300 or 3600 seconds; {period} was specified.")
    fill = params.get("DataType", "NonZeroData") == "FillWithZeros"
    max_results = integer(params, "MaxResults") or MAX_RESULTS
    now = ctx.clock()
    start, end = _time(params, "StartTime", now - DEFAULT_RANGE_S), _time(params, "EndTime", now)
    if start > end:
        raise InvalidParameterException("StartTime must be before EndTime.")
    trail_name = params.get("TrailName") or None
    trail_arn = _trail_arn(ctx, trail_name) if trail_name else None

    binding = orjson.dumps([*who(ctx), source, name, insight_type, error_code, trail_name, params.get("StartTime"),
                            params.get("EndTime"), period, fill])
    key = ctx.token_key or process_token_key()
    first = max(start, now - RETENTION_DAYS[period] * 86400)
    cursor = period * math.ceil(first / period)
    token = params.get("NextToken")
    if token is not None:
        cursor = max(cursor, decode_token(token, binding, key))

    series = SeriesKey(*who(ctx), DATA if trail_arn else MANAGEMENT, source, name, insight_type, error_code)
    end_minute = math.ceil(end / 60)
    metrics = getattr(ctx, "insights", None)
    counted = {} if metrics is None or cursor >= end else {
        minute * 60: calls for minute, calls in metrics.counts(series, cursor // 60, end_minute, period) if calls}
    if fill:
        stamps = list(range(cursor, min(math.ceil(end), cursor + (max_results + 1) * period), period))
    else:
        stamps = sorted(t for t in counted if t >= cursor)
    page, rest = stamps[:max_results], stamps[max_results:]

    out: dict[str, Any] = {} if trail_arn is None else {"TrailARN": trail_arn}
    out.update(EventSource=source, EventName=name, InsightType=insight_type)
    if insight_type == ERROR_RATE:
        out["ErrorCode"] = error_code
    out.update(Timestamps=page, Values=[float(counted.get(t, 0)) for t in page])
    if rest:
        out["NextToken"] = encode_token(rest[0], binding, key)
    return out


declare_errors(list_insights_metric_data, WIRE_ERRORS, "InvalidParameterException", "InvalidTrailNameException")
