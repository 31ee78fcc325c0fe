"""Operation resolution, parameter reading and source addresses without a network."""

from __future__ import annotations

from typing import Any

import pytest

from opentrail.proxy.capture import CapturedCall
from opentrail.proxy.forward import parse_trusted_proxies, source_ip
from opentrail.proxy.identity import IdentityResolver
from opentrail.proxy.models import ModelIndex
from opentrail.proxy.params import query_params
from opentrail.proxy.resolve import resolve, s3_virtual_bucket
from opentrail.proxy.values import java_time

INDEX = ModelIndex()
AUTH = ("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE000000001/20240101/{region}/{service}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc")


def _call(method: str, path: str, query: str = "", *, service: str = "s3", region: str = "eu-west-1",
          host: str = "127.0.0.1:4589", body: bytes = b"", **headers: str) -> CapturedCall:
    hs = [("host", host), ("authorization", AUTH.format(region=region, service=service))]
    hs += [(k.replace("_", "-").lower(), v) for k, v in headers.items()]
    return CapturedCall(method, path, query, hs, "127.0.0.1", 0.0, request_body=body)


@pytest.mark.parametrize(("method", "path", "query", "headers", "operation"), [
    ("GET", "/", "", {}, "ListBuckets"),
    ("PUT", "/bkt", "", {}, "CreateBucket"),
    ("GET", "/bkt", "list-type=2&prefix=a", {}, "ListObjectsV2"),
    ("GET", "/bkt", "prefix=a", {}, "ListObjects"),
    ("GET", "/bkt", "acl", {}, "GetBucketAcl"),
    ("PUT", "/bkt/k/e%20y", "", {}, "PutObject"),
    ("PUT", "/bkt/k", "", {"x_amz_copy_source": "bkt/src"}, "CopyObject"),
    ("PUT", "/bkt/k", "partNumber=1&uploadId=u", {}, "UploadPart"),
    ("PUT", "/bkt/k", "partNumber=1&uploadId=u", {"x_amz_copy_source": "b/s"}, "UploadPartCopy"),
    ("POST", "/bkt/k", "uploads", {}, "CreateMultipartUpload"),
    ("POST", "/bkt/k", "uploadId=u", {}, "CompleteMultipartUpload"),
    ("DELETE", "/bkt/k", "uploadId=u", {}, "AbortMultipartUpload"),
    ("HEAD", "/bkt/k", "", {}, "HeadObject"),
    ("POST", "/bkt", "delete", {}, "DeleteObjects"),
])
def test_s3_rest_operations(method: str, path: str, query: str, headers: dict[str, str], operation: str) -> None:
    resolved = resolve(_call(method, path, query, **headers), INDEX)
    assert resolved is not None
    assert resolved.operation.name == operation
    assert resolved.signer.region == "eu-west-1"
    assert resolved.signer.access_key_id == "AKIAEXAMPLE000000001"


def test_s3_virtual_hosted_style() -> None:
    assert s3_virtual_bucket("logs.s3.eu-west-1.amazonaws.com") == "logs"
    assert s3_virtual_bucket("my.dotted.bucket.s3.amazonaws.com") == "my.dotted.bucket"
    assert s3_virtual_bucket("logs.localhost:4589") == "logs"
    assert s3_virtual_bucket("logs.minio.internal:9000", ("minio.internal",)) == "logs"
    assert s3_virtual_bucket("127.0.0.1:4589") is None
    assert s3_virtual_bucket("s3.amazonaws.com") is None
    resolved = resolve(_call("GET", "/dir/key.txt", host="logs.s3.eu-west-1.amazonaws.com"), INDEX)
    assert resolved is not None
    assert (resolved.operation.name, resolved.bucket, resolved.key) == ("GetObject", "logs", "dir/key.txt")
    resolved = resolve(_call("GET", "/", "list-type=2", host="logs.localhost:4589"), INDEX)
    assert resolved is not None
    assert (resolved.operation.name, resolved.bucket, resolved.key) == ("ListObjectsV2", "logs", None)


def test_presigned_query_authentication() -> None:
    query = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAPRESIGNED0000001%2F20240101%2Fus-west-2%2Fs3"
             "%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=ab")
    call = CapturedCall("GET", "/bkt/k", query, [("host", "127.0.0.1:4589")], "127.0.0.1", 0.0)
    resolved = resolve(call, INDEX)
    assert resolved is not None
    assert resolved.operation.name == "GetObject"
    assert (resolved.signer.access_key_id, resolved.signer.region, resolved.signer.authentication_method) == (
        "AKIAPRESIGNED0000001", "us-west-2", "QueryString")


def test_json_and_query_protocols() -> None:
    resolved = resolve(_call("POST", "/", service="dynamodb", x_amz_target="DynamoDB_20120810.PutItem"), INDEX)
    assert resolved is not None and (resolved.model.service_name, resolved.operation.name) == ("dynamodb", "PutItem")
    # DynamoDB Streams signs as "dynamodb" too; the target prefix picks the model.
    resolved = resolve(_call("POST", "/", service="dynamodb", x_amz_target="DynamoDBStreams_20120810.GetRecords"),
                       INDEX)
    assert resolved is not None and resolved.model.service_name == "dynamodbstreams"
    # botocore's target and the Smithy SDKs' (Go v2, JavaScript v3) name the same operation
    for target in ("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StopLogging", "CloudTrail_20131101.StopLogging"):
        resolved = resolve(_call("POST", "/", service="cloudtrail", x_amz_target=target), INDEX)
        assert resolved is not None and (resolved.model.service_name, resolved.operation.name) == (
            "cloudtrail", "StopLogging"), target
    body = b"Action=CreateUser&Version=2010-05-08&UserName=bob"
    resolved = resolve(_call("POST", "/", service="iam", body=body,
                             content_type="application/x-www-form-urlencoded; charset=utf-8"), INDEX)
    assert resolved is not None and resolved.operation.name == "CreateUser"
    assert resolve(_call("POST", "/", service="iam", body=b"Action=NoSuchAction",
                         content_type="application/x-www-form-urlencoded"), INDEX) is None


def test_query_parameters_unflatten_lists_and_maps() -> None:
    sns = INDEX.model("sns")
    assert sns is not None
    shape = sns.operation_model("CreateTopic").input_shape
    params = {"Action": "CreateTopic", "Name": "t", "Attributes.entry.1.key": "DisplayName",
              "Attributes.entry.1.value": "d", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}
    assert query_params(shape, params) == {"Name": "t", "Attributes": {"DisplayName": "d"},
                                           "Tags": [{"Key": "k", "Value": "v"}]}
    ec2 = INDEX.model("ec2")
    assert ec2 is not None
    shape = ec2.operation_model("DescribeInstances").input_shape
    params = {"InstanceId.1": "i-1", "InstanceId.2": "i-2", "Filter.1.Name": "n", "Filter.1.Value.1": "v",
              "MaxResults": "5"}
    assert query_params(shape, params, ec2=True) == {
        "InstanceIds": ["i-1", "i-2"], "Filters": [{"Name": "n", "Values": ["v"]}], "MaxResults": 5}


def test_source_ip_honours_forwarded_for_only_from_trusted_proxies() -> None:
    trusted = parse_trusted_proxies("10.0.0.0/8, 192.168.1.1")
    assert source_ip("203.0.113.5", "198.51.100.7", trusted) == "203.0.113.5"
    assert source_ip("10.1.2.3", "198.51.100.7", trusted) == "198.51.100.7"
    assert source_ip("10.1.2.3", "1.2.3.4, 198.51.100.7, 192.168.1.1", trusted) == "198.51.100.7"
    assert source_ip("10.1.2.3", None, trusted) == "10.1.2.3"
    assert source_ip("10.1.2.3", "1.2.3.4", ()) == "10.1.2.3"
    with pytest.raises(ValueError):
        parse_trusted_proxies("10.0.0.0/33")


def test_identities() -> None:
    class Keys:
        def find_key(self, access_key_id: str) -> Any:
            return None

    ids = IdentityResolver(Keys(), "111122223333")
    assert ids.identify(None, "us-east-1").user_identity == {"type": "AWSAccount", "principalId": "",
                                                             "accountId": "anonymous"}
    unknown = ids.identify("AKIAOTHER", "us-east-1")
    assert unknown.user_identity == {"type": "Unknown", "accountId": "111122223333", "accessKeyId": "AKIAOTHER"}
    assert unknown.account_id == "111122223333"


def test_java_times() -> None:
    t = 1722519208  # 2024-08-01T13:33:28Z
    assert java_time(t, "iam") == "Aug 1, 2024 1:33:28 PM"
    assert java_time(t, "sts") == "Aug 1, 2024, 1:33:28 PM"
