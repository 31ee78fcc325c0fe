"""Terraform's AWS provider (offline mirror) against opentrail's Organizations:
aws_organizations_organization (all features, trusted access for CloudTrail) and an
aws_organizations_organizational_unit: apply, a plan without changes (the provider reads the
organization back through DescribeOrganization, ListRoots, ListAccounts,
ListAWSServiceAccessForOrganization, ...), destroy."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform import Terraform, require_terraform

from .conftest import OrgServer

RESOURCES = """
resource "aws_organizations_organization" "org" {
  feature_set                   = "ALL"
  aws_service_access_principals = ["cloudtrail.amazonaws.com"]
}

resource "aws_organizations_organizational_unit" "security" {
  name      = "security"
  parent_id = aws_organizations_organization.org.roots[0].id
}
"""


@pytest.mark.slow
def test_terraform_organization_apply_no_drift_destroy(org_server: OrgServer, tmp_path: Path) -> None:
    terraform = require_terraform()
    key = org_server.new_key()
    tf = Terraform(terraform, tmp_path)
    tf.init(RESOURCES, region="us-east-1", key=key, url=org_server.url, services=("organizations", "sts"))
    tf.apply()
    org = org_server.client(key).describe_organization()["Organization"]
    state = {r["type"]: r["instances"][0]["attributes"] for r in tf.state_resources()}
    assert state["aws_organizations_organization"]["id"] == org["Id"]
    assert state["aws_organizations_organization"]["master_account_id"] == key.account_id
    assert state["aws_organizations_organization"]["aws_service_access_principals"] == ["cloudtrail.amazonaws.com"]
    root = org_server.client(key).list_roots()["Roots"][0]["Id"]
    [ou] = org_server.client(key).list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    assert (ou["Name"], state["aws_organizations_organizational_unit"]["id"]) == ("security", ou["Id"])
    assert tf.plan_changes() == 0
    tf.destroy()
    with pytest.raises(Exception) as gone:
        org_server.client(key).describe_organization()
    assert "AWSOrganizationsNotInUseException" in str(gone.value)
