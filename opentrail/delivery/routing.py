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
    """The :data:`PER_RECORD` decision: ``parsed`` is the record, ``category`` the stored one."""
    if not trail.include_global_service_events and parsed.get("eventSource") in GLOBAL_SERVICE_EVENT_SOURCES:
        return False
    if default_selection(trail):
        return category == "Management"
    return matches(trail.selectors, parsed)


def takes(trail: Trail, event: StoredEvent, record: Callable[[], dict[str, Any]]) -> bool:
    """Does ``trail`` take ``event``? ``record()`` returns the parsed record (called lazily)."""
    route = partition_route(trail, event.account_id, event.region, event.category)
    if route != PER_RECORD:
        return route == ALWAYS
    return takes_record(trail, event.category, record())
