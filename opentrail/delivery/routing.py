"""Which trails take an event: account, Region, global service events and event selectors.

Rules (AWS CloudTrail User Guide, "How CloudTrail works", "Receiving CloudTrail log files from
multiple Regions", "Enabling and disabling logging global service events"):

- A trail takes only events of its own account.
- A single-Region trail takes events of its home Region; a multi-Region trail takes every Region's
  events (delivered under that Region's key path).
- Global service events (IAM, STS, CloudFront, Route 53: recorded in us-east-1) are taken only
  by trails with IncludeGlobalServiceEvents.
- Then the trail's event selectors decide (:func:`opentrail.trails.matching.matches`).

:func:`takes` parses the record only when the trail needs a field of it: with the default
selection and global service events included, the stored event category is enough. The worker
splits the same decision in two: :func:`partition_route` once per (trail, account, Region,
category) partition -- :data:`NEVER`, :data:`ALWAYS` or :data:`PER_RECORD` -- and
:func:`takes_record` on the parsed record only for :data:`PER_RECORD`, so a trail with the default
selection takes a backlog without parsing a record.
"""

from __future__ import annotations

from typing import Any, Callable

from ..store.base import StoredEvent
from ..trails.matching import matches
from ..trails.model import Trail

GLOBAL_SERVICE_EVENT_SOURCES: frozenset[str] = frozenset(
    {"iam.amazonaws.com", "sts.amazonaws.com", "cloudfront.amazonaws.com", "route53.amazonaws.com"}
)
_GLOBAL_NAMES: frozenset[bytes] = frozenset(s.encode() for s in GLOBAL_SERVICE_EVENT_SOURCES)
_SOURCE_KEY = b'"eventSource"'
_JSON_SPACE = b" \t\n\r"


def default_selection(trail: Trail) -> bool:
    """True when the trail never had selectors put (every management event, read and write)."""
    return trail.selectors.event_selectors is None and trail.selectors.advanced_event_selectors is None


#: :func:`partition_route` answers: the trail takes no event of the partition, every event, or
#: the events :func:`takes_record` accepts.
NEVER, ALWAYS, PER_RECORD = 0, 1, 2


def partition_route(trail: Trail, account_id: str, region: str, category: str) -> int:
    """How ``trail`` decides for the events stored under (``account_id``, ``region``,
    ``category``): :data:`NEVER`, :data:`ALWAYS` or :data:`PER_RECORD`."""
    if account_id != trail.account_id:
        return NEVER
    if not trail.is_multi_region_trail and region != trail.home_region:
        return NEVER
    if default_selection(trail):
        if category != "Management":
            return NEVER
        return ALWAYS if trail.include_global_service_events else PER_RECORD
    return PER_RECORD


def takes_record(trail: Trail, category: str, parsed: dict[str, Any]) -> bool:
    """The :data:`PER_RECORD` decision: ``parsed`` is the record, ``category`` the stored one. An
    eventSource that is not a string names no global service."""
    source = parsed.get("eventSource")
    if not trail.include_global_service_events and isinstance(source, str) and source in GLOBAL_SERVICE_EVENT_SOURCES:
        return False
    if default_selection(trail):
        return category == "Management"
    return matches(trail.selectors, parsed)


def _may_name_a_global_service(raw: bytes) -> bool:
    """False only when no object member ``"eventSource"`` anywhere in the JSON ``raw`` can be a
    global service's name. Exact, not a heuristic: without ``\\u`` escapes (checked first) a
    member named eventSource is spelled ``"eventSource"``, then optional whitespace, ``:``,
    whitespace, and a string equal to a global service's name is spelled out literally (no other
    JSON escape decodes to a letter, digit or dot)."""
    if b"\\" in raw and b"\\u" in raw:
        return True
    i = raw.find(_SOURCE_KEY)
    while i >= 0:
        i += len(_SOURCE_KEY)
        rest = raw[i:i + 64].lstrip(_JSON_SPACE)
        if rest[:1] == b":":
            rest = rest[1:].lstrip(_JSON_SPACE)
            if rest[:1] == b'"':
                end = rest.find(b'"', 1)
                if end < 0 or rest[1:end] in _GLOBAL_NAMES:
                    return True
            elif not rest:
                return True  # more whitespace than the window: let the parser decide
        elif not rest:
            return True
        i = raw.find(_SOURCE_KEY, i)
    return False


def takes_raw(trail: Trail, category: str, raw: bytes) -> bool | None:
    """The :data:`PER_RECORD` decision from the record's JSON bytes alone, or None when the record
    must be parsed (:func:`takes_record`). Answered for a trail with the default selection (which
    is :data:`PER_RECORD` only to leave out global service events) when no eventSource member in
    the bytes can name a global service -- then the top-level one cannot either."""
    if default_selection(trail) and not _may_name_a_global_service(raw):
        return category == "Management"
    return None


def takes(trail: Trail, event: StoredEvent, record: Callable[[], dict[str, Any]]) -> bool:
    """Does ``trail`` take ``event``? ``record()`` returns the parsed record (called lazily)."""
    route = partition_route(trail, event.account_id, event.region, event.category)
    if route != PER_RECORD:
        return route == ALWAYS
    return takes_record(trail, event.category, record())
