"""S3 through the proxy to moto: bucket and object operations, multipart upload, a 100 MB object,
errors; each record checked field by field against CloudTrail's S3 conventions."""

from __future__ import annotations

import hashlib
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from .conftest import Stack, alice_identity
from .servers import ACCOUNT, REGION


def _common(stack: Stack, r: dict[str, Any], name: str, *, read_only: bool, category: str) -> None:
    assert r["eventVersion"] == "1.11"
    assert r["userIdentity"] == alice_identity(stack.alice)
    assert r["eventSource"] == "s3.amazonaws.com"
    assert r["eventName"] == name
    assert r["awsRegion"] == REGION
    assert r["sourceIPAddress"] == "127.0.0.1"
    assert r["userAgent"].startswith("[Boto3/") and r["userAgent"].endswith("]")
    assert r["readOnly"] is read_only
    assert r["eventType"] == "AwsApiCall"
    assert r["managementEvent"] is (category == "Management")
    assert r["eventCategory"] == category
    assert r["recipientAccountId"] == ACCOUNT
    assert len(r["requestID"]) > 8


def _bucket(name: str) -> dict[str, str]:
    return {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{name}"}


def test_bucket_and_object_operations(stack: Stack) -> None:
    s3 = stack.client("s3")
    host = stack.proxy.url.removeprefix("http://")
    s3.create_bucket(Bucket="proxy-objects")
    s3.put_object(Bucket="proxy-objects", Key="dir/a b.txt", Body=b"hello world", ACL="private")
    assert s3.get_object(Bucket="proxy-objects", Key="dir/a b.txt")["Body"].read() == b"hello world"
    s3.list_objects_v2(Bucket="proxy-objects", Prefix="dir/")
    s3.delete_object(Bucket="proxy-objects", Key="dir/a b.txt")

    r = stack.record("CreateBucket", bucketName="proxy-objects")
    _common(stack, r, "CreateBucket", read_only=False, category="Management")
    assert r["requestParameters"] == {"bucketName": "proxy-objects", "Host": host}
    assert r["responseElements"] is None
    assert "resources" not in r
    assert r["additionalEventData"]["SignatureVersion"] == "SigV4"
    assert r["additionalEventData"]["AuthenticationMethod"] == "AuthHeader"

    r = stack.record("PutObject", bucketName="proxy-objects")
    _common(stack, r, "PutObject", read_only=False, category="Data")
    assert r["requestParameters"] == {"bucketName": "proxy-objects", "Host": host, "x-amz-acl": "private",
                                      "key": "dir/a b.txt"}
    assert r["additionalEventData"]["bytesTransferredIn"] == 11
    assert r["additionalEventData"]["bytesTransferredOut"] == 0
    assert r["resources"] == [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::proxy-objects/dir/a b.txt"},
                              _bucket("proxy-objects")]

    r = stack.record("GetObject", bucketName="proxy-objects", key="dir/a b.txt")
    _common(stack, r, "GetObject", read_only=True, category="Data")
    assert r["requestParameters"] == {"bucketName": "proxy-objects", "Host": host, "key": "dir/a b.txt"}
    assert r["responseElements"] is None
    assert r["additionalEventData"]["bytesTransferredIn"] == 0
    assert r["additionalEventData"]["bytesTransferredOut"] == 11

    r = stack.record("ListObjects", bucketName="proxy-objects")  # ListObjectsV2, as CloudTrail names it
    _common(stack, r, "ListObjects", read_only=True, category="Data")
    assert r["requestParameters"] == {"bucketName": "proxy-objects", "Host": host, "list-type": "2",
                                      "prefix": "dir/", "encoding-type": "url"}
    assert r["resources"] == [{"type": "AWS::S3::Object", "ARNPrefix": "arn:aws:s3:::proxy-objects/dir/"},
                              _bucket("proxy-objects")]

    r = stack.record("DeleteObject", bucketName="proxy-objects")
    _common(stack, r, "DeleteObject", read_only=False, category="Data")
    assert r["requestParameters"] == {"bucketName": "proxy-objects", "Host": host, "key": "dir/a b.txt"}


def test_failed_calls_carry_the_error(stack: Stack) -> None:
    s3 = stack.client("s3")
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_policy(Bucket="proxy-no-such-bucket")
    assert exc.value.response["Error"]["Code"] == "NoSuchBucket"
    r = stack.record("GetBucketPolicy", bucketName="proxy-no-such-bucket")
    _common(stack, r, "GetBucketPolicy", read_only=True, category="Management")
    assert r["errorCode"] == "NoSuchBucket"
    assert r["errorMessage"] == "The specified bucket does not exist"
    assert r["requestParameters"] == {"bucketName": "proxy-no-such-bucket",
                                      "Host": stack.proxy.url.removeprefix("http://"), "policy": ""}
    assert r["resources"] == [_bucket("proxy-no-such-bucket")]
    assert r["responseElements"] is None


def test_multipart_upload(stack: Stack) -> None:
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="proxy-multipart")
    upload = s3.create_multipart_upload(Bucket="proxy-multipart", Key="big")
    uid = upload["UploadId"]
    part = b"x" * (5 * 1024 * 1024)
    etags = []
    for n in (1, 2):
        etags.append(s3.upload_part(Bucket="proxy-multipart", Key="big", UploadId=uid, PartNumber=n, Body=part)["ETag"])
    s3.complete_multipart_upload(Bucket="proxy-multipart", Key="big", UploadId=uid, MultipartUpload={
        "Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]})
    host = stack.proxy.url.removeprefix("http://")

    r = stack.record("CreateMultipartUpload", bucketName="proxy-multipart")
    _common(stack, r, "CreateMultipartUpload", read_only=False, category="Data")
    assert r["requestParameters"] == {"bucketName": "proxy-multipart", "Host": host, "uploads": "", "key": "big"}
    parts = stack.records_for(lambda r: r["eventName"] == "UploadPart"
                              and r["requestParameters"]["bucketName"] == "proxy-multipart", n=2)
    assert [p["requestParameters"] for p in parts] == [
        {"bucketName": "proxy-multipart", "Host": host, "partNumber": str(n), "uploadId": uid, "key": "big"}
        for n in (1, 2)]
    assert [p["additionalEventData"]["bytesTransferredIn"] for p in parts] == [len(part), len(part)]
    r = stack.record("CompleteMultipartUpload", bucketName="proxy-multipart")
    _common(stack, r, "CompleteMultipartUpload", read_only=False, category="Data")
    assert r["requestParameters"]["uploadId"] == uid
    assert r["requestParameters"]["CompleteMultipartUpload"]["Part"] == [
        {"ETag": e, "PartNumber": n} for n, e in enumerate(etags, 1)]  # XML numbers typed, as AWS does
    assert r["resources"] == [{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::proxy-multipart/big"},
                              _bucket("proxy-multipart")]


def test_100_mb_object_streams_both_ways(stack: Stack, tmp_path: Any) -> None:
    size = 100 * 1024 * 1024
    block = bytes(range(256)) * 4096
    src = tmp_path / "100mb"
    expected = hashlib.sha256()
    with src.open("wb") as fh:
        for _ in range(size // len(block)):
            fh.write(block)
            expected.update(block)
    s3 = stack.client("s3")
    s3.create_bucket(Bucket="proxy-large")
    with src.open("rb") as fh:
        s3.put_object(Bucket="proxy-large", Key="100mb", Body=fh)
    src.unlink()
    digest = hashlib.sha256()
    got = 0
    for chunk in s3.get_object(Bucket="proxy-large", Key="100mb")["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
        got += len(chunk)
    assert got == size
    assert digest.hexdigest() == expected.hexdigest()
    put = stack.record("PutObject", bucketName="proxy-large")
    assert put["additionalEventData"]["bytesTransferredIn"] == size
    get = stack.record("GetObject", bucketName="proxy-large")
    assert get["additionalEventData"]["bytesTransferredOut"] == size


def test_chunked_upload_with_a_presigned_url(stack: Stack) -> None:
    import httpx

    s3 = stack.client("s3")
    s3.create_bucket(Bucket="proxy-chunked")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "proxy-chunked", "Key": "c"}, ExpiresIn=60)

    def chunks() -> Any:
        for _ in range(4):
            yield b"y" * 100_000

    response = httpx.put(url, content=chunks())  # no Content-Length: Transfer-Encoding: chunked
    assert response.status_code == 200
    assert s3.get_object(Bucket="proxy-chunked", Key="c")["Body"].read() == b"y" * 400_000
    r = stack.record("PutObject", bucketName="proxy-chunked")
    assert r["additionalEventData"]["AuthenticationMethod"] == "QueryString"
    assert r["additionalEventData"]["SignatureVersion"] == "SigV2"  # boto3 presigns S3 URLs with SigV2
    assert r["requestParameters"] == {"bucketName": "proxy-chunked", "Host": stack.proxy.url.removeprefix("http://"),
                                      "key": "c"}
    assert r["additionalEventData"]["bytesTransferredIn"] == 400_000
    assert r["userIdentity"] == alice_identity(stack.alice)
    assert r["userAgent"].startswith("[python-httpx/")


def test_upstream_down_answers_502_and_is_recorded(stack: Stack, tmp_path: Any) -> None:
    from opentrail.proxy.runner import ProxyOptions

    from .servers import RunningProxy, free_port

    dead = f"http://127.0.0.1:{free_port()}"
    proxy = RunningProxy(ProxyOptions(upstream=dead, data_dir=stack.data_dir, port=free_port(),
                                      endpoint_url=stack.opentrail.url, spool_dir=tmp_path / "spool"))
    try:
        s3 = boto3.client("s3", endpoint_url=proxy.url, region_name=REGION, aws_access_key_id=stack.alice.access_key_id,
                          aws_secret_access_key=stack.alice.secret_access_key,
                          config=Config(retries={"max_attempts": 1}))
        with pytest.raises(ClientError) as exc:
            s3.head_bucket(Bucket="proxy-anything")
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
        proxy.settle(1)
        assert proxy.records  # botocore may try HeadBucket a second time (region redirector)
        for r in proxy.records:
            assert (r["eventName"], r["errorCode"]) == ("HeadBucket", "ServiceUnavailable")
            assert r["errorMessage"] == "upstream unreachable: ConnectError"
    finally:
        proxy.stop()
