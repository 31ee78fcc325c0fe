"""Does a trail or an event data store log the events its Insights selectors watch?

AWS's rule (PutInsightSelectors, API Reference; botocore model ``InvalidInsightSelectorsException``):

- Insights on management events: ``ApiCallRateInsight`` needs *write* management events,
  ``ApiErrorRateInsight`` read or write management events;
- Insights on data events (trails only): read or write data events, for either type.

An Insights selector without EventCategories watches management events. A trail that never had
PutEventSelectors logs every management event (read and write). Basic selectors log management
events with IncludeManagementEvents and data events with DataResources, for their ReadWriteType;
an advanced selector logs its ``eventCategory`` (Equals), and write events unless its ``readOnly``
field selects only "true". A selector that excludes some event sources still counts (AWS checks
the selector, not every source). Violations are ``InvalidInsightSelectorsException`` with
opentrail's wording (AWS's text is not published), naming the Insights type and the category.
"""

from __future__ import annotations

from .errors import InvalidInsightSelectorsException
from .model import AdvancedEventSelector, EventSelector, InsightSelector, TrailSelectors

MANAGEMENT, DATA = "Management", "Data"
_WRITE_TYPES = ("All", "WriteOnly")


def _advanced_logs(selectors: tuple[AdvancedEventSelector, ...], category: str, write: bool) -> bool:
    for selector in selectors:
        fields = {fs.field: fs for fs in selector.field_selectors}
        cat = fields.get("eventCategory")
        if cat is None or category not in cat.equals:
            continue
        read_only = fields.get("readOnly")
        if not write or read_only is None or not read_only.equals or "false" in read_only.equals:
            return True
    return False


def _basic_logs(selectors: tuple[EventSelector, ...], category: str, write: bool) -> bool:
    for s in selectors:
        if write and s.read_write_type not in _WRITE_TYPES:
            continue
        if (s.include_management_events if category == MANAGEMENT else bool(s.data_resources)):
            return True
    return False


def logs_events(selectors: TrailSelectors, category: str, write: bool) -> bool:
    """True when ``selectors`` log events of ``category`` (Management or Data), write events among
    them when ``write``."""
    if selectors.advanced_event_selectors is not None:
        return _advanced_logs(selectors.advanced_event_selectors, category, write)
    basic = selectors.event_selectors if selectors.event_selectors is not None else (EventSelector(),)
    return _basic_logs(basic, category, write)


def check_insights_source(selectors: TrailSelectors, insight_selectors: tuple[InsightSelector, ...],
                          noun: str = "trail") -> None:
    """Raise InvalidInsightSelectorsException unless ``selectors`` (of a ``noun``: "trail" or
    "event data store") log what every Insights selector watches (module docstring)."""
    for insight in insight_selectors:
        for category in insight.event_categories or (MANAGEMENT,):
            write = insight.insight_type == "ApiCallRateInsight" and category == MANAGEMENT
            if not logs_events(selectors, category, write):
                needed = "write" if write else "read or write"
                raise InvalidInsightSelectorsException(
                    f"To log {insight.insight_type} Insights events on {category.lower()} events, the {noun} "
                    f"must log {needed} {category.lower()} events."
                )
