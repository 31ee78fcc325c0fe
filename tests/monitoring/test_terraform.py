"""Terraform's AWS provider manages an ``aws_cloudwatch_metric_alarm`` through a real server (the Go
SDK v2's CloudWatch client, whichever protocol its version speaks): apply, a plan with no changes,
an update of the threshold and tags, destroy; the alarm checked with boto3 after each step.
Offline setup: tests/terraform.py (skipped without terraform or the mirrored provider)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.terraform import Terraform, require_terraform

from .conftest import MOTO_ACCOUNT, REGION, CwServer

RESOURCES = """

variable "threshold" { type = number }
variable "team" { type = string }

resource "aws_cloudwatch_metric_alarm" "root_use" {
  alarm_name          = "root-use"
  alarm_description   = "CIS 4.3: root account use"
  namespace           = "CIS"
  metric_name         = "RootUse"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = ["arn:aws:sns:%(region)s:%(moto_account)s:security"]
  dimensions = {
    Account = "all"
  }
  tags = {
    team = var.team
  }
}
"""


def alarm_state(cw: CwServer) -> dict[str, Any]:
    c = cw.client()
    (alarm,) = c.describe_alarms()["MetricAlarms"]
    tags = c.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    return {"threshold": alarm["Threshold"], "description": alarm["AlarmDescription"],
            "dimensions": alarm["Dimensions"], "missing": alarm["TreatMissingData"], "tags": tags}


@pytest.mark.slow
def test_terraform_manages_a_metric_alarm(cw: CwServer, tmp_path: Path) -> None:
    tf = Terraform(require_terraform(), tmp_path)
    tf.env["AWS_ENDPOINT_URL_CLOUDWATCH"] = cw.url
    tf.init(RESOURCES, region=REGION, key=cw.key, url=cw.url, moto_account=MOTO_ACCOUNT)
    tf.run("apply", "-auto-approve", "-no-color", "-var=threshold=1", "-var=team=sec")
    assert alarm_state(cw) == {"threshold": 1.0, "description": "CIS 4.3: root account use",
                               "dimensions": [{"Name": "Account", "Value": "all"}], "missing": "notBreaching",
                               "tags": [{"Key": "team", "Value": "sec"}]}
    plan = tf.run("plan", "-detailed-exitcode", "-no-color", "-var=threshold=1", "-var=team=sec")
    assert plan.returncode == 0, plan.stdout
    tf.run("apply", "-auto-approve", "-no-color", "-var=threshold=5", "-var=team=ops")
    state = alarm_state(cw)
    assert (state["threshold"], state["tags"]) == (5.0, [{"Key": "team", "Value": "ops"}])
    tf.run("destroy", "-auto-approve", "-no-color", "-var=threshold=5", "-var=team=ops")
    assert cw.client().describe_alarms()["MetricAlarms"] == []
