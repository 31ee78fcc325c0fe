"""The event history page's query: filter form <-> LookupEvents parameters, paging, columns.

URL parameters (all optional):

- ``attr`` / ``value``: one lookup attribute (the eight keys of the LookupEvents model); an empty
  value means no filter.
- ``range``: ``1h``, ``1d``, ``1w`` (the last hour/day/week), ``custom`` (``start``/``end`` as
  ``YYYY-MM-DDTHH:MM`` in UTC, either may be empty) or empty (the whole event history).
- ``t0`` / ``t1``: the resolved time range in epoch seconds. A relative range is resolved once,
  when the filter is applied; paging links carry ``t0``/``t1`` so every page (and a download)
  uses the same range -- a NextToken is only valid with the same parameters.
- ``n``: page size, 10, 25 or 50 (LookupEvents' MaxResults; default 50).
- ``token``: the NextToken of the page shown; ``back``: the tokens of the pages before it
  (repeated parameter, empty for the first page), at most :data:`MAX_BACK` kept.
- ``cols``: the columns shown (repeated parameter, ids of :data:`COLUMNS`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Sequence
from urllib.parse import urlencode

import orjson

from ..events.times import format_event_time, parse_event_time
from ..store.base import LOOKUP_ATTRIBUTE_KEYS

#: Relative ranges: parameter -> (label, seconds).
RELATIVE_RANGES: dict[str, tuple[str, int]] = {
    "1h": ("Last hour", 3600),
    "1d": ("Last day", 86400),
    "1w": ("Last week", 7 * 86400),
}
PAGE_SIZES = (10, 25, 50)
MAX_BACK = 50

#: Column id -> header, in the order shown; the first six are the CloudTrail console's defaults.
COLUMNS: dict[str, str] = {
    "event_name": "Event name",
    "event_time": "Event time",
    "user_name": "User name",
    "event_source": "Event source",
    "resource_type": "Resource type",
    "resource_name": "Resource name",
    "access_key": "AWS access key",
    "region": "AWS region",
    "error_code": "Error code",
    "event_id": "Event ID",
    "read_only": "Read-only",
    "request_id": "Request ID",
    "source_ip": "Source IP address",
}
DEFAULT_COLUMNS: tuple[str, ...] = tuple(list(COLUMNS)[:6])


class FilterError(ValueError):
    """A filter value the form cannot turn into LookupEvents parameters (message for the page)."""


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    """One view of the event history. ``start``/``end`` are resolved epoch seconds (None: open)."""

    attr: str = ""
    value: str = ""
    range: str = ""
    start_text: str = ""
    end_text: str = ""
    start: int | None = None
    end: int | None = None
    page_size: int = 50
    token: str | None = None
    back: tuple[str, ...] = ()

    @property
    def page_number(self) -> int:
        return len(self.back) + 1

    def attribute(self) -> tuple[str, str] | None:
        return (self.attr, self.value) if self.attr and self.value else None

    def lookup_params(self, *, max_results: int | None = None, token: str | None = None) -> dict[str, Any]:
        """The LookupEvents request for this view (``token`` overrides the page's NextToken)."""
        params: dict[str, Any] = {}
        attribute = self.attribute()
        if attribute is not None:
            params["LookupAttributes"] = [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}]
        if self.start is not None:
            params["StartTime"] = self.start
        if self.end is not None:
            params["EndTime"] = self.end
        params["MaxResults"] = max_results or self.page_size
        next_token = token if token is not None else self.token
        if next_token:
            params["NextToken"] = next_token
        return params

    def filter_items(self) -> list[tuple[str, str]]:
        """The URL parameters of the filter alone (resolved range included, no paging)."""
        items: list[tuple[str, str]] = []
        if self.attr:
            items += [("attr", self.attr), ("value", self.value)]
        if self.range:
            items.append(("range", self.range))
        if self.range == "custom":
            items += [("start", self.start_text), ("end", self.end_text)]
        if self.start is not None:
            items.append(("t0", str(self.start)))
        if self.end is not None:
            items.append(("t1", str(self.end)))
        items.append(("n", str(self.page_size)))
        return items

    def url(self, path: str, columns: Sequence[str] = (), *, token: str | None = None,
            back: Sequence[str] = (), extra: Sequence[tuple[str, str]] = ()) -> str:
        """``path?<filter>&token=..&back=..&cols=..`` for links."""
        items = self.filter_items()
        if token:
            items.append(("token", token))
        items += [("back", b) for b in back]
        items += [("cols", c) for c in columns]
        items += list(extra)
        return f"{path}?{urlencode(items)}"

    def next_url(self, path: str, columns: Sequence[str], next_token: str) -> str:
        back = (*self.back, self.token or "")[-MAX_BACK:]
        return self.url(path, columns, token=next_token, back=back)

    def previous_url(self, path: str, columns: Sequence[str]) -> str | None:
        if not self.back:
            return None
        return self.url(path, columns, token=self.back[-1] or None, back=self.back[:-1])

    def describe(self) -> str:
        """A short human description of the filter (for the chart and the page title)."""
        parts = [f"{self.attr} = {self.value}"] if self.attribute() else ["All events"]
        if self.range in RELATIVE_RANGES:
            parts.append(RELATIVE_RANGES[self.range][0].lower())
        if self.start is not None or self.end is not None:
            start = format_event_time(self.start) if self.start is not None else "the oldest event"
            end = format_event_time(self.end) if self.end is not None else "now"
            parts.append(f"from {start} to {end}")
        return ", ".join(parts)


def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise FilterError(f"{value!r} is not a time in epoch seconds.") from None


def _datetime(value: str, what: str) -> int | None:
    if not value.strip():
        return None
    try:
        return parse_event_time(value)
    except ValueError:
        raise FilterError(f"The {what} time {value!r} is not a date and time such as 2024-05-01T13:00.") from None


def parse_query(params: Mapping[str, str], getlist: Callable[[str], list[str]], now: float) -> HistoryQuery:
    """The view described by URL ``params`` (``getlist`` gives repeated ones); ``now`` resolves a
    relative range when ``t0`` is absent. Raises :class:`FilterError` for values the form cannot
    use (an unknown attribute key, a malformed date); LookupEvents checks the rest."""
    attr = params.get("attr", "")
    if attr and attr not in LOOKUP_ATTRIBUTE_KEYS:
        raise FilterError(f"{attr!r} is not a lookup attribute. Choose one of {', '.join(LOOKUP_ATTRIBUTE_KEYS)}.")
    value = params.get("value", "").strip()
    range_ = params.get("range", "")
    if range_ not in ("", "custom", *RELATIVE_RANGES):
        raise FilterError(f"{range_!r} is not a time range.")
    try:
        page_size = int(params.get("n", "50"))
    except ValueError:
        page_size = 50
    if page_size not in PAGE_SIZES:
        page_size = 50
    query = HistoryQuery(
        attr=attr, value=value if attr else "", range=range_,
        start_text=params.get("start", ""), end_text=params.get("end", ""), page_size=page_size,
        token=params.get("token") or None, back=tuple(getlist("back"))[-MAX_BACK:],
    )
    start, end = _int(params.get("t0")), _int(params.get("t1"))
    if start is None and end is None:
        if range_ in RELATIVE_RANGES:
            end = int(now)
            start = end - RELATIVE_RANGES[range_][1]
        elif range_ == "custom":
            start = _datetime(query.start_text, "start")
            end = _datetime(query.end_text, "end")
            if end is not None and len(query.end_text.strip()) <= 16:
                end += 59  # a minute given without seconds includes that whole minute
    return replace(query, start=start, end=end)


def parse_columns(chosen: Sequence[str], fallback: Sequence[str] | None) -> tuple[str, ...]:
    """The known column ids among ``chosen`` in table order; ``fallback`` (or the defaults) when
    none is chosen."""
    picked = tuple(c for c in COLUMNS if c in set(chosen))
    return picked or tuple(fallback or DEFAULT_COLUMNS)


def time_text(epoch_s: int | float | None) -> str:
    """``2024-05-01 10:00:00 UTC`` for tables, "" when unknown."""
    if epoch_s is None:
        return ""
    return format_event_time(int(epoch_s)).replace("T", " ").replace("Z", " UTC")


def row(event: Mapping[str, Any]) -> dict[str, str]:
    """Every column's text for one LookupEvents ``Event`` (``EventTime`` in epoch seconds); the
    columns LookupEvents does not return (Region, error code, request ID, source IP) are read
    from ``CloudTrailEvent``. Several resources are joined with ", "."""
    try:
        record = orjson.loads(event.get("CloudTrailEvent") or "{}")
    except orjson.JSONDecodeError:
        record = {}
    if not isinstance(record, dict):
        record = {}

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ("" if value is None else str(value))

    resources = event.get("Resources") or []
    event_time = event.get("EventTime")
    return {
        "event_name": text(event.get("EventName")),
        "event_time": format_event_time(int(event_time)) if isinstance(event_time, (int, float)) else text(event_time),
        "user_name": text(event.get("Username")),
        "event_source": text(event.get("EventSource")),
        "resource_type": ", ".join(text(r.get("ResourceType")) for r in resources),
        "resource_name": ", ".join(text(r.get("ResourceName")) for r in resources),
        "access_key": text(event.get("AccessKeyId")),
        "region": text(record.get("awsRegion")),
        "error_code": text(record.get("errorCode")),
        "event_id": text(event.get("EventId")),
        "read_only": text(event.get("ReadOnly")),
        "request_id": text(record.get("requestID")),
        "source_ip": text(record.get("sourceIPAddress")),
    }
