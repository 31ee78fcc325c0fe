"""Self-recording: every CloudTrail API call becomes a management event in the caller's history.

Recorded: every call whose caller is identified by a *known* access key -- successful calls,
calls failing validation, unimplemented operations, throttled calls and calls whose signature
check failed (bad signature, clock skew) -- with ``errorCode``/``errorMessage`` on failures, like
AWS does. Not recorded: calls with no key, an unknown key or an unparseable Authorization header
(there is no account to record them in), calls without a valid CloudTrail ``X-Amz-Target`` (no
eventName), and calls to the ingest endpoint (not a CloudTrail API).

``requestParameters`` repeats the request JSON with AWS's camelCase member names (a real
LookupEvents record: ``{"lookupAttributes": [{"attributeKey": "ReadOnly", "attributeValue":
"false"}], "maxResults": 5}``, datasets/cloudtrail/invictus-ir-aws_dataset). Timestamps are written
in the Java medium date format CloudTrail uses for request timestamps (``Jan 24, 2021, 3:00:00
PM``). An empty request is recorded as ``requestParameters: null``. ``responseElements`` is null for read-only calls, as AWS writes it.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from ..auth.sigv4 import Caller
from ..events.record import RecordRejected, read_record
from ..events.writer import api_call_record
from ..store.base import EventStore
from .operations import is_read_only

log = logging.getLogger("opentrail.api")

EVENT_SOURCE = "cloudtrail.amazonaws.com"
#: Request members that are timestamps (botocore model shape ``Date``) in recorded operations.
_TIMESTAMP_MEMBERS = frozenset({"StartTime", "EndTime"})


@dataclass(frozen=True, slots=True)
class CallInfo:
    """What the HTTP layer knows about one call: client address, User-Agent, the Host header, and
    the TLS version/cipher when the connection was TLS (None otherwise)."""

    source_ip: str
    user_agent: str
    host: str | None
    tls_version: str | None = None
    cipher_suite: str | None = None
    is_tls: bool = False


def request_time_text(epoch_s: float) -> str | float:
    """``Jan 24, 2021, 3:00:00 PM`` (UTC); a value no calendar holds (NaN, 1e308) is kept as the
    number the caller sent."""
    try:
        t = time.gmtime(int(epoch_s))
    except (OverflowError, ValueError, OSError):
        return epoch_s
    hour = t.tm_hour % 12 or 12
    ampm = "AM" if t.tm_hour < 12 else "PM"
    return f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year}, {hour}:{t.tm_min:02d}:{t.tm_sec:02d} {ampm}"


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def request_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """The request JSON with member names in camelCase (recursively) and timestamps as text."""

    def conv(value: Any, member: str | None) -> Any:
        if isinstance(value, dict):
            return {_camel(k): conv(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [conv(v, None) for v in value]
        if member in _TIMESTAMP_MEMBERS and isinstance(value, (int, float)) and not isinstance(value, bool):
            return request_time_text(value)
        return value

    return {_camel(k): conv(v, k) for k, v in params.items()}


def call_record(
    *,
    caller: Caller,
    operation: str,
    params: Mapping[str, Any] | None,
    response: Mapping[str, Any] | None,
    error_code: str | None,
    error_message: str | None,
    request_id: str,
    event_time: float,
    info: CallInfo,
) -> dict[str, Any]:
    """The record AWS would write for this call (see :func:`opentrail.events.writer.api_call_record`)."""
    read_only = is_read_only(operation)
    tls = None
    if info.is_tls:
        tls = {}
        if info.tls_version:
            tls["tlsVersion"] = info.tls_version
        if info.cipher_suite:
            tls["cipherSuite"] = info.cipher_suite
        if info.host:
            tls["clientProvidedHostHeader"] = info.host
    return api_call_record(
        user_identity=caller.user_identity(),
        event_time=event_time,
        event_source=EVENT_SOURCE,
        event_name=operation,
        aws_region=caller.region,
        source_ip_address=info.source_ip,
        user_agent=info.user_agent,
        error_code=error_code,
        error_message=error_message,
        request_parameters=request_parameters(params) if params else None,
        response_elements=None if read_only or error_code is not None or response is None else dict(response),
        request_id=request_id,
        event_id=str(uuid.uuid4()),
        read_only=read_only,
        recipient_account_id=caller.account_id,
        tls_details=tls,
    )


def record_call(store: EventStore, **kwargs: Any) -> None:
    """Build the record (arguments of :func:`call_record`) and hand it to ``store.submit`` without
    waiting. A failure is logged, never raised: recording must not fail the call."""
    try:
        record = call_record(**kwargs)
        event = read_record(record)
        store.submit([event])
    except (RecordRejected, ValueError) as exc:
        log.error("could not record %s call: %s", kwargs.get("operation"), exc)
    except Exception:
        log.exception("could not record %s call", kwargs.get("operation"))
