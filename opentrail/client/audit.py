"""``audit_event``: a CloudTrail record for an action of your own application.

The record is a management event shaped exactly like the ``AwsApiCall`` records AWS writes for
API calls (same fields, same key order as :mod:`opentrail.events.writer`): eventVersion 1.11,
eventType ``AwsApiCall``, managementEvent true, eventCategory ``Management``; the application's
host name is the eventSource (``myapp.example.com``).

Why not CloudTrail Lake's conventions for events from outside AWS (eventType ``ActivityLog``,
eventCategory ``ActivityAuditLog``, a free-form ``userIdentity.details``; AWS CloudTrail User
Guide, "CloudTrail Lake integrations event schema")? Those records exist only in Lake event data
stores: AWS never puts them in event history or in a trail's log files, and the tools that read
trail files (Athena tables, SIEM rules, ``eventCategory``/``eventType`` selectors) know only the
trail categories. A request to an application *is* an API call by an identified caller, so the
``AwsApiCall`` shape is the one every consumer already understands; ``AwsServiceEvent`` is for
actions a service takes on its own, without a caller. The choice is opentrail's, not AWS's.

``user_identity`` is the caller as your application knows it. It is copied as given; when it has no
``type``, ``"Unknown"`` is written (the type AWS uses for identities it cannot classify; its
``userName`` still shows as Username in LookupEvents). A typical identity::

    {"type": "Unknown", "principalId": "user-42", "userName": "alice", "accountId": "123456789012"}
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timezone
from typing import Any, Mapping, Sequence

from ..events.writer import layout_api_call

#: Written as userIdentity.type when the application gives none.
DEFAULT_IDENTITY_TYPE = "Unknown"


def audit_event(
    *,
    event_source: str,
    event_name: str,
    user_identity: Mapping[str, Any] | None = None,
    recipient_account_id: str | None = None,
    aws_region: str = "us-east-1",
    request_parameters: Mapping[str, Any] | None = None,
    response_elements: Mapping[str, Any] | None = None,
    error_code: str | None = None,
    error_message: str | None = None,
    resources: Sequence[Mapping[str, Any]] | None = None,
    read_only: bool = False,
    source_ip: str = "127.0.0.1",
    user_agent: str = "",
    event_time: float | datetime | None = None,
    request_id: str | None = None,
    event_id: str | None = None,
    additional_event_data: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One CloudTrail record (a dict ready for :meth:`EventClient.put`).

    ``event_time``: epoch seconds or an aware datetime, default now; written as
    ``YYYY-MM-DDTHH:MM:SSZ``. ``request_id``/``event_id`` default to new UUIDs.
    ``recipient_account_id`` (12 digits) is the opentrail account whose history gets the event;
    when None it is left out and the server uses ``userIdentity.accountId`` or the client's
    ``default_account_id``. ``resources``: ``[{"ARN"|"type"|"accountId": ...}]`` as AWS writes
    them. requestParameters/responseElements are written even when None (AWS writes null);
    errorCode/errorMessage, additionalEventData and resources only when given.
    Raises ValueError for an empty event_source/event_name or an errorMessage without errorCode.
    """
    if not event_source or not event_name:
        raise ValueError("event_source and event_name are required")
    if error_message is not None and error_code is None:
        raise ValueError("error_message needs an error_code")
    identity = dict(user_identity or {})
    if not identity.get("type"):
        identity = {"type": DEFAULT_IDENTITY_TYPE, **{k: v for k, v in identity.items() if k != "type"}}
    if event_time is None:
        seconds = time.time()
    elif isinstance(event_time, datetime):
        if event_time.tzinfo is None:
            raise ValueError("event_time must be timezone-aware")
        seconds = event_time.astimezone(timezone.utc).timestamp()
    else:
        seconds = float(event_time)
    return layout_api_call(
        user_identity=identity, event_time=int(seconds), event_source=event_source, event_name=event_name,
        aws_region=aws_region, source_ip_address=source_ip, user_agent=user_agent,
        request_parameters=request_parameters, response_elements=response_elements,
        request_id=request_id or str(uuid.uuid4()), event_id=event_id or str(uuid.uuid4()),
        read_only=bool(read_only), recipient_account_id=recipient_account_id,
        error_code=error_code, error_message=error_message if error_code is not None else None,
        additional_event_data=additional_event_data, resources=list(resources) if resources is not None else None,
    )
