"""The CloudTrail digest file format: keys, JSON bytes, string to sign, RSA signatures. No I/O.

Everything here is what the AWS CLI's validator (``awscli/customizations/cloudtrail/validation.py``)
and the CloudTrail User Guide ("CloudTrail digest file structure", "Custom implementations of
CloudTrail log file integrity validation") define:

- Key (:func:`digest_key`)::

    [<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail-Digest_<region>_<trail-name>_<home-region>_<YYYYMMDDTHHMMSSZ>[_backfill].json.gz

  with the digest *end* time (UTC, seconds) in the folders and the timestamp.
- Body: gzip of compact JSON with the fields in AWS's order (:data:`FIELD_ORDER`); times are
  ``YYYY-MM-DDTHH:MM:SSZ``; a starting digest has the five ``previousDigest*`` fields null; an empty
  one has ``logFiles: []`` and null event times. Hashes are hex SHA-256 of the *uncompressed* bytes.
- Signature (not in the file): S3 user metadata ``signature`` (hex) and ``signature-algorithm``
  (``SHA256withRSA``), see :func:`signature_metadata`; backfill digests add
  ``backfill-generation-timestamp``.
- String to sign (:func:`string_to_sign`), UTF-8::

    digestEndTime \\n digestS3Bucket/digestS3Object \\n hex(sha256(uncompressed digest)) \\n
    previousDigestSignature (or the literal "null")

  signed RSASSA-PKCS1-v1_5 with SHA-256 (what ``rsa.verify`` in the AWS CLI checks).
- Public keys: DER PKCS#1 ``RSAPublicKey``; fingerprint = hex MD5 of those DER bytes (checked
  against the three keys in the User Guide's ListPublicKeys sample response).
"""

from __future__ import annotations

import calendar
import hashlib
import re
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: ``digestSignatureAlgorithm`` and the ``signature-algorithm`` metadata value.
SIGNATURE_ALGORITHM = "SHA256withRSA"
#: ``hashAlgorithm`` / ``previousDigestHashAlgorithm``.
HASH_ALGORITHM = "SHA-256"
#: Object metadata names (S3 ``x-amz-meta-<name>``).
META_SIGNATURE = "signature"
META_SIGNATURE_ALGORITHM = "signature-algorithm"
META_BACKFILL_TIMESTAMP = "backfill-generation-timestamp"
#: Digest fields in the order AWS writes them (User Guide sample).
FIELD_ORDER: tuple[str, ...] = (
    "awsAccountId", "digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
    "digestPublicKeyFingerprint", "digestSignatureAlgorithm", "newestEventTime", "oldestEventTime",
    "previousDigestS3Bucket", "previousDigestS3Object", "previousDigestHashValue",
    "previousDigestHashAlgorithm", "previousDigestSignature", "logFiles",
)
#: Fields of each ``logFiles`` entry, in AWS's order.
LOG_FILE_FIELD_ORDER: tuple[str, ...] = (
    "s3Bucket", "s3Object", "hashValue", "hashAlgorithm", "newestEventTime", "oldestEventTime",
)
#: gzip level of digest bodies (they are small).
GZIP_LEVEL = 6

_KEY = re.compile(
    r"^(?:(?P<prefix>.+)/)?AWSLogs/(?:(?P<org>o-[a-z0-9]+)/)?(?P<account>\d{12})/CloudTrail-Digest/"
    r"(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
    r"(?P=account)_CloudTrail-Digest_(?P=region)_(?P<trail>.+)_(?P<home>[a-z0-9-]+)_"
    r"(?P<stamp>\d{8}T\d{6}Z)(?P<backfill>_backfill)?\.json\.gz$"
)


class DigestOrderError(ValueError):
    """A digest whose end time is not after the previous digest's end time (refused, not signed)."""


# --- times ------------------------------------------------------------------------------------

def format_time(epoch_s: float) -> str:
    """Epoch seconds as digest times are written: ``2015-08-17T14:01:31Z`` (UTC, fractions dropped)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch_s)))


def parse_time(text: str) -> int:
    """The inverse of :func:`format_time`; raises ValueError for any other form."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def key_stamp(epoch_s: float) -> str:
    """The key timestamp of a digest ending at ``epoch_s``: ``20150817T150131Z``."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(int(epoch_s)))


# --- keys -------------------------------------------------------------------------------------

def digest_prefix(prefix: str | None, account_id: str, region: str, organization_id: str | None = None) -> str:
    """``[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<region>/`` (the folder of a Region's
    digests; the AWS CLI lists ``ListObjects`` under it without the trailing slash)."""
    org = f"{organization_id}/" if organization_id else ""
    path = f"AWSLogs/{org}{account_id}/CloudTrail-Digest/{region}/"
    return f"{prefix}/{path}" if prefix else path


def digest_scope(region: str, account_id: str | None = None, organization_id: str | None = None) -> str:
    """What a digest chain covers: a Region of the trail's account (the Region itself), or for an
    organization trail a Region of one member account, ``<o-id>/<account>/<region>`` (AWS writes an
    organization trail's digests per member account: ``AWSLogs/<o-id>/<account>/CloudTrail-Digest/``)."""
    return f"{organization_id}/{account_id}/{region}" if organization_id and account_id else region


def scope_parts(scope: str) -> tuple[str | None, str | None, str]:
    """(organization id, member account, Region) of a :func:`digest_scope`; (None, None, region)
    for a plain Region."""
    parts = scope.split("/")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    return None, None, scope


def digest_key(prefix: str | None, account_id: str, region: str, trail_name: str, home_region: str,
               end_time: float, *, backfill: bool = False, organization_id: str | None = None) -> str:
    """The S3 key of the digest of trail ``trail_name`` (created in ``home_region``) for ``region``
    ending at ``end_time`` (epoch seconds); ``backfill`` adds the ``_backfill`` suffix."""
    t = time.gmtime(int(end_time))
    folders = time.strftime("%Y/%m/%d", t)
    suffix = "_backfill" if backfill else ""
    name = f"{account_id}_CloudTrail-Digest_{region}_{trail_name}_{home_region}_{key_stamp(end_time)}{suffix}.json.gz"
    return f"{digest_prefix(prefix, account_id, region, organization_id)}{folders}/{name}"


@dataclass(frozen=True, slots=True)
class DigestKey:
    """The parts of a digest key (see :func:`parse_digest_key`); ``end_time`` in epoch seconds."""

    prefix: str | None
    organization_id: str | None
    account_id: str
    region: str
    trail_name: str
    home_region: str
    end_time: int
    backfill: bool


def parse_digest_key(key: str) -> DigestKey | None:
    """The parts of ``key``, or None when it is not a digest key (folder date and timestamp must
    agree)."""
    m = _KEY.match(key)
    if m is None:
        return None
    try:
        end = calendar.timegm(time.strptime(m["stamp"], "%Y%m%dT%H%M%SZ"))
    except ValueError:
        return None
    if time.strftime("%Y/%m/%d", time.gmtime(end)) != f"{m['y']}/{m['m']}/{m['d']}":
        return None
    return DigestKey(m["prefix"], m["org"], m["account"], m["region"], m["trail"], m["home"], end,
                     m["backfill"] is not None)


def is_backfill_key(key: str) -> bool:
    """True for ``..._backfill.json.gz`` keys (the AWS CLI's test)."""
    return key.endswith("_backfill.json.gz")


# --- the digest document ----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LogFileEntry:
    """One ``logFiles`` entry: a delivered log file, hex SHA-256 of its uncompressed bytes and the
    eventTime range of its records (epoch seconds; None for a file without records)."""

    s3_bucket: str
    s3_object: str
    hash_value: str
    newest_event_time: int | None
    oldest_event_time: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "s3Bucket": self.s3_bucket,
            "s3Object": self.s3_object,
            "hashValue": self.hash_value,
            "hashAlgorithm": HASH_ALGORITHM,
            "newestEventTime": None if self.newest_event_time is None else format_time(self.newest_event_time),
            "oldestEventTime": None if self.oldest_event_time is None else format_time(self.oldest_event_time),
        }


@dataclass(frozen=True, slots=True)
class PreviousDigest:
    """The digest a new one chains to: its location, hex SHA-256 of its uncompressed bytes, its
    hex signature and its end time (epoch seconds, for :class:`DigestOrderError`)."""

    s3_bucket: str
    s3_object: str
    hash_value: str
    signature: str
    end_time: int


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest file's content. Times are epoch seconds; ``previous`` None = a starting digest."""

    account_id: str
    start_time: int
    end_time: int
    s3_bucket: str
    s3_object: str
    public_key_fingerprint: str
    previous: PreviousDigest | None
    log_files: tuple[LogFileEntry, ...] = field(default_factory=tuple)

    @property
    def newest_event_time(self) -> int | None:
        times = [f.newest_event_time for f in self.log_files if f.newest_event_time is not None]
        return max(times) if times else None

    @property
    def oldest_event_time(self) -> int | None:
        times = [f.oldest_event_time for f in self.log_files if f.oldest_event_time is not None]
        return min(times) if times else None

    def to_json(self) -> dict[str, Any]:
        """The document as a dict in :data:`FIELD_ORDER`."""
        prev = self.previous
        newest, oldest = self.newest_event_time, self.oldest_event_time
        return {
            "awsAccountId": self.account_id,
            "digestStartTime": format_time(self.start_time),
            "digestEndTime": format_time(self.end_time),
            "digestS3Bucket": self.s3_bucket,
            "digestS3Object": self.s3_object,
            "digestPublicKeyFingerprint": self.public_key_fingerprint,
            "digestSignatureAlgorithm": SIGNATURE_ALGORITHM,
            "newestEventTime": None if newest is None else format_time(newest),
            "oldestEventTime": None if oldest is None else format_time(oldest),
            "previousDigestS3Bucket": prev.s3_bucket if prev else None,
            "previousDigestS3Object": prev.s3_object if prev else None,
            "previousDigestHashValue": prev.hash_value if prev else None,
            "previousDigestHashAlgorithm": HASH_ALGORITHM if prev else None,
            "previousDigestSignature": prev.signature if prev else None,
            "logFiles": [f.to_json() for f in self.log_files],
        }


def digest_json(digest: Digest) -> bytes:
    """The uncompressed digest file: compact JSON, AWS's field order, UTF-8."""
    return orjson.dumps(digest.to_json())


def gzip_body(raw: bytes) -> bytes:
    """One gzip member holding ``raw`` (the object body of a digest file)."""
    co = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return co.compress(raw) + co.flush()


def gunzip_body(body: bytes) -> bytes:
    """The uncompressed bytes of a digest object (first gzip member only, as the AWS CLI reads
    digests with ``zlib.decompress``); raises ``zlib.error`` for a body that is not gzip."""
    return zlib.decompress(body, zlib.MAX_WBITS | 16)


def parse_digest(raw: bytes) -> dict[str, Any]:
    """The JSON object of uncompressed digest bytes; raises ValueError when it is not one."""
    value = orjson.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("a digest file holds a JSON object")
    return value


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256 (``hashValue``, ``previousDigestHashValue``)."""
    return hashlib.sha256(data).hexdigest()


# --- signing ----------------------------------------------------------------------------------

def string_to_sign(end_time: str, s3_bucket: str, s3_object: str, raw_digest: bytes,
                   previous_signature: str | None) -> bytes:
    """The data signing string of a digest, UTF-8 bytes. ``end_time`` is the ``digestEndTime``
    string as written in the file; ``raw_digest`` the uncompressed digest bytes."""
    prev = "null" if previous_signature is None else previous_signature
    return f"{end_time}\n{s3_bucket}/{s3_object}\n{sha256_hex(raw_digest)}\n{prev}".encode("utf-8")


def sign(private_key: rsa.RSAPrivateKey, message: bytes) -> str:
    """Hex RSASSA-PKCS1-v1_5 / SHA-256 signature of ``message`` (``SHA256withRSA``)."""
    return private_key.sign(message, padding.PKCS1v15(), hashes.SHA256()).hex()


def verify(public_key_der: bytes, message: bytes, signature_hex: str) -> bool:
    """True when ``signature_hex`` is a valid ``SHA256withRSA`` signature of ``message`` by the DER
    PKCS#1 public key; False for a wrong signature, bad hex or a key that does not load."""
    try:
        key = load_public_key(public_key_der)
        key.verify(bytes.fromhex(signature_hex), message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def sign_digest(digest: Digest, private_key: rsa.RSAPrivateKey) -> tuple[bytes, str]:
    """``(raw JSON bytes, hex signature)`` of ``digest``. Raises :class:`DigestOrderError` when its
    end time is not after its start time or not after the previous digest's end time (a signer
    never signs a digest older than the one it chains to)."""
    if digest.end_time <= digest.start_time:
        raise DigestOrderError(f"digest end {format_time(digest.end_time)} is not after its start {format_time(digest.start_time)}")
    if digest.previous is not None and digest.end_time <= digest.previous.end_time:
        raise DigestOrderError(
            f"digest end {format_time(digest.end_time)} is not after the previous digest's end "
            f"{format_time(digest.previous.end_time)}"
        )
    raw = digest_json(digest)
    message = string_to_sign(format_time(digest.end_time), digest.s3_bucket, digest.s3_object, raw,
                             digest.previous.signature if digest.previous else None)
    return raw, sign(private_key, message)


def signature_metadata(signature_hex: str, backfill_generation_time: float | None = None) -> dict[str, str]:
    """The S3 user metadata of a digest object: ``signature``, ``signature-algorithm`` and, for a
    backfill digest, ``backfill-generation-timestamp`` (``YYYY-MM-DDTHH:MM:SSZ``; unconfirmed: AWS
    does not document its form, the AWS CLI parses it with dateutil)."""
    meta = {META_SIGNATURE: signature_hex, META_SIGNATURE_ALGORITHM: SIGNATURE_ALGORITHM}
    if backfill_generation_time is not None:
        meta[META_BACKFILL_TIMESTAMP] = format_time(backfill_generation_time)
    return meta


# --- keys -------------------------------------------------------------------------------------

def generate_private_key() -> rsa.RSAPrivateKey:
    """A new RSA-2048 private key (public exponent 65537)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_key_der(private_key: rsa.RSAPrivateKey) -> bytes:
    """The DER PKCS#1 ``RSAPublicKey`` of ``private_key`` (ListPublicKeys ``Value``)."""
    return private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)


def load_public_key(der: bytes) -> rsa.RSAPublicKey:
    """Load a DER RSA public key (PKCS#1, or SubjectPublicKeyInfo); raises ValueError otherwise."""
    key = serialization.load_der_public_key(der)
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA public key")
    return key


def fingerprint(public_key_der_bytes: bytes) -> str:
    """The key fingerprint CloudTrail uses (``digestPublicKeyFingerprint``, ListPublicKeys
    ``Fingerprint``): 32 hex characters, MD5 of the DER public key bytes."""
    return hashlib.md5(public_key_der_bytes, usedforsecurity=False).hexdigest()
