"""The stock AWS CLI (create-organization, create-account, list-accounts) and the AWS SDK for
JavaScript v3 (``@aws-sdk/client-organizations``, compared field by field with boto3) against a
real server."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.npm_packages import run_js_v3

from .conftest import Management, OrgServer

JS_SDK = "@aws-sdk/client-organizations"
JS_SDK_VERSION = "3.1169.0"


def aws(org_server: OrgServer, m: Management, *args: str) -> Any:
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed")
    done = subprocess.run(["aws", "--endpoint-url", org_server.url, "--output", "json", "organizations", *args],
                          env=org_server.cli_env(m.key), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else None


def test_aws_cli(org_server: OrgServer, mgmt: Management) -> None:
    org = aws(org_server, mgmt, "create-organization", "--feature-set", "ALL")["Organization"]
    assert org == mgmt.org.describe_organization()["Organization"]
    status = aws(org_server, mgmt, "create-account", "--email", "dev@example.com", "--account-name", "dev")[
        "CreateAccountStatus"]
    assert (status["AccountName"], status["State"]) == ("dev", "SUCCEEDED")
    accounts = aws(org_server, mgmt, "list-accounts")["Accounts"]
    assert [(a["Id"], a["Name"], a["Email"], a["JoinedMethod"]) for a in accounts] == [
        (mgmt.account_id, mgmt.account_id, f"{mgmt.account_id}@opentrail.invalid", "INVITED"),
        (status["AccountId"], "dev", "dev@example.com", "CREATED")]


def boto(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 answer as the JavaScript SDK gives it: no ResponseMetadata, times as ISO text."""
    return json.loads(json.dumps({k: v for k, v in response.items() if k != "ResponseMetadata"},
                                 default=lambda t: t.astimezone(timezone.utc).isoformat(timespec="milliseconds")
                                 .replace("+00:00", "Z")))


def test_javascript_v3_sdk_answers_as_boto3(org_server: OrgServer, mgmt: Management) -> None:
    org = mgmt.org
    org.create_organization()
    root = org.list_roots()["Roots"][0]["Id"]
    dev = org.create_account(Email="js@example.com", AccountName="js")["CreateAccountStatus"]["AccountId"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("DescribeOrganization", {}),
        ("ListRoots", {}),
        ("DescribeAccount", {"AccountId": dev}),
        ("ListPoliciesForTarget", {"TargetId": dev, "Filter": "SERVICE_CONTROL_POLICY"}),
        ("DescribePolicy", {"PolicyId": "p-FullAWSAccess"}),
        ("ListChildren", {"ParentId": root, "ChildType": "ACCOUNT"}),
        ("DescribeAccount", {"AccountId": "999999999999"}),
    ]
    results = run_js_v3(JS_SDK, JS_SDK_VERSION, "OrganizationsClient", endpoint=org_server.url, region="us-east-1",
                        key_id=mgmt.key.access_key_id, secret=mgmt.key.secret_access_key, calls=calls)
    answers = [a for _, a in results]
    assert [op for op, _ in results] == [op for op, _ in calls]
    assert answers[0] == boto(org.describe_organization())
    assert answers[1] == boto(org.list_roots())
    assert answers[2] == boto(org.describe_account(AccountId=dev))
    assert answers[2]["Account"]["Email"] == "js@example.com"
    assert answers[3] == boto(org.list_policies_for_target(TargetId=dev, Filter="SERVICE_CONTROL_POLICY"))
    assert answers[4] == boto(org.describe_policy(PolicyId="p-FullAWSAccess"))
    assert answers[5] == boto(org.list_children(ParentId=root, ChildType="ACCOUNT"))
    with pytest.raises(ClientError) as info:
        org.describe_account(AccountId="999999999999")
    assert answers[6] == {"error": {"name": "AccountNotFoundException", "status": 400,
                                    "message": info.value.response["Error"]["Message"]}}
    assert info.value.response["Error"]["Message"] == "You specified an account that doesn't exist."
