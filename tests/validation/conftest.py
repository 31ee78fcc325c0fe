"""Validation fixtures: the same tests on a local folder and on moto's S3 server (real HTTP)."""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest

from opentrail.objectstore import LocalFolderStorage, ObjectStorage, S3Storage
from opentrail.validation import ValidateLogsArgs, validate_logs
from opentrail.validation.storage import LocalValidationStorage, S3ValidationStorage, ValidationStorage

from tests.serving import moto_server

from .chain import ARN, HOUR, T0, KeyRing, TrailFiles, when

MOTO_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
_buckets = itertools.count()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@dataclass
class Backend:
    """Where a test's bucket lives: ``objects`` writes (as the digest worker does), ``storage``
    reads (as validate-logs does), ``remove``/``replace`` tamper."""

    name: str
    bucket: str
    objects: ObjectStorage
    storage: ValidationStorage
    client: Any = None
    root: Path | None = None

    def remove(self, key: str) -> None:
        if self.client is not None:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        else:
            assert self.root is not None
            (self.root / self.bucket / key).unlink()

    def body(self, key: str) -> bytes:
        return self.objects.get_object(self.bucket, key).body

    def metadata(self, key: str) -> dict[str, str]:
        return self.objects.get_object(self.bucket, key).metadata

    def replace(self, key: str, body: bytes, metadata: dict[str, str] | None = None) -> None:
        """Overwrite ``key`` (keeping its metadata unless given)."""
        self.objects.put_object(self.bucket, key, body, self.metadata(key) if metadata is None else metadata)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    bucket = f"trail-logs-{next(_buckets)}"
    if request.param == "local":
        root = tmp_path / "buckets"
        local = LocalFolderStorage(root)
        local.create_bucket(bucket)
        yield Backend("local", bucket, local, LocalValidationStorage(root), root=root)
        return
    for name, value in MOTO_ENV.items():
        monkeypatch.setenv(name, value)
    url = request.getfixturevalue("moto_url")
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    client.create_bucket(Bucket=bucket)
    objects = S3Storage(url)
    storage = S3ValidationStorage(url)
    yield Backend("s3", bucket, objects, storage, client=client)
    objects.close()
    storage.close()


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing()


@pytest.fixture
def trail(backend: Backend, ring: KeyRing) -> TrailFiles:
    signer = ring.add(T0 - 48 * HOUR, T0 + 48 * HOUR)
    return TrailFiles(backend.objects, backend.bucket, signer)


@dataclass
class Run:
    code: int
    out: str
    err: str


def run_validation(
    backend: Backend, ring: KeyRing, *, start: int = T0 - 2 * HOUR, end: int = T0 + 6 * HOUR, verbose: bool = False
) -> Run:
    out, err = io.StringIO(), io.StringIO()
    args = ValidateLogsArgs(ARN, when(start), when(end), s3_bucket=backend.bucket, verbose=verbose)
    code = validate_logs(args, stdout=out, stderr=err, keys=ring, storage=backend.storage)
    return Run(code, out.getvalue(), err.getvalue())
