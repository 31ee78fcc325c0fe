"""LookupEvents, as the API model (``LookupEventsRequest``/``LookupEventsResponse``) and
REFERENCE.md describe it.

Request: ``LookupAttributes`` (at most one {AttributeKey, AttributeValue}), ``StartTime`` /
``EndTime`` (epoch seconds as JSON numbers, inclusive), ``EventCategory`` ("insight"),
``MaxResults`` (1..50, default 50), ``NextToken``. Response: ``{"Events": [...], "NextToken"?}``,
newest first, each event ``{EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource,
Username, Resources, CloudTrailEvent}`` with members that have no value left out.

The partition is the caller's account and the Region of the signing scope. Events past the event
history retention window (eventTime and receive time both older than it:
:func:`opentrail.ingest.retention_bound`) are never returned, even before the purger deletes them.

NextToken (AWS only says it is valid with the same parameters): 66 URL-safe characters,
``base64url(version | eventTime | seq | mac)`` without padding -- version ``1`` (one byte), the
page's cursor as two signed 64-bit big-endian integers, and ``mac = HMAC-SHA256(key, "opentrail
LookupEvents NextToken v1" 0x00 binding 0x00 version|eventTime|seq)`` (32 bytes), ``binding`` being
the partition and every parameter except MaxResults and NextToken, ``key`` the server's secret
(:mod:`.token_key`, ``<data-dir>/token.key``). A token reused with other parameters, changed in any
way, made up or issued under another key is ``InvalidNextTokenException``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import struct
from typing import Any, Callable, Sequence

import orjson

from ..ingest import retention_bound
from ..store.base import LOOKUP_ATTRIBUTE_KEYS, LookupQuery, StoredEvent
from .errors import (
    InvalidEventCategoryException,
    InvalidLookupAttributesException,
    InvalidMaxResultsException,
    InvalidNextTokenException,
    InvalidTimeRangeException,
    SerializationException,
    ThrottlingException,
)
from .operations import OperationContext
from .rendered_events import RenderedEvents, render_event
from .token_key import process_token_key
from .validation import validate_request

#: Attribute keys an Insights lookup accepts (LookupEvents API Reference).
INSIGHT_ATTRIBUTE_KEYS = ("EventId", "EventName", "EventSource")
MAX_RESULTS = 50
MAX_ATTRIBUTE_VALUE_CHARS = 2000
_TOKEN_VERSION = 1
_TOKEN_CURSOR = struct.Struct(">Bqq")
_TOKEN_MAC_BYTES = 32
#: Length of every NextToken (49 bytes in base64url without padding).
TOKEN_CHARS = len(base64.urlsafe_b64encode(bytes(_TOKEN_CURSOR.size + _TOKEN_MAC_BYTES)).rstrip(b"="))
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_DOMAIN = b"opentrail LookupEvents NextToken v1\x00"


def _number(params: dict[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SerializationException(f"{name} must be a timestamp in epoch seconds (a JSON number).")
    return float(value)


def _attribute(params: dict[str, Any], insight: bool) -> tuple[str, str] | None:
    attrs = params.get("LookupAttributes")
    if attrs is None:
        return None
    if not isinstance(attrs, list):
        raise SerializationException.for_value(attrs, "List")
    for item in attrs:
        if not isinstance(item, dict):
            raise SerializationException.for_value(item, "Structure")
        for member in ("AttributeKey", "AttributeValue"):
            if item.get(member) is not None and not isinstance(item[member], str):
                raise SerializationException.for_value(item[member], "String")
    if not attrs:
        return None
    if len(attrs) > 1:
        raise InvalidLookupAttributesException("You can specify only one lookup attribute per request.")
    key, value = attrs[0].get("AttributeKey"), attrs[0].get("AttributeValue")
    if key not in LOOKUP_ATTRIBUTE_KEYS:
        raise InvalidLookupAttributesException(
            f"Attribute key {key!r} is not valid. Valid keys: {', '.join(LOOKUP_ATTRIBUTE_KEYS)}."
            if key is not None
            else "AttributeKey is required."
        )
    if not value or len(value) > MAX_ATTRIBUTE_VALUE_CHARS:
        raise InvalidLookupAttributesException(
            f"AttributeValue must be between 1 and {MAX_ATTRIBUTE_VALUE_CHARS} characters."
        )
    if insight and key not in INSIGHT_ATTRIBUTE_KEYS:
        raise InvalidLookupAttributesException(
            f"Attribute key {key} is not valid for Insights events. Valid keys: {', '.join(INSIGHT_ATTRIBUTE_KEYS)}."
        )
    return key, value


def _binding(ctx: OperationContext, attribute: tuple[str, str] | None, start: float | None,
             end: float | None, insight: bool) -> bytes:
    """What a NextToken is bound to: the partition and the parameters that select the events."""
    return orjson.dumps([ctx.caller.account_id, ctx.caller.region, attribute, start, end, insight])


def _token_mac(key: bytes, binding: bytes, payload: bytes) -> bytes:
    return hmac.new(key, _TOKEN_DOMAIN + binding + b"\x00" + payload, hashlib.sha256).digest()


def encode_token(cursor: tuple[int, int], binding: bytes, key: bytes) -> str:
    """The NextToken for ``cursor`` (eventTime, seq), valid only with ``binding`` and ``key``."""
    payload = _TOKEN_CURSOR.pack(_TOKEN_VERSION, cursor[0], cursor[1])
    return base64.urlsafe_b64encode(payload + _token_mac(key, binding, payload)).decode("ascii").rstrip("=")


def decode_token(token: Any, binding: bytes, key: bytes) -> tuple[int, int]:
    """The cursor in ``token``; raises InvalidNextTokenException unless :func:`encode_token` made
    it with the same ``binding`` and ``key``."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS or not _TOKEN_RE.fullmatch(token):
        raise InvalidNextTokenException()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidNextTokenException() from None
    if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != token:  # unused low bits set
        raise InvalidNextTokenException()
    payload, mac = raw[: _TOKEN_CURSOR.size], raw[_TOKEN_CURSOR.size :]
    if not hmac.compare_digest(mac, _token_mac(key, binding, payload)):
        raise InvalidNextTokenException()
    version, event_time, seq = _TOKEN_CURSOR.unpack(payload)
    if version != _TOKEN_VERSION:
        raise InvalidNextTokenException()
    return event_time, seq


#: Rendered entries of recently answered events, shared by every store (see
#: :mod:`.rendered_events`: a hit needs the same record, eventID and eventTime).
RENDERED = RenderedEvents()


def event_json(stored: StoredEvent) -> dict[str, Any]:
    """One ``Event`` of the response (:func:`.rendered_events.render_event`)."""
    return render_event(stored)


def lookup_events(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """The LookupEvents handler (each Events entry a dict, see :func:`event_json`). Raises the
    model's errors (InvalidLookupAttributesException, InvalidTimeRangeException,
    InvalidMaxResultsException, InvalidNextTokenException, InvalidEventCategoryException),
    SerializationException for wrongly typed members (Coral's wording,
    :meth:`SerializationException.for_value`; a fractional MaxResults is truncated as Coral does)
    and ThrottlingException over the rate limit."""
    return _lookup(ctx, params, _render_each)


def lookup_events_rendered(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    """:func:`lookup_events` with each Events entry as its JSON bytes (an :class:`orjson.Fragment`
    from :data:`RENDERED`): ``orjson.dumps`` of the answer is the same bytes, without parsing and
    escaping the records of recently answered events again. What the HTTP API answers with; the
    answer is only meant for ``orjson.dumps``. Validates ``params`` against the model itself
    (:func:`.validation.validate_request`: the API calls it directly, not through the table)."""
    validate_request("LookupEvents", params)
    return _lookup(ctx, params, RENDERED.render)


def _render_each(events: Sequence[StoredEvent]) -> list[dict[str, Any]]:
    return [render_event(e) for e in events]


def _lookup(ctx: OperationContext, params: dict[str, Any],
            render: Callable[[Sequence[StoredEvent]], Sequence[Any]]) -> dict[str, Any]:
    if not ctx.lookup_limiter.allow((ctx.caller.account_id, ctx.caller.region)):
        raise ThrottlingException()
    category = params.get("EventCategory")
    if category is not None and not isinstance(category, str):
        raise SerializationException.for_value(category, "String")
    if category is not None and category != "insight":
        raise InvalidEventCategoryException(f"Event category {category!r} is not valid. Valid value: insight.")
    insight = category == "insight"
    max_results = params.get("MaxResults")
    if max_results is None:
        max_results = MAX_RESULTS
    elif isinstance(max_results, bool) or not isinstance(max_results, (int, float)):
        raise SerializationException.for_value(max_results, "Integer")
    else:
        max_results = math.floor(max_results)  # Coral truncates JSON numbers given for an Integer
        if not 1 <= max_results <= MAX_RESULTS:
            raise InvalidMaxResultsException()
    attribute = _attribute(params, insight)
    start, end = _number(params, "StartTime"), _number(params, "EndTime")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeException()
    binding = _binding(ctx, attribute, start, end, insight)
    token = params.get("NextToken")
    if token is not None and not isinstance(token, str):
        raise SerializationException.for_value(token, "String")
    key = ctx.token_key or process_token_key()
    after = decode_token(token, binding, key) if token is not None else None

    start_s = math.ceil(start) if start is not None else None
    end_s = math.floor(end) if end is not None else None
    expired = retention_bound(ctx.store, ctx.settings.event_history_retention_days, ctx.clock())
    if start_s is not None and end_s is not None and start_s > end_s:
        return {"Events": []}
    page = ctx.store.lookup(
        LookupQuery(
            account_id=ctx.caller.account_id,
            region=ctx.caller.region,
            attribute=attribute,
            start_time=start_s,
            end_time=end_s,
            insight=insight,
            limit=max_results,
            after=after,
            expired=expired,
        )
    )
    out: dict[str, Any] = {"Events": render(page.events)}
    if page.next_cursor is not None:
        out["NextToken"] = encode_token(page.next_cursor, binding, key)
    return out
