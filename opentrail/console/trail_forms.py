"""The trail pages' data: the create-trail form -> API requests, trails + status -> table rows.

The form's fields map to CreateTrail members (Name, S3BucketName, S3KeyPrefix, SnsTopicName,
IsMultiRegionTrail, EnableLogFileValidation, IncludeGlobalServiceEvents) and to one basic event
selector for PutEventSelectors (management events All/ReadOnly/WriteOnly/none, "exclude AWS KMS
events", S3 data event ARN prefixes), or to advanced event selectors given as JSON (the API's
``AdvancedEventSelectors`` list). As in the CloudTrail console, a new trail starts logging unless
the box is cleared. Validation is the API's: the form only shapes the request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import orjson

from .history import time_text

MANAGEMENT_CHOICES = {"All": "All (read and write)", "ReadOnly": "Read only", "WriteOnly": "Write only",
                      "None": "None"}


class TrailFormError(ValueError):
    """A form value that cannot be turned into a request (message for the page)."""


@dataclass(frozen=True, slots=True)
class TrailRequests:
    """What the form asks for: CreateTrail params, PutEventSelectors params (None: the default
    selectors) and whether to StartLogging."""

    create: dict[str, Any]
    selectors: dict[str, Any] | None
    start_logging: bool


def _checked(form: Mapping[str, str], name: str) -> bool:
    return form.get(name) in ("on", "true", "1")


def trail_requests(form: Mapping[str, str]) -> TrailRequests:
    """The API requests for a submitted create-trail form. Raises :class:`TrailFormError` for
    advanced selectors that are not a JSON list."""
    name = form.get("name", "").strip()
    create: dict[str, Any] = {"Name": name, "S3BucketName": form.get("bucket", "").strip()}
    for member, field in (("S3KeyPrefix", "prefix"), ("SnsTopicName", "sns_topic")):
        value = form.get(field, "").strip()
        if value:
            create[member] = value
    create["IsMultiRegionTrail"] = _checked(form, "multi_region")
    create["EnableLogFileValidation"] = _checked(form, "validation")
    create["IncludeGlobalServiceEvents"] = _checked(form, "global_events")

    advanced = form.get("advanced_selectors", "").strip()
    selectors: dict[str, Any] | None
    if advanced:
        try:
            value = orjson.loads(advanced)
        except orjson.JSONDecodeError as exc:
            raise TrailFormError(f"Advanced event selectors are not valid JSON: {exc}.") from None
        if not isinstance(value, list):
            raise TrailFormError("Advanced event selectors must be a JSON list of selectors.")
        selectors = {"TrailName": name, "AdvancedEventSelectors": value}
    else:
        management = form.get("management", "All")
        if management not in MANAGEMENT_CHOICES:
            raise TrailFormError(f"{management!r} is not a management events choice.")
        exclude_kms = _checked(form, "exclude_kms")
        prefixes = [line.strip() for line in form.get("s3_data", "").splitlines() if line.strip()]
        if management == "All" and not exclude_kms and not prefixes:
            selectors = None  # the default selector: no PutEventSelectors call
        else:
            selector: dict[str, Any] = {
                "ReadWriteType": "All" if management == "None" else management,
                "IncludeManagementEvents": management != "None",
            }
            if prefixes:
                selector["DataResources"] = [{"Type": "AWS::S3::Object", "Values": prefixes}]
            if exclude_kms:
                selector["ExcludeManagementEventSources"] = ["kms.amazonaws.com"]
            selectors = {"TrailName": name, "EventSelectors": [selector]}
    return TrailRequests(create, selectors, _checked(form, "start_logging"))


def _iso_to_text(value: Any) -> str:
    if isinstance(value, (int, float)):
        return time_text(value)
    return value.replace("T", " ").replace("Z", " UTC") if isinstance(value, str) else ""


def trail_row(trail: Mapping[str, Any], status: Mapping[str, Any] | None, region: str) -> dict[str, Any]:
    """One row of the trails table from DescribeTrails' ``Trail`` and GetTrailStatus (None when
    the status could not be read). ``home`` is False for shadow trails (changed in their home
    Region only)."""
    status = status or {}
    return {
        "name": trail.get("Name", ""),
        "arn": trail.get("TrailARN", ""),
        "home_region": trail.get("HomeRegion", ""),
        "home": trail.get("HomeRegion") == region,
        "multi_region": bool(trail.get("IsMultiRegionTrail")),
        "bucket": trail.get("S3BucketName", ""),
        "prefix": trail.get("S3KeyPrefix", ""),
        "sns_topic": trail.get("SnsTopicName", ""),
        "validation": bool(trail.get("LogFileValidationEnabled")),
        "logging": bool(status.get("IsLogging")),
        "last_delivery": _iso_to_text(status.get("LatestDeliveryTime")),
        "last_error": status.get("LatestDeliveryError") or status.get("LatestNotificationError") or "",
        "started": _iso_to_text(status.get("StartLoggingTime")),
    }
