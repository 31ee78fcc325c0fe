"""Trail names and trail ARNs.

Name rules (botocore model, ``InvalidTrailNameException``): 3-128 characters; ASCII letters,
digits, ``.``, ``_``, ``-``; starts and ends with a letter or digit; no two adjacent punctuation
characters (``my-_namespace``, ``my--namespace``); not in IP address format (``192.168.5.4``).
Checked in moto's order (length, first, last character, characters), then adjacency and IP form.

S3 bucket names (``InvalidS3BucketNameException``): S3's general purpose bucket naming rules, which
the CloudTrail User Guide ("Amazon S3 bucket naming requirements") repeats: 3-63 characters;
lowercase letters, digits, ``.`` and ``-``; begins and ends with a letter or digit; no ``..``, no
``.-`` or ``-.``; not an IPv4 address; none of S3's reserved prefixes (``xn--``, ``sthree-``,
``amzn-s3-demo-``) or suffixes (``-s3alias``, ``--ol-s3``, ``.mrap``, ``--x-s3``, ``--table-s3``).
AWS's message for these is not published; opentrail's names the rule (docs/trails.md).

CloudWatch Logs and KMS members (InvalidCloudWatchLogsLogGroupArnException,
InvalidCloudWatchLogsRoleArnException, InvalidKmsKeyIdException): the forms CreateTrail documents --
``arn:<partition>:logs:<region>:<account>:log-group:<name>:*``, ``arn:<partition>:iam::<account>:role/
<path/name>``, and a KMS key id, key ARN, alias name or alias ARN. A log group ARN of another
account or partition than the caller's, or naming a group that does not exist, is
InvalidCloudWatchLogsLogGroupArnException "Check the log group ARN: CloudTrail can't validate it."
(AWS's answer quoted in hashicorp/terraform-provider-aws#18038).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Callable

from .errors import (
    CloudTrailARNInvalidException,
    InvalidCloudWatchLogsLogGroupArnException,
    InvalidCloudWatchLogsRoleArnException,
    InvalidKmsKeyIdException,
    InvalidS3BucketNameException,
    InvalidTrailNameException,
)

MIN_NAME = 3
MAX_NAME = 128
_ALNUM = re.compile(r"[A-Za-z0-9]")
_CHARS = re.compile(r"[A-Za-z0-9._-]+")
_ADJACENT = re.compile(r"[._-]{2}")
_ARN = re.compile(r"arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):([0-9]{12}):trail/(.+)")

MIN_BUCKET = 3
MAX_BUCKET = 63
_BUCKET_CHARS = re.compile(r"[a-z0-9.-]+")
_BUCKET_EDGE = re.compile(r"[a-z0-9]")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_LOG_GROUP_ARN = re.compile(r"arn:(aws[a-z-]*):logs:([a-z0-9-]+):([0-9]{12}):log-group:([A-Za-z0-9._/#-]{1,512}):\*")
#: An IAM role ARN.
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}")
_KMS_KEY = re.compile(
    r"(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:)?(key/)?(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
    r"[0-9a-f]{4}-[0-9a-f]{12})"
    r"|(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:)?alias/[A-Za-z0-9/_-]{1,256}"
)


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


def check_s3_bucket_name(name: str) -> None:
    """Raise :class:`InvalidS3BucketNameException` when ``name`` breaks S3's bucket naming rules
    (see the module docstring); a name over 63 characters is not repeated in the message."""
    if len(name) > MAX_BUCKET:
        raise InvalidS3BucketNameException(
            f"Bucket name too long. Maximum allowed length: {MAX_BUCKET} characters. "
            f"Specified name length: {len(name)} characters."
        )

    def invalid(rule: str) -> InvalidS3BucketNameException:
        return InvalidS3BucketNameException(f"Bucket name {name} is not valid: {rule}")

    if len(name) < MIN_BUCKET:
        raise invalid(f"it must be between {MIN_BUCKET} and {MAX_BUCKET} characters long.")
    if not _BUCKET_CHARS.fullmatch(name):
        raise invalid("it can contain only lowercase letters, numbers, periods (.) and hyphens (-).")
    if not (_BUCKET_EDGE.fullmatch(name[0]) and _BUCKET_EDGE.fullmatch(name[-1])):
        raise invalid("it must begin and end with a letter or number.")
    if ".." in name or ".-" in name or "-." in name:
        raise invalid("it cannot have two adjacent periods, or a hyphen next to a period.")
    if name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES):
        raise invalid("it uses a prefix or suffix that Amazon S3 reserves.")
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return
    raise invalid("it cannot be formatted as an IP address.")


def check_cloud_watch_logs_log_group_arn(arn: str) -> None:
    """Raise :class:`InvalidCloudWatchLogsLogGroupArnException` unless ``arn`` is a log group ARN
    ending in ``:*`` (as CreateTrail's documentation shows it)."""
    if not _LOG_GROUP_ARN.fullmatch(arn):
        raise InvalidCloudWatchLogsLogGroupArnException(
            f"CloudWatch Logs log group ARN {arn[:1000]} is not valid. "
            "Expected arn:aws:logs:<region>:<account-id>:log-group:<name>:*."
        )


#: InvalidCloudWatchLogsLogGroupArnException's message for a well-formed ARN CloudTrail cannot use.
LOG_GROUP_NOT_VALIDATED = "Check the log group ARN: CloudTrail can't validate it."
#: Partitions whose Regions start with these prefixes (longest first); every other Region is ``aws``.
_PARTITIONS = (("us-isob-", "aws-iso-b"), ("us-isof-", "aws-iso-f"), ("eu-isoe-", "aws-iso-e"),
               ("us-iso-", "aws-iso"), ("us-gov-", "aws-us-gov"), ("cn-", "aws-cn"))


def partition_of(region: str) -> str:
    """The ARN partition of ``region``: ``aws-cn`` for ``cn-*``, ``aws-us-gov`` for ``us-gov-*``,
    the ISO partitions for theirs, else ``aws``."""
    return next((p for prefix, p in _PARTITIONS if region.startswith(prefix)), "aws")


@dataclass(frozen=True, slots=True)
class LogGroupArn:
    """A parsed ``arn:<partition>:logs:<region>:<account>:log-group:<name>:*``."""

    partition: str
    region: str
    account_id: str
    name: str


def parse_log_group_arn(arn: str) -> LogGroupArn:
    """Parse a CloudWatchLogsLogGroupArn; raises :class:`InvalidCloudWatchLogsLogGroupArnException`
    when it is not a log group ARN ending in ``:*`` (see :func:`check_cloud_watch_logs_log_group_arn`)."""
    check_cloud_watch_logs_log_group_arn(arn)
    m = _LOG_GROUP_ARN.fullmatch(arn)
    assert m is not None
    return LogGroupArn(*m.groups())


def check_log_group_usable(arn: str, account_id: str, region: str, exists: Callable[[LogGroupArn], bool] | None) -> LogGroupArn:
    """Raise :class:`InvalidCloudWatchLogsLogGroupArnException` unless ``arn`` is a log group ARN of
    ``account_id`` in the partition of ``region`` (the caller's) naming a group that ``exists``
    (None: existence not checked). Returns the parsed ARN."""
    group = parse_log_group_arn(arn)
    if group.account_id != account_id or group.partition != partition_of(region):
        raise InvalidCloudWatchLogsLogGroupArnException(LOG_GROUP_NOT_VALIDATED)
    if exists is not None and not exists(group):
        raise InvalidCloudWatchLogsLogGroupArnException(LOG_GROUP_NOT_VALIDATED)
    return group


def check_cloud_watch_logs_role_arn(arn: str) -> None:
    """Raise :class:`InvalidCloudWatchLogsRoleArnException` unless ``arn`` is an IAM role ARN."""
    if not ROLE_ARN.fullmatch(arn):
        raise InvalidCloudWatchLogsRoleArnException(
            f"CloudWatch Logs role ARN {arn[:1000]} is not valid. Expected arn:aws:iam::<account-id>:role/<name>."
        )


def check_kms_key_id(key_id: str) -> None:
    """Raise :class:`InvalidKmsKeyIdException` unless ``key_id`` is a KMS key id, key ARN, alias name
    (``alias/...``) or alias ARN."""
    if not _KMS_KEY.fullmatch(key_id):
        raise InvalidKmsKeyIdException(
            f"KMS key {key_id[:1000]} is not valid. Specify a key ID, key ARN, alias name (alias/...) or alias ARN."
        )


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
