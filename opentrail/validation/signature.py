"""Verifying SHA256withRSA digest signatures with ``cryptography``, telling apart why one fails.

Source: AWS CloudTrail User Guide, "Validating CloudTrail log file integrity with the AWS CLI" /
"Custom implementations of CloudTrail log file integrity validation", and the AWS CLI's
``Sha256RSADigestValidator``. The string to sign is UTF-8::

    digestEndTime "\\n" digestS3Bucket "/" digestS3Object "\\n"
    hex(SHA-256(uncompressed digest file)) "\\n" (previousDigestSignature or "null")

signed RSASSA-PKCS1-v1_5 with SHA-256; the hex signature is the object's ``signature`` metadata.
Public keys are DER PKCS #1 ``RSAPublicKey`` structures (ListPublicKeys ``Value``). The string
to sign and key loading are :mod:`opentrail.digests.format`'s (the signer's own); this module adds
the distinctions the AWS CLI reports (key does not load / signature does not verify / not hex).
"""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from ..digests import format as digest_format


class KeyLoadError(ValueError):
    """The public key bytes are not an RSA public key."""


class SignatureMismatch(ValueError):
    """The signature does not verify with the public key."""


def string_to_sign(digest: dict[str, Any], uncompressed: bytes) -> bytes:
    """The string to sign of a decoded digest (previousDigestSignature null -> "null")."""
    return digest_format.string_to_sign(
        str(digest["digestEndTime"]),
        str(digest["digestS3Bucket"]),
        str(digest["digestS3Object"]),
        uncompressed,
        None if digest.get("previousDigestSignature") is None else str(digest["previousDigestSignature"]),
    )


def public_key_der(value: bytes | str) -> bytes:
    """ListPublicKeys ``Value`` as DER: boto3 gives the bytes, the AWS CLI's JSON base64 text."""
    if isinstance(value, str):
        return base64.b64decode(value)
    return bytes(value)


@lru_cache(maxsize=64)
def load_public_key(der: bytes) -> rsa.RSAPublicKey:
    """Raises :class:`KeyLoadError` for bytes that are not a DER RSA public key."""
    try:
        return digest_format.load_public_key(der)
    except (ValueError, TypeError) as exc:
        raise KeyLoadError(str(exc)) from None


def verify_digest_signature(key: rsa.RSAPublicKey, digest: dict[str, Any], uncompressed: bytes, signature_hex: str) -> None:
    """Raises :class:`SignatureMismatch`, or ``binascii.Error`` when ``signature_hex`` is not hex
    (the AWS CLI reports that error's own text)."""
    signature = binascii.unhexlify(signature_hex)
    try:
        key.verify(signature, string_to_sign(digest, uncompressed), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise SignatureMismatch() from None
