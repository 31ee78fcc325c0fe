"""CreateTrail/UpdateTrail member rules through boto3 (S3 bucket names, CloudWatch Logs ARNs, KMS key
ids) and the local folder storage refusing names and keys that would leave the buckets folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from opentrail.objectstore import LocalFolderStorage
from opentrail.objectstore.base import InvalidObjectKey, NoSuchBucket
from opentrail.trails.errors import InvalidS3BucketNameException
from opentrail.trails.names import check_s3_bucket_name

from .conftest import ACCOUNT, BUCKET, REGION, TrailServer


def error(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response["Error"]
    return err["Code"], err["Message"]


@pytest.mark.parametrize("name, rule", [
    ("ab", "it must be between 3 and 63 characters long."),
    ("My-Bucket", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("my_bucket", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("my bucket", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("../x", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("/etc", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("a\x00b", "it can contain only lowercase letters, numbers, periods (.) and hyphens (-)."),
    ("-bucket", "it must begin and end with a letter or number."),
    ("bucket-", "it must begin and end with a letter or number."),
    (".bucket", "it must begin and end with a letter or number."),
    ("my..bucket", "it cannot have two adjacent periods, or a hyphen next to a period."),
    ("my-.bucket", "it cannot have two adjacent periods, or a hyphen next to a period."),
    ("my.-bucket", "it cannot have two adjacent periods, or a hyphen next to a period."),
    ("xn--bucket", "it uses a prefix or suffix that Amazon S3 reserves."),
    ("sthree-bucket", "it uses a prefix or suffix that Amazon S3 reserves."),
    ("bucket-s3alias", "it uses a prefix or suffix that Amazon S3 reserves."),
    ("bucket--ol-s3", "it uses a prefix or suffix that Amazon S3 reserves."),
    ("bucket.mrap", "it uses a prefix or suffix that Amazon S3 reserves."),
    ("192.168.5.4", "it cannot be formatted as an IP address."),
])
def test_bucket_name_rules(name: str, rule: str) -> None:
    with pytest.raises(InvalidS3BucketNameException) as info:
        check_s3_bucket_name(name)
    assert info.value.message == f"Bucket name {name} is not valid: {rule}"


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my.bucket.example", "trail-logs-111122223333", "1.2.3.4a"])
def test_valid_bucket_names(name: str) -> None:
    check_s3_bucket_name(name)


def test_create_and_update_trail_refuse_bad_bucket_names(srv: TrailServer) -> None:
    c = srv.client()
    too_long = "b" * 300_000
    assert error(c.create_trail, Name="main", S3BucketName=too_long) == (
        "InvalidS3BucketNameException",
        "Bucket name too long. Maximum allowed length: 63 characters. Specified name length: 300000 characters.")
    assert error(c.create_trail, Name="main", S3BucketName="../buckets") == (
        "InvalidS3BucketNameException",
        "Bucket name ../buckets is not valid: it can contain only lowercase letters, numbers, periods (.) and "
        "hyphens (-).")
    c.create_trail(Name="main", S3BucketName=BUCKET)
    assert error(c.update_trail, Name="main", S3BucketName="Upper") == (
        "InvalidS3BucketNameException",
        "Bucket name Upper is not valid: it can contain only lowercase letters, numbers, periods (.) and hyphens (-).")
    assert error(c.update_trail, Name="main", S3BucketName="") == (
        "InvalidS3BucketNameException", "S3 bucket name cannot be empty.")
    assert c.get_trail(Name="main")["Trail"]["S3BucketName"] == BUCKET


def test_cloud_watch_logs_and_kms_members(srv: TrailServer) -> None:
    c = srv.client()
    c.create_trail(Name="main", S3BucketName=BUCKET)
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:CloudTrail/main:*"
    role = f"arn:aws:iam::{ACCOUNT}:role/service-role/CloudTrail_CloudWatchLogs"
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    got = c.update_trail(Name="main", CloudWatchLogsLogGroupArn=group, CloudWatchLogsRoleArn=role, KmsKeyId=key)
    assert (got["CloudWatchLogsLogGroupArn"], got["CloudWatchLogsRoleArn"], got["KmsKeyId"]) == (group, role, key)
    for key_id in ("1234abcd-12ab-34cd-56ef-1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890ab", "alias/ExampleAlias",
                   f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/ExampleAlias"):
        assert c.update_trail(Name="main", KmsKeyId=key_id)["KmsKeyId"] == key_id
    assert error(c.update_trail, Name="main", CloudWatchLogsLogGroupArn="my-group") == (
        "InvalidCloudWatchLogsLogGroupArnException",
        "CloudWatch Logs log group ARN my-group is not valid. Expected arn:aws:logs:<region>:<account-id>:log-group:<name>:*.")
    assert error(c.update_trail, Name="main", CloudWatchLogsRoleArn="x" * 300_000)[0] == (
        "InvalidCloudWatchLogsRoleArnException")
    assert error(c.update_trail, Name="main", KmsKeyId="../../etc/passwd") == (
        "InvalidKmsKeyIdException",
        "KMS key ../../etc/passwd is not valid. Specify a key ID, key ARN, alias name (alias/...) or alias ARN.")
    assert error(c.create_trail, Name="other", S3BucketName=BUCKET, SnsTopicName="t" * 300_000)[0] == (
        "InvalidSnsTopicNameException")


@pytest.mark.parametrize("bucket", ["", ".", "..", "../x", "/etc", "a/b", "a\x00b", "a\\b", "b" * 300_000])
def test_local_storage_never_leaves_its_folder_for_a_bucket(tmp_path: Path, bucket: str) -> None:
    storage = LocalFolderStorage(tmp_path / "buckets")
    (tmp_path / "x").mkdir()
    assert storage.bucket_exists(bucket) is False
    with pytest.raises(NoSuchBucket):
        storage.put_object(bucket, "k", b"x", {})
    with pytest.raises(NoSuchBucket):
        storage.list_objects(bucket)


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a\x00b", "k" * 1025, "a/" + "s" * 256 + "/b",
                                 "\u00e9" * 513])
def test_local_storage_never_leaves_its_folder_for_a_key(tmp_path: Path, key: str) -> None:
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket("b1")
    for call in (lambda: storage.put_object("b1", key, b"x", {}), lambda: storage.get_object("b1", key),
                 lambda: storage.head_object("b1", key)):
        with pytest.raises(InvalidObjectKey):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["buckets"]
