"""opentrail's additions to the chain walk, checked one day at a time behind it: digest files of the
trail that the chain never reached, and log files that no digest lists.

The AWS CLI follows ``previousDigestS3Object`` pointers, so a digest file put into the bucket
that nothing points to is never read, and it only reads the log files digests list, so a log file
put into the bucket is never seen. Both matter: tools read every ``*.json.gz`` of the folders.

The walk goes back in time; once it is below the start of a day, every digest that could name that
day's files has been read (a log file is listed by the digest whose period holds its delivery,
or a later one), so the day is *settled*:

- each of the trail's digest keys of that day that the walk did not visit is validated on its
  own: a failure is reported with its AWS CLI line, a digest that verifies gets "not part of the
  digest chain";
- each log file key of the day's log folder that no digest (of this trail, a backfill digest, or
  another trail writing to the same folder) lists, and whose delivery minute lies wholly inside
  periods of valid digests of the chain, is reported "not listed in any digest file". Keys that
  are not CloudTrail log file names are reported when any part of the day is covered.

Memory is per day: the visited keys, the listed log keys, the covered periods.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterator

import orjson

from ..objectstore import StorageError
from .digests import Digest, fetch_digest, validate_digest
from .errors import DigestError
from .findings import DigestInvalid, Finding, LogAdded
from .layout import TrailLayout, digest_key_stamp, is_backfill_digest_key, log_key_minute, parse_stamp
from .listing import DigestDays
from .storage import ValidationStorage

_MINUTE = timedelta(minutes=1)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


class DaySweeper:
    """Settles days behind the chain walk (see the module docstring)."""

    def __init__(
        self,
        storage: ValidationStorage,
        days: DigestDays,
        layout: TrailLayout,
        public_keys: Callable[[], dict[str, dict[str, Any]]],
    ) -> None:
        self.storage = storage
        self.days = days
        self.bucket = days.bucket
        self.layout = layout
        self._public_keys = public_keys
        self._next_day: date | None = days.last_day
        self._visited: set[str] = set()
        self._listed: dict[date, set[str]] = defaultdict(set)
        self._covered: list[tuple[datetime, datetime]] = []  # newest first, merged
        self.enabled = True

    def visited(self, key: str) -> None:
        self._visited.add(key)

    def valid_digest(self, digest: Digest) -> None:
        """Record a valid digest of the chain: its period and the log files it lists."""
        start, end = digest.start, digest.end
        if self._covered and self._covered[-1][0] <= end:
            newest_start, newest_end = self._covered[-1]
            self._covered[-1] = (min(start, newest_start), max(end, newest_end))
        else:
            self._covered.append((start, end))
        self._note_listed(digest.data)

    def _note_listed(self, data: dict[str, Any]) -> None:
        for log in data.get("logFiles") or []:
            if not isinstance(log, dict) or log.get("s3Bucket") != self.bucket:
                continue
            key = str(log.get("s3Object"))
            minute = log_key_minute(key)
            if minute is not None:
                self._listed[minute.date()].add(key)

    def settle_above(self, frontier: datetime) -> Iterator[Finding]:
        """Settle every day that starts after ``frontier`` (the walk is below it)."""
        while self._next_day is not None and _day_start(self._next_day) > frontier:
            yield from self._settle_next()

    def settle_all(self) -> Iterator[Finding]:
        while self._next_day is not None:
            yield from self._settle_next()

    def _settle_next(self) -> Iterator[Finding]:
        assert self._next_day is not None
        day = self._next_day
        self._next_day = day - timedelta(days=1) if day > self.days.first_day else None
        if self.enabled:
            if day in self.days.days():
                yield from self._unvisited_digests(day)
            yield from self._added_logs(day)
        self._listed.pop(day, None)
        self._covered = [c for c in self._covered if c[0] < _day_start(day)]

    def _unvisited_digests(self, day: date) -> Iterator[Finding]:
        for key in self.days.keys(day):
            if is_backfill_digest_key(key):
                self._note_backfill(key)
                continue
            if key in self._visited:
                continue
            try:
                digest = fetch_digest(self.storage.get_object, self.bucket, key)
                validate_digest(digest, self._public_keys(), self.layout.home_region)
            except DigestError as exc:
                yield DigestInvalid(str(exc))
                continue
            except StorageError:
                continue
            yield DigestInvalid(f"Digest file\ts3://{self.bucket}/{key}\tINVALID: not part of the digest chain")
        self._visited.difference_update(self.days.keys(day))

    def _note_backfill(self, key: str) -> None:
        try:
            digest = fetch_digest(self.storage.get_object, self.bucket, key)
        except (DigestError, StorageError):
            return  # the backfill walk reports it
        self._note_listed(digest.data)

    def _is_covered(self, minute: datetime) -> bool:
        return any(start <= minute and minute + _MINUTE <= end for start, end in self._covered)

    def _added_logs(self, day: date) -> Iterator[Finding]:
        day_start = _day_start(day)
        day_end = day_start + timedelta(days=1)
        if not any(start < day_end and end > day_start for start, end in self._covered):
            return
        listed = self._listed.get(day, set())
        candidates = []
        for key in self.storage.list_keys(self.bucket, self.layout.log_day_prefix(day)):
            if key in listed:
                continue
            minute = log_key_minute(key)
            if minute is None or self._is_covered(minute):
                candidates.append(key)
        if candidates:
            others = self._listed_by_other_trails(day)
            for key in candidates:
                if key not in others:
                    yield LogAdded(self.bucket, key)

    def _listed_by_other_trails(self, day: date) -> set[str]:
        """Log keys listed by digests of other trails in the same folder (same day or the next)."""
        ours = self.layout.digest_key_pattern()
        theirs = self.layout.other_digest_key_pattern()
        listed: set[str] = set()
        for folder_day in (day, day + timedelta(days=1)):
            for key in self.storage.list_keys(self.bucket, self.layout.digest_day_prefix(folder_day)):
                if ours.match(key) or not theirs.match(key):
                    continue
                try:
                    body = self.storage.get_object(self.bucket, key).body
                    data = orjson.loads(zlib.decompress(body, zlib.MAX_WBITS | 16))
                except (StorageError, ValueError, zlib.error):
                    continue
                for log in data.get("logFiles") or [] if isinstance(data, dict) else []:
                    if isinstance(log, dict):
                        listed.add(str(log.get("s3Object")))
        return listed


def key_time(key: str) -> datetime:
    """A digest key's timestamp (its end time)."""
    return parse_stamp(digest_key_stamp(key))
