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
- Region: ``awsRegion``, else ``default_region``, else ``us-east-1``. An ``awsRegion`` string
  that is not a Region name (:data:`REGION_NAME`: letters, digits and hyphens, starting with a
  letter or digit, at most 64 characters) -> ``InvalidRegion``: the Region becomes a folder of
  every log file key, so ``"../.."`` or ``"a/b"`` must never get that far (nor may a
  ``default_region`` that is used). Anonymised AWS logs
  write regions such as ``sagov-westsouth-1r`` and ``awsRegion1``; those are Region names here.
- Category: :func:`opentrail.events.classify.event_category`; lookup attributes:
  :mod:`opentrail.events.lookup` (:func:`record_lookup_pairs` computes
  ``lookup_pairs(lookup_fields(obj, event_id=...))`` in one pass: this reader runs once per
  ingested event, so it avoids the intermediate objects).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from typing import Any

import orjson

from ..store.base import MAX_EVENT_TIME, MIN_EVENT_TIME, NewEvent
from .classify import event_category
from .lookup import bool_text, username
from .times import parse_event_time

_dumps = orjson.dumps

#: AWS: "events are at most 256 KB".
MAX_RECORD_BYTES = 256 * 1024

#: Fields, in order, whose value stands in for a missing eventTime (documented pipeline copies).
EVENT_TIME_FALLBACKS: tuple[str, ...] = ("eventTime", "@timestamp", "p_event_time")

DEFAULT_REGION = "us-east-1"

#: What a record's ``awsRegion`` must look like (matched whole): AWS names (``us-east-1``,
#: ``us-gov-west-1``, ``cn-north-1``, ``us-isob-east-1``) and the anonymised ones of real logs
#: (``sagov-westsouth-1r``, ``awsRegion1``), never a character that means something in an S3 key
#: or a folder path (``/``, ``.``, ``\``).
REGION_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def is_region_name(value: object) -> bool:
    """True when ``value`` is a string matching :data:`REGION_NAME` (safe as an S3 key segment)."""
    return isinstance(value, str) and REGION_NAME.fullmatch(value) is not None


class RecordRejected(Exception):
    """A record that cannot be stored: ``code`` (NotAnObject, NotJson, TooLarge, MissingEventTime,
    InvalidEventTime, MissingAccount, InvalidRegion) and a human ``reason``."""

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


def record_lookup_pairs(obj: dict[str, Any], event_id: str) -> tuple[tuple[str, str], ...]:
    """``lookup_pairs(lookup_fields(obj, event_id=event_id))`` (rules in
    :mod:`opentrail.events.lookup`), without building a :class:`LookupFields`. Never raises for
    any dict."""
    get = obj.get
    pairs: list[tuple[str, str]] = [("EventId", event_id)]
    insight = get("insightDetails")
    if not isinstance(insight, dict):
        insight = None
    value = get("eventName")
    if not (isinstance(value, str) and value):
        value = _text(insight.get("eventName")) if insight is not None else None
    if value is not None:
        pairs.append(("EventName", value))
    value = get("readOnly")
    if value is True:
        pairs.append(("ReadOnly", "true"))
    elif value is False:
        pairs.append(("ReadOnly", "false"))
    elif value is not None:
        value = bool_text(value)
        if value is not None:
            pairs.append(("ReadOnly", value))
    ui = get("userIdentity")
    if not isinstance(ui, dict):
        ui = None
    value = ui.get("userName") if ui is not None else None
    if not (isinstance(value, str) and value):
        value = username(ui)
    if value is not None:
        pairs.append(("Username", value))
    resources = get("resources")
    dedup = False
    if isinstance(resources, list) and resources:
        found: list[tuple[str, str]] = []
        for item in resources:
            if isinstance(item, dict):
                kind, arn = item.get("type"), item.get("ARN")
                if isinstance(kind, str) and kind and isinstance(arn, str) and arn:
                    found.append((kind, arn))
        if found:
            dedup = True
            pairs.extend(("ResourceType", kind) for kind, _ in found)
            pairs.extend(("ResourceName", arn) for _, arn in found)
    value = get("eventSource")
    if not (isinstance(value, str) and value):
        value = _text(insight.get("eventSource")) if insight is not None else None
    if value is not None:
        pairs.append(("EventSource", value))
    value = ui.get("accessKeyId") if ui is not None else None
    if isinstance(value, str) and value:
        pairs.append(("AccessKeyId", value))
    # only resources can repeat a pair (every other attribute appears at most once)
    return tuple(dict.fromkeys(pairs)) if dedup else tuple(pairs)


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
    try:
        data = _dumps(obj)
    except (orjson.JSONEncodeError, TypeError):
        data = record_bytes(obj)
    if len(data) > MAX_RECORD_BYTES:
        raise RecordRejected("TooLarge", f"record is {len(data)} bytes, the limit is {MAX_RECORD_BYTES}")
    event_time = _event_time(obj)
    get = obj.get
    account = get("recipientAccountId")
    if not (isinstance(account, str) and account):
        user_identity = get("userIdentity")
        account = (
            _text(user_identity.get("accountId")) if isinstance(user_identity, dict) else None
        ) or default_account_id
        if not account:
            raise RecordRejected(
                "MissingAccount", "no recipientAccountId or userIdentity.accountId, and no default account"
            )
    region = get("awsRegion")
    name = "awsRegion"
    if not (isinstance(region, str) and region):
        region, name = default_region or DEFAULT_REGION, "default Region"
    if REGION_NAME.fullmatch(region) is None:
        shown = repr(region[:80]) + ("..." if len(region) > 80 else "")
        raise RecordRejected(
            "InvalidRegion", f"{name} {shown} is not a Region name (letters, digits and hyphens, at most 64)"
        )
    event_id = get("eventID")
    if not (isinstance(event_id, str) and event_id):
        event_id = derived_event_id(data)
    return NewEvent(event_id, event_time, account, region, event_category(obj), data, record_lookup_pairs(obj, event_id))
