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
selection and global service events included, the stored event category is enough.
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


def takes(trail: Trail, event: StoredEvent, record: Callable[[], dict[str, Any]]) -> bool:
    """Does ``trail`` take ``event``? ``record()`` returns the parsed record (called lazily)."""
    if event.account_id != trail.account_id:
        return False
    if not trail.is_multi_region_trail and event.region != trail.home_region:
        return False
    default = default_selection(trail)
    if default and trail.include_global_service_events:
        return event.category == "Management"
    parsed = record()
    if not trail.include_global_service_events and parsed.get("eventSource") in GLOBAL_SERVICE_EVENT_SOURCES:
        return False
    if default:
        return event.category == "Management"
    return matches(trail.selectors, parsed)
