"""Handlers of PutInsightSelectors and GetInsightSelectors, on a trail or on an event data store.

Request (botocore model): ``TrailName`` **xor** ``EventDataStore`` (with ``InsightsDestination``
for PutInsightSelectors); ``InsightSelectors`` ``[{InsightType, EventCategories?}]``, an empty list
turns Insights off.

- ``TrailName`` with ``EventDataStore`` or ``InsightsDestination``, neither ``TrailName`` nor
  ``EventDataStore``, ``InsightsDestination`` without ``EventDataStore``, and non-empty selectors
  on an event data store without ``InsightsDestination`` are InvalidParameterCombinationException.
- On a trail: :meth:`opentrail.trails.TrailService.put_insight_selectors` (the trail must log what
  the selectors watch); the answer is ``{TrailARN, InsightSelectors}``.
- On an event data store (its ARN or ID): :meth:`opentrail.lake.service.EventDataStoreService.
  put_insight_selectors` (:mod:`opentrail.lake.insights`); the answer is ``{EventDataStoreArn,
  InsightSelectors, InsightsDestination}`` (no InsightsDestination once Insights are off). A store
  that does not exist is InvalidParameterException (the model lists no event data store error for
  these operations). A server without CloudTrail Lake answers UnknownOperationException for them.
- GetInsightSelectors on a trail or store without Insights: InsightNotEnabledException.
"""

from __future__ import annotations

from typing import Any

from . import lake_errors
from . import trail_wire as wire
from .errors import declare_errors
from .operations import OperationContext
from .services import context_part
from .trail_errors import WIRE_ERRORS, translate
from .wire_common import who

InvalidParameterCombinationException = WIRE_ERRORS["InvalidParameterCombinationException"]

_LOOKUP = ("TrailNotFoundException", "InvalidTrailNameException", "CloudTrailARNInvalidException")


def _target(params: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(TrailName, EventDataStore, InsightsDestination), exactly one of the first two given."""
    name = wire.opt_str(params, "TrailName")
    store = wire.opt_str(params, "EventDataStore")
    destination = wire.opt_str(params, "InsightsDestination")
    if name and (store or destination):
        raise InvalidParameterCombinationException(
            "You cannot specify TrailName together with EventDataStore or InsightsDestination."
        )
    if not name and not store:
        if destination:
            raise InvalidParameterCombinationException("You must specify EventDataStore together with InsightsDestination.")
        raise InvalidParameterCombinationException("You must specify either TrailName or EventDataStore.")
    return name or None, store or None, destination or None


def _store_json(eds: Any) -> dict[str, Any]:
    out = {"EventDataStoreArn": eds.arn, **_selectors_json(eds.insight_selectors)}
    if eds.insights_destination is not None:
        out["InsightsDestination"] = eds.insights_destination
    return out


def _selectors_json(selectors: Any) -> dict[str, Any]:
    items = []
    for s in selectors:
        item: dict[str, Any] = {"InsightType": s.insight_type}
        if s.event_categories is not None:
            item["EventCategories"] = list(s.event_categories)
        items.append(item)
    return {"InsightSelectors": items}


def put_insight_selectors(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    name, store, destination = _target(params)
    items = wire.opt_list(params, "InsightSelectors")
    if items is None:
        wire.req_str(params, "InsightSelectors")
    selectors = wire.insight_selectors(items or [])
    if name is not None:
        trails = context_part(ctx, "trails", "PutInsightSelectors")
        with translate():
            trail = trails.put_insight_selectors(*who(ctx), name, selectors)
        return wire.insight_selectors_json(trail)
    assert store is not None
    if selectors and destination is None:
        raise InvalidParameterCombinationException(
            "To enable Insights on an event data store, you must specify both EventDataStore and InsightsDestination."
        )
    stores = lake_errors.lake_part(ctx, "PutInsightSelectors", "stores")
    with lake_errors.translate():
        eds = stores.put_insight_selectors(*who(ctx), store, destination, selectors)
    return _store_json(eds)


def get_insight_selectors(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    name, store, _ = _target(params)
    if name is not None:
        trails = context_part(ctx, "trails", "GetInsightSelectors")
        with translate():
            trail = trails.get_insight_selectors(*who(ctx), name)
        return wire.insight_selectors_json(trail)
    assert store is not None
    stores = lake_errors.lake_part(ctx, "GetInsightSelectors", "stores")
    with lake_errors.translate():
        eds = stores.get_insight_selectors(*who(ctx), store)
    return _store_json(eds)


declare_errors(put_insight_selectors, WIRE_ERRORS, *_LOOKUP, "InvalidHomeRegionException", "NotOrganizationMasterAccountException",
               "InvalidInsightSelectorsException", "InvalidParameterCombinationException", "InvalidParameterException")
declare_errors(get_insight_selectors, WIRE_ERRORS, *_LOOKUP, "InsightNotEnabledException",
               "InvalidParameterCombinationException", "InvalidParameterException")

#: Operation name -> handler, registered through :data:`opentrail.api.trails.TRAIL_HANDLERS`.
INSIGHT_SELECTOR_HANDLERS = {
    "PutInsightSelectors": put_insight_selectors,
    "GetInsightSelectors": get_insight_selectors,
}
