"""Where Insights is enabled: the watches of trails and of event data stores, together.

- Trails (:class:`.worker.TrailInsightsScope`): a logging trail with InsightSelectors.
- Event data stores (:class:`EventDataStoreInsightsScope`; PutInsightSelectors with
  ``EventDataStore`` and ``InsightsDestination``, CloudTrail User Guide "Working with CloudTrail
  Insights", event data store section): an ENABLED source store with Insights selectors watches
  its account's management events in its home Region, or in every Region when it is multi-Region.
  Its Insights events go to the destination store (Lake ingestion routes them there).
"""

from __future__ import annotations

from typing import Any, Sequence

from .model import MANAGEMENT
from .worker import InsightsScope, Watch


class EventDataStoreInsightsScope:
    """The watches of the event data stores' Insights selectors. ``stores``: anything with
    ``all() -> list[EventDataStore]`` (:class:`opentrail.lake.service.EventDataStoreService`)."""

    def __init__(self, stores: Any) -> None:
        self._stores = stores

    def watches(self) -> list[Watch]:
        out: set[Watch] = set()
        for store in self._stores.all():
            if store.status != "ENABLED" or not store.insights_destination:
                continue
            region = None if store.multi_region_enabled else store.home_region
            for selector in store.insight_selectors:
                out.add(Watch(store.account_id, region, selector.insight_type, MANAGEMENT))
        return sorted(out, key=lambda w: (w.account_id, w.region or "", w.insight_type, w.category))


class Scopes:
    """The union of several scopes' watches."""

    def __init__(self, *scopes: InsightsScope) -> None:
        self._scopes = scopes

    def watches(self) -> Sequence[Watch]:
        return sorted({w for s in self._scopes for w in s.watches()},
                      key=lambda w: (w.account_id, w.region or "", w.insight_type, w.category))
