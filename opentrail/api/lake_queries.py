"""Handlers of the Lake query operations: StartQuery, DescribeQuery, GetQueryResults, CancelQuery,
ListQueries (shapes of the botocore model, ``../shared/reference/lake.md`` §A.2).

Each handler calls ``ctx.lake.queries`` (:class:`opentrail.lake.queries.QueryManager`) in the
caller's account and signing Region. Query errors (:mod:`opentrail.lake.query_errors`) and the event
data store service's lookup errors become API errors of the same code in :func:`_translate`;
``<handler>.errors`` declares the codes a handler can answer that way (checked against the model by
the error contract test). Times on the wire are epoch seconds (JSON numbers).

QueryAlias + QueryParameters in StartQuery run a dashboard widget's statement with those values in
its ``?`` placeholders; QueryAlias + RefreshId in DescribeQuery name a widget's query of a dashboard
refresh (:mod:`opentrail.lake.dashboard_service`). Differences from AWS (docs/lake.md): StartQuery
with another account's EventDataStoreOwnerAccountId runs when each store's resource policy allows the
caller ``cloudtrail:StartQuery`` (the query is the caller's; other operations stay in the caller's
account). DeliveryS3Uri errors (InvalidS3BucketNameException,
InvalidS3PrefixException, S3BucketDoesNotExistException) are the trail operations' classes.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ContextManager

import orjson

from ..lake import query_errors as domain
from .errors import (AwsError, InvalidMaxResultsException, InvalidNextTokenException,
                     ValidationException, declare_errors, errors_by_code)
from . import lake_errors, trail_errors
from .lake_errors import lake_part
from .operations import OperationContext
from .trail_errors import InvalidParameterException

#: Error code -> AwsError subclass for the query errors (InvalidNextToken/InvalidMaxResults are the
#: shared classes of :mod:`.errors`).
WIRE_ERRORS: dict[str, type[AwsError]] = {
    cls.__name__: type(cls.__name__, (AwsError,), {"__doc__": cls.__doc__, "__module__": __name__})
    for cls in domain.QUERY_ERRORS if cls.__name__ not in ("InvalidNextTokenException", "InvalidMaxResultsException")
}
# The store lookup errors: the event data store operations' classes (one class per code).
for _code in ("EventDataStoreNotFoundException", "EventDataStoreARNInvalidException", "InactiveEventDataStoreException"):
    WIRE_ERRORS[_code] = lake_errors.WIRE_ERRORS[_code]
# DeliveryS3Uri: the trail operations' classes for the same codes.
for _code in ("InvalidS3BucketNameException", "InvalidS3PrefixException", "S3BucketDoesNotExistException"):
    WIRE_ERRORS[_code] = trail_errors.WIRE_ERRORS[_code]
WIRE_ERRORS["InvalidNextTokenException"] = InvalidNextTokenException
WIRE_ERRORS["InvalidMaxResultsException"] = InvalidMaxResultsException
WIRE_ERRORS["InvalidParameterException"] = InvalidParameterException
globals().update({k: v for k, v in WIRE_ERRORS.items() if k not in globals()})

#: Lookup errors any handler naming a store can answer.
_STORE = ("EventDataStoreNotFoundException", "EventDataStoreARNInvalidException", "InactiveEventDataStoreException")
LIST_QUERIES_MAX = 1000
#: DescribeQuery and GetQueryResults on a QUEUED or RUNNING query answer once it ends if that is
#: within this many seconds (else its status then): a client polling sees the end at once rather
#: than at its next poll, and polls (each one a recorded call) less. AWS answers at once; a
#: slower answer is all a client can tell.
POLL_WAIT_S = 0.25
#: The model's QueryStatus enum.
QUERY_STATUSES = ("QUEUED", "RUNNING", "FINISHED", "FAILED", "CANCELLED", "TIMED_OUT")


def _translate() -> ContextManager[None]:
    """Re-raise query errors, and the store service's errors of a known code, as API errors."""
    return errors_by_code(WIRE_ERRORS)


def _queries(ctx: OperationContext, operation: str) -> Any:
    return lake_part(ctx, operation, "queries")


def _str(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None and required:
        raise ValidationException(f"1 validation error detected: Value null at '{name[0].lower() + name[1:]}' "
                                  "failed to satisfy constraint: Member must not be null")
    if value is not None and not isinstance(value, str):
        raise ValidationException(f"{name} must be a string.")
    return value


def _declare(handler: Any, *codes: str) -> None:
    declare_errors(handler, WIRE_ERRORS, *codes)


def _cross_account_check(ctx: OperationContext, owner: str) -> Any:
    """For StartQuery on another account's stores: a check that each store's resource policy
    allows the caller ``cloudtrail:StartQuery`` (else AccessDeniedException, as IAM answers)."""
    from .authorization import access_denied
    from .cloudtrail_data import allowed_by_policy, caller_principal

    def check(store: Any) -> None:
        if not allowed_by_policy(ctx, "cloudtrail:StartQuery", store.arn, owner, {}):
            raise access_denied("cloudtrail", f"User: {caller_principal(ctx.caller).arn} is not authorized to perform: "
                                f"cloudtrail:StartQuery on resource: {store.arn} because no resource-based policy "
                                "allows the cloudtrail:StartQuery action")
    return check


def start_query(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    queries = _queries(ctx, "StartQuery")
    statement = _str(params, "QueryStatement")
    alias = _str(params, "QueryAlias")
    if statement is not None and (alias is not None or params.get("QueryParameters") is not None):
        raise InvalidParameterException("Pass either QueryStatement, or QueryAlias with QueryParameters, not both.")
    if statement is None:
        if alias is None:
            if params.get("QueryParameters") is not None:
                raise InvalidParameterException("QueryParameters need a QueryAlias.")
            raise InvalidParameterException("QueryStatement is required.")
        statement = _alias_statement(ctx, alias, params.get("QueryParameters") or [])
    owner = _str(params, "EventDataStoreOwnerAccountId") or ctx.caller.account_id
    check = _cross_account_check(ctx, owner) if owner != ctx.caller.account_id else None
    delivery = _str(params, "DeliveryS3Uri")
    with _translate():
        query_id = queries.start(ctx.caller.account_id, ctx.caller.region, statement, delivery,
                                 store_account=owner, check_store=check)
    return {"QueryId": query_id, "EventDataStoreOwnerAccountId": owner}


def _alias_statement(ctx: OperationContext, alias: str, values: list[str]) -> str:
    """The statement of the dashboard widget ``alias`` with ``values`` in its placeholders
    (:func:`opentrail.lake.dashboards.bind_list`)."""
    from ..lake.dashboards import bind_list

    dashboards = getattr(ctx.lake, "dashboards", None)
    if dashboards is None:
        raise InvalidParameterException(f"The query alias {alias[:256]} does not name a dashboard widget.")
    with _translate():
        widget = dashboards.template(ctx.caller.account_id, ctx.caller.region, alias)
        return bind_list(widget.statement, [str(v) for v in values])


def _query_id(params: dict[str, Any], ctx: OperationContext | None = None) -> str:
    """QueryId, or (DescribeQuery) the query of widget QueryAlias in dashboard refresh RefreshId."""
    query_id = _str(params, "QueryId")
    if query_id is None:
        alias = _str(params, "QueryAlias")
        if alias is not None and ctx is not None:
            refresh_id = _str(params, "RefreshId")
            dashboards = getattr(ctx.lake, "dashboards", None)
            if refresh_id is None or dashboards is None:
                raise InvalidParameterException("QueryAlias needs the RefreshId of a dashboard refresh.")
            with _translate():
                found: str = dashboards.refresh_query(ctx.caller.account_id, alias, refresh_id)
            return found
        if alias is not None:
            raise InvalidParameterException("Pass QueryId.")
        raise InvalidParameterException("QueryId is required.")
    return query_id


def describe_query(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    queries = _queries(ctx, "DescribeQuery")
    query_id = _query_id(params, ctx)
    with _translate():
        info = queries.describe(ctx.caller.account_id, query_id, POLL_WAIT_S)
    out: dict[str, Any] = {
        "QueryId": info.id,
        "QueryString": info.statement,
        "QueryStatus": info.status,
        "QueryStatistics": {
            "EventsMatched": info.events_matched,
            "EventsScanned": info.events_scanned,
            "BytesScanned": info.bytes_scanned,
            "ExecutionTimeInMillis": info.execution_ms,
            "CreationTime": info.creation_time,
        },
        "EventDataStoreOwnerAccountId": info.account_id,
    }
    if info.error:
        out["ErrorMessage"] = info.error
    if info.delivery_s3_uri:
        out["DeliveryS3Uri"] = info.delivery_s3_uri
    if info.delivery_status:
        out["DeliveryStatus"] = info.delivery_status
    return out


def get_query_results(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    queries = _queries(ctx, "GetQueryResults")
    query_id = _query_id(params)
    max_results = params.get("MaxQueryResults")
    if max_results is not None and (not isinstance(max_results, int) or not 1 <= max_results <= 1000):
        raise InvalidMaxResultsException("MaxQueryResults must be between 1 and 1000.")
    token = _str(params, "NextToken")
    with _translate():
        info, rows, next_token = queries.results(ctx.caller.account_id, query_id, max_results, token, POLL_WAIT_S)
    names = info.column_names
    out: dict[str, Any] = {
        "QueryStatus": info.status,
        "QueryStatistics": {"ResultsCount": len(rows), "TotalResultsCount": info.results_count,
                            "BytesScanned": info.bytes_scanned},
        "QueryResultRows": [[{names[i]: value} for i, value in enumerate(row)] for row in rows],
    }
    if next_token:
        out["NextToken"] = next_token
    if info.error:
        out["ErrorMessage"] = info.error
    return out


def cancel_query(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    queries = _queries(ctx, "CancelQuery")
    query_id = _query_id(params)
    with _translate():
        info = queries.cancel(ctx.caller.account_id, query_id)
    return {"QueryId": info.id, "QueryStatus": info.status, "EventDataStoreOwnerAccountId": info.account_id}


def _list_offset(token: str | None, key: list[Any]) -> int:
    if token is None:
        return 0
    try:
        got_key, offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidNextTokenException() from None
    if got_key != key or not isinstance(offset, int) or offset < 0:
        raise InvalidNextTokenException()
    return offset


def list_queries(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    queries = _queries(ctx, "ListQueries")
    store_ref = _str(params, "EventDataStore", required=True)
    start, end = params.get("StartTime"), params.get("EndTime")
    if start is not None and end is not None and start > end:
        raise WIRE_ERRORS["InvalidDateRangeException"](domain.InvalidDateRangeException.default_message)
    status = _str(params, "QueryStatus")
    if status is not None and status not in QUERY_STATUSES:
        raise WIRE_ERRORS["InvalidQueryStatusException"](
            f"Query status {status[:100]} is not valid. Valid values: {', '.join(QUERY_STATUSES)}.")
    max_results = params.get("MaxResults")
    if max_results is not None and (not isinstance(max_results, int) or not 1 <= max_results <= LIST_QUERIES_MAX):
        raise InvalidMaxResultsException("MaxResults must be between 1 and 1000.")
    limit = max_results or LIST_QUERIES_MAX
    with _translate():
        store = ctx.lake.stores.find(ctx.caller.account_id, ctx.caller.region, store_ref)
        found = queries.list(ctx.caller.account_id, store.id, start_time=start, end_time=end, status=status)
    key = [store.id, start, end, status]
    offset = _list_offset(_str(params, "NextToken"), key)
    page = found[offset:offset + limit]
    out: dict[str, Any] = {"Queries": [{"QueryId": q.id, "QueryStatus": q.status, "CreationTime": q.creation_time}
                                       for q in page]}
    if offset + limit < len(found):
        out["NextToken"] = base64.urlsafe_b64encode(orjson.dumps([key, offset + limit])).decode()
    return out


_declare(start_query, *_STORE, "InvalidQueryStatementException", "MaxConcurrentQueriesException",
         "InvalidParameterException", "InvalidS3BucketNameException", "InvalidS3PrefixException",
         "S3BucketDoesNotExistException")
_declare(describe_query, "QueryIdNotFoundException", "InvalidParameterException")
_declare(get_query_results, "QueryIdNotFoundException", "InvalidNextTokenException", "InvalidMaxResultsException",
         "InvalidParameterException")
_declare(cancel_query, "QueryIdNotFoundException", "InactiveQueryException", "InvalidParameterException")
_declare(list_queries, *_STORE, "InvalidDateRangeException", "InvalidMaxResultsException", "InvalidNextTokenException",
         "InvalidQueryStatusException")

#: Operation name -> handler.
QUERY_HANDLERS = {
    "StartQuery": start_query,
    "DescribeQuery": describe_query,
    "GetQueryResults": get_query_results,
    "CancelQuery": cancel_query,
    "ListQueries": list_queries,
}
