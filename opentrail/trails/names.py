"""Trail names and trail ARNs.

Name rules (botocore model, ``InvalidTrailNameException``): 3-128 characters; ASCII letters,
digits, ``.``, ``_``, ``-``; starts and ends with a letter or digit; no two adjacent punctuation
characters (``my-_namespace``, ``my--namespace``); not in IP address format (``192.168.5.4``).
Checked in moto's order (length, first, last character, characters), then adjacency and IP form.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .errors import CloudTrailARNInvalidException, InvalidTrailNameException

MIN_NAME = 3
MAX_NAME = 128
_ALNUM = re.compile(r"[A-Za-z0-9]")
_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_ADJACENT = re.compile(r"[._-]{2}")
_ARN = re.compile(r"arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):([0-9]{12}):trail/(.+)")


def check_trail_name(name: str) -> None:
    """Raise :class:`InvalidTrailNameException` (AWS/moto wording) when ``name`` breaks a rule."""
    if len(name) < MIN_NAME:
        raise InvalidTrailNameException(
            f"Trail name too short. Minimum allowed length: {MIN_NAME} characters. "
            f"Specified name length: {len(name)} characters."
        )
    if len(name) > MAX_NAME:
        raise InvalidTrailNameException(
            f"Trail name too long. Maximum allowed length: {MAX_NAME} characters. "
            f"Specified name length: {len(name)} characters."
        )
    if not _ALNUM.fullmatch(name[0]):
        raise InvalidTrailNameException("Trail name must starts with a letter or number.")
    if not _ALNUM.fullmatch(name[-1]):
        raise InvalidTrailNameException("Trail name must ends with a letter or number.")
    if not _CHARS.fullmatch(name):
        raise InvalidTrailNameException(
            "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, "
            "periods (.), hyphens (-), and underscores (_)."
        )
    if _ADJACENT.search(name):
        raise InvalidTrailNameException(
            "Trail name cannot have adjacent periods (.), underscores (_), or hyphens (-)."
        )
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return
    raise InvalidTrailNameException("Trail name cannot be in IP address format.")


@dataclass(frozen=True, slots=True)
class TrailArn:
    """A parsed ``arn:aws:cloudtrail:<region>:<account>:trail/<name>``."""

    region: str
    account_id: str
    name: str


def is_arn(name_or_arn: str) -> bool:
    return name_or_arn.startswith("arn:")


def parse_trail_arn(arn: str, caller_account_id: str) -> TrailArn:
    """Parse ``arn``; raises :class:`CloudTrailARNInvalidException` when it is not a trail ARN or
    names another account (AWS: "AccountID in ARN is wrong, ...")."""
    m = _ARN.fullmatch(arn)
    if m is None:
        raise CloudTrailARNInvalidException.malformed(arn)
    _, region, account_id, name = m.groups()
    if account_id != caller_account_id:
        raise CloudTrailARNInvalidException.wrong_account(caller_account_id)
    return TrailArn(region, account_id, name)
