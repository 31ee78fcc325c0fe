"""Terraform's AWS provider (aws-sdk-go-v2, a Smithy-generated SDK) manages an ``aws_cloudtrail``
through a real server: apply, a plan with no changes, an update, destroy; the trail checked with
boto3 after each step.

Offline: ``terraform init -plugin-dir /opt/tf-plugins`` (provider hashicorp/aws 5.100.0 mirrored
there), a temporary HOME and TF_DATA_DIR, no checkpoint call. Skipped when ``terraform`` is not on
PATH or the plugin folder is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.terraform import Terraform, require_terraform

from .conftest import ACCOUNT, BUCKET, REGION, TrailServer

NAME = "tf-trail"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{NAME}"

RESOURCES = """

variable "validation" { type = bool }
variable "logging" { type = bool }
variable "insights" { type = bool }


resource "aws_cloudtrail" "main" {
  name                       = "%(name)s"
  s3_bucket_name             = "%(bucket)s"
  s3_key_prefix              = "tf"
  enable_log_file_validation = var.validation
  enable_logging             = var.logging
  tags = {
    team = "security"
  }
  event_selector {
    read_write_type           = "WriteOnly"
    include_management_events = true
    data_resource {
      type   = "AWS::S3::Object"
      values = ["arn:aws:s3:::%(bucket)s/"]
    }
  }
  dynamic "insight_selector" {
    for_each = var.insights ? ["ApiCallRateInsight"] : []
    content {
      insight_type = insight_selector.value
    }
  }
}
"""


def trail_state(srv: TrailServer) -> dict[str, Any]:
    c = srv.client()
    trail = c.get_trail(Name=NAME)["Trail"]
    status = c.get_trail_status(Name=NAME)
    tags = c.list_tags(ResourceIdList=[ARN])["ResourceTagList"][0]["TagsList"]
    selectors = c.get_event_selectors(TrailName=NAME)["EventSelectors"]
    try:
        insights = c.get_insight_selectors(TrailName=NAME)["InsightSelectors"]
    except ClientError as exc:
        insights = exc.response["Error"]["Code"]
    return {"validation": trail["LogFileValidationEnabled"], "logging": status["IsLogging"],
            "prefix": trail.get("S3KeyPrefix"), "bucket": trail["S3BucketName"], "tags": tags,
            "selectors": selectors, "insights": insights}


@pytest.mark.slow
def test_terraform_manages_a_trail(srv: TrailServer, tmp_path: Path) -> None:
    tf = Terraform(require_terraform(), tmp_path)
    tf.init(RESOURCES, region=REGION, key=srv.key, url=srv.url, name=NAME, bucket=BUCKET)

    first = {"validation": True, "logging": True, "insights": False}
    tf.apply(**first)
    expected = {"validation": True, "logging": True, "prefix": "tf", "bucket": BUCKET,
                "tags": [{"Key": "team", "Value": "security"}],
                "selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                               "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}],
                               "ExcludeManagementEventSources": []}],
                "insights": "InsightNotEnabledException"}
    assert trail_state(srv) == expected
    assert tf.plan_changes(**first) == 0

    second = {"validation": False, "logging": False, "insights": True}
    tf.apply(**second)
    assert trail_state(srv) == {**expected, "validation": False, "logging": False,
                                "insights": [{"InsightType": "ApiCallRateInsight"}]}
    assert tf.plan_changes(**second) == 0
    attributes = tf.state()
    assert (attributes["arn"], attributes["home_region"], attributes["enable_logging"]) == (ARN, REGION, False)

    tf.destroy(**second)
    with pytest.raises(ClientError) as info:
        srv.client().get_trail(Name=NAME)
    assert info.value.response["Error"]["Code"] == "TrailNotFoundException"
