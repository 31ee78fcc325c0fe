"""A trail's digest keys in a time range, newest first, listed one day folder at a time.

The AWS CLI lists every digest key of the range up front (``DigestProvider.load_digest_keys_in_range``)
and pops from the end. This lists the same keys -- those matching the trail's key pattern whose key
timestamp is between the start time and the end time plus one hour -- but walks the existing day
folders (``<YYYY>/<MM>/<DD>/``, found with delimiter listings) from the newest down, holding one
day's keys at a time, so memory does not grow with the range.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterator

from .layout import TrailLayout, digest_key_stamp, format_date, is_backfill_digest_key, parse_stamp
from .storage import ValidationStorage


def _is_stamp(stamp: str) -> bool:
    try:
        parse_stamp(stamp)
    except ValueError:
        return False
    return True


def _numbers(names: list[str]) -> list[int]:
    return sorted(int(n) for n in names if n.isdigit())


class DigestDays:
    """The day folders of a trail's digests and each day's keys in range (a small cache)."""

    def __init__(self, storage: ValidationStorage, bucket: str, layout: TrailLayout, start: datetime, end: datetime) -> None:
        self.storage = storage
        self.bucket = bucket
        self.layout = layout
        self.low = format_date(start)
        self.high = format_date(end + timedelta(hours=1))
        self.first_day = (start - timedelta(minutes=1)).date()
        self.last_day = (end + timedelta(hours=1)).date()
        self._pattern = layout.digest_key_pattern()
        self._days: list[date] | None = None
        self._cache: dict[date, list[str]] = {}

    def days(self) -> list[date]:
        """Existing day folders within the range, newest first."""
        if self._days is None:
            found: list[date] = []
            root = self.layout.digest_region_prefix()
            for year in _numbers(self.storage.list_folders(self.bucket, root)):
                if not self.first_day.year <= year <= self.last_day.year:
                    continue
                for month in _numbers(self.storage.list_folders(self.bucket, f"{root}{year:04d}/")):
                    if not 1 <= month <= 12:
                        continue
                    for day in _numbers(self.storage.list_folders(self.bucket, f"{root}{year:04d}/{month:02d}/")):
                        try:
                            when = date(year, month, day)
                        except ValueError:
                            continue
                        if self.first_day <= when <= self.last_day:
                            found.append(when)
            self._days = sorted(found, reverse=True)
        return self._days

    def keys(self, day: date) -> list[str]:
        """This trail's digest keys (standard and backfill) of ``day`` in range, ascending."""
        keys = self._cache.get(day)
        if keys is None:
            keys = []
            for key in self.storage.list_keys(self.bucket, self.layout.digest_day_prefix(day)):
                stamp = digest_key_stamp(key)
                if self._pattern.match(key) and self.low <= stamp <= self.high and _is_stamp(stamp):
                    keys.append(key)
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            self._cache[day] = keys
        return keys


class DigestCursor:
    """Digest keys of one kind (standard or backfill), newest first: the AWS CLI's list and its
    ``_get_last_digest`` pops."""

    def __init__(self, days: DigestDays, backfill: bool) -> None:
        self._days = days
        self._backfill = backfill
        self._day_iter: Iterator[date] | None = None
        self._buffer: list[str] = []

    def _pop(self) -> str | None:
        if self._day_iter is None:
            self._day_iter = iter(self._days.days())
        while not self._buffer:
            day = next(self._day_iter, None)
            if day is None:
                return None
            self._buffer = [k for k in self._days.keys(day) if is_backfill_digest_key(k) == self._backfill]
        return self._buffer.pop()

    def last(self) -> tuple[str | None, datetime | None]:
        """The newest remaining key and its timestamp."""
        key = self._pop()
        return (key, parse_stamp(digest_key_stamp(key))) if key else (None, None)

    def before(self, key: str) -> tuple[str | None, datetime | None]:
        """The newest remaining key older than ``key`` (keys passed over are dropped, as the AWS
        CLI drops them)."""
        try:
            limit = parse_stamp(digest_key_stamp(key))
        except ValueError:  # a previousDigestS3Object that is not a digest key: take the next one
            return self.last()
        while True:
            candidate = self._pop()
            if candidate is None:
                return None, None
            when = parse_stamp(digest_key_stamp(candidate))
            if when < limit:
                return candidate, when
