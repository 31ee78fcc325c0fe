"""Digests of an organization trail: one chain per member account and Region, under
``AWSLogs/<o-id>/<account>/CloudTrail-Digest/``, each listing that account's log files only."""

from __future__ import annotations

import re
from typing import Any

from opentrail.events.record import read_record
from opentrail.organizations.service import OrganizationsService

from .conftest import ACCOUNT, HOUR, T0, Env, record


def test_digests_per_member_account(env: Env) -> None:
    orgs = OrganizationsService(env.path / "orgs")
    try:
        org = orgs.create_organization(ACCOUNT)
        member = orgs.create_account(ACCOUNT, "dev@example.com", "dev", {}).account_id
        orgs.enable_service_access(ACCOUNT, "cloudtrail.amazonaws.com")
        env.trails.organizations = env.delivery.organizations = env.digests.organizations = orgs
        env.trail(is_organization_trail=True)
        events = [read_record(r) for r in (record(T0, account=ACCOUNT), record(T0, account=str(member)))]
        env.store.append(events)
        env.run(HOUR + 10, every=5)
        digests: dict[str, dict[str, Any]] = {k: env.digest(k)[0] for k in env.digest_keys()}
        pattern = re.compile(rf"AWSLogs/{org.id}/(\d{{12}})/CloudTrail-Digest/us-east-1/2024/03/01/"
                             rf"\1_CloudTrail-Digest_us-east-1_main_us-east-1_20240301T\d{{6}}Z\.json\.gz")
        by_account: dict[str, list[str]] = {}
        for key, digest in digests.items():
            m = pattern.fullmatch(key)
            assert m is not None, key
            assert digest["awsAccountId"] == m.group(1)
            by_account.setdefault(m.group(1), []).extend(f["s3Object"] for f in digest["logFiles"])
        assert sorted(by_account) == sorted([ACCOUNT, str(member)])
        for account, files in by_account.items():
            assert len(files) == 1 and files[0].startswith(f"AWSLogs/{org.id}/{account}/CloudTrail/us-east-1/")
    finally:
        orgs.close()
