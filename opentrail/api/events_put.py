"""PutEvents: custom events onto the default event bus.

Each entry is checked as EventBridge does and answered in its place in ``Entries`` (an ``EventId``,
or an ``ErrorCode`` and ``ErrorMessage``; ``FailedEntryCount`` counts the latter):

- ``Source``, ``DetailType`` and ``Detail`` are required: ``InvalidArgument`` "Parameter Source is
  not valid. Reason: Source is a required argument." (likewise DetailType, Detail);
- ``Detail`` must be a JSON object: ``MalformedDetail`` "Detail is malformed.";
- a ``Source`` starting with ``aws.`` is reserved to AWS services: ``NotAuthorizedForSourceException``
  "Not authorized for the source." (so custom events cannot pose as CloudTrail's);
- an ``EventBusName`` other than the default bus: ``ResourceNotFoundException`` "Event bus x does
  not exist." (AWS answers success and drops the event, aws/aws-cli#9186; opentrail says so);

(texts from LocalStack's AWS-validated provider and snapshots). The request fails as a whole with
ValidationException "Total size of the entries in the request is over the limit." when the entries'
size (EventBridge's "Calculating PutEvents event entry size": 14 bytes for a Time, the UTF-8 bytes of
Source, DetailType, Detail and each resource) exceeds :data:`MAX_ENTRIES_BYTES` (1 MB since January
2026; the botocore model's documentation).

The accepted entries become envelopes (version "0", a uuid4 id, detail-type, source, account, time
``%Y-%m-%dT%H:%M:%SZ`` from ``Time`` or the clock, region, resources, detail) handed to
``ctx.event_bus.put_events`` once the call's record is durable (:meth:`RulesService.defer`). Without
an event bus every accepted entry is answered ``InternalFailure``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Mapping

import orjson

from ..eventbridge.catalog import event_bus_arn
from ..eventbridge.model import DEFAULT_BUS
from .events_errors import ValidationException
from .wire_common import who

#: Largest total size of a PutEvents request's entries, bytes.
MAX_ENTRIES_BYTES = 1024 * 1024
TIME_BYTES = 14


def entry_size(entry: Mapping[str, Any]) -> int:
    """EventBridge's size of one PutEventsRequestEntry."""
    size = TIME_BYTES if entry.get("Time") is not None else 0
    for member in ("Source", "DetailType", "Detail"):
        if entry.get(member) is not None:
            size += len(entry[member].encode("utf-8"))
    return size + sum(len(r.encode("utf-8")) for r in entry.get("Resources") or [])


def _failure(code: str, message: str) -> dict[str, Any]:
    return {"ErrorCode": code, "ErrorMessage": message}


def _required(member: str) -> dict[str, Any]:
    return _failure("InvalidArgument", f"Parameter {member} is not valid. Reason: {member} is a required argument.")


def envelope_of(entry: Mapping[str, Any], account_id: str, region: str,
                now: float) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the event envelope, None) for an entry EventBridge accepts, else (None, its failure)."""
    for member in ("Source", "DetailType", "Detail"):
        if not entry.get(member):
            return None, _required(member)
    try:
        detail = orjson.loads(entry["Detail"])
        orjson.dumps(detail)  # the bus writes it again: nesting past orjson's writer is refused here
    except (orjson.JSONDecodeError, orjson.JSONEncodeError):
        detail = None
    if not isinstance(detail, dict):
        return None, _failure("MalformedDetail", "Detail is malformed.")
    if entry["Source"].startswith("aws."):
        return None, _failure("NotAuthorizedForSourceException", "Not authorized for the source.")
    bus = entry.get("EventBusName")
    if bus is not None and bus not in (DEFAULT_BUS, event_bus_arn(region, account_id)):
        name = bus.rsplit("event-bus/", 1)[-1] if bus.startswith("arn:") else bus
        return None, _failure("ResourceNotFoundException", f"Event bus {name} does not exist.")
    try:
        when = now if entry.get("Time") is None else entry["Time"]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(when)))
    except (OverflowError, ValueError, OSError):
        return None, _failure("InvalidArgument", "Parameter Time is not valid.")
    return {"version": "0", "id": str(uuid.uuid4()), "detail-type": entry["DetailType"], "source": entry["Source"],
            "account": account_id, "time": stamp, "region": region, "resources": list(entry.get("Resources") or []),
            "detail": detail}, None


def put_events(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """PutEvents (see the module docstring)."""
    entries = params["Entries"]
    if sum(entry_size(e) for e in entries) > MAX_ENTRIES_BYTES:
        raise ValidationException("Total size of the entries in the request is over the limit.")
    account, region = who(ctx)
    now = ctx.clock()
    bus = getattr(ctx, "event_bus", None)
    results: list[dict[str, Any]] = []
    envelopes: list[dict[str, Any]] = []
    for entry in entries:
        event, failure = envelope_of(entry, account, region, now)
        if event is None:
            results.append(failure or {})
        elif bus is None:
            results.append(_failure("InternalFailure", "opentrail runs without an event bus: the event was not put."))
        else:
            envelopes.append(event)
            results.append({"EventId": event["id"]})
    if envelopes:
        def hand_over() -> None:
            bus.put_events(account, region, envelopes)

        rules = getattr(ctx, "eventbridge", None)
        if rules is not None:
            rules.defer(hand_over)  # once the call's record is durable
        else:
            hand_over()
    return {"FailedEntryCount": sum(1 for r in results if "ErrorCode" in r), "Entries": results}
