"""STS through the stock AWS CLI and the AWS SDK for JavaScript v3 (@aws-sdk/client-sts), compared
with boto3's answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

import pytest

from tests.npm_packages import run_js_v3

from .conftest import ACCOUNT, REGION, StsServer
from .iam_fake import allow, trust

JS_SDK = "@aws-sdk/client-sts"
JS_SDK_VERSION = "3.1137.0"
ROOT_IDENTITY = {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}


def cli(srv: StsServer, *args: str, key_id: str, secret: str, token: str | None = None) -> dict[str, Any]:
    aws = shutil.which("aws")
    if aws is None:
        pytest.skip("the AWS CLI is not installed")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": REGION,
           "AWS_ENDPOINT_URL": srv.url, "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": "/dev/null",
           "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    if token is not None:
        env["AWS_SESSION_TOKEN"] = token
    done = subprocess.run([aws, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_aws_cli_get_caller_identity_with_a_key_and_a_session(srv: StsServer) -> None:
    key = srv.key
    assert cli(srv, "sts", "get-caller-identity", key_id=key.access_key_id, secret=key.secret_access_key) == \
        ROOT_IDENTITY
    credentials = cli(srv, "sts", "get-session-token", "--duration-seconds", "900", key_id=key.access_key_id,
                      secret=key.secret_access_key)["Credentials"]
    assert sorted(credentials) == ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"]
    assert cli(srv, "sts", "get-caller-identity", key_id=credentials["AccessKeyId"],
               secret=credentials["SecretAccessKey"], token=credentials["SessionToken"]) == ROOT_IDENTITY
    events = cli(srv, "cloudtrail", "lookup-events", "--max-results", "1", key_id=credentials["AccessKeyId"],
                 secret=credentials["SecretAccessKey"], token=credentials["SessionToken"])["Events"]
    assert [e["EventName"] for e in events] == ["GetCallerIdentity"]


def test_js_sdk_v3_matches_boto3(srv: StsServer) -> None:
    key = srv.key
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT))
    boto = srv.client("sts")
    results = run_js_v3(JS_SDK, JS_SDK_VERSION, "STSClient", endpoint=srv.url, region=REGION,
                        key_id=key.access_key_id, secret=key.secret_access_key,
                        calls=[("GetCallerIdentity", {}), ("GetSessionToken", {"DurationSeconds": 900}),
                               ("GetAccessKeyInfo", {"AccessKeyId": key.access_key_id}),
                               ("AssumeRole", {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/ci",
                                               "RoleSessionName": "build-42"})])
    expected_identity = {k: v for k, v in boto.get_caller_identity().items() if k != "ResponseMetadata"}
    assert results[0] == ("GetCallerIdentity", expected_identity)
    op, answer = results[1]
    credentials = answer["Credentials"]
    assert (op, sorted(credentials)) == ("GetSessionToken",
                                         ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"])
    assert credentials["AccessKeyId"].startswith("ASIA")
    assert results[2] == ("GetAccessKeyInfo", {"Account": ACCOUNT})
    op, assumed = results[3]
    assert (op, sorted(assumed), assumed["AssumedRoleUser"]) == ("AssumeRole", ["AssumedRoleUser", "Credentials"], {
        "AssumedRoleId": f"{role.role_id}:build-42", "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"})
    assert srv.client("sts", credentials=assumed["Credentials"]).get_caller_identity()["Arn"] == \
        f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"
    # the JavaScript session credentials, used by boto3 and by the JavaScript SDK
    as_boto = srv.client("sts", credentials=credentials).get_caller_identity()
    assert {k: v for k, v in as_boto.items() if k != "ResponseMetadata"} == ROOT_IDENTITY
    again = run_js_v3(JS_SDK, JS_SDK_VERSION, "STSClient", endpoint=srv.url, region=REGION,
                      key_id=credentials["AccessKeyId"], secret=credentials["SecretAccessKey"],
                      session_token=credentials["SessionToken"],
                      calls=[("GetCallerIdentity", {}), ("GetSessionToken", {})])
    assert again == [("GetCallerIdentity", ROOT_IDENTITY), ("GetSessionToken", {"error": {
        "name": "AccessDenied", "message": "Cannot call GetSessionToken with session credentials", "status": 403}})]


def test_cli_assume_role_then_calls_as_the_role_session(srv: StsServer) -> None:
    key = srv.key
    role = srv.iam.add_role(ACCOUNT, "ci", trust(ACCOUNT))
    srv.iam.role_inline[(ACCOUNT, "ci")] = [allow("cloudtrail:LookupEvents")]
    assumed = cli(srv, "sts", "assume-role", "--role-arn", role.arn, "--role-session-name", "build-42",
                  key_id=key.access_key_id, secret=key.secret_access_key)
    assert sorted(assumed) == ["AssumedRoleUser", "Credentials"]
    assert assumed["AssumedRoleUser"] == {"AssumedRoleId": f"{role.role_id}:build-42",
                                          "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"}
    credentials = assumed["Credentials"]
    as_role = {"key_id": credentials["AccessKeyId"], "secret": credentials["SecretAccessKey"],
               "token": credentials["SessionToken"]}
    assert cli(srv, "sts", "get-caller-identity", **as_role) == {
        "UserId": f"{role.role_id}:build-42", "Account": ACCOUNT,
        "Arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ci/build-42"}
    events = cli(srv, "cloudtrail", "lookup-events", "--lookup-attributes",
                 "AttributeKey=EventName,AttributeValue=GetCallerIdentity", **as_role)["Events"]
    assert [(e["EventName"], e["Username"]) for e in events] == [("GetCallerIdentity", "build-42")]
    identity = json.loads(events[0]["CloudTrailEvent"])["userIdentity"]
    assert list(identity) == ["type", "principalId", "arn", "accountId", "accessKeyId", "sessionContext"]
    assert identity["sessionContext"]["sessionIssuer"] == {
        "type": "Role", "principalId": role.role_id, "arn": role.arn, "accountId": ACCOUNT, "userName": "ci"}
