"""An organization trail sends every member account's events to its log group, one stream
``<o-id>_<account>_CloudTrail_<region>`` per member account and Region."""

from __future__ import annotations

import orjson

from opentrail.organizations.service import OrganizationsService
from opentrail.trails import TrailSettings
from tests.delivery.conftest import ACCOUNT, BUCKET, record

from .conftest import GROUP, REGION, ROLE, CwlEnv, group_arn


def test_organization_trail_streams_per_member_account(cwl: CwlEnv) -> None:
    orgs = OrganizationsService(cwl.path / "orgs")
    try:
        org = orgs.create_organization(ACCOUNT)
        member = orgs.create_account(ACCOUNT, "dev@example.com", "dev", {}).account_id
        orgs.enable_service_access(ACCOUNT, "cloudtrail.amazonaws.com")
        cwl.trails.organizations = orgs
        cwl.trails.create_trail(ACCOUNT, REGION, "org", TrailSettings(
            s3_bucket_name=BUCKET, is_organization_trail=True, cloud_watch_logs_log_group_arn=group_arn(),
            cloud_watch_logs_role_arn=ROLE))
        cwl.trails.start_logging(ACCOUNT, REGION, "org")
        own, theirs, stranger = record(), record(account=str(member)), record(account="999988887777")
        cwl.ingest(own, theirs, stranger)
        w = cwl.worker(interval_s=0.0, organizations=orgs)
        w.step()
        w.step()
        got = sorted((stream, orjson.loads(m)["eventID"]) for stream, _, m in cwl.messages(GROUP))
        assert got == sorted([(f"{org.id}_{ACCOUNT}_CloudTrail_{REGION}", own["eventID"]),
                              (f"{org.id}_{member}_CloudTrail_{REGION}", theirs["eventID"])])
    finally:
        orgs.close()
