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
skipped without a JSON parse when its bytes prove it: no ``"errorCode"`` in them (without ``\\u``
escapes a member of that name is spelled so) and a top-level ``readOnly`` that is ``true``, proven
by :func:`opentrail.delivery.routing._top_level_read_only` (exact; see its docstring).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

import orjson

from ..delivery.routing import _top_level_read_only
from .model import CALL_RATE, DATA, ERROR_RATE, MANAGEMENT, NO_ERROR

_ERROR_KEY = b'"errorCode"'
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


def skippable(raw: bytes, category: str) -> bool:
    """True when ``raw`` (a record stored with ``category``) is proven from its bytes to count in
    no series: not a management or data event, or a read-only management event without an
    errorCode member."""
    if category == MANAGEMENT:
        return _ERROR_KEY not in raw and _top_level_read_only(raw) is True
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
