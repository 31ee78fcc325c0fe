"""Insights selectors on event data stores: AWS's rules, as pure functions over the stores.

PutInsightSelectors with ``EventDataStore`` + ``InsightsDestination`` (API Reference; botocore
model ``InvalidInsightSelectorsException``): the *source* store logs management events and
enables Insights; the *destination* store (same account; its selectors select ``eventCategory``
Insight) receives the Insights events. Insights on data events are not supported on event data
stores. ``ApiCallRateInsight`` needs the source to log write management events,
``ApiErrorRateInsight`` read or write ones (:mod:`opentrail.trails.insight_sources`). An empty
selector list turns Insights off (no destination needed). UpdateEventDataStore may not change the
selectors of a store with Insights so that they stop logging what the Insights watch.

Messages are opentrail's wording (AWS publishes none) naming the store; every error is
``InvalidInsightSelectorsException`` except those of the parameters themselves.
"""

from __future__ import annotations

import dataclasses

from ..trails import errors as TE
from ..trails.insight_sources import DATA, check_insights_source
from ..trails.model import InsightSelector, TrailSelectors
from ..trails.selectors import validate_insight_selectors
from .model import EventDataStore

#: The ``eventCategory`` of a store that can receive Insights events.
INSIGHT_CATEGORY = "Insight"
_SOURCE_CATEGORIES = ("Management", "Data", "NetworkActivity")


def check_source_selectors(source: EventDataStore, insight_selectors: tuple[InsightSelector, ...]) -> None:
    """InvalidInsightSelectorsException unless ``source`` logs what ``insight_selectors`` watch."""
    check_insights_source(TrailSelectors(advanced_event_selectors=source.advanced_event_selectors),
                          insight_selectors, "event data store")


def with_insight_selectors(source: EventDataStore, destination: EventDataStore | None,
                           insight_selectors: tuple[InsightSelector, ...], now: float) -> EventDataStore:
    """``source`` with ``insight_selectors`` sending to ``destination`` (None only with an empty list:
    Insights off). Raises InvalidInsightSelectorsException (module docstring)."""
    validate_insight_selectors(insight_selectors)
    if not insight_selectors:
        return dataclasses.replace(source, insight_selectors=(), insights_destination=None, updated_time=now)
    assert destination is not None
    if any(DATA in (s.event_categories or ()) for s in insight_selectors):
        raise TE.InvalidInsightSelectorsException(
            "Insights on data events are not supported on event data stores. "
            "You can enable Insights on management events only."
        )
    if source.category not in _SOURCE_CATEGORIES:
        raise TE.InvalidInsightSelectorsException(
            f"The source event data store {source.arn} must log management events; it logs {source.category} events."
        )
    check_source_selectors(source, insight_selectors)
    if destination.category != INSIGHT_CATEGORY:
        raise TE.InvalidInsightSelectorsException(
            f"The destination event data store {destination.arn} must log Insights events; "
            f"it logs {destination.category} events."
        )
    return dataclasses.replace(source, insight_selectors=insight_selectors, insights_destination=destination.arn,
                               updated_time=now)
