"""CloudTrail Insights: the shared vocabulary of the counts, the detector, the records and the API.

A **series** is what Insights watches: per-minute counts of one API in one account and Region
(CloudTrail User Guide, "Working with CloudTrail Insights"):

- ``ApiCallRateInsight``: calls of a **write** management API (or of a data API, read and write,
  when the trail's InsightSelector has EventCategories ["Data"]); ``error_code`` is "".
- ``ApiErrorRateInsight``: calls of an API (read or write) that returned an ``errorCode``, one
  series per error code.

Minutes are **epoch minutes** (``eventTime`` epoch seconds // 60): detection runs on eventTime, so
imported and late events count where they happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

CALL_RATE = "ApiCallRateInsight"
ERROR_RATE = "ApiErrorRateInsight"
INSIGHT_TYPES = (CALL_RATE, ERROR_RATE)
#: InsightSelector.EventCategories values; a selector without them watches management events.
MANAGEMENT, DATA = "Management", "Data"

#: Attribution attributes, in the order AWS writes them (insightDetails.insightContext.attributions).
ATTRIBUTES = ("userIdentityArn", "userAgent", "errorCode")
#: At most this many values per attribute and window, by average descending (AWS).
MAX_ATTRIBUTION_VALUES = 5
#: The value AWS writes for "calls without an error" in the errorCode attribution.
NO_ERROR = "null"


@dataclass(frozen=True, slots=True, order=True)
class SeriesKey:
    """One watched series (module docstring). ``category`` is MANAGEMENT or DATA."""

    account_id: str
    region: str
    category: str
    event_source: str
    event_name: str
    insight_type: str
    error_code: str = ""


@dataclass(frozen=True, slots=True)
class Anomaly:
    """One unusual period the detector found in a series.

    - ``start``: the first anomalous epoch minute; ``end``: the minute after the last one (exclusive),
      or None while it is still going on.
    - ``baseline_average``: calls per minute over the baseline window (the ``baseline_duration``
      minutes before ``start``), as insightContext.statistics.baseline.average.
    - ``start_average``: calls per minute over the minutes the Start event reports
      (``start_duration`` minutes from ``start``); ``insight_average``: calls per minute over the
      whole anomaly (End event; equal to ``start_average`` while it goes on).
    """

    start: int
    end: int | None
    baseline_average: float
    baseline_duration: int
    start_average: float
    start_duration: int
    insight_average: float


class InsightMetrics(Protocol):
    """Read side of the Insights counts (ListInsightsMetricData, the console's chart).

    ``counts`` returns the non-zero per-``period`` totals (period 60, 300 or 3600 seconds) of the
    series in [``start_minute``, ``end_minute``) as ascending (epoch minute of the period start,
    calls) pairs; an unknown series has none. ``series`` lists the series of an account and Region
    that have any count."""

    def counts(self, key: SeriesKey, start_minute: int, end_minute: int, period_s: int) -> list[tuple[int, int]]: ...

    def series(self, account_id: str, region: str) -> Sequence[SeriesKey]: ...
