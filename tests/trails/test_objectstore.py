"""One behaviour suite for every ObjectStorage: LocalFolderStorage and S3Storage against moto's
server mode (a real S3-compatible HTTP server started here as a subprocess)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import boto3
import httpx
import pytest

from opentrail.objectstore import (
    InvalidObjectKey,
    LocalFolderStorage,
    NoSuchBucket,
    NoSuchKey,
    ObjectStorage,
    S3Storage,
    StorageUnavailable,
    StoredObject,
)

from tests.serving import free_port

BUCKET = "logs-bucket"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 20
        while True:
            try:
                httpx.get(url + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                assert time.time() < deadline, "moto server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.delenv("AWS_PROFILE", raising=False)
        yield


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStorage]:
    if request.param == "local":
        local = LocalFolderStorage(tmp_path / "buckets")
        local.create_bucket(BUCKET)
        yield local
        return
    request.getfixturevalue("aws_env")
    url = request.getfixturevalue("moto_url")
    s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    bucket = f"{BUCKET}-{os.getpid()}-{time.monotonic_ns()}"
    s3.create_bucket(Bucket=bucket)
    store = S3Storage(url)
    store.test_bucket = bucket  # type: ignore[attr-defined]
    yield store
    store.close()


def bucket_of(storage: ObjectStorage) -> str:
    return getattr(storage, "test_bucket", BUCKET)


def test_bucket_exists(storage: ObjectStorage) -> None:
    assert storage.bucket_exists(bucket_of(storage)) is True
    assert storage.bucket_exists("no-such-bucket-here") is False


def test_put_get_with_metadata(storage: ObjectStorage) -> None:
    bucket = bucket_of(storage)
    body = bytes(range(256)) * 10
    key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/file.json.gz"
    storage.put_object(bucket, key, body, {"signature": "abc123", "signature-algorithm": "SHA256withRSA"})
    assert storage.get_object(bucket, key) == StoredObject(body, {"signature": "abc123", "signature-algorithm": "SHA256withRSA"})
    storage.put_object(bucket, key, b"second", {})
    assert storage.get_object(bucket, key) == StoredObject(b"second", {})


def test_list_objects_by_prefix_in_key_order(storage: ObjectStorage) -> None:
    bucket = bucket_of(storage)
    keys = ["b/2.gz", "a/x/1.gz", "a/0.gz", "a/x/0.gz", "c.gz"]
    for k in keys:
        storage.put_object(bucket, k, k.encode(), {})
    assert storage.list_objects(bucket) == ["a/0.gz", "a/x/0.gz", "a/x/1.gz", "b/2.gz", "c.gz"]
    assert storage.list_objects(bucket, "a/x/") == ["a/x/0.gz", "a/x/1.gz"]
    assert storage.list_objects(bucket, "a/x") == ["a/x/0.gz", "a/x/1.gz"]
    assert storage.list_objects(bucket, "zzz") == []


def test_missing_bucket_and_key(storage: ObjectStorage) -> None:
    bucket = bucket_of(storage)
    with pytest.raises(NoSuchBucket):
        storage.put_object("no-such-bucket-here", "k", b"x", {})
    with pytest.raises(NoSuchBucket):
        storage.get_object("no-such-bucket-here", "k")
    with pytest.raises(NoSuchBucket):
        storage.list_objects("no-such-bucket-here")
    with pytest.raises(NoSuchKey):
        storage.get_object(bucket, "never/written")
    with pytest.raises(NoSuchBucket):
        storage.read_object("no-such-bucket-here", "k")
    with pytest.raises(NoSuchKey):
        storage.read_object(bucket, "never/written")
    if isinstance(storage, LocalFolderStorage):
        with pytest.raises(NoSuchBucket):  # the bucket is looked at first, as get_object does
            storage.read_object("no-such-bucket-here", "../k")
        with pytest.raises(InvalidObjectKey):
            storage.read_object(bucket, "../k")


def test_read_object_is_the_body(storage: ObjectStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_object answers get_object's body, through its own path (GetObject is not called)."""
    bucket = bucket_of(storage)
    body = bytes(range(256)) * 40
    key = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/a b+c~%.json.gz"
    storage.put_object(bucket, key, body, {"signature": "abc123"})
    storage.put_object(bucket, "AWSLogs/x", b"", {})
    with pytest.raises(NoSuchKey):
        storage.read_object(bucket, "AWSLogs")  # a folder of the local bucket, no object on S3

    def no_get(bucket: str, key: str) -> StoredObject:
        raise AssertionError("get_object called")

    monkeypatch.setattr(storage, "get_object", no_get)
    assert storage.read_object(bucket, key) == body
    assert storage.read_object(bucket, "AWSLogs/x") == b""


def test_local_layout_is_what_s3_holds(tmp_path: Path) -> None:
    storage = LocalFolderStorage(tmp_path)
    storage.create_bucket("b1")
    storage.put_object("b1", "AWSLogs/x/file.json.gz", b"data", {"Signature": "s"})
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == [".metadata/b1/AWSLogs/x/file.json.gz.json", "b1/AWSLogs/x/file.json.gz"]
    assert (tmp_path / "b1/AWSLogs/x/file.json.gz").read_bytes() == b"data"
    assert (tmp_path / ".metadata/b1/AWSLogs/x/file.json.gz.json").read_bytes() == b'{"signature":"s"}'
    assert storage.bucket_exists(".metadata") is False
    assert list((tmp_path / ".tmp").iterdir()) == []


@pytest.mark.parametrize("key", ["", "/abs", "a//b", "a/../b", "./a", "a/."])
def test_local_refuses_keys_it_cannot_map(tmp_path: Path, key: str) -> None:
    storage = LocalFolderStorage(tmp_path)
    storage.create_bucket("b1")
    with pytest.raises(InvalidObjectKey):
        storage.put_object("b1", key, b"x", {})


def test_s3_unreachable_is_storage_unavailable(aws_env: None) -> None:
    storage = S3Storage(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(StorageUnavailable):
        storage.bucket_exists("any")
    with pytest.raises(StorageUnavailable) as info:
        storage.put_object("any", "k", b"x", {})
    assert info.value.code == "ServiceUnavailable"


def test_s3_that_never_answers_times_out_as_request_timeout(aws_env: None) -> None:
    from opentrail.endpoints import EndpointTimeouts

    from tests.delivery.servers import HangingEndpoint

    endpoint = HangingEndpoint(free_port(), hanging=True)
    storage = S3Storage(endpoint.url, timeouts=EndpointTimeouts(connect_s=1.0, read_s=0.3))
    try:
        started = time.monotonic()
        with pytest.raises(StorageUnavailable) as info:
            storage.put_object("any", "k", b"x", {})
        assert info.value.code == "RequestTimeout"
        assert endpoint.held == 2  # botocore's one retry, then the error
        assert time.monotonic() - started < 5
    finally:
        storage.close()
        endpoint.close()


def test_create_bucket_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from opentrail.cli import main

    result = CliRunner().invoke(main, ["create-bucket", "--data-dir", str(tmp_path), "my-trail-logs"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{tmp_path / 'buckets' / 'my-trail-logs'}\n"
    assert LocalFolderStorage(tmp_path / "buckets").bucket_exists("my-trail-logs") is True
    bad = CliRunner().invoke(main, ["create-bucket", "--data-dir", str(tmp_path), ".hidden"])
    assert bad.exit_code == 2
