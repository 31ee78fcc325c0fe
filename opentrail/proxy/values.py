"""Model-shaped values as CloudTrail writes them in requestParameters and responseElements.

Rules (compare the IAM, STS and Lambda records in ``datasets/cloudtrail/stratus-red-team``):

- structure members are named by the API member name with a lower-case first letter
  (``UserName`` -> ``userName``, ``Tags[].Key`` -> ``tags[].key``); map keys are kept as sent;
- members whose shape the model marks ``sensitive`` are left out (IAM CreateAccessKey's
  ``SecretAccessKey``, STS credentials' ``SecretAccessKey``), as AWS does;
- timestamps are written in the Java medium format CloudTrail uses: ``Aug 1, 2024 1:33:28 PM``
  for IAM, RDS and KMS records, ``Nov 30, 2024, 8:43:18 AM`` (comma after the year) for STS, SSM,
  Secrets Manager and Health records; other services get the comma form (unconfirmed);
- blobs are not written (KMS Decrypt records have no ``ciphertextBlob``, datasets/cloudtrail/
  invictus-ir; unconfirmed for other services); members the model does not know are dropped; members bound to the HTTP
  status code are not written (Lambda DeleteFunction records have ``responseElements: null``).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from botocore.model import Shape
from botocore.utils import parse_timestamp

#: Services whose records write timestamps without the comma after the year.
_NO_COMMA_SERVICES = frozenset({"iam", "rds", "kms", "ec2"})



def camel(name: str) -> str:
    """``UserName`` -> ``userName`` (CloudTrail's member naming)."""
    return name[:1].lower() + name[1:]


def java_time(epoch_s: float, service: str) -> str:
    """``epoch_s`` in CloudTrail's request/response timestamp text for ``service`` (UTC)."""
    t = time.gmtime(int(epoch_s))
    hour = t.tm_hour % 12 or 12
    ampm = "AM" if t.tm_hour < 12 else "PM"
    sep = " " if service in _NO_COMMA_SERVICES else ", "
    return f"{time.strftime('%b', t)} {t.tm_mday}, {t.tm_year}{sep}{hour}:{t.tm_min:02d}:{t.tm_sec:02d} {ampm}"


def is_sensitive(shape: Shape) -> bool:
    """True when the model marks the shape (or the member's target shape) sensitive."""
    return bool(shape.metadata.get("sensitive"))


def _timestamp(value: Any, service: str) -> Any:
    try:
        if isinstance(value, datetime):
            return java_time(value.timestamp(), service)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return java_time(value, service)
        if isinstance(value, str):
            return java_time(parse_timestamp(value).timestamp(), service)
    except (ValueError, OverflowError, OSError):
        pass
    return value


def to_record(shape: Shape, value: Any, service: str, *, wire_names: bool = False) -> Any:
    """``value`` (a parsed or raw JSON value of ``shape``) as CloudTrail writes it; structures
    keyed by member name, or by wire name (``locationName``) when ``wire_names``. Returns
    :data:`OMIT` for a sensitive value."""
    if is_sensitive(shape):
        return OMIT
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        out: dict[str, Any] = {}
        for name, member in shape.members.items():  # type: ignore[attr-defined]
            if member.serialization.get("location") == "statusCode":
                continue  # the HTTP status (Lambda DeleteFunction's StatusCode) is not written
            key = member.serialization.get("name", name) if wire_names else name
            if key not in value:
                continue
            converted = to_record(member, value[key], service, wire_names=wire_names)
            if converted is not OMIT:
                out[camel(name)] = converted
        return out
    if kind == "list":
        if not isinstance(value, list):
            return value
        member = shape.member  # type: ignore[attr-defined]
        items = [to_record(member, v, service, wire_names=wire_names) for v in value]
        return [v for v in items if v is not OMIT]
    if kind == "map":
        if not isinstance(value, dict):
            return value
        vshape = shape.value  # type: ignore[attr-defined]
        out = {}
        for k, v in value.items():
            converted = to_record(vshape, v, service, wire_names=wire_names)
            if converted is not OMIT:
                out[str(k)] = converted
        return out
    if kind == "timestamp":
        return _timestamp(value, service)
    if kind == "blob":
        return OMIT
    return value


class _Omit:
    def __repr__(self) -> str:
        return "OMIT"


#: Marker for a value left out of the record (sensitive).
OMIT: Any = _Omit()


def scalar_from_text(shape: Shape, text: str) -> Any:
    """A query-string/header value converted to the shape's type (int, float, bool, text)."""
    kind = shape.type_name
    try:
        if kind in ("integer", "long"):
            return int(text)
        if kind in ("float", "double"):
            return float(text)
    except ValueError:
        return text
    if kind == "boolean":
        return text.lower() == "true"
    return text
