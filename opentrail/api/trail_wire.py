"""Wire format of the trail operations (botocore model casing) <-> the trail domain.

Parsing: a member of the wrong JSON type is SerializationException (as LookupEvents); a missing
required member is ValidationException in the Coral form AWS JSON services use ("1 validation error
detected: Value null at 'name' failed to satisfy constraint: Member must not be null").
Rendering: members without a value are left out, as AWS does; timestamps are epoch seconds.
"""

from __future__ import annotations

import time
from typing import Any

from ..trails.model import (
    AdvancedEventSelector,
    AdvancedFieldSelector,
    DataResource,
    EventSelector,
    InsightSelector,
    Trail,
    TrailStatus,
)
from ..trails.service import TrailSettings
from .errors import SerializationException, ValidationException

_OPERATORS = (("Equals", "equals"), ("StartsWith", "starts_with"), ("EndsWith", "ends_with"),
              ("NotEquals", "not_equals"), ("NotStartsWith", "not_starts_with"), ("NotEndsWith", "not_ends_with"))


def opt_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise SerializationException(f"{name} must be a string.")
    return value


def req_str(params: dict[str, Any], name: str) -> str:
    value = opt_str(params, name)
    if value is None:
        camel = name[:1].lower() + name[1:]
        raise ValidationException(
            f"1 validation error detected: Value null at '{camel}' failed to satisfy constraint: Member must not be null"
        )
    return value


def opt_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value is not None and not isinstance(value, bool):
        raise SerializationException(f"{name} must be a boolean.")
    return value


def opt_list(params: dict[str, Any], name: str) -> list[Any] | None:
    value = params.get(name)
    if value is not None and not isinstance(value, list):
        raise SerializationException(f"{name} must be a list.")
    return value


def _objects(items: list[Any], name: str) -> list[dict[str, Any]]:
    if not all(isinstance(i, dict) for i in items):
        raise SerializationException(f"{name} must be a list of objects.")
    return items


def _strings(items: Any, name: str) -> tuple[str, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise SerializationException(f"{name} must be a list of strings.")
    return tuple(items)


def trail_settings(params: dict[str, Any]) -> TrailSettings:
    """The CreateTrail/UpdateTrail members."""
    return TrailSettings(
        s3_bucket_name=opt_str(params, "S3BucketName"),
        s3_key_prefix=opt_str(params, "S3KeyPrefix"),
        sns_topic_name=opt_str(params, "SnsTopicName"),
        include_global_service_events=opt_bool(params, "IncludeGlobalServiceEvents"),
        is_multi_region_trail=opt_bool(params, "IsMultiRegionTrail"),
        enable_log_file_validation=opt_bool(params, "EnableLogFileValidation"),
        cloud_watch_logs_log_group_arn=opt_str(params, "CloudWatchLogsLogGroupArn"),
        cloud_watch_logs_role_arn=opt_str(params, "CloudWatchLogsRoleArn"),
        kms_key_id=opt_str(params, "KmsKeyId"),
        is_organization_trail=opt_bool(params, "IsOrganizationTrail"),
    )


def tags(params: dict[str, Any], name: str = "TagsList") -> tuple[tuple[str, str | None], ...]:
    """``TagsList`` as (key, value) pairs."""
    out = []
    for tag in _objects(opt_list(params, name) or [], name):
        out.append((req_str(tag, "Key"), opt_str(tag, "Value")))
    return tuple(out)


def event_selectors(items: list[Any]) -> tuple[EventSelector, ...]:
    out = []
    for s in _objects(items, "EventSelectors"):
        resources = tuple(
            DataResource(req_str(r, "Type"), _strings(r.get("Values"), "Values"))
            for r in _objects(opt_list(s, "DataResources") or [], "DataResources")
        )
        include = opt_bool(s, "IncludeManagementEvents")
        out.append(EventSelector(
            read_write_type=opt_str(s, "ReadWriteType") or "All",
            include_management_events=True if include is None else include,
            data_resources=resources,
            exclude_management_event_sources=_strings(s.get("ExcludeManagementEventSources"),
                                                      "ExcludeManagementEventSources"),
        ))
    return tuple(out)


def advanced_event_selectors(items: list[Any]) -> tuple[AdvancedEventSelector, ...]:
    out = []
    for s in _objects(items, "AdvancedEventSelectors"):
        fields = []
        for f in _objects(opt_list(s, "FieldSelectors") or [], "FieldSelectors"):
            values = {attr: _strings(f.get(wire), wire) for wire, attr in _OPERATORS}
            fields.append(AdvancedFieldSelector(field=req_str(f, "Field"), **values))
        out.append(AdvancedEventSelector(field_selectors=tuple(fields), name=opt_str(s, "Name")))
    return tuple(out)


def insight_selectors(items: list[Any]) -> tuple[InsightSelector, ...]:
    out = []
    for s in _objects(items, "InsightSelectors"):
        categories = s.get("EventCategories")
        out.append(InsightSelector(
            insight_type=req_str(s, "InsightType"),
            event_categories=None if categories is None else _strings(categories, "EventCategories"),
        ))
    return tuple(out)


# --- rendering -------------------------------------------------------------------------------


def _put(out: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        out[name] = value


def trail_json(trail: Trail, *, full: bool) -> dict[str, Any]:
    """The ``Trail`` shape (``full``: DescribeTrails/GetTrail) or the Create/UpdateTrail response."""
    out: dict[str, Any] = {"Name": trail.name, "S3BucketName": trail.s3_bucket_name}
    _put(out, "S3KeyPrefix", trail.s3_key_prefix)
    _put(out, "SnsTopicName", trail.sns_topic_name)
    _put(out, "SnsTopicARN", trail.sns_topic_arn)
    out["IncludeGlobalServiceEvents"] = trail.include_global_service_events
    out["IsMultiRegionTrail"] = trail.is_multi_region_trail
    if full:
        out["HomeRegion"] = trail.home_region
    out["TrailARN"] = trail.arn
    out["LogFileValidationEnabled"] = trail.log_file_validation_enabled
    _put(out, "CloudWatchLogsLogGroupArn", trail.cloud_watch_logs_log_group_arn)
    _put(out, "CloudWatchLogsRoleArn", trail.cloud_watch_logs_role_arn)
    _put(out, "KmsKeyId", trail.kms_key_id)
    if full:
        out["HasCustomEventSelectors"] = trail.has_custom_event_selectors
        out["HasInsightSelectors"] = bool(trail.insight_selectors)
    out["IsOrganizationTrail"] = trail.is_organization_trail
    return out


def time_text(epoch_s: float | None) -> str:
    """``2016-01-28T23:02:24Z``, or "" when unknown (the GetTrailStatus string members)."""
    if epoch_s is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def status_json(status: TrailStatus) -> dict[str, Any]:
    """GetTrailStatus: IsLogging and the string members always (AWS sends "" when unknown), the
    timestamp and error members only when known (AWS CLI get-trail-status example)."""
    out: dict[str, Any] = {"IsLogging": status.is_logging}
    for name, value in (
        ("LatestDeliveryError", status.latest_delivery_error),
        ("LatestNotificationError", status.latest_notification_error),
        ("LatestDeliveryTime", status.latest_delivery_time),
        ("LatestNotificationTime", status.latest_notification_time),
        ("StartLoggingTime", status.start_logging_time),
        ("StopLoggingTime", status.stop_logging_time),
        ("LatestCloudWatchLogsDeliveryError", status.latest_cloudwatch_logs_delivery_error),
        ("LatestCloudWatchLogsDeliveryTime", status.latest_cloudwatch_logs_delivery_time),
        ("LatestDigestDeliveryTime", status.latest_digest_delivery_time),
        ("LatestDigestDeliveryError", status.latest_digest_delivery_error),
    ):
        _put(out, name, value)
    out["LatestDeliveryAttemptTime"] = time_text(status.latest_delivery_attempt_time)
    out["LatestNotificationAttemptTime"] = time_text(status.latest_notification_attempt_time)
    out["LatestNotificationAttemptSucceeded"] = time_text(status.latest_notification_attempt_succeeded)
    out["LatestDeliveryAttemptSucceeded"] = time_text(status.latest_delivery_attempt_succeeded)
    out["TimeLoggingStarted"] = time_text(status.start_logging_time)
    out["TimeLoggingStopped"] = time_text(status.stop_logging_time)
    return out


def event_selector_json(s: EventSelector) -> dict[str, Any]:
    return {
        "ReadWriteType": s.read_write_type,
        "IncludeManagementEvents": s.include_management_events,
        "DataResources": [{"Type": r.type, "Values": list(r.values)} for r in s.data_resources],
        "ExcludeManagementEventSources": list(s.exclude_management_event_sources),
    }


def advanced_selector_json(s: AdvancedEventSelector) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "Name", s.name)
    fields = []
    for f in s.field_selectors:
        item: dict[str, Any] = {"Field": f.field}
        for wire, attr in _OPERATORS:
            if getattr(f, attr):
                item[wire] = list(getattr(f, attr))
        fields.append(item)
    out["FieldSelectors"] = fields
    return out


def selectors_json(trail: Trail) -> dict[str, Any]:
    """GetEventSelectors/PutEventSelectors: TrailARN plus the basic or the advanced selectors."""
    out: dict[str, Any] = {"TrailARN": trail.arn}
    basic = trail.event_selectors
    if basic is not None:
        out["EventSelectors"] = [event_selector_json(s) for s in basic]
    else:
        out["AdvancedEventSelectors"] = [advanced_selector_json(s) for s in trail.selectors.advanced_event_selectors or ()]
    return out


def insight_selectors_json(trail: Trail) -> dict[str, Any]:
    items = []
    for s in trail.insight_selectors:
        item: dict[str, Any] = {"InsightType": s.insight_type}
        if s.event_categories is not None:
            item["EventCategories"] = list(s.event_categories)
        items.append(item)
    return {"TrailARN": trail.arn, "InsightSelectors": items}


def tags_json(trail_tags: tuple[tuple[str, str | None], ...]) -> list[dict[str, str]]:
    out = []
    for key, value in trail_tags:
        item = {"Key": key}
        if value is not None:
            item["Value"] = value
        out.append(item)
    return out
