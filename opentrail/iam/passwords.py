"""Console passwords of IAM users (login profiles): stored only as scrypt hashes (``hashlib.scrypt``,
RFC 7914, random 16-byte salt, n=2**14, r=8, p=1), as ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``;
the clear password is never stored, logged or answered."""

from __future__ import annotations

import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1
_LENGTH = 32


def hash_password(password: str) -> str:
    """The stored form of ``password`` (a new random salt each time)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_LENGTH)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (:func:`hash_password`'s form); False for any other
    password or a stored value that is not of that form. Compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)
