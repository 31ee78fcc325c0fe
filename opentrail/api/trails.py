"""Handlers of the trail operations: CreateTrail, UpdateTrail, DeleteTrail, GetTrail,
DescribeTrails, ListTrails, GetTrailStatus, StartLogging, StopLogging, AddTags, RemoveTags,
ListTags, PutEventSelectors, GetEventSelectors; PutInsightSelectors and GetInsightSelectors are in
:mod:`.insight_selectors` (trails and event data stores).

Each handler parses the wire members (:mod:`.trail_wire`), calls :class:`TrailService` in the
caller's account and signing Region, and renders the botocore model's output shape. Trail errors
become API errors in :func:`.trail_errors.translate`. ``<handler>.errors`` declares the codes a
handler can answer through the service (checked against the model by the error contract test).

ListTrails pages hold :data:`LIST_TRAILS_PAGE_SIZE` trails; NextToken is
``base64url(orjson([home_region, name]))`` of the last trail, a token that does not decode is
ValidationException (the model lists no error for ListTrails). ListTags answers every tag at once.
"""

from __future__ import annotations

from typing import Any


from ..lake.service import EventDataStoreService, is_event_data_store_arn
from ..trails.service import TrailService
from . import trail_wire as wire
from . import lake_errors
from .errors import ValidationException, declare_errors
from .insight_selectors import INSIGHT_SELECTOR_HANDLERS
from .operations import OperationContext
from .services import context_part
from .trail_errors import WIRE_ERRORS, translate
from .wire_common import cursor_of, cursor_token, who

LIST_TRAILS_PAGE_SIZE = 50

_LOOKUP = ("TrailNotFoundException", "InvalidTrailNameException", "CloudTrailARNInvalidException")
_CHANGE = (*_LOOKUP, "InvalidHomeRegionException", "NotOrganizationMasterAccountException")
_ORGANIZATION = ("NotOrganizationMasterAccountException", "OrganizationNotInAllFeaturesModeException",
                 "CloudTrailAccessNotEnabledException")
_SETTINGS = ("InvalidS3BucketNameException", "InvalidS3PrefixException", "InvalidSnsTopicNameException",
             "InvalidParameterCombinationException", "OrganizationsNotInUseException",
             "S3BucketDoesNotExistException", "InvalidParameterException",
             "InvalidCloudWatchLogsLogGroupArnException", "InvalidCloudWatchLogsRoleArnException",
             "InvalidKmsKeyIdException")
_TAGS = ("ResourceNotFoundException", "CloudTrailARNInvalidException")


def _service(ctx: OperationContext, operation: str) -> TrailService:
    trails: TrailService = context_part(ctx, "trails", operation)
    return trails


def _event_data_stores(ctx: OperationContext, resource_id: str) -> EventDataStoreService | None:
    """The event data store service when ``resource_id`` is an event data store ARN and the app
    serves CloudTrail Lake; None otherwise (the trail service answers)."""
    lake = getattr(ctx, "lake", None)
    if lake is None or getattr(lake, "stores", None) is None or not is_event_data_store_arn(resource_id):
        return None
    return lake.stores


def _tagged_lake(ctx: OperationContext, resource_id: str) -> Any:
    """The service that tags ``resource_id`` when it is an event data store or channel ARN of
    CloudTrail Lake (``stores``, ``channels``); None otherwise (the trail service answers)."""
    from ..lake.channels import is_channel_arn

    stores = _event_data_stores(ctx, resource_id)
    if stores is not None:
        return stores
    channels = getattr(getattr(ctx, "lake", None), "channels", None)
    return channels if channels is not None and is_channel_arn(resource_id) else None


def _dashboards(ctx: OperationContext, resource_id: str) -> Any:
    """The dashboard service when ``resource_id`` is a dashboard ARN and the app serves
    dashboards; None otherwise."""
    from ..lake.dashboard_service import is_dashboard_arn

    service = getattr(getattr(ctx, "lake", None), "dashboards", None)
    return service if service is not None and is_dashboard_arn(resource_id) else None


def _declare(handler: Any, *codes: str) -> None:
    declare_errors(handler, WIRE_ERRORS, *codes)


def create_trail(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "CreateTrail")
    name = wire.req_str(params, "Name")
    wire.req_str(params, "S3BucketName")
    settings, tags = wire.trail_settings(params), wire.tags(params)
    with translate():
        trail = service.create_trail(*who(ctx), name, settings, tags)
    return wire.trail_json(trail, full=False)


def update_trail(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "UpdateTrail")
    name = wire.req_str(params, "Name")
    settings = wire.trail_settings(params)
    with translate():
        trail = service.update_trail(*who(ctx), name, settings)
    return wire.trail_json(trail, full=False)


def delete_trail(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "DeleteTrail")
    name = wire.req_str(params, "Name")
    with translate():
        service.delete_trail(*who(ctx), name)
    return {}


def get_trail(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "GetTrail")
    name = wire.req_str(params, "Name")
    with translate():
        trail = service.get_trail(*who(ctx), name)
    return {"Trail": wire.trail_json(trail, full=True)}


def describe_trails(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "DescribeTrails")
    names = wire.opt_list(params, "trailNameList")
    if names is not None and not all(isinstance(n, str) for n in names):
        raise ValidationException("trailNameList must be a list of strings.")
    shadows = wire.opt_bool(params, "includeShadowTrails")
    with translate():
        trails = service.describe_trails(*who(ctx), names, include_shadow_trails=shadows is not False)
    return {"trailList": [wire.trail_json(t, full=True) for t in trails]}


def _decode_list_token(token: str) -> tuple[str, str]:
    value = cursor_of(token, (str, str))
    if value is None:
        raise ValidationException("Invalid NextToken.")
    return value[0], value[1]


def list_trails(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "ListTrails")
    token = wire.opt_str(params, "NextToken")
    after = _decode_list_token(token) if token else None
    page, cursor = service.list_trails(*who(ctx), after, LIST_TRAILS_PAGE_SIZE)
    out: dict[str, Any] = {
        "Trails": [{"TrailARN": t.arn, "Name": t.name, "HomeRegion": t.home_region} for t in page]
    }
    if cursor is not None:
        out["NextToken"] = cursor_token(cursor)
    return out


def get_trail_status(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "GetTrailStatus")
    name = wire.req_str(params, "Name")
    with translate():
        trail = service.get_trail(*who(ctx), name)
    return wire.status_json(trail.status)


def start_logging(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "StartLogging")
    name = wire.req_str(params, "Name")
    with translate():
        service.start_logging(*who(ctx), name)
    return {}


def stop_logging(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "StopLogging")
    name = wire.req_str(params, "Name")
    with translate():
        service.stop_logging(*who(ctx), name)
    return {}


def add_tags(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "AddTags")
    resource = wire.req_str(params, "ResourceId")
    tags = wire.tags(params)
    stores = _tagged_lake(ctx, resource)
    if stores is not None:
        with lake_errors.translate():
            stores.add_tags(*who(ctx), resource, tags)
        return {}
    dashboards = _dashboards(ctx, resource)
    if dashboards is not None:
        with translate():
            dashboards.add_tags(*who(ctx), resource, tags)
        return {}
    with translate():
        service.add_tags(*who(ctx), resource, tags)
    return {}


def remove_tags(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "RemoveTags")
    resource = wire.req_str(params, "ResourceId")
    tags = wire.tags(params)
    stores = _tagged_lake(ctx, resource)
    if stores is not None:
        with lake_errors.translate():
            stores.remove_tags(*who(ctx), resource, tags)
        return {}
    dashboards = _dashboards(ctx, resource)
    if dashboards is not None:
        with translate():
            dashboards.remove_tags(*who(ctx), resource, tags)
        return {}
    with translate():
        service.remove_tags(*who(ctx), resource, tags)
    return {}


def list_tags(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "ListTags")
    ids = wire.opt_list(params, "ResourceIdList") or []
    if not all(isinstance(i, str) for i in ids):
        raise ValidationException("ResourceIdList must be a list of strings.")
    if wire.opt_str(params, "NextToken"):
        raise WIRE_ERRORS["InvalidTokenException"]("Invalid token.")
    out = []
    for rid in ids:
        stores = _tagged_lake(ctx, rid)
        if stores is not None:
            with lake_errors.translate():
                tags = stores.tagged(*who(ctx), rid).tags
        elif _dashboards(ctx, rid) is not None:
            with translate():
                tags = _dashboards(ctx, rid).tagged(*who(ctx), rid).tags
        else:
            with translate():
                tags = service.list_tags(*who(ctx), [rid])[0].tags
        out.append({"ResourceId": rid, "TagsList": wire.tags_json(tags)})
    return {"ResourceTagList": out}


def put_event_selectors(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "PutEventSelectors")
    name = wire.req_str(params, "TrailName")
    basic = wire.opt_list(params, "EventSelectors")
    advanced = wire.opt_list(params, "AdvancedEventSelectors")
    selectors = None if basic is None else wire.event_selectors(basic)
    advanced_selectors = None if advanced is None else wire.advanced_event_selectors(advanced)
    with translate():
        trail = service.put_event_selectors(*who(ctx), name, selectors, advanced_selectors)
    return wire.selectors_json(trail)


def get_event_selectors(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    service = _service(ctx, "GetEventSelectors")
    name = wire.req_str(params, "TrailName")
    with translate():
        trail = service.get_trail(*who(ctx), name)
    return wire.selectors_json(trail)


_declare(create_trail, "InvalidTrailNameException", "TrailAlreadyExistsException", *_ORGANIZATION,
         "MaximumNumberOfTrailsExceededException", "TagsLimitExceededException", "InvalidTagParameterException",
         *_SETTINGS)
_declare(update_trail, *_CHANGE, *_SETTINGS, *_ORGANIZATION)
_declare(delete_trail, *_CHANGE)
_declare(get_trail, *_LOOKUP)
_declare(describe_trails, "InvalidTrailNameException", "CloudTrailARNInvalidException")
_declare(list_trails)
_declare(get_trail_status, *_LOOKUP)
_declare(start_logging, *_CHANGE)
_declare(stop_logging, *_CHANGE)
_declare(add_tags, *_TAGS, "TagsLimitExceededException", "InvalidTagParameterException")
_declare(remove_tags, *_TAGS, "InvalidTagParameterException")
_declare(list_tags, *_TAGS, "InvalidTokenException")
for _handler in (add_tags, remove_tags, list_tags):  # event data store ARNs (opentrail.lake.service)
    _handler.errors += ("InactiveEventDataStoreException",)
_declare(put_event_selectors, *_CHANGE, "InvalidEventSelectorsException")
_declare(get_event_selectors, *_LOOKUP)

#: Operation name -> handler, registered in :mod:`opentrail.api.operations`.
TRAIL_HANDLERS = {
    "CreateTrail": create_trail,
    "UpdateTrail": update_trail,
    "DeleteTrail": delete_trail,
    "GetTrail": get_trail,
    "DescribeTrails": describe_trails,
    "ListTrails": list_trails,
    "GetTrailStatus": get_trail_status,
    "StartLogging": start_logging,
    "StopLogging": stop_logging,
    "AddTags": add_tags,
    "RemoveTags": remove_tags,
    "ListTags": list_tags,
    "PutEventSelectors": put_event_selectors,
    "GetEventSelectors": get_event_selectors,
    **INSIGHT_SELECTOR_HANDLERS,  # trails and event data stores (.insight_selectors)
}
