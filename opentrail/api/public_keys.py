"""ListPublicKeys, as the API model (``ListPublicKeysRequest``/``ListPublicKeysResponse``,
``PublicKey``) and the User Guide ("Custom implementations of CloudTrail log file integrity
validation") describe it.

Request: ``StartTime`` / ``EndTime`` (epoch seconds as JSON numbers; each defaults to the current
time, so no range at all returns the key in use now), ``NextToken``. Response:
``{"PublicKeyList": [{Value, ValidityStartTime, ValidityEndTime, Fingerprint}], "NextToken"?}`` --
every key of the *signing Region* whose validity overlaps the range, newest first (the Region's
current key is created on the first call if no digest was signed there yet). ``Value`` is the
DER PKCS#1 RSA public key (a blob: base64 on the wire), ``Fingerprint`` the hex MD5 of it.

Errors: StartTime after EndTime is ``InvalidTimeRangeException`` (the model's documentation: "the
start time occurs after the end time"); a token that was not issued for this range is
``InvalidTokenException`` (message unconfirmed: AWS documents the error as "Reserved for future
use"). Pages hold :data:`PAGE_SIZE` keys: the AWS CLI's ``validate-logs`` reads only the first
page, and 1000 keys is more than 80 years of monthly rotation.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import TYPE_CHECKING, Any

import orjson

from ..digests.keys import KeyStore
from .errors import AwsError, InvalidTimeRangeException, SerializationException, UnknownOperationException

if TYPE_CHECKING:  # operations imports this module to build its table
    from .operations import OperationContext

PAGE_SIZE = 1000


class InvalidTokenException(AwsError):
    """A NextToken that ListPublicKeys did not issue for this time range."""

    default_message = "Invalid NextToken."


def _time(params: dict[str, Any], name: str) -> float | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SerializationException(f"{name} must be a timestamp in epoch seconds (a JSON number).")
    return float(value)


def _keys(ctx: OperationContext) -> KeyStore:
    keys = getattr(ctx, "public_keys", None)
    if keys is None:
        raise UnknownOperationException.not_implemented("ListPublicKeys")
    return keys


def _token(start: float, end: float, offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([start, end, offset])).decode("ascii")


def _offset(token: Any, start: float, end: float) -> int:
    if token is None:
        return 0
    if not isinstance(token, str):
        raise SerializationException.for_value(token, "String")
    try:
        value = orjson.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError):
        raise InvalidTokenException() from None
    if (not isinstance(value, list) or len(value) != 3 or value[:2] != [start, end]
            or not isinstance(value[2], int) or isinstance(value[2], bool) or value[2] < 0):
        raise InvalidTokenException()
    return int(value[2])


def list_public_keys(ctx: OperationContext, params: dict[str, Any]) -> dict[str, Any]:
    store = _keys(ctx)
    now = ctx.clock()
    start, end = _time(params, "StartTime"), _time(params, "EndTime")
    start = now if start is None else start
    end = now if end is None else end
    if start > end:
        raise InvalidTimeRangeException()
    offset = _offset(params.get("NextToken"), start, end)
    store.current(ctx.caller.region)  # as on AWS, a Region always has a key in use, even before a first digest
    keys = store.public_keys(ctx.caller.region, start, end)
    page = keys[offset:offset + PAGE_SIZE]
    out: dict[str, Any] = {"PublicKeyList": [
        {"Value": base64.b64encode(k.der).decode("ascii"), "ValidityStartTime": k.validity_start,
         "ValidityEndTime": k.validity_end, "Fingerprint": k.fingerprint}
        for k in page
    ]}
    if offset + PAGE_SIZE < len(keys):
        out["NextToken"] = _token(start, end, offset + PAGE_SIZE)
    return out
