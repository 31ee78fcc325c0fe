"""Data events reach the bus only when a logging trail of their account selects them
(:class:`opentrail.eventbridge.trail_gate.TrailDataEvents` over a real TrailService)."""

from __future__ import annotations

from pathlib import Path

from opentrail.eventbridge.trail_gate import TrailDataEvents
from opentrail.objectstore import LocalFolderStorage
from opentrail.trails import TrailSettings
from opentrail.trails.model import DataResource, EventSelector
from opentrail.trails.service import TrailService
from tests.eventbridge.helpers import ACCOUNT, OTHER, REGION, record


def put_object(bucket: str, account: str = ACCOUNT) -> dict[str, object]:
    return record("PutObject", account=account, source="s3.amazonaws.com", managementEvent=False,
                  eventCategory="Data", resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/k"}],
                  requestParameters={"bucketName": bucket, "key": "k"})


def test_a_logging_trail_selecting_the_bucket_lets_its_data_events_through(tmp_path: Path) -> None:
    storage = LocalFolderStorage(tmp_path / "buckets")
    storage.create_bucket("trail-bucket")
    trails = TrailService(tmp_path, storage, lambda: 1_800_000_000.0)
    try:
        gate = TrailDataEvents(trails)
        trails.create_trail(ACCOUNT, REGION, "data", TrailSettings(s3_bucket_name="trail-bucket"))
        trails.put_event_selectors(ACCOUNT, REGION, "data", (EventSelector(data_resources=(
            DataResource("AWS::S3::Object", ("arn:aws:s3:::logged/",)),)),), None)
        assert gate(ACCOUNT, REGION, "Data", put_object("logged")) is False  # not logging yet
        trails.start_logging(ACCOUNT, REGION, "data")
        assert gate(ACCOUNT, REGION, "Data", put_object("logged")) is True
        assert gate(ACCOUNT, REGION, "Data", put_object("other")) is False
        assert gate(ACCOUNT, "eu-west-1", "Data", put_object("logged")) is False  # a single-Region trail
        assert gate(OTHER, REGION, "Data", put_object("logged", OTHER)) is False  # another account's trail
        trails.stop_logging(ACCOUNT, REGION, "data")
        assert gate(ACCOUNT, REGION, "Data", put_object("logged")) is False
    finally:
        trails.close()
