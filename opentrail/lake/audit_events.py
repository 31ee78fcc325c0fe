"""PutAuditEvents' events: one audit event checked against the integration event schema and turned
into the record CloudTrail Lake stores. Pure: no I/O.

Rules (CloudTrail User Guide, "CloudTrail Lake integrations event schema"; botocore model
``cloudtrail-data/2021-08-11``; ``../shared/reference/lake.md`` §A.3):

- ``eventDataChecksum``, when given, is the base64 SHA-256 of the ``eventData`` text (UTF-8):
  else ``InvalidChecksum``.
- ``eventData`` is a JSON object (else ``InvalidData``) with the required members ``version``,
  ``userIdentity`` {``type``, ``principalId``}, ``eventSource``, ``eventName``, ``eventTime``,
  ``UID``, ``recipientAccountId`` (missing: ``FieldNotFound``); strings where the schema says string
  and objects for ``userIdentity``, ``userIdentity.details``, ``requestParameters``,
  ``responseElements``, ``additionalEventData`` (else ``InvalidData``); ``eventTime``
  ``yyyy-MM-DDTHH:mm:ss`` UTC (a trailing ``Z`` or fraction of a second is accepted; else
  ``InvalidData``).
- Lengths (``FieldTooLong``): version 256, userIdentity.type 128, principalId 1024, userAgent 1024,
  eventSource 1024, eventName 1024, UID 1024, errorCode 256, errorMessage 256; requestParameters
  and responseElements 100 kB, additionalEventData 28 kB (as compact JSON).
- ``recipientAccountId`` must be the channel owner's account: else ``InvalidRecipient``.

The stored record is what the schema page shows: ``eventVersion``, ``eventCategory``
``ActivityAuditLog``, ``eventType`` ``ActivityLog``, ``eventID`` (a new UUID), ``eventTime`` (the
event's, ``YYYY-MM-DDTHH:MM:SSZ``), ``awsRegion`` (the channel's Region, where PutAuditEvents was
called), ``recipientAccountId``, ``metadata`` {``ingestionTime`` (``YYYY-MM-DDTHH:MM:SSZ``),
``channelARN``} and ``eventData`` as sent.
"""

from __future__ import annotations

import base64
import calendar
import functools
import hashlib
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

#: The eventVersion of the records (AWS does not document the value it writes).
EVENT_VERSION = "1.0"
CATEGORY = "ActivityAuditLog"
EVENT_TYPE = "ActivityLog"
REQUIRED = ("version", "userIdentity", "eventSource", "eventName", "eventTime", "UID", "recipientAccountId")
MAX_CHARS = {"version": 256, "userAgent": 1024, "eventSource": 1024, "eventName": 1024, "UID": 1024,
             "errorCode": 256, "errorMessage": 256, "sourceIPAddress": 1024, "recipientAccountId": 12}
MAX_IDENTITY_CHARS = {"type": 128, "principalId": 1024}
MAX_OBJECT_BYTES = {"requestParameters": 100 * 1024, "responseElements": 100 * 1024, "additionalEventData": 28 * 1024}
_IDENTITY_LIMITS = tuple(MAX_IDENTITY_CHARS.items())
_CHAR_LIMITS = tuple(MAX_CHARS.items())
_OBJECT_LIMITS = tuple(MAX_OBJECT_BYTES.items())
_SMALLEST_OBJECT_LIMIT = min(MAX_OBJECT_BYTES.values())
#: Most UTF-8 bytes of compact JSON orjson writes per character of JSON text it read: 4 for a
#: character of a string (U+10000 and above), 4.5 for a number (``1e15`` is written
#: ``1000000000000000.0``); structure and whitespace only shrink.
_MAX_GROWTH = 5
_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z?")
#: Accepted event times (the event log's bounds, years 1970-9999 of its partitions).
MIN_TIME, MAX_TIME = 0, 253402300799


class AuditEventRejected(Exception):
    """One event refused: ``code`` is the model's per-event error code, ``message`` the text."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AcceptedEvent:
    """An event to store: its eventID, eventTime (epoch seconds) and the record as compact JSON."""

    event_id: str
    event_time: int
    record: bytes


def checksum(event_data: str) -> str:
    """base64(SHA-256(UTF-8 of ``event_data``)), as ``printf %s "$data" | openssl dgst -binary -sha256 | base64``."""
    return base64.b64encode(hashlib.sha256(event_data.encode("utf-8")).digest()).decode()


@functools.lru_cache(maxsize=16)
def _iso(t: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of ``t``, kept for the last 16 values: a batch shares its ``now``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def new_event_ids(n: int) -> list[str]:
    """``n`` new random (version 4) UUIDs as text, from one ``os.urandom`` call: ``uuid.uuid4()``
    reads the OS once per UUID, releasing the GIL each time, which costs a thread switch per event
    when other threads wait for it. Each is ``str(uuid.UUID(bytes=..., version=4))`` of its 16
    bytes, formatted from one hex string (``uuid.UUID`` objects cost ~4 us each)."""
    raw = bytearray(os.urandom(16 * n))
    for i in range(6, 16 * n, 16):
        raw[i] = (raw[i] & 0x0F) | 0x40  # version 4
        raw[i + 2] = (raw[i + 2] & 0x3F) | 0x80  # variant RFC 4122
    h = raw.hex()
    return [f"{h[i:i + 8]}-{h[i + 8:i + 12]}-{h[i + 12:i + 16]}-{h[i + 16:i + 20]}-{h[i + 20:i + 32]}"
            for i in range(0, 32 * n, 32)]


def _event_time(value: Any) -> tuple[str, int]:
    if not isinstance(value, str):
        raise AuditEventRejected("InvalidData", "eventTime must be a string in the format yyyy-MM-DDTHH:mm:ss.")
    m = _TIME.fullmatch(value)
    if m is None:
        raise AuditEventRejected("InvalidData", f"eventTime {value[:64]} is not in the format yyyy-MM-DDTHH:mm:ss.")
    epoch = _epoch(m.group(1))
    if epoch is None:
        raise AuditEventRejected("InvalidData", f"eventTime {value[:64]} is not a valid time.")
    if not MIN_TIME <= epoch <= MAX_TIME:
        raise AuditEventRejected("InvalidData", f"eventTime {value[:64]} is out of range.")
    return m.group(1) + "Z", epoch


@functools.lru_cache(maxsize=4096)
def _epoch(text: str) -> int | None:
    """Epoch seconds of ``yyyy-MM-DDTHH:mm:ss`` (None: not a valid time), kept for the last 4,096
    values seen: events sent together mostly share their seconds."""
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def _text(data: dict[str, Any], name: str, limit: int, where: str = "") -> None:
    value = data.get(name)
    if value is None:
        return
    if not isinstance(value, str):
        raise AuditEventRejected("InvalidData", f"{where}{name} must be a string.")
    if len(value) > limit:
        raise AuditEventRejected("FieldTooLong", f"{where}{name} is longer than {limit} characters.")


def accept(event_data: str, event_checksum: str | None, *, owner: str, region: str, channel_arn: str,
           now: float, event_id: str | None = None) -> AcceptedEvent:
    """The stored record of one audit event of the channel ``channel_arn`` (account ``owner``, in
    ``region``) received at ``now`` (epoch seconds), with the eventID ``event_id`` (None: a new
    UUID; :func:`new_event_ids` makes a batch's). Raises :class:`AuditEventRejected`."""
    if event_checksum is not None and event_checksum != checksum(event_data):
        raise AuditEventRejected("InvalidChecksum", "The eventDataChecksum does not match the eventData.")
    try:
        data = orjson.loads(event_data)
    except orjson.JSONDecodeError:
        raise AuditEventRejected("InvalidData", "eventData is not valid JSON.") from None
    if not isinstance(data, dict):
        raise AuditEventRejected("InvalidData", "eventData must be a JSON object.")
    get = data.get
    for name in REQUIRED:
        if get(name) is None:
            raise AuditEventRejected("FieldNotFound", f"The required field {name} is missing from eventData.")
    identity = data["userIdentity"]
    if not isinstance(identity, dict):
        raise AuditEventRejected("InvalidData", "userIdentity must be a JSON object.")
    for name, limit in _IDENTITY_LIMITS:
        value = identity.get(name)
        if value is None:
            raise AuditEventRejected("FieldNotFound", f"The required field userIdentity.{name} is missing from eventData.")
        if not isinstance(value, str) or len(value) > limit:
            _text(identity, name, limit, "userIdentity.")
    details = identity.get("details")
    if details is not None and not isinstance(details, dict):
        raise AuditEventRejected("InvalidData", "userIdentity.details must be a JSON object.")
    for name, limit in _CHAR_LIMITS:
        value = get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            _text(data, name, limit)  # raises
    # a member's compact JSON is at most _MAX_GROWTH times the eventData text it came from: a
    # short eventData cannot hold an object over its limit, so only longer ones are measured
    measure = len(event_data) * _MAX_GROWTH > _SMALLEST_OBJECT_LIMIT
    for name, limit in _OBJECT_LIMITS:
        value = get(name)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise AuditEventRejected("InvalidData", f"{name} must be a JSON object.")
        if measure and len(orjson.dumps(value)) > limit:
            raise AuditEventRejected("FieldTooLong", f"{name} is larger than {limit // 1024} kB.")
    if data["recipientAccountId"] != owner:
        raise AuditEventRejected("InvalidRecipient",
                                 f"recipientAccountId must be {owner}, the account that owns the channel.")
    event_time, epoch = _event_time(data["eventTime"])
    if event_id is None:
        event_id = str(uuid.uuid4())
    record = {
        "eventVersion": EVENT_VERSION,
        "eventCategory": CATEGORY,
        "eventType": EVENT_TYPE,
        "eventID": event_id,
        "eventTime": event_time,
        "awsRegion": region,
        "recipientAccountId": owner,
        "metadata": {"ingestionTime": _iso(now), "channelARN": channel_arn},
        "eventData": data,
    }
    return AcceptedEvent(event_id, epoch, orjson.dumps(record))
