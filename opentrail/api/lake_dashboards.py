"""Handlers of the Lake dashboard operations (Create/Get/Update/Delete/ListDashboards,
StartDashboardRefresh), SearchSampleQueries and GenerateQuery (shapes of the botocore model,
``../shared/reference/lake.md`` §A.5-A.6).

Dashboards call ``ctx.lake.dashboards`` (:class:`opentrail.lake.dashboard_service.DashboardService`)
in the caller's account and signing Region; its errors become API errors of the same code
(``<handler>.errors`` lists them for the error contract test). Times on the wire are epoch seconds.

GenerateQuery answers UnsupportedOperationException ("the requested operation is not supported",
the model's error for it) once its request and event data store are checked: opentrail has no
query generator (AWS's runs a hosted large language model; docs/lake.md).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ContextManager

import orjson

from ..lake import dashboard_errors as domain
from ..lake.dashboards import RefreshSchedule, Widget
from ..lake.sample_queries import search
from . import lake_queries, trail_errors
from . import trail_wire as wire
from .errors import AwsError, ValidationException, declare_errors, errors_by_code
from .lake_errors import lake_part
from .operations import OperationContext

#: Error code -> AwsError subclass for the dashboard and sample query operations.
WIRE_ERRORS: dict[str, type[AwsError]] = {
    cls.__name__: type(cls.__name__, (AwsError,), {"__doc__": cls.__doc__, "__module__": __name__})
    for cls in (domain.ConflictException, domain.ServiceQuotaExceededException,
                domain.UnsupportedOperationException, domain.InvalidParameterException)
}
WIRE_ERRORS["ValidationException"] = ValidationException
for _code in ("InvalidTagParameterException", "ResourceNotFoundException", "TagsLimitExceededException"):
    WIRE_ERRORS[_code] = trail_errors.WIRE_ERRORS[_code]
for _code in ("EventDataStoreNotFoundException", "InactiveEventDataStoreException", "InvalidQueryStatementException",
              "EventDataStoreARNInvalidException", "QueryIdNotFoundException"):
    WIRE_ERRORS[_code] = lake_queries.WIRE_ERRORS[_code]
globals().update({k: v for k, v in WIRE_ERRORS.items() if k not in globals()})

SEARCH_DEFAULT_RESULTS = 10
LIST_DEFAULT_RESULTS = 1000


def _translate() -> ContextManager[None]:
    return errors_by_code(WIRE_ERRORS)


def _dashboards(ctx: OperationContext, operation: str) -> Any:
    return lake_part(ctx, operation, "dashboards")


def _widgets(params: dict[str, Any]) -> tuple[Widget, ...] | None:
    items = params.get("Widgets")
    if items is None:
        return None
    out = []
    for item in items:
        out.append(Widget(item["QueryStatement"], tuple(item.get("QueryParameters") or ()),
                          tuple((item.get("ViewProperties") or {}).items())))
    return tuple(out)


def _schedule(params: dict[str, Any]) -> RefreshSchedule | None:
    raw = params.get("RefreshSchedule")
    if raw is None:
        return None
    freq = raw.get("Frequency") or {}
    value = freq.get("Value")
    return RefreshSchedule(unit=freq.get("Unit"), value=None if value is None else int(value), status=raw.get("Status") or "DISABLED",
                           time_of_day=raw.get("TimeOfDay") or "00:00")


def _schedule_json(s: RefreshSchedule | None) -> dict[str, Any] | None:
    if s is None:
        return None
    out: dict[str, Any] = {"Status": s.status, "TimeOfDay": s.time_of_day}
    if s.unit is not None:
        out["Frequency"] = {"Unit": s.unit, "Value": s.value}
    return out


def _widgets_json(d: Any) -> list[dict[str, Any]]:
    out = []
    for w in d.widgets:
        item: dict[str, Any] = {"QueryAlias": w.alias, "QueryStatement": w.statement,
                                "ViewProperties": dict(w.view_properties)}
        if w.parameters:
            item["QueryParameters"] = list(w.parameters)
        out.append(item)
    return out


def _dashboard_json(d: Any, *, name: bool = True, times: bool = True, tags: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"DashboardArn": d.arn, "Type": d.type, "Widgets": _widgets_json(d),
                           "TerminationProtectionEnabled": d.termination_protection_enabled}
    if name:
        out["Name"] = d.name
    schedule = _schedule_json(d.refresh_schedule)
    if schedule is not None:
        out["RefreshSchedule"] = schedule
    if times and d.type == "CUSTOM":
        out["CreatedTimestamp"] = d.created_time
        out["UpdatedTimestamp"] = d.updated_time
    if tags and d.tags:
        out["TagsList"] = wire.tags_json(d.tags)
    return out


def create_dashboard(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "CreateDashboard")
    with _translate():
        d = service.create(ctx.caller.account_id, ctx.caller.region, params["Name"], _widgets(params) or (),
                           _schedule(params), params.get("TerminationProtectionEnabled"), wire.tags(params))
    return _dashboard_json(d, times=False, tags=True)


def get_dashboard(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "GetDashboard")
    with _translate():
        d = service.find(ctx.caller.account_id, ctx.caller.region, params["DashboardId"])
        refresh_id, failure = service.last_refresh(d)
    out = _dashboard_json(d, name=False)
    out["Status"] = d.status
    if refresh_id is not None:
        out["LastRefreshId"] = refresh_id
    if failure:
        out["LastRefreshFailureReason"] = failure
    return out


def update_dashboard(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "UpdateDashboard")
    with _translate():
        d = service.update(ctx.caller.account_id, ctx.caller.region, params["DashboardId"], _widgets(params),
                           _schedule(params), params.get("TerminationProtectionEnabled"))
    return _dashboard_json(d)


def delete_dashboard(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "DeleteDashboard")
    with _translate():
        service.delete(ctx.caller.account_id, ctx.caller.region, params["DashboardId"])
    return {}


def _offset(token: str | None, key: list[Any], error: type[AwsError]) -> int:
    if token is None:
        return 0
    try:
        got_key, offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise error("The NextToken is not valid.") from None
    if got_key != key or not isinstance(offset, int) or offset < 0:
        raise error("The NextToken is not valid for this request.")
    return offset


def _token(key: list[Any], offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([key, offset])).decode()


def list_dashboards(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "ListDashboards")
    prefix, type_ = params.get("NamePrefix"), params.get("Type")
    limit = int(params.get("MaxResults") or LIST_DEFAULT_RESULTS)  # a fraction is truncated (Coral)
    key = [prefix, type_]
    offset = _offset(params.get("NextToken"), key, ValidationException)
    found = service.list(ctx.caller.account_id, ctx.caller.region, prefix, type_)
    page = found[offset:offset + limit]
    out: dict[str, Any] = {"Dashboards": [{"DashboardArn": d.arn, "Type": d.type} for d in page]}
    if offset + limit < len(found):
        out["NextToken"] = _token(key, offset + limit)
    return out


def start_dashboard_refresh(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _dashboards(ctx, "StartDashboardRefresh")
    with _translate():
        refresh_id = service.start_refresh(ctx.caller.account_id, ctx.caller.region, params["DashboardId"],
                                           params.get("QueryParameterValues") or {})
    return {"RefreshId": refresh_id}


def search_sample_queries(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    phrase = params["SearchPhrase"]
    limit = int(params.get("MaxResults") or SEARCH_DEFAULT_RESULTS)
    Invalid = WIRE_ERRORS["InvalidParameterException"]
    if not phrase.strip():
        raise Invalid("SearchPhrase must contain at least one word.")
    key = [phrase]
    offset = _offset(params.get("NextToken"), key, Invalid)
    found = search(phrase)
    page = found[offset:offset + limit]
    out: dict[str, Any] = {"SearchResults": [{"Name": q.name, "Description": q.description, "SQL": q.sql,
                                              "Relevance": relevance} for q, relevance in page]}
    if offset + limit < len(found):
        out["NextToken"] = _token(key, offset + limit)
    return out


def generate_query(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = lake_part(ctx, "GenerateQuery", "stores")
    with _translate():
        eds = stores.find(ctx.caller.account_id, ctx.caller.region, params["EventDataStores"][0])
        if eds.status == "PENDING_DELETION":
            raise WIRE_ERRORS["InactiveEventDataStoreException"](f"Event data store {eds.arn} is inactive.")
    raise WIRE_ERRORS["UnsupportedOperationException"](
        "GenerateQuery is not supported by this opentrail server: it has no query generator (AWS generates queries "
        "with a hosted large language model). Search the sample queries with SearchSampleQueries instead.")


def _declare(handler: Any, *codes: str) -> None:
    declare_errors(handler, WIRE_ERRORS, *codes)


_WIDGET_CHECKS = ("EventDataStoreNotFoundException", "InactiveEventDataStoreException", "InvalidQueryStatementException",
                  "ServiceQuotaExceededException", "UnsupportedOperationException", "ConflictException")
_declare(create_dashboard, *_WIDGET_CHECKS, "InvalidTagParameterException")
_declare(update_dashboard, *_WIDGET_CHECKS, "ResourceNotFoundException")
_declare(get_dashboard, "ResourceNotFoundException", "UnsupportedOperationException")
_declare(delete_dashboard, "ResourceNotFoundException", "ConflictException", "UnsupportedOperationException")
_declare(list_dashboards, "UnsupportedOperationException")
_declare(start_dashboard_refresh, "ResourceNotFoundException", "EventDataStoreNotFoundException",
         "InactiveEventDataStoreException", "ServiceQuotaExceededException", "UnsupportedOperationException")
_declare(search_sample_queries, "InvalidParameterException", "UnsupportedOperationException")
_declare(generate_query, "EventDataStoreARNInvalidException", "EventDataStoreNotFoundException",
         "InactiveEventDataStoreException", "UnsupportedOperationException")

#: Operation name -> handler.
DASHBOARD_HANDLERS = {
    "CreateDashboard": create_dashboard,
    "GetDashboard": get_dashboard,
    "UpdateDashboard": update_dashboard,
    "DeleteDashboard": delete_dashboard,
    "ListDashboards": list_dashboards,
    "StartDashboardRefresh": start_dashboard_refresh,
    "SearchSampleQueries": search_sample_queries,
    "GenerateQuery": generate_query,
}
