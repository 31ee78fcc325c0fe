"""Loading one digest file and validating it on its own: format, location, public key, signature.

Source: the AWS CLI's ``DigestProvider.fetch_digest``, ``DigestTraverser._load_and_validate_digest``
and ``Sha256RSADigestValidator``, in the same order and with the same messages:

1. gzip + JSON object, else "invalid format";
2. metadata ``signature`` and ``signature-algorithm`` present, else "signature verification failed";
   a backfill digest also needs ``backfill-generation-timestamp``, else "invalid format";
3. the required fields present, else "invalid format";
4. ``digestS3Bucket``/``digestS3Object`` are where the file was found, else "has been moved";
5. a public key with ``digestPublicKeyFingerprint``, else "public key not found in region ...";
6. the signature verifies, else "signature verification failed".

opentrail adds: bytes after the digest's gzip member make it invalid ("unexpected data after end
of compressed stream", as for log files).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

import orjson
from dateutil import parser as date_parser

from ..objectstore import StoredObject
from .errors import (
    DigestError,
    DigestMoved,
    DigestSignatureError,
    InvalidDigestFormat,
    PublicKeyNotFound,
    PublicKeyUnloadable,
)
from .layout import is_backfill_digest_key
from .signature import KeyLoadError, SignatureMismatch, load_public_key, public_key_der, verify_digest_signature

REQUIRED_DIGEST_FIELDS = (
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
)


def parse_date(value: str) -> datetime:
    """A CloudTrail/CLI date in UTC (naive dates are taken as UTC, as the AWS CLI does). Raises
    ValueError("Unable to parse date value: ...")."""
    try:
        parsed = date_parser.parse(value)
    except (ValueError, OverflowError, TypeError):
        raise ValueError(f"Unable to parse date value: {value}") from None
    return parsed.replace(tzinfo=timezone.utc)


@dataclass(slots=True)
class Digest:
    """A digest file as found: its fields, the uncompressed bytes (SHA-256 of them is what the next
    digest's previousDigestHashValue names) and its signature metadata."""

    bucket: str
    key: str
    data: dict[str, Any]
    uncompressed: bytes
    signature: str
    signature_algorithm: str
    backfill_generation_timestamp: str | None = None

    @property
    def start(self) -> datetime:
        return parse_date(self.data["digestStartTime"])

    @property
    def end(self) -> datetime:
        return parse_date(self.data["digestEndTime"])

    @property
    def log_files(self) -> list[dict[str, Any]]:
        files = self.data.get("logFiles") or []
        return [f for f in files if isinstance(f, dict)]


def fetch_digest(get_object: Callable[[str, str], StoredObject], bucket: str, key: str) -> Digest:
    """Read and decode a digest file. Raises :class:`NoSuchKey` (from storage),
    :class:`InvalidDigestFormat`, :class:`DigestSignatureError`, :class:`DigestError`."""
    stored = get_object(bucket, key)
    try:
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        uncompressed = inflater.decompress(stored.body) + inflater.flush()
        if not inflater.eof:
            raise ValueError("truncated")
        data = orjson.loads(uncompressed)
    except (ValueError, zlib.error):
        raise InvalidDigestFormat(bucket, key) from None
    if not isinstance(data, dict):
        raise InvalidDigestFormat(bucket, key)
    metadata = stored.metadata
    if "signature" not in metadata or "signature-algorithm" not in metadata:
        raise DigestSignatureError(bucket, key)
    digest = Digest(bucket, key, data, uncompressed, metadata["signature"], metadata["signature-algorithm"])
    if is_backfill_digest_key(key):
        if "backfill-generation-timestamp" not in metadata:
            raise InvalidDigestFormat(bucket, key)
        digest.backfill_generation_timestamp = metadata["backfill-generation-timestamp"]
    if inflater.unused_data:
        raise DigestError(f"Digest file\ts3://{bucket}/{key}\tINVALID: unexpected data after end of compressed stream")
    return digest


def validate_digest(digest: Digest, public_keys: dict[str, dict[str, Any]], home_region: str) -> None:
    """Steps 3-6 of the module docstring. ``public_keys`` is ``{fingerprint: ListPublicKeys
    entry}``. Raises :class:`DigestError` subclasses."""
    bucket, key, data = digest.bucket, digest.key, digest.data
    for field in REQUIRED_DIGEST_FIELDS:
        if field not in data:
            raise InvalidDigestFormat(bucket, key)
    if data["digestS3Bucket"] != bucket or data["digestS3Object"] != key:
        raise DigestMoved(bucket, key)
    fingerprint = data["digestPublicKeyFingerprint"]
    if fingerprint not in public_keys:
        raise PublicKeyNotFound(bucket, key, home_region, str(fingerprint))
    try:
        public_key = load_public_key(public_key_der(public_keys[fingerprint]["Value"]))
    except (KeyLoadError, ValueError):
        raise PublicKeyUnloadable(bucket, key, str(fingerprint)) from None
    try:
        verify_digest_signature(public_key, data, digest.uncompressed, digest.signature)
    except SignatureMismatch:
        raise DigestSignatureError(bucket, key) from None
    except ValueError as exc:  # not hex: the AWS CLI prints the error's own text
        raise DigestError(f"Digest file\ts3://{bucket}/{key}\tINVALID: {exc}") from None
    for field in ("digestStartTime", "digestEndTime"):
        try:
            parse_date(str(data[field]))
        except ValueError as exc:
            raise DigestError(f"Digest file\ts3://{bucket}/{key}\tINVALID: {exc}") from None
