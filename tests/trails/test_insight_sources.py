"""Which selectors log what Insights watch (opentrail.trails.insight_sources), table-driven."""

from __future__ import annotations

import pytest

from opentrail.trails.errors import InvalidInsightSelectorsException
from opentrail.trails.insight_sources import check_insights_source, logs_events
from opentrail.trails.model import (
    AdvancedEventSelector,
    AdvancedFieldSelector,
    DataResource,
    EventSelector,
    InsightSelector,
    TrailSelectors,
)


def advanced(*fields: tuple[str, tuple[str, ...]]) -> TrailSelectors:
    return TrailSelectors(advanced_event_selectors=(
        AdvancedEventSelector(tuple(AdvancedFieldSelector(f, equals=v) for f, v in fields)),))


S3 = (DataResource("AWS::S3::Object", ("arn:aws:s3",)),)

CASES = [
    # selectors, category, write -> logs
    (TrailSelectors(), "Management", True, True),
    (TrailSelectors(), "Data", False, False),
    (TrailSelectors(event_selectors=(EventSelector("ReadOnly"),)), "Management", True, False),
    (TrailSelectors(event_selectors=(EventSelector("ReadOnly"),)), "Management", False, True),
    (TrailSelectors(event_selectors=(EventSelector("WriteOnly", False),)), "Management", False, False),
    (TrailSelectors(event_selectors=(EventSelector("ReadOnly", False, S3),)), "Data", False, True),
    (TrailSelectors(event_selectors=(EventSelector("ReadOnly", False, S3),)), "Data", True, False),
    (advanced(("eventCategory", ("Management",))), "Management", True, True),
    (advanced(("eventCategory", ("Management",)), ("readOnly", ("true",))), "Management", True, False),
    (advanced(("eventCategory", ("Management",)), ("readOnly", ("true",))), "Management", False, True),
    (advanced(("eventCategory", ("Management",)), ("readOnly", ("false",))), "Management", True, True),
    (advanced(("eventCategory", ("Data",)), ("resources.type", ("AWS::S3::Object",))), "Data", False, True),
    (advanced(("eventCategory", ("Data",)), ("resources.type", ("AWS::S3::Object",))), "Management", False, False),
]


@pytest.mark.parametrize(("selectors", "category", "write", "expected"), CASES)
def test_logs_events(selectors: TrailSelectors, category: str, write: bool, expected: bool) -> None:
    assert logs_events(selectors, category, write) is expected


def test_check_names_the_first_unmet_need() -> None:
    read_only = TrailSelectors(event_selectors=(EventSelector("ReadOnly"),))
    check_insights_source(read_only, (InsightSelector("ApiErrorRateInsight"),))
    check_insights_source(read_only, ())
    with pytest.raises(InvalidInsightSelectorsException) as info:
        check_insights_source(read_only, (InsightSelector("ApiErrorRateInsight"),
                                          InsightSelector("ApiCallRateInsight", ("Management",))), "event data store")
    assert info.value.message == ("To log ApiCallRateInsight Insights events on management events, the event data "
                                  "store must log write management events.")
