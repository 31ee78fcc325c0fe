"""CloudWatch Logs pagination tokens.

- GetLogEvents: ``f/<56 digits>/s`` (forward) and ``b/<56 digits>/s`` (backward), AWS's shape; the
  digits are the (timestamp, id) key of the :class:`~opentrail.monitoring.logs_model.Cursor` (20 +
  36 digits). They carry nothing secret and are read back as they are.
- Every other ``nextToken`` (FilterLogEvents, DescribeLogGroups, DescribeLogStreams,
  DescribeMetricFilters, ListLogGroups) is opaque: base64url of the JSON ``[issued ms, payload]``
  and an HMAC-SHA256 (first 16 bytes) under the server's token key over that and the request's
  *binding* (operation, account, Region and the parameters the token only makes sense with). A
  token that was changed, made for other parameters, or issued more than 24 hours ago ("The token
  expires after 24 hours", FilterLogEvents reference) answers InvalidParameterException "The
  specified nextToken is invalid." (AWS's text, LocalStack's AWS-validated snapshots).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Any

import orjson

from ..monitoring.logs_model import Cursor
from .logs_errors import InvalidParameterException

INVALID_TOKEN = "The specified nextToken is invalid."
#: A token older than this is refused.
TOKEN_LIFETIME_MS = 24 * 3600 * 1000
_MAC_BYTES = 16
_DOMAIN = b"opentrail logs nextToken v1\x00"
_STREAM_TOKEN = re.compile(r"([fb])/(\d{20})(\d{36})(?:/s)?")


def stream_token(cursor: Cursor) -> str:
    """The GetLogEvents token of ``cursor``."""
    ts, event_id = cursor.key
    ts, event_id = min(max(ts, 0), 10**20 - 1), min(max(event_id, 0), 10**36 - 1)
    return f"{'f' if cursor.forward else 'b'}/{ts:020d}{event_id:036d}/s"


def parse_stream_token(token: str) -> Cursor:
    """The cursor of a GetLogEvents token; InvalidParameterException otherwise."""
    m = _STREAM_TOKEN.fullmatch(token)
    if m is None:
        raise InvalidParameterException(INVALID_TOKEN)
    return Cursor(m.group(1) == "f", (int(m.group(2)), int(m.group(3))))


def _mac(key: bytes, binding: bytes, body: bytes) -> bytes:
    return hmac.new(key, _DOMAIN + binding + b"\x00" + body, hashlib.sha256).digest()[:_MAC_BYTES]


def seal(key: bytes, binding: Any, payload: Any, now_ms: int) -> str:
    """An opaque token holding ``payload`` (JSON-able), valid for requests with the same
    ``binding`` (JSON-able) for :data:`TOKEN_LIFETIME_MS`."""
    body = orjson.dumps([now_ms, payload])
    raw = body + _mac(key, orjson.dumps(binding), body)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unseal(key: bytes, binding: Any, token: str, now_ms: int) -> Any:
    """The payload of a token :func:`seal` made for ``binding``; InvalidParameterException when it
    was not, was changed, or expired."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise InvalidParameterException(INVALID_TOKEN) from None
    body, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
    if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, _mac(key, orjson.dumps(binding), body)):
        raise InvalidParameterException(INVALID_TOKEN)
    issued, payload = orjson.loads(body)
    if not isinstance(issued, int) or now_ms - issued > TOKEN_LIFETIME_MS:
        raise InvalidParameterException(INVALID_TOKEN)
    return payload
