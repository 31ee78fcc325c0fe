"""Handlers of the event data store operations: CreateEventDataStore, GetEventDataStore,
UpdateEventDataStore, DeleteEventDataStore, RestoreEventDataStore, ListEventDataStores,
StartEventDataStoreIngestion, StopEventDataStoreIngestion, EnableFederation, DisableFederation
(AddTags/RemoveTags/ListTags on event data store ARNs are routed from :mod:`.trails`).

Each handler parses the wire members (advanced selectors and tags with :mod:`.trail_wire`), calls
:class:`opentrail.lake.service.EventDataStoreService` (``ctx.lake.stores``) in the caller's account
and signing Region, and renders the botocore model's output shape: members without a value are left
out, CreatedTimestamp/UpdatedTimestamp are epoch seconds (JSON numbers). CreateEventDataStore
answers Status CREATED (the store is ENABLED right after, as on AWS). GetEventDataStore and
UpdateEventDataStore add FederationStatus (and FederationRoleArn while federated: EnableFederation
records the role and the status; there is no Glue catalog, the store's files are read directly) and
no PartitionKeys. ListEventDataStores items hold EventDataStoreArn and Name (the model deprecates the
other item members); pages of at most MaxResults (1-1000, default 1000), NextToken
``base64url(orjson([created_time, id]))`` of the last store. ``<handler>.errors`` declares the codes a
handler answers through the service (checked against the model by the error contract test).
"""

from __future__ import annotations

from typing import Any


from ..lake.model import EventDataStore
from ..lake.service import EventDataStoreService, StoreSettings
from . import trail_wire as wire
from .errors import (InvalidMaxResultsException, SerializationException,
                     declare_errors)
from .lake_errors import WIRE_ERRORS, lake_part, list_cursor, translate
from .operations import OperationContext
from .wire_common import cursor_token

DEFAULT_MAX_RESULTS = 1000
MAX_RESULTS = 1000

_LOOKUP = ("EventDataStoreARNInvalidException", "EventDataStoreNotFoundException")
_SETTINGS = ("InvalidEventSelectorsException", "InvalidParameterException", "InvalidKmsKeyIdException",
             "OrganizationsNotInUseException", "NotOrganizationMasterAccountException",
             "OrganizationNotInAllFeaturesModeException", "CloudTrailAccessNotEnabledException")


def _stores(ctx: OperationContext, operation: str) -> EventDataStoreService:
    return lake_part(ctx, operation, "stores")


def _who(ctx: OperationContext) -> tuple[str, str]:
    return ctx.caller.account_id, ctx.caller.region


def _declare(handler: Any, *codes: str) -> None:
    declare_errors(handler, WIRE_ERRORS, *codes)


def _opt_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SerializationException(f"{name} must be a number.")
    return int(value)


def _settings(params: dict[str, Any], *, create: bool) -> StoreSettings:
    items = wire.opt_list(params, "AdvancedEventSelectors")
    selectors = None if items is None else wire.advanced_event_selectors(items)
    if create and selectors == ():
        selectors = None  # an empty list is the default, as if not given
    return StoreSettings(
        name=wire.opt_str(params, "Name"),
        advanced_event_selectors=selectors,
        multi_region_enabled=wire.opt_bool(params, "MultiRegionEnabled"),
        organization_enabled=wire.opt_bool(params, "OrganizationEnabled"),
        retention_period=_opt_int(params, "RetentionPeriod"),
        termination_protection_enabled=wire.opt_bool(params, "TerminationProtectionEnabled"),
        kms_key_id=wire.opt_str(params, "KmsKeyId"),
        billing_mode=wire.opt_str(params, "BillingMode"),
    )


def store_json(eds: EventDataStore, *, status: str | None = None, federation: bool = False,
               tags: bool = False) -> dict[str, Any]:
    """The event data store members of the Create/Get/Update/RestoreEventDataStore responses."""
    out: dict[str, Any] = {
        "EventDataStoreArn": eds.arn,
        "Name": eds.name,
        "Status": status or eds.status,
        "AdvancedEventSelectors": [wire.advanced_selector_json(s) for s in eds.advanced_event_selectors],
        "MultiRegionEnabled": eds.multi_region_enabled,
        "OrganizationEnabled": eds.organization_enabled,
        "BillingMode": eds.billing_mode,
        "RetentionPeriod": eds.retention_period_days,
        "TerminationProtectionEnabled": eds.termination_protection_enabled,
    }
    if tags and eds.tags:
        out["TagsList"] = wire.tags_json(eds.tags)
    out["CreatedTimestamp"] = eds.created_time
    out["UpdatedTimestamp"] = eds.updated_time
    if eds.kms_key_id:
        out["KmsKeyId"] = eds.kms_key_id
    if federation:
        out["FederationStatus"] = eds.federation_status
        if eds.federation_role_arn:
            out["FederationRoleArn"] = eds.federation_role_arn
    return out


def create_event_data_store(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "CreateEventDataStore")
    wire.req_str(params, "Name")
    settings = _settings(params, create=True)
    tags = wire.tags(params)
    start = wire.opt_bool(params, "StartIngestion")
    with translate():
        eds = stores.create(*_who(ctx), settings, tags, start_ingestion=start is not False)
    return store_json(eds, status="CREATED", tags=True)


def get_event_data_store(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "GetEventDataStore")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        eds = stores.find(*_who(ctx), ref)
    return store_json(eds, federation=True)


def update_event_data_store(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "UpdateEventDataStore")
    ref = wire.req_str(params, "EventDataStore")
    settings = _settings(params, create=False)
    with translate():
        eds = stores.update(*_who(ctx), ref, settings)
    return store_json(eds, federation=True)


def delete_event_data_store(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "DeleteEventDataStore")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        stores.delete(*_who(ctx), ref)
    return {}


def restore_event_data_store(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "RestoreEventDataStore")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        eds = stores.restore(*_who(ctx), ref)
    return store_json(eds)


def start_event_data_store_ingestion(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "StartEventDataStoreIngestion")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        stores.start_ingestion(*_who(ctx), ref)
    return {}


def stop_event_data_store_ingestion(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "StopEventDataStoreIngestion")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        stores.stop_ingestion(*_who(ctx), ref)
    return {}


def list_event_data_stores(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "ListEventDataStores")
    limit = _opt_int(params, "MaxResults")
    if limit is not None and not 1 <= limit <= MAX_RESULTS:
        raise InvalidMaxResultsException(f"MaxResults must be between 1 and {MAX_RESULTS}.")
    token = wire.opt_str(params, "NextToken")
    after = list_cursor(token) if token is not None else None
    page, cursor = stores.list(*_who(ctx), after, limit or DEFAULT_MAX_RESULTS)
    out: dict[str, Any] = {"EventDataStores": [{"EventDataStoreArn": s.arn, "Name": s.name} for s in page]}
    if cursor is not None:
        out["NextToken"] = cursor_token(cursor)
    return out


_declare(create_event_data_store, "EventDataStoreAlreadyExistsException", "EventDataStoreMaxLimitExceededException",
         "InvalidTagParameterException", *_SETTINGS)
_declare(get_event_data_store, *_LOOKUP)
_declare(update_event_data_store, *_LOOKUP, *_SETTINGS, "EventDataStoreAlreadyExistsException",
         "InactiveEventDataStoreException", "InvalidInsightSelectorsException")
_declare(delete_event_data_store, *_LOOKUP, "InactiveEventDataStoreException",
         "EventDataStoreTerminationProtectedException", "EventDataStoreFederationEnabledException",
         "ChannelExistsForEDSException")
_declare(restore_event_data_store, *_LOOKUP, "InvalidEventDataStoreStatusException")
_declare(start_event_data_store_ingestion, *_LOOKUP, "InvalidEventDataStoreStatusException",
         "InvalidEventDataStoreCategoryException")
_declare(stop_event_data_store_ingestion, *_LOOKUP, "InvalidEventDataStoreStatusException",
         "InvalidEventDataStoreCategoryException")
_declare(list_event_data_stores)


def enable_federation(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "EnableFederation")
    ref = wire.req_str(params, "EventDataStore")
    role = wire.req_str(params, "FederationRoleArn")
    with translate():
        eds = stores.enable_federation(*_who(ctx), ref, role)
    return {"EventDataStoreArn": eds.arn, "FederationStatus": eds.federation_status,
            "FederationRoleArn": eds.federation_role_arn}


def disable_federation(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    stores = _stores(ctx, "DisableFederation")
    ref = wire.req_str(params, "EventDataStore")
    with translate():
        eds = stores.disable_federation(*_who(ctx), ref)
    return {"EventDataStoreArn": eds.arn, "FederationStatus": eds.federation_status}


_declare(enable_federation, *_LOOKUP, "InvalidParameterException", "InactiveEventDataStoreException",
         "EventDataStoreFederationEnabledException")
_declare(disable_federation, *_LOOKUP, "InactiveEventDataStoreException")

#: Operation name -> handler, registered in :mod:`opentrail.api.operations`.
LAKE_STORE_HANDLERS = {
    "CreateEventDataStore": create_event_data_store,
    "GetEventDataStore": get_event_data_store,
    "UpdateEventDataStore": update_event_data_store,
    "DeleteEventDataStore": delete_event_data_store,
    "RestoreEventDataStore": restore_event_data_store,
    "ListEventDataStores": list_event_data_stores,
    "StartEventDataStoreIngestion": start_event_data_store_ingestion,
    "StopEventDataStoreIngestion": stop_event_data_store_ingestion,
    "EnableFederation": enable_federation,
    "DisableFederation": disable_federation,
}
