"""The tolerant CloudTrail record reader: one JSON object in, one :class:`NewEvent` out.

"A reader must accept what AWS wrote": the reader needs only an object, a time and an account, and
never validates anything else (fake regions, odd IPs, unknown fields, null fields are all fine).

- Record bytes: ``orjson.dumps`` of the object exactly as given (key order kept, nothing dropped,
  renamed or added); the stdlib ``json`` module is the fallback for values orjson cannot write
  (integers beyond 64 bits). Larger than 256 KB (262,144 bytes; AWS's event size limit) ->
  ``TooLarge``.
- eventTime: ``eventTime``; when absent or null, a pipeline's copy of it: Logstash
  ``@timestamp``, then Panther ``p_event_time``. Missing -> ``MissingEventTime``; unparseable
  (see :mod:`opentrail.events.times`) or before 1970 or after 2106-02-07 -> ``InvalidEventTime``.
- eventID: ``eventID`` when a non-empty string; otherwise a derived id, a UUID (version 8, RFC
  9562) made from the first 16 bytes of the SHA-256 of the record bytes -- deterministic, so a
  re-import deduplicates. The record itself is not changed.
- Account: ``recipientAccountId``, else ``userIdentity.accountId``, else ``default_account_id``,
  else ``MissingAccount``.
- Region: ``awsRegion``, else ``default_region``, else ``us-east-1``.
- Category: :func:`opentrail.events.classify.event_category`; lookup attributes:
  :mod:`opentrail.events.lookup`.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import orjson

from ..store.base import MAX_EVENT_TIME, MIN_EVENT_TIME, NewEvent
from .classify import event_category
from .lookup import lookup_fields, lookup_pairs
from .times import parse_event_time

#: AWS: "events are at most 256 KB".
MAX_RECORD_BYTES = 256 * 1024

#: Fields, in order, whose value stands in for a missing eventTime (documented pipeline copies).
EVENT_TIME_FALLBACKS: tuple[str, ...] = ("eventTime", "@timestamp", "p_event_time")

DEFAULT_REGION = "us-east-1"


class RecordRejected(Exception):
    """A record that cannot be stored: ``code`` (NotAnObject, NotJson, TooLarge, MissingEventTime,
    InvalidEventTime, MissingAccount) and a human ``reason``."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


def record_bytes(obj: Any) -> bytes:
    """Compact JSON bytes of ``obj`` as given. Raises RecordRejected("NotJson") for values JSON
    cannot hold faithfully (non-string keys, NaN, sets...)."""
    try:
        return orjson.dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        pass
    try:
        text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
        same = json.loads(text) == obj
    except (TypeError, ValueError, RecursionError) as exc:
        raise RecordRejected("NotJson", f"record is not JSON-serialisable: {exc}") from None
    if not same:
        raise RecordRejected("NotJson", "record does not survive a JSON round trip (non-string keys?)")
    return text.encode()


def derived_event_id(data: bytes) -> str:
    """A UUID (version 8) from the SHA-256 of ``data``: the eventID given to records without one."""
    n = int.from_bytes(hashlib.sha256(data).digest()[:16], "big")
    n = (n & ~(0xF << 76)) | (0x8 << 76)  # version 8
    n = (n & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122/9562 variant
    return str(uuid.UUID(int=n))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _event_time(obj: dict[str, Any]) -> int:
    for name in EVENT_TIME_FALLBACKS:
        value = obj.get(name)
        if value is None:
            continue
        try:
            seconds = parse_event_time(value)
        except ValueError as exc:
            raise RecordRejected("InvalidEventTime", f"{name}: {exc}") from None
        if not MIN_EVENT_TIME <= seconds <= MAX_EVENT_TIME:
            raise RecordRejected("InvalidEventTime", f"{name}: {value!r} is outside 1970-01-01 .. 2106-02-07")
        return seconds
    raise RecordRejected("MissingEventTime", "record has no eventTime (nor @timestamp / p_event_time)")


def read_record(
    obj: Any, *, default_account_id: str | None = None, default_region: str | None = None
) -> NewEvent:
    """Turn one decoded JSON record into a :class:`NewEvent` (rules in the module docstring).

    Raises :class:`RecordRejected` -- and nothing else -- for any input.
    """
    if not isinstance(obj, dict):
        raise RecordRejected("NotAnObject", f"a record must be a JSON object, got {type(obj).__name__}")
    data = record_bytes(obj)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordRejected("TooLarge", f"record is {len(data)} bytes, the limit is {MAX_RECORD_BYTES}")
    event_time = _event_time(obj)
    user_identity = obj.get("userIdentity")
    account = (
        _text(obj.get("recipientAccountId"))
        or (_text(user_identity.get("accountId")) if isinstance(user_identity, dict) else None)
        or default_account_id
    )
    if not account:
        raise RecordRejected("MissingAccount", "no recipientAccountId or userIdentity.accountId, and no default account")
    region = _text(obj.get("awsRegion")) or default_region or DEFAULT_REGION
    event_id = _text(obj.get("eventID")) or derived_event_id(data)
    return NewEvent(
        event_id=event_id,
        event_time=event_time,
        account_id=account,
        region=region,
        category=event_category(obj),
        record=data,
        lookup=lookup_pairs(lookup_fields(obj, event_id=event_id)),
    )
