"""Test fixtures: real digest chains (opentrail.digests.format signs them) in real storage.

:class:`TrailFiles` writes log files and hourly digests of one trail into an
:class:`~opentrail.objectstore.ObjectStorage` (a local folder or moto's S3 server) the way the
digest worker lays them out, with RSA keys that can rotate mid-chain; :class:`KeyRing` answers
ListPublicKeys for them.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from opentrail.delivery import log_file_key
from opentrail.digests import format as F
from opentrail.objectstore import ObjectStorage

ACCOUNT = "123456789012"
REGION = "us-east-1"
TRAIL = "main"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{TRAIL}"
HOUR = 3600
# 2026-01-05T00:00:00Z: digests of the fixtures end at 00:30:00 + n hours.
T0 = int(datetime(2026, 1, 5, tzinfo=timezone.utc).timestamp())


def when(epoch_s: int) -> str:
    return F.format_time(epoch_s)


@dataclass
class KeyRing:
    """Signing keys and their validity, answering ListPublicKeys like the API."""

    keys: list[tuple[Any, int, int]] = field(default_factory=list)  # (private key, valid from, valid to)

    def add(self, valid_from: int, valid_to: int) -> Any:
        key = F.generate_private_key()
        self.keys.append((key, valid_from, valid_to))
        return key

    def list_public_keys(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        out = []
        for key, valid_from, valid_to in self.keys:
            if valid_from <= end.timestamp() and valid_to >= start.timestamp():
                der = F.public_key_der(key)
                out.append({
                    "Value": der,
                    "ValidityStartTime": datetime.fromtimestamp(valid_from, timezone.utc),
                    "ValidityEndTime": datetime.fromtimestamp(valid_to, timezone.utc),
                    "Fingerprint": F.fingerprint(der),
                })
        return out


@dataclass
class Written:
    """One written digest: its key, uncompressed JSON, signature and log file keys."""

    key: str
    raw: bytes
    signature: str
    start: int
    end: int
    log_keys: list[str]


class TrailFiles:
    """Writes one trail's log files and digest chain into ``storage``/``bucket``."""

    def __init__(self, storage: ObjectStorage, bucket: str, signer: Any, prefix: str | None = None) -> None:
        self.storage = storage
        self.bucket = bucket
        self.signer = signer
        self.prefix = prefix
        self.digests: list[Written] = []
        self._serial = 0

    def log_file(self, delivered: int, records: int = 3, pad: int = 0) -> tuple[str, bytes]:
        """Write a log file delivered at ``delivered``; returns its key and uncompressed bytes."""
        self._serial += 1
        recs = [
            {"eventVersion": "1.11", "eventID": f"{self._serial:08d}-{i:04d}", "eventTime": when(delivered - 60),
             "eventName": "GetObject", "awsRegion": REGION, "padding": "x" * pad}
            for i in range(records)
        ]
        raw = orjson.dumps({"Records": recs})
        key = log_file_key(self.prefix, ACCOUNT, REGION, delivered, f"{self._serial:016d}")
        self.storage.put_object(self.bucket, key, gzip.compress(raw), {})
        return key, raw

    def digest(
        self,
        start: int,
        end: int,
        logs: list[tuple[str, bytes]],
        *,
        chain: bool = True,
        signer: Any = None,
        previous: Written | None = None,
    ) -> Written:
        """Write a digest for ``[start, end]`` listing ``logs``; it chains to ``previous`` or, when
        ``chain``, to the last digest written. Signed without the signer's order check (tests build
        reordered chains on purpose)."""
        signer = signer or self.signer
        prev = previous if previous is not None else (self.digests[-1] if chain and self.digests else None)
        key = F.digest_key(self.prefix, ACCOUNT, REGION, TRAIL, REGION, end)
        der = F.public_key_der(signer)
        doc = F.Digest(
            ACCOUNT, start, end, self.bucket, key, F.fingerprint(der),
            None if prev is None else F.PreviousDigest(self.bucket, prev.key, F.sha256_hex(prev.raw), prev.signature, prev.end),
            tuple(F.LogFileEntry(self.bucket, k, hashlib.sha256(raw).hexdigest(), end - 60, start) for k, raw in logs),
        )
        raw = F.digest_json(doc)
        signature = F.sign(signer, F.string_to_sign(when(end), self.bucket, key, raw, prev.signature if prev else None))
        self.storage.put_object(self.bucket, key, F.gzip_body(raw), F.signature_metadata(signature))
        written = Written(key, raw, signature, start, end, [k for k, _ in logs])
        self.digests.append(written)
        return written

    def hourly(self, hours: int, logs_per_hour: int = 2, restart_at: int | None = None) -> list[Written]:
        """``hours`` contiguous digests, each listing ``logs_per_hour`` log files delivered in its
        hour, continuing the chain; ``restart_at``: a new chain (logging started again) then."""
        start = restart_at if restart_at is not None else (self.digests[-1].end if self.digests else T0 - HOUR // 2)
        out = []
        for i in range(hours):
            end = start + HOUR
            logs = [self.log_file(start + 60 + j * 600) for j in range(logs_per_hour)]
            out.append(self.digest(start, end, logs, chain=not (i == 0 and restart_at is not None)))
            start = end
        return out
