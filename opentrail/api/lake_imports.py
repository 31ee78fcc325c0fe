"""Handlers of the Lake import operations: StartImport, GetImport, ListImports, ListImportFailures,
StopImport (shapes of the botocore model, ``../shared/reference/lake.md`` §A.4).

Each handler calls ``ctx.lake.imports`` (:class:`opentrail.lake.imports.ImportManager`) in the
caller's account and signing Region; import errors and the event data store lookup errors become
API errors of the same code (:func:`_translate`); ``<handler>.errors`` declares them (checked
against the model by the error contract test). Times on the wire are epoch seconds.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, ContextManager

import orjson

from ..lake import errors as lake_domain
from ..lake import imports as domain
from . import lake_errors
from .lake_errors import lake_part
from .errors import AwsError, InvalidNextTokenException, declare_errors, errors_by_code
from .operations import OperationContext
from .trail_errors import InvalidParameterException

#: Error code -> AwsError subclass for every error an import handler answers.
WIRE_ERRORS: dict[str, type[AwsError]] = {
    cls.__name__: type(cls.__name__, (AwsError,), {"__doc__": cls.__doc__, "__module__": __name__})
    for cls in domain.IMPORT_ERRORS
}
for _code in ("EventDataStoreNotFoundException", "EventDataStoreARNInvalidException", "InactiveEventDataStoreException",
              "InvalidEventDataStoreCategoryException", "InvalidEventDataStoreStatusException"):
    WIRE_ERRORS[_code] = lake_errors.WIRE_ERRORS[_code]
WIRE_ERRORS["InvalidParameterException"] = InvalidParameterException
WIRE_ERRORS["InvalidNextTokenException"] = InvalidNextTokenException
globals().update({k: v for k, v in WIRE_ERRORS.items() if k not in globals()})

_STORE = ("EventDataStoreNotFoundException", "EventDataStoreARNInvalidException", "InactiveEventDataStoreException",
          "InvalidEventDataStoreCategoryException")
LIST_MAX = 1000


def _translate() -> ContextManager[None]:
    """Re-raise import and store lookup errors of a known code as API errors."""
    return errors_by_code(WIRE_ERRORS)


def _imports(ctx: OperationContext, operation: str) -> Any:
    return lake_part(ctx, operation, "imports")


def _declare(handler: Any, *codes: str) -> None:
    declare_errors(handler, WIRE_ERRORS, *codes)


def _import_id(params: dict[str, Any]) -> str:
    value = params.get("ImportId")
    if not isinstance(value, str):
        raise InvalidParameterException("ImportId is required.")
    return value


def _source(info: domain.ImportInfo) -> dict[str, Any]:
    return {"S3": {"S3LocationUri": info.s3_uri, "S3BucketRegion": info.bucket_region,
                   "S3BucketAccessRoleArn": info.role_arn}}


def _statistics(info: domain.ImportInfo) -> dict[str, int]:
    return {"PrefixesFound": info.prefixes_found, "PrefixesCompleted": info.prefixes_completed,
            "FilesCompleted": info.files_completed, "EventsCompleted": info.events_completed,
            "FailedEntries": info.failed_entries}


def _shape(info: domain.ImportInfo, *, statistics: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"ImportId": info.id, "Destinations": [info.destination], "ImportSource": _source(info)}
    if info.start_time is not None:
        out["StartEventTime"] = info.start_time
    if info.end_time is not None:
        out["EndEventTime"] = info.end_time
    out.update({"ImportStatus": info.status, "CreatedTimestamp": info.created, "UpdatedTimestamp": info.updated})
    if statistics:
        out["ImportStatistics"] = _statistics(info)
    return out


def start_import(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    imports = _imports(ctx, "StartImport")
    import_id = params.get("ImportId")
    destinations, source = params.get("Destinations"), params.get("ImportSource")
    if import_id is None and (destinations is None or source is None):
        raise InvalidParameterException("Destinations and ImportSource are required to start an import; "
                                        "ImportId alone retries one.")
    with _translate():
        info = imports.start_import(ctx.caller.account_id, ctx.caller.region, destinations, source,
                                    params.get("StartEventTime"), params.get("EndEventTime"), import_id)
    return _shape(info, statistics=False)


def get_import(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    imports = _imports(ctx, "GetImport")
    import_id = _import_id(params)
    with _translate():
        info = imports.get(ctx.caller.account_id, import_id)
    return _shape(info, statistics=True)


def stop_import(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    imports = _imports(ctx, "StopImport")
    import_id = _import_id(params)
    with _translate():
        info = imports.stop_import(ctx.caller.account_id, import_id)
    return _shape(info, statistics=True)


def _offset(token: str | None, key: list[Any]) -> int:
    if token is None:
        return 0
    try:
        got_key, offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InvalidNextTokenException() from None
    if got_key != key or not isinstance(offset, int) or offset < 0:
        raise InvalidNextTokenException()
    return offset


def _page(items: list[Any], params: dict[str, Any], key: list[Any]) -> tuple[list[Any], str | None]:
    limit = params.get("MaxResults") or LIST_MAX
    offset = _offset(params.get("NextToken"), key)
    page = items[offset:offset + limit]
    token = None
    if offset + limit < len(items):
        token = base64.urlsafe_b64encode(orjson.dumps([key, offset + limit])).decode()
    return page, token


def list_imports(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    imports = _imports(ctx, "ListImports")
    destination, status = params.get("Destination"), params.get("ImportStatus")
    found: list[Any] = []
    with _translate():
        try:
            if destination is not None:
                destination = ctx.lake.stores.find(ctx.caller.account_id, ctx.caller.region, destination).arn
            found = imports.list(ctx.caller.account_id, ctx.caller.region, destination, status)
        except lake_domain.EventDataStoreNotFoundException:
            pass  # not a modeled error of ListImports: no store, no imports
    page, token = _page(found, params, [destination, status])
    out: dict[str, Any] = {"Imports": [{"ImportId": i.id, "ImportStatus": i.status, "Destinations": [i.destination],
                                        "CreatedTimestamp": i.created, "UpdatedTimestamp": i.updated} for i in page]}
    if token:
        out["NextToken"] = token
    return out


def list_import_failures(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    imports = _imports(ctx, "ListImportFailures")
    import_id = _import_id(params)
    try:
        found = imports.failures(ctx.caller.account_id, import_id)
    except domain.ImportNotFoundException as exc:  # not a modeled error of ListImportFailures
        raise InvalidParameterException(exc.message) from None
    page, token = _page(found, params, [import_id])
    out: dict[str, Any] = {"Failures": [{"Location": f.location, "Status": f.status, "ErrorType": f.error_type,
                                         "ErrorMessage": f.error_message, "LastUpdatedTime": f.updated} for f in page]}
    if token:
        out["NextToken"] = token
    return out


_declare(start_import, *_STORE, "AccountHasOngoingImportException", "InvalidImportSourceException",
         "ImportNotFoundException", "InvalidParameterException")
_declare(get_import, "ImportNotFoundException", "InvalidParameterException")
_declare(stop_import, "ImportNotFoundException", "InvalidParameterException")
_declare(list_imports, "EventDataStoreARNInvalidException", "InvalidNextTokenException", "InvalidParameterException")
_declare(list_import_failures, "InvalidNextTokenException", "InvalidParameterException")

#: Operation name -> handler.
IMPORT_HANDLERS = {
    "StartImport": start_import,
    "GetImport": get_import,
    "ListImports": list_imports,
    "ListImportFailures": list_import_failures,
    "StopImport": stop_import,
}
