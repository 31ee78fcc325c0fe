"""Access key ids that carry their account, as AWS's do.

AWS key ids made since 2019 encode the account id: after the 4-letter prefix (``AKIA`` long-term,
``ASIA`` temporary), the base32 text decodes to bytes whose first 6 bytes hold the account id in
bits 46..7 (mask ``0x7fffffffff80``, shifted right by 7). This is what lets GetAccessKeyInfo answer
for any key id, whether the key exists or not (Tal Be'ery, "A short note on AWS KEY ID", 2023;
the STS API reference: "GetAccessKeyInfo ... returns the account identifier for the specified
access key ID"). :func:`account_of` decodes it; :func:`new_key_id` makes such an id.
"""

from __future__ import annotations

import base64
import binascii
import secrets

_MASK = 0x7FFFFFFFFF80


def new_key_id(prefix: str, account_id: str) -> str:
    """``prefix`` + 16 base32 characters (10 bytes) whose first 6 bytes encode ``account_id``
    (12 digits) as :func:`account_of` reads it; the other bits are random."""
    head = (int(account_id) << 7) | secrets.randbits(7)
    raw = head.to_bytes(6, "big") + secrets.token_bytes(4)
    return prefix + base64.b32encode(raw).decode("ascii")


def account_of(access_key_id: str) -> str | None:
    """The 12-digit account encoded in ``access_key_id`` (see the module docstring), or None when
    the id after its 4-character prefix is not base32 text of at least 6 bytes."""
    body = access_key_id[4:]
    if len(body) < 10:
        return None
    body = body + "=" * (-len(body) % 8)
    try:
        raw = base64.b32decode(body)
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 6:
        return None
    return f"{(int.from_bytes(raw[:6], 'big') & _MASK) >> 7:012d}"
