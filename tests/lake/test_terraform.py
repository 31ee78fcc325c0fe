"""Terraform's AWS provider manages an ``aws_cloudtrail_event_data_store`` through a real server:
apply, a plan with no changes, an update (retention, suspend = StopEventDataStoreIngestion, tags),
destroy (the store becomes PENDING_DELETION, which the provider takes as gone); the store checked
with boto3 after each step. Offline setup: tests/terraform.py (skipped without
terraform or the mirrored provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform import Terraform, require_terraform

from .conftest import REGION, LakeServer

RESOURCES = """

variable "retention" { type = number }
variable "suspend" { type = bool }


resource "aws_cloudtrail_event_data_store" "main" {
  name                           = "tf-eds"
  retention_period               = var.retention
  termination_protection_enabled = false
  suspend                        = var.suspend
  tags = {
    team = "security"
  }
  advanced_event_selector {
    name = "writes"
    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
    field_selector {
      field  = "readOnly"
      equals = ["false"]
    }
  }
}
"""


def store_state(srv: LakeServer) -> dict[str, Any]:
    c = srv.client()
    stores = c.list_event_data_stores()["EventDataStores"]
    assert [s["Name"] for s in stores] == ["tf-eds"]
    arn = stores[0]["EventDataStoreArn"]
    got = c.get_event_data_store(EventDataStore=arn)
    tags = c.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"]
    selectors = [{**s, "FieldSelectors": sorted(s["FieldSelectors"], key=lambda f: f["Field"])}  # a set in Terraform
                 for s in got["AdvancedEventSelectors"]]
    return {"status": got["Status"], "retention": got["RetentionPeriod"], "tags": tags, "selectors": selectors, "protected": got["TerminationProtectionEnabled"]}


@pytest.mark.slow
def test_terraform_manages_an_event_data_store(srv: LakeServer, tmp_path: Path) -> None:
    tf = Terraform(require_terraform(), tmp_path)
    tf.init(RESOURCES, region=REGION, key=srv.key, url=srv.url)

    tf.run("apply", "-auto-approve", "-no-color", "-var=retention=90", "-var=suspend=false")
    expected = {"status": "ENABLED", "retention": 90, "tags": [{"Key": "team", "Value": "security"}],
                "selectors": [{"Name": "writes", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}],
                "protected": False}
    assert store_state(srv) == expected
    assert tf.run("plan", "-detailed-exitcode", "-no-color", "-var=retention=90", "-var=suspend=false").returncode == 0

    tf.run("apply", "-auto-approve", "-no-color", "-var=retention=30", "-var=suspend=true")
    assert store_state(srv) == {**expected, "status": "STOPPED_INGESTION", "retention": 30}
    assert tf.run("plan", "-detailed-exitcode", "-no-color", "-var=retention=30", "-var=suspend=true").returncode == 0

    tf.run("destroy", "-auto-approve", "-no-color", "-var=retention=30", "-var=suspend=true")
    stores = srv.stores.all()
    assert [s.status for s in stores] == ["PENDING_DELETION"]
