"""Trails: domain values, validation, selector matching and the trail service.

- :mod:`.model` -- Trail, EventSelector, AdvancedEventSelector, InsightSelector, TrailStatus.
- :mod:`.names` -- trail name rules and ARNs; :mod:`.selectors` -- selector rules and limits;
  :mod:`.tags` -- tag rules; :mod:`.log_groups` -- the CloudWatch Logs members' rules.
- :mod:`.matching` -- ``matches(trail_selectors, record) -> bool``.
- :mod:`.service` -- :class:`TrailService` (persisted in ``<data-dir>/trails.db``).
- :mod:`.errors` -- errors named after the wire.
"""

from __future__ import annotations

from .matching import matches
from .model import (
    AdvancedEventSelector,
    AdvancedFieldSelector,
    DataResource,
    EventSelector,
    InsightSelector,
    Trail,
    TrailSelectors,
    TrailStatus,
)
from .service import TrailService, TrailSettings

__all__ = [
    "AdvancedEventSelector",
    "AdvancedFieldSelector",
    "DataResource",
    "EventSelector",
    "InsightSelector",
    "Trail",
    "TrailSelectors",
    "TrailService",
    "TrailSettings",
    "TrailStatus",
    "matches",
]
