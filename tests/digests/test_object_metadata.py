"""Digest metadata through both storages: put with user metadata, get and head return it (S3 via
moto's server: x-amz-meta-*; folders: beside the object under .metadata/)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import boto3
import orjson
import pytest
from moto.server import ThreadedMotoServer

from opentrail.objectstore import LocalFolderStorage, NoSuchBucket, NoSuchKey, ObjectStorage, S3Storage

from .test_e2e_validate_logs import free_port

META = {"signature": "ab12", "signature-algorithm": "SHA256withRSA"}
KEY = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/d.json.gz"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ObjectStorage]:
    if request.param == "local":
        local = LocalFolderStorage(tmp_path / "buckets")
        local.create_bucket("digest-bucket")
        yield local
        return
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    url = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=url, region_name="us-east-1").create_bucket(Bucket="digest-bucket")
    s3 = S3Storage(url)
    yield s3
    s3.close()
    server.stop()


def test_metadata_round_trip_and_head(storage: ObjectStorage) -> None:
    storage.put_object("digest-bucket", KEY, b"body", dict(META))
    got = storage.get_object("digest-bucket", KEY)
    assert (got.body, got.metadata) == (b"body", META)
    assert storage.head_object("digest-bucket", KEY) == META
    storage.put_object("digest-bucket", KEY, b"other", {})
    assert storage.head_object("digest-bucket", KEY) == {}
    with pytest.raises(NoSuchKey):
        storage.head_object("digest-bucket", KEY + ".missing")
    with pytest.raises(NoSuchBucket):
        storage.head_object("no-such-bucket", KEY)


def test_local_metadata_lives_beside_the_bucket(tmp_path: Path) -> None:
    local = LocalFolderStorage(tmp_path / "buckets")
    local.create_bucket("digest-bucket")
    local.put_object("digest-bucket", KEY, b"body", dict(META))
    assert orjson.loads((tmp_path / "buckets" / ".metadata" / "digest-bucket" / (KEY + ".json")).read_bytes()) == META
    assert sorted(os.listdir(tmp_path / "buckets" / "digest-bucket")) == ["AWSLogs"]  # the bucket folder holds only objects
