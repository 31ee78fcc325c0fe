"""The strict record writer: builds management-event records the way AWS writes them.

A reader accepts whatever AWS wrote; a writer writes only what AWS writes. :func:`api_call_record`
returns a dict whose key order follows AWS's records (compare any ``AwsApiCall`` record in
``datasets/cloudtrail``: eventVersion, userIdentity, eventTime, eventSource, eventName, awsRegion,
sourceIPAddress, userAgent, errorCode, errorMessage, requestParameters, responseElements,
additionalEventData, requestID, eventID, readOnly, resources, eventType, apiVersion,
managementEvent, recipientAccountId, eventCategory, tlsDetails) and refuses incomplete input.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Mapping

from .times import format_event_time

#: eventVersion written by opentrail (REFERENCE.md, "The record").
EVENT_VERSION = "1.11"

_ACCOUNT_RE = re.compile(r"^[0-9]{12}$")
_REGION_RE = re.compile(r"^[a-z0-9-]{1,64}$")
_IDENTITY_TYPES = ("Root", "IAMUser", "AssumedRole", "FederatedUser", "AWSAccount", "AWSService", "Unknown")


class InvalidRecordError(ValueError):
    """The writer was given input AWS would never write (missing or malformed required field)."""


def _require(cond: bool, what: str) -> None:
    if not cond:
        raise InvalidRecordError(what)


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def api_call_record(
    *,
    user_identity: Mapping[str, Any],
    event_time: float,
    event_source: str,
    event_name: str,
    aws_region: str,
    source_ip_address: str,
    user_agent: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    request_id: str,
    event_id: str,
    read_only: bool,
    recipient_account_id: str,
    error_code: str | None = None,
    error_message: str | None = None,
    additional_event_data: Mapping[str, Any] | None = None,
    resources: list[Mapping[str, Any]] | None = None,
    api_version: str | None = None,
    tls_details: Mapping[str, Any] | None = None,
    management_event: bool = True,
) -> dict[str, Any]:
    """One ``AwsApiCall`` event (eventVersion 1.11): a management event (eventCategory Management),
    or with ``management_event=False`` a data event (``managementEvent: false``, eventCategory Data,
    as AWS writes data events such as S3 GetObject).

    ``event_time`` is epoch seconds; ``event_id`` and ``request_id`` are UUIDs; ``read_only`` is the
    record's boolean. ``requestParameters``/``responseElements`` are written even when None (AWS
    writes ``null``); errorCode/errorMessage, additionalEventData, resources, apiVersion and
    tlsDetails only when given. Raises :class:`InvalidRecordError` for missing/malformed fields.
    """
    _require(isinstance(user_identity, Mapping) and user_identity.get("type") in _IDENTITY_TYPES,
             "userIdentity.type must be one of " + ", ".join(_IDENTITY_TYPES))
    _require(_nonempty(user_identity.get("accountId")), "userIdentity.accountId is required")
    _require(isinstance(event_time, (int, float)) and not isinstance(event_time, bool) and event_time >= 0,
             "eventTime must be epoch seconds")
    _require(_nonempty(event_source) and event_source.endswith(".amazonaws.com"),
             "eventSource must be a service host such as cloudtrail.amazonaws.com")
    _require(_nonempty(event_name), "eventName is required")
    _require(isinstance(aws_region, str) and bool(_REGION_RE.match(aws_region)), "awsRegion is malformed")
    _require(_nonempty(source_ip_address), "sourceIPAddress is required")
    _require(isinstance(user_agent, str), "userAgent must be a string")
    _require(request_parameters is None or isinstance(request_parameters, Mapping),
             "requestParameters must be an object or None")
    _require(response_elements is None or isinstance(response_elements, Mapping),
             "responseElements must be an object or None")
    for name, value in (("requestID", request_id), ("eventID", event_id)):
        try:
            uuid.UUID(value)
        except (TypeError, ValueError, AttributeError):
            raise InvalidRecordError(f"{name} must be a UUID") from None
    _require(isinstance(read_only, bool), "readOnly must be a boolean")
    _require(isinstance(recipient_account_id, str) and bool(_ACCOUNT_RE.match(recipient_account_id)),
             "recipientAccountId must be 12 digits")
    _require(error_code is None or _nonempty(error_code), "errorCode must be a non-empty string")
    _require(error_message is None or error_code is not None, "errorMessage needs an errorCode")

    return layout_api_call(
        user_identity=user_identity, event_time=event_time, event_source=event_source, event_name=event_name,
        aws_region=aws_region, source_ip_address=source_ip_address, user_agent=user_agent,
        request_parameters=request_parameters, response_elements=response_elements, request_id=request_id,
        event_id=event_id, read_only=read_only, recipient_account_id=recipient_account_id,
        error_code=error_code, error_message=error_message, additional_event_data=additional_event_data,
        resources=resources, api_version=api_version, tls_details=tls_details, management_event=management_event,
    )


def layout_api_call(
    *,
    user_identity: Mapping[str, Any],
    event_time: float,
    event_source: str,
    event_name: str,
    aws_region: str,
    source_ip_address: str,
    user_agent: str,
    request_parameters: Mapping[str, Any] | None,
    response_elements: Mapping[str, Any] | None,
    request_id: str,
    event_id: str,
    read_only: bool,
    recipient_account_id: str | None,
    error_code: str | None = None,
    error_message: str | None = None,
    additional_event_data: Mapping[str, Any] | None = None,
    resources: list[Mapping[str, Any]] | None = None,
    api_version: str | None = None,
    tls_details: Mapping[str, Any] | None = None,
    management_event: bool = True,
) -> dict[str, Any]:
    """The ``AwsApiCall`` record of :func:`api_call_record` in AWS's key order, *without* its
    checks (for callers with their own rules, e.g. :func:`opentrail.client.audit_event`).
    ``recipientAccountId`` is left out when None."""
    record: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": dict(user_identity),
        "eventTime": format_event_time(int(event_time)),
        "eventSource": event_source,
        "eventName": event_name,
        "awsRegion": aws_region,
        "sourceIPAddress": source_ip_address,
        "userAgent": user_agent,
    }
    if error_code is not None:
        record["errorCode"] = error_code
        if error_message is not None:
            record["errorMessage"] = error_message
    record["requestParameters"] = dict(request_parameters) if request_parameters is not None else None
    record["responseElements"] = dict(response_elements) if response_elements is not None else None
    if additional_event_data is not None:
        record["additionalEventData"] = dict(additional_event_data)
    record["requestID"] = request_id
    record["eventID"] = event_id
    record["readOnly"] = read_only
    if resources is not None:
        record["resources"] = [dict(r) for r in resources]
    record["eventType"] = "AwsApiCall"
    if api_version is not None:
        record["apiVersion"] = api_version
    record["managementEvent"] = management_event
    if recipient_account_id is not None:
        record["recipientAccountId"] = recipient_account_id
    record["eventCategory"] = "Management" if management_event else "Data"
    if tls_details is not None:
        record["tlsDetails"] = dict(tls_details)
    return record
