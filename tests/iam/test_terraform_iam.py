"""Terraform's AWS provider (offline mirror) against opentrail's IAM: aws_iam_user, aws_iam_policy,
aws_iam_user_policy_attachment, aws_iam_access_key, aws_iam_role and aws_iam_role_policy_attachment:
apply, a plan without changes (the provider reads everything back through many IAM operations),
destroy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform import Terraform, require_terraform

from .conftest import ACCOUNT, IamServer

RESOURCES = """
resource "aws_iam_user" "auditor" {
  name = "auditor"
  path = "/audit/"
  tags = { team = "security" }
}

resource "aws_iam_policy" "lookup" {
  name        = "lookup-events"
  description = "Look up CloudTrail events"
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = ["cloudtrail:LookupEvents"], Resource = "*" }]
  })
}

resource "aws_iam_user_policy_attachment" "lookup" {
  user       = aws_iam_user.auditor.name
  policy_arn = aws_iam_policy.lookup.arn
}

resource "aws_iam_user_policy_attachment" "read_only" {
  user       = aws_iam_user.auditor.name
  policy_arn = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"
}

resource "aws_iam_access_key" "auditor" {
  user = aws_iam_user.auditor.name
}

resource "aws_iam_role" "ci" {
  name                 = "ci"
  max_session_duration = 7200
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { AWS = "arn:aws:iam::%(account)s:root" }, Action = "sts:AssumeRole" }]
  })
}

resource "aws_iam_role_policy_attachment" "ci" {
  role       = aws_iam_role.ci.name
  policy_arn = aws_iam_policy.lookup.arn
}
"""


@pytest.mark.slow
def test_terraform_iam_resources(srv: IamServer, tmp_path: Path) -> None:
    binary = require_terraform()
    (tmp_path / "tf").mkdir()
    tf = Terraform(binary, tmp_path / "tf")
    tf.init(RESOURCES, region="us-east-1", key=srv.key, url=srv.url, services=("iam", "sts"), account=ACCOUNT)
    tf.apply()
    iam = srv.client()
    user = iam.get_user(UserName="auditor")["User"]
    assert (user["Path"], user["Tags"]) == ("/audit/", [{"Key": "team", "Value": "security"}])
    assert sorted(p["PolicyName"] for p in iam.list_attached_user_policies(UserName="auditor")["AttachedPolicies"]) == [
        "AWSCloudTrail_ReadOnlyAccess", "lookup-events"]
    assert len(iam.list_access_keys(UserName="auditor")["AccessKeyMetadata"]) == 1
    assert iam.get_role(RoleName="ci")["Role"]["MaxSessionDuration"] == 7200
    assert tf.plan_changes() == 0
    tf.destroy()
    assert iam.list_users()["Users"] == []
    assert iam.list_roles()["Roles"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
