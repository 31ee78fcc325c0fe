"""Terraform's AWS provider (aws-sdk-go-v2, a Smithy-generated SDK) manages opentrail's resources of
every service through one real ``opentrail serve``, with ``AWS_ENDPOINT_URL`` alone pointing it
there: an ``aws_cloudtrail``, an ``aws_cloudtrail_event_data_store``, an
``aws_cloudwatch_metric_alarm``, and the EventBridge ``aws_cloudwatch_event_rule``,
``_connection``, ``_api_destination`` and ``_target``. One configuration, so the provider starts
five times in all, not five times per resource (each start costs about 2.5 s, three per command):
apply, a plan with no changes, an update of every resource, another plan with no changes,
destroy; every resource checked with boto3 after each step.

Offline: ``terraform init -plugin-dir /opt/tf-plugins`` (tests/terraform.py). Skipped when
``terraform`` is not on PATH or the plugin folder is missing.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.terraform import Terraform, require_terraform
from tests.test_e2e_cli import Server

REGION = "us-east-1"
BUCKET = "tf-trail-logs"
TRAIL = "tf-trail"

RESOURCES = """

variable "second" { type = bool }

resource "aws_cloudtrail" "main" {
  name                       = "%(trail)s"
  s3_bucket_name             = "%(bucket)s"
  s3_key_prefix              = "tf"
  enable_log_file_validation = !var.second
  enable_logging             = !var.second
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
    for_each = var.second ? ["ApiCallRateInsight"] : []
    content {
      insight_type = insight_selector.value
    }
  }
}

resource "aws_cloudtrail_event_data_store" "main" {
  name                           = "tf-eds"
  retention_period               = var.second ? 30 : 90
  termination_protection_enabled = false
  suspend                        = var.second
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

resource "aws_cloudwatch_metric_alarm" "root_use" {
  alarm_name          = "root-use"
  alarm_description   = "CIS 4.3: root account use"
  namespace           = "CIS"
  metric_name         = "RootUse"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = var.second ? 5 : 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = ["arn:aws:sns:%(region)s:%(account)s:security"]
  dimensions = {
    Account = "all"
  }
  tags = {
    team = var.second ? "ops" : "sec"
  }
}

resource "aws_cloudwatch_event_connection" "chat" {
  name               = "chat"
  description        = var.second ? "chat webhook (rotated)" : "chat webhook"
  authorization_type = "API_KEY"
  auth_parameters {
    api_key {
      key   = "x-api-key"
      value = var.second ? "secret-2" : "secret-1"
    }
  }
}

resource "aws_cloudwatch_event_api_destination" "chat" {
  name                             = "chat"
  invocation_endpoint              = "http://127.0.0.1:9/hooks/chat"
  http_method                      = "POST"
  invocation_rate_limit_per_second = var.second ? 10 : 20
  connection_arn                   = aws_cloudwatch_event_connection.chat.arn
}

resource "aws_cloudwatch_event_rule" "tampering" {
  name        = "trail-tampering"
  description = "someone stops or deletes a trail"
  state       = var.second ? "DISABLED" : "ENABLED"
  event_pattern = jsonencode({
    source        = ["aws.cloudtrail"]
    "detail-type" = ["AWS API Call via CloudTrail"]
    detail = {
      eventName = var.second ? ["StopLogging", "DeleteTrail", "UpdateTrail"] : ["StopLogging", "DeleteTrail"]
    }
  })
  tags = {
    team = var.second ? "ops" : "sec"
  }
}

resource "aws_cloudwatch_event_target" "chat" {
  rule      = aws_cloudwatch_event_rule.tampering.name
  target_id = "chat"
  arn       = aws_cloudwatch_event_api_destination.chat.arn
  role_arn  = "arn:aws:iam::%(account)s:role/eventbridge-api-destinations"
  retry_policy {
    maximum_retry_attempts       = var.second ? 3 : 10
    maximum_event_age_in_seconds = 600
  }
  input_transformer {
    input_paths = {
      who  = "$.detail.userIdentity.arn"
      what = "$.detail.eventName"
    }
    input_template = var.second ? "\\"<who> called <what>\\"" : "{\\"text\\": \\"<who> called <what>\\"}"
  }
}
"""


def credentials(server: Server) -> tuple[str, str, str]:
    """(account, access key id, secret) of the root key ``opentrail serve`` wrote (the account from
    its banner)."""
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "credentials")
    section = parser["opentrail"]
    account = re.search(r"account (\d{12}),", server.output())
    assert account, server.output()
    return account.group(1), section["aws_access_key_id"], section["aws_secret_access_key"]


class Clients:
    def __init__(self, url: str, key_id: str, secret: str) -> None:
        self.url, self.key_id, self.secret = url, key_id, secret

    def __call__(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, aws_access_key_id=self.key_id,
                            aws_secret_access_key=self.secret)


def trail_state(c: Clients, account: str) -> dict[str, Any]:
    ct = c("cloudtrail")
    trail = ct.get_trail(Name=TRAIL)["Trail"]
    arn = f"arn:aws:cloudtrail:{REGION}:{account}:trail/{TRAIL}"
    try:
        insights: Any = ct.get_insight_selectors(TrailName=TRAIL)["InsightSelectors"]
    except ClientError as exc:
        insights = exc.response["Error"]["Code"]
    return {"arn": trail["TrailARN"] == arn, "validation": trail["LogFileValidationEnabled"],
            "logging": ct.get_trail_status(Name=TRAIL)["IsLogging"], "prefix": trail.get("S3KeyPrefix"),
            "bucket": trail["S3BucketName"], "tags": ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"],
            "selectors": ct.get_event_selectors(TrailName=TRAIL)["EventSelectors"], "insights": insights}


def store_state(c: Clients) -> dict[str, Any]:
    ct = c("cloudtrail")
    stores = ct.list_event_data_stores()["EventDataStores"]
    assert [s["Name"] for s in stores] == ["tf-eds"]
    arn = stores[0]["EventDataStoreArn"]
    got = ct.get_event_data_store(EventDataStore=arn)
    selectors = [{**s, "FieldSelectors": sorted(s["FieldSelectors"], key=lambda f: f["Field"])}  # a set in Terraform
                 for s in got["AdvancedEventSelectors"]]
    return {"status": got["Status"], "retention": got["RetentionPeriod"], "selectors": selectors,
            "tags": ct.list_tags(ResourceIdList=[arn])["ResourceTagList"][0]["TagsList"],
            "protected": got["TerminationProtectionEnabled"]}


def events_state(c: Clients) -> dict[str, Any]:
    ev = c("events")
    (rule,) = ev.list_rules()["Rules"]
    (target,) = ev.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    (connection,) = ev.list_connections()["Connections"]
    destination = ev.describe_api_destination(Name="chat")
    return {"rule": (rule["Name"], rule["State"], json.loads(rule["EventPattern"])["detail"]["eventName"]),
            "tags": ev.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"],
            "target": (target["Id"], target["Arn"] == destination["ApiDestinationArn"], target["RetryPolicy"],
                       target["InputTransformer"]["InputTemplate"]),
            "connection": (connection["Name"], connection["AuthorizationType"], connection["ConnectionState"],
                           ev.describe_connection(Name="chat").get("Description")),
            "destination": (destination["InvocationEndpoint"], destination["HttpMethod"],
                            destination["InvocationRateLimitPerSecond"],
                            destination["ConnectionArn"] == connection["ConnectionArn"])}


def alarm_state(c: Clients) -> dict[str, Any]:
    cw = c("cloudwatch")
    (alarm,) = cw.describe_alarms()["MetricAlarms"]
    return {"threshold": alarm["Threshold"], "description": alarm["AlarmDescription"],
            "dimensions": alarm["Dimensions"], "missing": alarm["TreatMissingData"],
            "tags": cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]}


@pytest.fixture
def server(tmp_path: Path) -> Any:
    srv = Server(tmp_path / "data")
    yield srv
    srv.stop()


@pytest.mark.slow
def test_terraform_manages_every_service(server: Server, tmp_path: Path) -> None:
    (tmp_path / "tf").mkdir()
    tf = Terraform(require_terraform(), tmp_path / "tf")
    (server.data_dir / "buckets" / BUCKET).mkdir(parents=True)
    account, key_id, secret = credentials(server)
    assert len(account) == 12
    tf.env["AWS_ENDPOINT_URL"] = server.url  # every service the provider calls: one endpoint
    key = type("Key", (), {"access_key_id": key_id, "secret_access_key": secret})()
    tf.init(RESOURCES, region=REGION, key=key, url=server.url, trail=TRAIL, bucket=BUCKET, account=account)
    c = Clients(server.url, key_id, secret)

    tf.apply(second=False)
    trail = {"arn": True, "validation": True, "logging": True, "prefix": "tf", "bucket": BUCKET,
             "tags": [{"Key": "team", "Value": "security"}],
             "selectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
                            "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}],
                            "ExcludeManagementEventSources": []}],
             "insights": "InsightNotEnabledException"}
    store = {"status": "ENABLED", "retention": 90, "tags": [{"Key": "team", "Value": "security"}],
             "selectors": [{"Name": "writes", "FieldSelectors": [
                 {"Field": "eventCategory", "Equals": ["Management"]}, {"Field": "readOnly", "Equals": ["false"]}]}],
             "protected": False}
    alarm = {"threshold": 1.0, "description": "CIS 4.3: root account use",
             "dimensions": [{"Name": "Account", "Value": "all"}], "missing": "notBreaching",
             "tags": [{"Key": "team", "Value": "sec"}]}
    assert trail_state(c, account) == trail
    assert store_state(c) == store
    assert alarm_state(c) == alarm
    events = {"rule": ("trail-tampering", "ENABLED", ["StopLogging", "DeleteTrail"]),
              "tags": [{"Key": "team", "Value": "sec"}],
              "target": ("chat", True, {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 600},
                         '{"text": "<who> called <what>"}'),
              "connection": ("chat", "API_KEY", "AUTHORIZED", "chat webhook"),
              "destination": ("http://127.0.0.1:9/hooks/chat", "POST", 20, True)}
    assert events_state(c) == events
    assert tf.plan_changes(second=False) == 0

    tf.apply(second=True)
    assert trail_state(c, account) == {**trail, "validation": False, "logging": False,
                                       "insights": [{"InsightType": "ApiCallRateInsight"}]}
    assert store_state(c) == {**store, "status": "STOPPED_INGESTION", "retention": 30}
    assert alarm_state(c) == {**alarm, "threshold": 5.0, "tags": [{"Key": "team", "Value": "ops"}]}
    assert events_state(c) == {
        "rule": ("trail-tampering", "DISABLED", ["StopLogging", "DeleteTrail", "UpdateTrail"]),
        "tags": [{"Key": "team", "Value": "ops"}],
        "target": ("chat", True, {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}, '"<who> called <what>"'),
        "connection": ("chat", "API_KEY", "AUTHORIZED", "chat webhook (rotated)"),
        "destination": ("http://127.0.0.1:9/hooks/chat", "POST", 10, True)}
    assert tf.plan_changes(second=True) == 0
    attributes = {r["type"]: r["instances"][0]["attributes"] for r in tf.state_resources()}
    assert (attributes["aws_cloudtrail"]["home_region"], attributes["aws_cloudtrail"]["enable_logging"]) == (REGION, False)

    tf.destroy(second=True)
    with pytest.raises(ClientError) as info:
        c("cloudtrail").get_trail(Name=TRAIL)
    assert info.value.response["Error"]["Code"] == "TrailNotFoundException"
    eds = c("cloudtrail").get_event_data_store(EventDataStore=attributes["aws_cloudtrail_event_data_store"]["arn"])
    assert eds["Status"] == "PENDING_DELETION"
    assert c("cloudwatch").describe_alarms()["MetricAlarms"] == []
    ev = c("events")
    assert (ev.list_rules()["Rules"], ev.list_connections()["Connections"],
            ev.list_api_destinations()["ApiDestinations"]) == ([], [], [])
