"""CreateTrail on a missing bucket: the error is AWS's own, the server log says how to create a
local bucket (and says nothing when the storage is not local)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from opentrail.objectstore import LocalFolderStorage
from opentrail.objectstore.base import ObjectStorage
from opentrail.trails.errors import S3BucketDoesNotExistException
from opentrail.trails.service import TrailService, TrailSettings


class _Elsewhere(ObjectStorage):
    """A non-local storage without buckets (only bucket_exists is called)."""

    def bucket_exists(self, bucket: str) -> bool:
        return False

    def put_object(self, bucket: str, key: str, body: bytes, metadata: dict[str, str]) -> None:
        raise NotImplementedError

    def get_object(self, bucket: str, key: str):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def list_objects(self, bucket: str, prefix: str = "") -> list[str]:
        raise NotImplementedError


@pytest.mark.parametrize("local", [True, False])
def test_missing_bucket_error_and_log_hint(tmp_path: Path, caplog: pytest.LogCaptureFixture, local: bool) -> None:
    data_dir = tmp_path / "my data"
    data_dir.mkdir()
    storage = LocalFolderStorage(data_dir / "buckets") if local else _Elsewhere()
    trails = TrailService(data_dir, storage, lambda: 1_700_000_000.0)
    try:
        with caplog.at_level(logging.INFO, logger="opentrail.trails.service"):
            with pytest.raises(S3BucketDoesNotExistException) as info:
                trails.create_trail("123456789012", "us-east-1", "main", TrailSettings(s3_bucket_name="my-trail-logs"))
    finally:
        trails.close()
    assert info.value.message == "S3 bucket my-trail-logs does not exist!"
    hints = [r.getMessage() for r in caplog.records]
    assert hints == ([f"bucket 'my-trail-logs' does not exist; create it with: opentrail create-bucket"
                      f" --data-dir '{data_dir}' my-trail-logs"] if local else [])
