"""What Insights counts of one stored record, from its bytes (``docs/insights.md``).

:func:`extract` turns one record (its stored category, account and Region) into the series it
counts in and the minute it counts at (:mod:`.model` module docstring):

- ``ApiCallRateInsight``: management events whose top-level ``readOnly`` is false (JSON ``false``
  or the string ``"false"``), and every data event (read and write: the series of category Data);
- ``ApiErrorRateInsight``: management and data events with a non-empty string ``errorCode``, one
  series per error code.

Insights records themselves, network activity events and records without a parseable eventTime,
eventSource or eventName count nowhere.

**Fast path.** Most events are read-only management calls without an error. Such a record is
skipped without a JSON parse when its bytes prove it (:func:`skippable`): no ``"errorCode"`` in
them and no ``"readOnly"`` followed by a false value (without ``\\u`` escapes, checked as
:mod:`opentrail.delivery.routing` does, members of those names are spelled so). A false
``readOnly`` nested in requestParameters only costs a parse.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import orjson

from ..delivery.routing import _has_unicode_escape
from .model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, NO_ERROR

_ERROR_KEY = b'"errorCode"'
_READ_ONLY_KEY = b'"readOnly"'
_JSON_SPACE = b" \t\n\r"
_BACKSLASH = 0x5C  # ``int in bytes`` is a memchr
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
#: eventTime's first 16 characters ("YYYY-MM-DDTHH:MM") -> epoch minute; emptied at _MINUTES_KEPT
_MINUTES: dict[str, int] = {}
_MINUTES_KEPT = 200_000


class Counted(NamedTuple):
    """One series a record counts in. ``series``: (account, Region, category, eventSource,
    eventName, insight type, error code or ""), the fields of :class:`.model.SeriesKey` in order;
    ``minute``: epoch minute of eventTime; ``attributions``: one value per attribution attribute
    the series keeps, in :data:`.model.ATTRIBUTES` order (userIdentity.arn, userAgent, and for
    call-rate series the errorCode or :data:`.model.NO_ERROR`); "" when the record has none."""

    series: tuple[str, str, str, str, str, str, str]
    minute: int
    attributions: tuple[str, ...]


def event_minute(event_time: Any) -> int | None:
    """The epoch minute of an eventTime string (ISO 8601, "2026-12-02T17:23:31Z" as CloudTrail
    writes it; other ISO forms and offsets accepted), None when it is not one."""
    if not isinstance(event_time, str) or len(event_time) < 16:
        return None
    if len(event_time) == 20 and event_time[19] == "Z" or len(event_time) == 24 and event_time[23] == "Z":
        head = event_time[:16]
        minute = _MINUTES.get(head)
        if minute is not None:
            return minute
        try:
            moment = dt.datetime.fromisoformat(head).replace(tzinfo=dt.timezone.utc)
        except ValueError:
            return None
        minute = int((moment - _EPOCH).total_seconds()) // 60
        if len(_MINUTES) >= _MINUTES_KEPT:
            _MINUTES.clear()
        _MINUTES[head] = minute
        return minute
    try:
        moment = dt.datetime.fromisoformat(event_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return int((moment - _EPOCH).total_seconds()) // 60


def _may_be_write(raw: bytes) -> bool:
    """False only when no object member ``readOnly`` anywhere in the JSON ``raw`` can have the
    value ``false`` or ``"false"``: each ``"readOnly"`` in the bytes is looked at, its value read
    past the optional whitespace and ``:``. Exact when ``raw`` holds no ``\\u`` escape (checked
    first): a member of that name is then spelled ``"readOnly"``."""
    if _BACKSLASH in raw and _has_unicode_escape(raw):  # most records hold no backslash
        return True
    p = raw.find(_READ_ONLY_KEY)
    while p >= 0:
        p += len(_READ_ONLY_KEY)
        value = raw[p:p + 5]
        if value != b":true":  # compact JSON (as records are stored): decided by five bytes
            rest = raw[p:p + 64].lstrip(_JSON_SPACE)
            if rest[:1] == b":":
                rest = rest[1:].lstrip(_JSON_SPACE)
                if rest.startswith(b"false") or rest.startswith(b'"false"'):
                    return True
        p = raw.find(_READ_ONLY_KEY, p)
    return False


def skippable(raw: bytes, category: str) -> bool:
    """True when ``raw`` (a record stored with ``category``) is proven from its bytes to count in
    no series: not a management or data event, or a management event without an ``errorCode``
    member and without a member ``readOnly`` whose value is false (then its top-level readOnly is
    not false either: a read-only call, or one without readOnly, neither of which counts)."""
    if category == MANAGEMENT:
        return _ERROR_KEY not in raw and not _may_be_write(raw)
    return category != DATA


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def extract(raw: bytes, account_id: str, region: str, category: str) -> list[Counted]:
    """The series ``raw`` counts in (module docstring); ``account_id``/``region``/``category`` are
    the ones it was stored under. Empty for most records, often without a parse."""
    if skippable(raw, category):
        return []
    return parse_counted(raw, account_id, region, category)


def parse_counted(raw: bytes, account_id: str, region: str, category: str) -> list[Counted]:
    """:func:`extract` for a record :func:`skippable` did not rule out (parses it)."""
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(record, dict):
        return []
    source, name = record.get("eventSource"), record.get("eventName")
    if not isinstance(source, str) or not isinstance(name, str) or not source or not name:
        return []
    minute = event_minute(record.get("eventTime"))
    if minute is None:
        return []
    error = record.get("errorCode")
    error = error if isinstance(error, str) and error else None
    identity = record.get("userIdentity")
    arn = _text(identity.get("arn")) if isinstance(identity, dict) else ""
    agent = _text(record.get("userAgent"))
    out: list[Counted] = []
    read_only = record.get("readOnly")
    if category == DATA or read_only is False or read_only == "false":
        out.append(Counted((account_id, region, category, source, name, CALL_RATE, ""), minute,
                           (arn, agent, error if error is not None else NO_ERROR)))
    if error is not None:
        out.append(Counted((account_id, region, category, source, name, ERROR_RATE, error), minute, (arn, agent)))
    return out
