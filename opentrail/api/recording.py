"""Self-recording: every CloudTrail API call becomes a management event in the caller's history.

Recorded: every call whose caller is identified by a *known* access key -- successful calls,
calls failing validation, unimplemented operations, throttled calls and calls whose signature
check failed (bad signature, clock skew) -- with ``errorCode``/``errorMessage`` on failures, like
AWS does. Not recorded: calls with no key, an unknown key or an unparseable Authorization header
(there is no account to record them in), calls without a valid CloudTrail ``X-Amz-Target`` (no
eventName), and calls to the ingest endpoint (not a CloudTrail API).

``requestParameters`` repeats the members of the request that the operation's input shape knows
(botocore model; unknown members are ignored by the service, so they are not recorded either;
members whose shape the model marks ``sensitive`` are left out, as AWS does) with
AWS's camelCase member names (a real LookupEvents record: ``{"lookupAttributes":
[{"attributeKey": "ReadOnly", "attributeValue": "false"}], "maxResults": 5}``,
datasets/cloudtrail/invictus-ir-aws_dataset). Timestamps are written in the Java medium date
format CloudTrail uses for request timestamps (``Jan 24, 2021, 3:00:00 PM``). An empty request is
recorded as ``requestParameters: null``. ``responseElements`` is the response in the same camelCase
form (a real PutEventSelectors record: ``{"eventSelectors": [...], "trailARN": "arn:..."}``,
datasets/cloudtrail/stratus-red-team), null for read-only calls and empty responses
(StartLogging, StopLogging), as AWS writes it -- except the read-only operations whose response
AWS records anyway (:attr:`opentrail.api.services.Service.logged_responses`: STS GetSessionToken,
recorded with the credentials' key id and expiration only).

Field limits (AWS User Guide, "CloudTrail record contents": requestParameters and
responseElements at most 100 KB; "CloudTrail truncates a field if the field's contents exceeds the
maximum field size. If a field is truncated, omitted is present with a value of true"): members
are kept in order while the field's compact JSON stays within :data:`MAX_FIELD_BYTES`, the rest are
left out and ``"omitted": true`` is added. ``errorMessage`` and ``userAgent`` are cut to
:data:`MAX_TEXT_CHARS` characters. So every call's record fits AWS's 256 KB event limit and is
always written.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import orjson

from ..auth.sigv4 import Caller
from ..events.record import RecordRejected, read_record
from ..events.writer import api_call_record
from ..store.base import EventStore
from .model import input_shape, output_shape

log = logging.getLogger("opentrail.api")

EVENT_SOURCE = "cloudtrail.amazonaws.com"
#: requestParameters / responseElements limit, bytes of compact JSON (AWS: 100 KB).
MAX_FIELD_BYTES = 100 * 1024
#: errorMessage / userAgent limit, characters.
MAX_TEXT_CHARS = 1024


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


def request_parameters(params: Mapping[str, Any], shape: Any = None) -> dict[str, Any]:
    """The request JSON as recorded: with the input ``shape`` (a botocore ``Shape``), only the
    members it knows, recursively, leaving out those the model marks ``sensitive`` (EventBridge
    connection passwords, API key values and client secrets), as AWS does; structure member names in
    camelCase; timestamps given as epoch numbers as text (:func:`request_time_text`). Without a
    shape every member is kept. Each shape's converter is built once (:func:`_converter`)."""
    return _converter(shape)(dict(params))  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    """A value without a shape (or of a shape with no members, e.g. a string): dict keys in
    camelCase, recursively. No converter changes a string, so strings are passed over without a
    call (here and in :func:`_build`'s converters)."""
    if isinstance(value, dict):
        return {_camel(k): v if v.__class__ is str else _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [v if v.__class__ is str else _plain(v) for v in value]
    return value


_CONVERTER = "_opentrail_record_converter"
_BUILDING = threading.Lock()


def _converter(shape: Any) -> Callable[[Any], Any]:
    """The function :func:`request_parameters` applies to a value of ``shape`` (None: no shape),
    kept on the shape (the operations' input and output shapes are cached with their model) so
    that it is built once, and published complete."""
    if shape is None:
        return _plain
    built = shape.__dict__.get(_CONVERTER)
    if built is not None:
        return built  # type: ignore[no-any-return]
    with _BUILDING:
        conv = _build(shape, {})
        setattr(shape, _CONVERTER, conv)
    return conv


def _build(shape: Any, pending: dict[str, Callable[[Any], Any]]) -> Callable[[Any], Any]:
    """The converter of ``shape``; ``pending`` holds those of this build by shape name (botocore
    makes a new object for each reference to a shape, so a shape that holds itself is found by
    its name; one build reads one model)."""
    if shape is None:
        return _plain
    built = shape.__dict__.get(_CONVERTER) or pending.get(shape.name)
    if built is not None:
        return built  # type: ignore[no-any-return]
    kind = shape.type_name
    conv: Callable[[Any], Any]
    if kind == "structure":
        members: dict[str, tuple[str, Callable[[Any], Any]]] = {}

        def conv(value: Any) -> Any:
            if isinstance(value, dict):
                get = members.get
                return {m[0]: v if v.__class__ is str else m[1](v) for k, v in value.items()
                        if (m := get(k)) is not None}
            if isinstance(value, list):
                return [_plain(v) for v in value]
            return value

        pending[shape.name] = conv  # before the members: shapes may hold themselves
        for name, member in shape.members.items():
            if not member.metadata.get("sensitive"):
                members[name] = (_camel(name), _build(member, pending))
        return conv
    if kind == "list":
        item: list[Callable[[Any], Any]] = []

        def conv(value: Any) -> Any:
            if isinstance(value, list):
                each = item[0]
                return [v if v.__class__ is str else each(v) for v in value]
            return _plain(value)

        pending[shape.name] = conv
        item.append(_build(shape.member, pending))
        return conv
    if kind == "map":
        values: list[Callable[[Any], Any]] = []

        def conv(value: Any) -> Any:
            if isinstance(value, dict):
                each = values[0]
                return {k: v if v.__class__ is str else each(v) for k, v in value.items()}
            return _plain(value)

        pending[shape.name] = conv
        values.append(_build(shape.value, pending))
        return conv
    if kind == "timestamp":
        def conv(value: Any) -> Any:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return request_time_text(value)
            return _plain(value)
    else:
        conv = _plain
    pending[shape.name] = conv
    return conv


def bounded_field(value: Mapping[str, Any] | None, limit: int = MAX_FIELD_BYTES) -> dict[str, Any] | None:
    """``value`` when its compact JSON is at most ``limit`` bytes; otherwise its members in order
    while they fit, plus ``"omitted": true`` (AWS's mark of a truncated field)."""
    if value is None:
        return None
    try:
        if len(orjson.dumps(value)) <= limit:
            return dict(value)
    except (orjson.JSONEncodeError, TypeError):
        pass
    out: dict[str, Any] = {}
    used = len(b'{"omitted":true}')
    for key, member in value.items():
        try:
            size = len(orjson.dumps({key: member})) - 1  # the member and a comma
        except (orjson.JSONEncodeError, TypeError):
            continue
        if used + size <= limit:
            out[key] = member
            used += size
    out["omitted"] = True
    return out


def bounded_text(text: str | None, limit: int = MAX_TEXT_CHARS) -> str | None:
    """``text`` cut to ``limit`` characters."""
    return text if text is None or len(text) <= limit else text[:limit]


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
    service: Any = None,
) -> dict[str, Any]:
    """The record AWS would write for this call (see :func:`opentrail.events.writer.api_call_record`)
    to ``service`` (an :class:`opentrail.api.services.Service`; None: CloudTrail): its eventSource,
    its model's shapes for requestParameters/responseElements, its readOnly rule, and for its data
    event operations ``managementEvent: false`` / eventCategory Data with the resource type."""
    if service is None:
        from .operations import CLOUDTRAIL as service
    read_only = service.is_read_only(operation)
    data_type = service.data_events.get(operation)
    logged = getattr(service, "logged_responses", {}).get(operation)
    if logged is not None and response and error_code is None:
        response, read_only_response = logged(dict(response)), False
    else:
        read_only_response = read_only
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
        event_source=service.event_source,
        event_name=operation,
        aws_region=getattr(service, "global_region", None) or caller.region,
        source_ip_address=info.source_ip,
        user_agent=bounded_text(info.user_agent) or "",
        error_code=error_code,
        error_message=bounded_text(error_message),
        request_parameters=bounded_field(request_parameters(params, input_shape(operation, service.model)) or None)
        if params else None,
        response_elements=None if read_only_response or error_code is not None or not response
        else bounded_field(request_parameters(response, output_shape(operation, service.model)) or None),
        request_id=request_id,
        event_id=str(uuid.uuid4()),
        read_only=read_only,
        recipient_account_id=caller.account_id,
        tls_details=tls,
        resources=[{"type": data_type}] if data_type else _recorded_resources(service, operation, params),
        management_event=data_type is None,
    )


def _recorded_resources(service: Any, operation: str, params: Mapping[str, Any] | None) -> list[dict[str, Any]] | None:
    found = getattr(service, "recorded_resources", {}).get(operation)
    return found(dict(params)) if found is not None and params else None


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
