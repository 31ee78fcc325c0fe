"""The walk back through a trail's digest chain: the AWS CLI's ``DigestTraverser``, plus checks.

As the AWS CLI does: start at the newest digest key of the range; validate it; follow its
``previousDigestS3Bucket``/``previousDigestS3Object`` until a digest starts before the start time.
A missing digest ("not found") or an invalid one is reported and the walk goes on with the newest
listed key older than it; a digest without a previous one (a starting digest) goes on the same way,
with "No log files were delivered by CloudTrail between ..." when there is an older one.

Added by opentrail (each reported as an invalid digest file):

- the link to the previous digest is checked: its SHA-256 must be ``previousDigestHashValue``, its
  ``signature`` metadata ``previousDigestSignature``, its end time this one's start time, and it
  must be older (a *broken* or *reordered* chain);
- after a missing or invalid digest, the time to the next listed one is compared with the digest
  period: when it spans more periods than one, the digests deleted along with the one named are
  reported ("N more not found between ..."; aws-cli issue 7054: the AWS CLI misses every deleted
  digest after the first one of a run). A starting digest that was deleted right after a time
  with logging off is indistinguishable from such a run, and reported the same way;
- the trail's digest keys that the walk never reached and the log files no digest lists
  (:mod:`.coverage`).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any, Iterator

from ..objectstore import NoSuchKey, StorageError
from .coverage import DaySweeper, key_time
from .digests import Digest, fetch_digest, parse_date, validate_digest
from .errors import ChainLinkError, DigestError, ValidationAbort
from .findings import ChainGap, DigestInvalid, DigestValid, Finding, LogToCheck
from .layout import TrailLayout, format_display_date
from .listing import DigestCursor, DigestDays
from .public_keys import PublicKeySource, load_public_keys
from .storage import ValidationStorage


def check_link(newer: Digest, older: Digest) -> None:
    """What ``newer`` says of its previous digest must hold for ``older``. Raises
    :class:`ChainLinkError` naming ``older``."""
    where = f"s3://{newer.bucket}/{newer.key}"
    if older.end >= newer.end:
        raise ChainLinkError(
            older.bucket, older.key,
            f"digest chain out of order: ends at {format_display_date(older.end)}, not before the "
            f"next digest file {where}",
        )
    if hashlib.sha256(older.uncompressed).hexdigest() != newer.data.get("previousDigestHashValue"):
        raise ChainLinkError(older.bucket, older.key, f"hash value doesn't match previousDigestHashValue of {where}")
    if older.signature != newer.data.get("previousDigestSignature"):
        raise ChainLinkError(older.bucket, older.key, f"signature doesn't match previousDigestSignature of {where}")
    if older.end != newer.start:
        raise ChainLinkError(
            older.bucket, older.key,
            f"digest chain broken: ends at {format_display_date(older.end)} but the next digest file "
            f"{where} starts at {format_display_date(newer.start)}",
        )


class ChainWalker:
    """Walks one trail's chain in ``bucket`` between ``start`` and ``end`` (aware UTC)."""

    def __init__(
        self,
        storage: ValidationStorage,
        keys: PublicKeySource,
        layout: TrailLayout,
        bucket: str,
        start: datetime,
        end: datetime,
    ) -> None:
        self.storage = storage
        self.keys = keys
        self.layout = layout
        self.bucket = bucket
        self.start = start
        self.end = end
        self._public_keys: dict[str, dict[str, Any]] | None = None
        self._period: timedelta | None = None

    def _standard_keys(self) -> dict[str, dict[str, Any]]:
        if self._public_keys is None:
            self._public_keys = load_public_keys(self.keys, self.start, self.end + timedelta(hours=2))
        return self._public_keys

    def walk(self, backfill: bool = False) -> Iterator[Finding]:
        """Findings in print order. Raises :class:`ValidationAbort` (no public keys) and storage
        errors other than NoSuchKey."""
        bucket = self.bucket
        days = DigestDays(self.storage, bucket, self.layout, self.start, self.end)
        cursor = DigestCursor(days, backfill)
        public_keys: dict[str, dict[str, Any]] = {} if backfill else self._standard_keys()
        sweeper = None if backfill else DaySweeper(self.storage, days, self.layout, self._standard_keys)
        key, end_date = cursor.last()
        last_start = end_date
        newer: Digest | None = None  # the digest whose previous* fields named ``key``
        jumped_from: str | None = None  # a missing/invalid key the walk jumped over to reach ``key``
        while key and last_start is not None and self.start <= last_start:
            if sweeper is not None:
                sweeper.visited(key)
            try:
                digest = fetch_digest(self.storage.get_object, bucket, key)
                if backfill:
                    self._add_backfill_keys(digest, public_keys)
                validate_digest(digest, public_keys, self.layout.home_region)
                if newer is not None:
                    check_link(newer, digest)
                period = digest.end - digest.start
                if period > timedelta(0) and (self._period is None or period > self._period):
                    self._period = period
                if jumped_from is not None and not backfill:
                    yield from self._more_missing(bucket, jumped_from, digest.end)
                jumped_from = None
                previous_bucket = digest.data.get("previousDigestS3Bucket")
                previous_key = digest.data.get("previousDigestS3Object")
                if previous_key is not None and previous_bucket is not None and not backfill:
                    try:
                        pointed = key_time(str(previous_key))
                    except ValueError:
                        pointed = None
                    if pointed is not None and pointed >= key_time(key):
                        raise ChainLinkError(
                            bucket, key,
                            f"digest chain out of order: previous digest file s3://{previous_bucket}/{previous_key} is not older",
                        )
                last_start = digest.start
                yield DigestValid(digest, backfill)
                for log in digest.log_files:
                    yield LogToCheck(log)
                if sweeper is not None:
                    sweeper.valid_digest(digest)
                    yield from sweeper.settle_above(last_start)
                if previous_bucket is None or previous_key is None:
                    newer = None
                    next_key, next_end = cursor.before(key)
                    if next_key is not None and next_end is not None:
                        yield ChainGap(
                            f"No log files were delivered by CloudTrail between {format_display_date(next_end)} "
                            f"and {format_display_date(last_start)}",
                            backfill,
                        )
                    key, end_date = next_key, next_end
                else:
                    newer = digest
                    key = str(previous_key)
                    if previous_bucket != bucket:
                        bucket = str(previous_bucket)
                        days = DigestDays(self.storage, bucket, self.layout, self.start, digest.end)
                        cursor = DigestCursor(days, backfill)
                        if sweeper is not None:
                            sweeper.enabled = False  # it settles the trail's own bucket only
                continue
            except NoSuchKey:
                message = f"Digest file\ts3://{bucket}/{key}\tINVALID: not found"
            except DigestError as exc:
                message = str(exc)
            except (StorageError, ValidationAbort):
                raise
            except Exception as exc:  # the AWS CLI reports any other failure on the digest itself
                message = f"Digest file\ts3://{bucket}/{key}\tINVALID: {exc}"
            yield DigestInvalid(message, backfill)
            newer = None
            jumped_from = key
            key, end_date = cursor.before(key)
            if sweeper is not None and end_date is not None:
                yield from sweeper.settle_above(end_date)
        if sweeper is not None:
            yield from sweeper.settle_all()

    def _more_missing(self, bucket: str, jumped_from: str, older_end: datetime) -> Iterator[Finding]:
        """Digests deleted along with ``jumped_from`` (whose key gives its end time), judged from
        the time between it and the next older valid digest, ending at ``older_end``."""
        if self._period is None:
            return
        try:
            span = key_time(jumped_from) - older_end
        except ValueError:
            return
        count = round(span / self._period) - 1
        if count >= 1:
            folder = f"s3://{bucket}/{self.layout.digest_region_prefix()}"
            yield DigestInvalid(
                f"Digest files\t{folder}\tINVALID: {count} more not found between "
                f"{format_display_date(older_end)} and {format_display_date(key_time(jumped_from))}",
                count=count,
            )

    def _add_backfill_keys(self, digest: Digest, public_keys: dict[str, dict[str, Any]]) -> None:
        """The AWS CLI loads keys for a backfill digest around its generation time when its
        fingerprint is not known yet."""
        fingerprint = digest.data.get("digestPublicKeyFingerprint")
        if fingerprint in public_keys or digest.backfill_generation_timestamp is None:
            return
        generated = parse_date(digest.backfill_generation_timestamp)
        public_keys.update(load_public_keys(self.keys, generated - timedelta(hours=1), generated + timedelta(hours=1)))
