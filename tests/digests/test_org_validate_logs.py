"""An organization trail's digests and log files checked by the stock ``aws cloudtrail validate-logs
--account-id`` (awscli from PyPI) and by ``opentrail validate-logs``, for the management account
and a member account: boto3 against a real server with Organizations, moto's S3 server as the
bucket. The AWS CLI reads the organization id with DescribeOrganization (``AWS_ENDPOINT_URL_ORGANIZATIONS``:
its Organizations client ignores ``--endpoint-url``) and the files under ``AWSLogs/<o-id>/<account>/``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccessKey, AccountStore
from opentrail.events.record import read_record
from opentrail.objectstore import S3Storage
from opentrail.organizations.service import OrganizationsService
from opentrail.settings import Settings
from tests.digests.conftest import HOUR, make_env, record
from tests.serving import free_port, serving

BUCKET = "org-trail-logs"
AWS = Path(sys.executable).with_name("aws")
WINDOW = ["--start-time", "2024-03-01T09:00:00Z", "--end-time", "2024-03-01T16:00:00Z"]


@pytest.fixture
def moto_url() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    saved = {k: os.environ.get(k) for k in creds}
    os.environ.update(creds)  # S3Storage uses the standard credential chain
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        moto.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _cli_env(key: AccessKey, url: str, moto_url: str, home: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_ACCESS_KEY_ID": key.access_key_id,
            "AWS_SECRET_ACCESS_KEY": key.secret_access_key, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": str(home / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
            "AWS_ENDPOINT_URL_CLOUDTRAIL": url, "AWS_ENDPOINT_URL_ORGANIZATIONS": url, "AWS_ENDPOINT_URL_S3": moto_url}


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_stock_cli_and_opentrail_validate_an_organization_trail(tmp_path: Path, moto_url: str) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    env = make_env(tmp_path, storage=S3Storage(moto_url))
    accounts = AccountStore(tmp_path / "accounts.db")
    orgs = OrganizationsService(tmp_path / "orgs", create_account=accounts.create_account)
    env.trails.organizations = env.delivery.organizations = env.digests.organizations = orgs
    try:
        mgmt = accounts.create_access_key(accounts.create_account())
        app = build_app(settings=Settings(), store=env.store, accounts=accounts, clock=time.time, trails=env.trails,
                        public_keys=env.keys, organizations=orgs)
        with serving(app) as url:
            def client(key: AccessKey, service: str) -> Any:
                return boto3.client(service, endpoint_url=url, region_name="us-east-1",
                                    aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                                    config=Config(retries={"max_attempts": 1}))
            org = client(mgmt, "organizations")
            org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
            member = org.create_account(Email="dev@example.com", AccountName="dev")["CreateAccountStatus"]["AccountId"]
            org.enable_aws_service_access(ServicePrincipal="cloudtrail.amazonaws.com")
            ct = client(mgmt, "cloudtrail")
            arn = ct.create_trail(Name="org", S3BucketName=BUCKET, IsOrganizationTrail=True,
                                  EnableLogFileValidation=True)["TrailARN"]
            ct.start_logging(Name="org")
            env.run(0)
            events = [read_record(record(env.clock.now + 5, account=a)) for a in (mgmt.account_id, member)]
            assert env.store.append(events).accepted == 2
            env.run(HOUR + 60, every=30)
            ct.stop_logging(Name="org")
            env.run(30, every=1)

            listed = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
            member_key = accounts.create_access_key(member)
            for key, account in ((mgmt, mgmt.account_id), (member_key, member)):
                logs = [k for k in listed if k.startswith(f"AWSLogs/{org_id}/{account}/CloudTrail/")]
                digests = [k for k in listed if k.startswith(f"AWSLogs/{org_id}/{account}/CloudTrail-Digest/")]
                assert len(logs) >= 1 and len(digests) == 2, listed
                cli_env = _cli_env(key, url, moto_url, tmp_path)
                common = ["--trail-arn", arn, *WINDOW, "--account-id", account, "--verbose", "--region", "us-east-1"]
                out = _run([str(AWS), "cloudtrail", "validate-logs", *common], cli_env)
                assert (out.returncode, out.stderr) == (0, ""), out.stdout + out.stderr
                assert f"2/2 digest files valid\n{len(logs)}/{len(logs)} log files valid" in out.stdout, out.stdout
                for k in logs + digests:
                    assert f"\ts3://{BUCKET}/{k}\tvalid\n" in out.stdout
                ours = _run([sys.executable, "-m", "opentrail.cli", "validate-logs", *common,
                             "--data-dir", str(tmp_path / "none")], cli_env)
                assert (ours.returncode, ours.stderr) == (0, ""), ours.stdout + ours.stderr
                assert ours.stdout.replace("\r", "") == out.stdout

            # without --account-id both refuse an organization trail with the AWS CLI's message
            cli_env = _cli_env(mgmt, url, moto_url, tmp_path)
            out = _run([str(AWS), "cloudtrail", "validate-logs", "--trail-arn", arn, *WINDOW], cli_env)
            ours = _run([sys.executable, "-m", "opentrail.cli", "validate-logs", "--trail-arn", arn, *WINDOW,
                         "--data-dir", str(tmp_path / "none")], cli_env)
            message = "Missing required parameter for organization trail: '--account-id'"
            assert (out.returncode, message in out.stderr) == (255, True), out.stderr
            assert (ours.returncode, ours.stderr) == (255, f"\n{message}\n")
    finally:
        orgs.close()
        env.close()
        accounts.close()
