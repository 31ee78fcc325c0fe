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


def _chain_keys(env: Env, root: str) -> list[str]:
    return sorted(k for k in env.digest_keys() if k.startswith(root))


def test_member_chain_ends_when_the_account_leaves_and_org_chains_end_with_the_organization(env: Env) -> None:
    """An account removed from the organization: its chain gets a final digest and no more; the
    organization deleted: the management account's organization chain ends too and a plain
    ``AWSLogs/<account>/`` chain starts (a starting digest: previousDigestSignature null)."""
    orgs = OrganizationsService(env.path / "orgs")
    try:
        org = orgs.create_organization(ACCOUNT)
        member = str(orgs.create_account(ACCOUNT, "dev@example.com", "dev", {}).account_id)
        orgs.enable_service_access(ACCOUNT, "cloudtrail.amazonaws.com")
        env.trails.organizations = env.delivery.organizations = env.digests.organizations = orgs
        env.trail(is_organization_trail=True)
        env.store.append([read_record(r) for r in (record(T0, account=ACCOUNT), record(T0, account=member))])
        env.run(HOUR + 10, every=5)
        member_root, mgmt_root = f"AWSLogs/{org.id}/{member}/", f"AWSLogs/{org.id}/{ACCOUNT}/"
        assert len(_chain_keys(env, member_root)) == 1 and len(_chain_keys(env, mgmt_root)) == 1

        orgs.remove_account(ACCOUNT, member)
        env.run(30, every=5)  # the final digest of the member's chain
        member_keys = _chain_keys(env, member_root)
        assert len(member_keys) == 2
        final = env.digest(member_keys[1])[0]
        assert final["previousDigestS3Object"] == member_keys[0] and final["logFiles"] == []
        env.run(2 * HOUR, every=60)
        assert _chain_keys(env, member_root) == member_keys  # no more digests for the member
        assert len(_chain_keys(env, mgmt_root)) == 3  # the management account's chain goes on

        orgs.delete_organization(ACCOUNT)
        env.run(30, every=5)
        mgmt_keys = _chain_keys(env, mgmt_root)
        assert len(mgmt_keys) == 4
        assert env.digest(mgmt_keys[3])[0]["previousDigestS3Object"] == mgmt_keys[2]
        env.run(2 * HOUR, every=60)
        assert _chain_keys(env, mgmt_root) == mgmt_keys
        plain = _chain_keys(env, f"AWSLogs/{ACCOUNT}/")
        assert len(plain) == 2
        first = env.digest(plain[0])[0]
        assert (first["previousDigestSignature"], first["previousDigestS3Object"]) == (None, None)
        assert env.digest(plain[1])[0]["previousDigestS3Object"] == plain[0]
    finally:
        orgs.close()
