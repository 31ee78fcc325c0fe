"""Where a trail's digest files and log files live in its bucket, and the times their keys carry.

Source: AWS CloudTrail User Guide, "CloudTrail digest file structure" and "Finding your CloudTrail
log files"; the AWS CLI's ``awscli/customizations/cloudtrail/validation.py`` (``DigestProvider``:
key regex, ``extract_digest_key_date``, backfill keys). Keys::

    [<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail-Digest_<region>_<trail-name>_<home-region>_<YYYYMMDDTHHMMSSZ>.json.gz
        (backfill: ..._<YYYYMMDDTHHMMSSZ>_backfill.json.gz)
    [<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/
        <account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz

(``<o-id>/`` for an organization trail: the member account's files.)

The digest timestamp is the digest's end time; the log file timestamp its delivery minute. The
date folders are those of the same times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

DATE_FORMAT = "%Y%m%dT%H%M%SZ"
DISPLAY_DATE_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
BACKFILL_SUFFIX = "_backfill.json.gz"
_LOG_STAMP = re.compile(r"_(\d{8}T\d{4}Z)_[^/_]+\.json\.gz$")


def format_date(when: datetime) -> str:
    """``20150108T052142Z`` (the digest key's timestamp form)."""
    return when.strftime(DATE_FORMAT)


def format_display_date(when: datetime) -> str:
    """``2015-01-08T05:21:42Z`` (the form the AWS CLI prints)."""
    return when.strftime(DISPLAY_DATE_FORMAT)


def is_backfill_digest_key(key: str) -> bool:
    return key.endswith(BACKFILL_SUFFIX)


def digest_key_stamp(key: str) -> str:
    """The ``YYYYMMDDTHHMMSSZ`` part of a digest key (the AWS CLI's ``extract_digest_key_date``)."""
    return key[-33:-17] if is_backfill_digest_key(key) else key[-24:-8]


def parse_stamp(stamp: str) -> datetime:
    """``20150108T052142Z`` -> aware UTC datetime. Raises ValueError."""
    return datetime.strptime(stamp, DATE_FORMAT).replace(tzinfo=timezone.utc)


def log_key_minute(key: str) -> datetime | None:
    """The delivery minute in a log file key (``..._20150108T0521Z_<unique>.json.gz``), or None
    when the key does not have CloudTrail's form."""
    match = _LOG_STAMP.search(key)
    if match is None:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%MZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def days_between(first: date, last: date) -> list[date]:
    """Every calendar day from ``last`` down to ``first`` (newest first)."""
    days = []
    day = last
    while day >= first:
        days.append(day)
        day -= timedelta(days=1)
    return days


@dataclass(frozen=True, slots=True)
class TrailLayout:
    """The key layout of one trail's files for one source Region in one bucket prefix."""

    account_id: str
    trail_name: str
    home_region: str
    source_region: str
    prefix: str | None = None
    #: an organization trail's ``o-...`` id: its files sit under ``AWSLogs/<o-id>/<account>/``
    organization_id: str | None = None

    def _root(self) -> str:
        root = f"{self.prefix}/AWSLogs/" if self.prefix else "AWSLogs/"
        return f"{root}{self.organization_id}/" if self.organization_id else root

    def _root_pattern(self) -> str:
        """The regex of ``AWSLogs/[<o-id>/]`` (the AWS CLI's ``_create_digest_key_regex``)."""
        return "AWSLogs/" + (re.escape(self.organization_id) + "/" if self.organization_id else "")

    def digest_region_prefix(self) -> str:
        """``[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/``."""
        return f"{self._root()}{self.account_id}/CloudTrail-Digest/{self.source_region}/"

    def digest_day_prefix(self, day: date) -> str:
        return f"{self.digest_region_prefix()}{day:%Y/%m/%d}/"

    def log_day_prefix(self, day: date) -> str:
        """``[prefix/]AWSLogs/[<o-id>/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/``."""
        return f"{self._root()}{self.account_id}/CloudTrail/{self.source_region}/{day:%Y/%m/%d}/"

    def digest_key_pattern(self) -> re.Pattern[str]:
        """Digest (and backfill digest) keys of this trail: the AWS CLI's
        ``_create_digest_key_regex``."""
        account = re.escape(self.account_id)
        region = re.escape(self.source_region)
        key = (
            f"{self._root_pattern()}{account}/CloudTrail\\-Digest/{region}/\\d+/\\d+/\\d+/{account}_CloudTrail\\-Digest_"
            f"{region}_{re.escape(self.trail_name)}_{re.escape(self.home_region)}_.+(?:_backfill)?\\.json\\.gz"
        )
        if self.prefix:
            key = re.escape(self.prefix) + "/" + key
        return re.compile("^" + key + "$")

    def other_digest_key_pattern(self) -> re.Pattern[str]:
        """Digest keys of any trail in the same account, Region and prefix."""
        account = re.escape(self.account_id)
        region = re.escape(self.source_region)
        key = (f"{self._root_pattern()}{account}/CloudTrail\\-Digest/{region}/\\d+/\\d+/\\d+/{account}"
               "_CloudTrail\\-Digest_.+\\.json\\.gz")
        if self.prefix:
            key = re.escape(self.prefix) + "/" + key
        return re.compile("^" + key + "$")
