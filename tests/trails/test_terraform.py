"""Terraform's AWS provider (aws-sdk-go-v2, a Smithy-generated SDK) manages an ``aws_cloudtrail``
through a real server: apply, a plan with no changes, an update, destroy; the trail checked with
boto3 after each step.

Offline: ``terraform init -plugin-dir /opt/tf-plugins`` (provider hashicorp/aws 5.100.0 mirrored
there), a temporary HOME and TF_DATA_DIR, no checkpoint call. Skipped when ``terraform`` is not on
PATH or the plugin folder is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import ACCOUNT, BUCKET, REGION, TrailServer

PLUGIN_DIR = Path(os.environ.get("OPENTRAIL_TF_PLUGIN_DIR", "/opt/tf-plugins"))
PROVIDER_VERSION = "5.100.0"
NAME = "tf-trail"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{NAME}"

CONFIG = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "%(version)s" }
  }
}

variable "validation" { type = bool }
variable "logging" { type = bool }
variable "insights" { type = bool }

provider "aws" {
  region                      = "%(region)s"
  access_key                  = "%(key_id)s"
  secret_key                  = "%(secret)s"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  endpoints {
    cloudtrail = "%(url)s"
  }
}

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


def require_terraform() -> str:
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not on PATH")
    if not (PLUGIN_DIR / "registry.terraform.io" / "hashicorp" / "aws" / PROVIDER_VERSION).is_dir():
        pytest.skip(f"the AWS provider {PROVIDER_VERSION} is not mirrored in {PLUGIN_DIR}")
    return terraform


class Terraform:
    """``terraform`` in ``work`` with an isolated, offline environment."""

    def __init__(self, binary: str, work: Path) -> None:
        self.binary = binary
        self.work = work
        home = work / "home"
        home.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(home),
            "TF_DATA_DIR": str(work / "tf-data"),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "TF_CLI_CONFIG_FILE": str(home / "terraformrc"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(home / "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws-credentials"),
        }
        (home / "terraformrc").write_text("")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([self.binary, *args], cwd=self.work, env=self.env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode in (0, 2), f"terraform {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def apply(self, **variables: bool) -> None:
        self.run("apply", "-auto-approve", "-no-color", *self.vars(variables))

    def plan_changes(self, **variables: bool) -> int:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes."""
        return self.run("plan", "-detailed-exitcode", "-no-color", *self.vars(variables)).returncode

    def destroy(self, **variables: bool) -> None:
        self.run("destroy", "-auto-approve", "-no-color", *self.vars(variables))

    def state(self) -> dict[str, Any]:
        """The attributes of ``aws_cloudtrail.main`` in the local state file."""
        state = json.loads((self.work / "terraform.tfstate").read_text())
        return state["resources"][0]["instances"][0]["attributes"]

    @staticmethod
    def vars(variables: dict[str, bool]) -> list[str]:
        return [f"-var={name}={str(value).lower()}" for name, value in variables.items()]


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
    (tmp_path / "main.tf").write_text(CONFIG % {
        "version": PROVIDER_VERSION, "region": REGION, "key_id": srv.key.access_key_id,
        "secret": srv.key.secret_access_key, "url": srv.url, "name": NAME, "bucket": BUCKET})
    tf.run("init", "-no-color", "-plugin-dir", str(PLUGIN_DIR))

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
