"""``opentrail monitoring cis-setup`` against a real server with the CloudWatch Logs and CloudWatch
services: 15 metric filters and 15 alarms with the benchmark's recipe, idempotent, and each pattern
counting what its control names (checked with TestMetricFilter on crafted records)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import boto3
import pytest

from opentrail.api.app import build_app
from opentrail.auth.accounts import AccountStore
from opentrail.monitoring.cis import CIS_CONTROLS
from opentrail.monitoring.cloudwatch import CloudWatchService
from opentrail.monitoring.logs import LogsService
from opentrail.settings import Settings
from opentrail.store.memory import MemoryEventStore
from tests.serving import serving

ACCOUNT = "111122223333"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:security"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    accounts = AccountStore(tmp_path / "accounts.db")
    key = accounts.create_access_key(ACCOUNT)
    store = MemoryEventStore()
    monitoring = CloudWatchService(tmp_path, time.time)
    logs = LogsService(tmp_path, time.time, metric_sink=monitoring.put_metric_points)
    app = build_app(settings=Settings(data_dir=tmp_path), store=store, accounts=accounts, logs=logs,
                    monitoring=monitoring)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=key.access_key_id, AWS_SECRET_ACCESS_KEY=key.secret_access_key,
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    try:
        with serving(app) as url:
            env["AWS_ENDPOINT_URL"] = url
            yield url, env
    finally:
        monitoring.close()
        logs.close()
        store.close()
        accounts.close()


def cis_setup(env: dict[str, str], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "opentrail.cli", "monitoring", "cis-setup", "--data-dir",
                           str(tmp_path / "cli"), *args], env=env, capture_output=True, text=True, timeout=120)


def test_cis_setup_creates_the_filters_and_alarms(served: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    url, env = served
    session = boto3.session.Session(aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                                    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
    logs, cw = session.client("logs", endpoint_url=url), session.client("cloudwatch", endpoint_url=url)

    missing = cis_setup(env, tmp_path, "--log-group", "trail-events", "--sns-topic", TOPIC)
    assert missing.returncode == 1
    assert "ResourceNotFoundException" in missing.stderr

    logs.create_log_group(logGroupName="trail-events")
    for _ in range(2):  # idempotent
        done = cis_setup(env, tmp_path, "--log-group", "trail-events", "--sns-topic", TOPIC, "--period", "10")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[-1] == f"15 CIS metric filters and alarms on trail-events, notifying {TOPIC}."

    filters = logs.describe_metric_filters(logGroupName="trail-events")["metricFilters"]
    assert sorted(f["filterName"] for f in filters) == sorted(f"CIS-{c.metric_name}" for c in CIS_CONTROLS)
    alarms = cw.describe_alarms(AlarmNamePrefix="CIS-")["MetricAlarms"]
    assert len(alarms) == 15
    root = next(a for a in alarms if a["AlarmName"] == "CIS-RootAccountUsage")
    assert (root["Namespace"], root["MetricName"], root["Statistic"], root["Period"], root["EvaluationPeriods"],
            root["Threshold"], root["ComparisonOperator"], root["TreatMissingData"], root["AlarmActions"]) == (
        "CISBenchmark", "RootAccountUsage", "Sum", 10, 1, 1.0, "GreaterThanOrEqualToThreshold", "notBreaching",
        [TOPIC])

    records = {
        "RootAccountUsage": {"userIdentity": {"type": "Root"}, "eventType": "AwsApiCall", "eventName": "ListBuckets"},
        "CloudTrailConfigChanges": {"eventName": "StopLogging", "eventSource": "cloudtrail.amazonaws.com"},
        "ConsoleSignInWithoutMFA": {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "No"}},
        "UnauthorizedAPICalls": {"errorCode": "AccessDenied", "eventName": "GetObject",
                                 "sourceIPAddress": "192.0.2.1"},
    }
    others = [{"userIdentity": {"type": "Root", "invokedBy": "config.amazonaws.com"}, "eventType": "AwsApiCall"},
              {"eventName": "ConsoleLogin", "additionalEventData": {"MFAUsed": "Yes"}},
              {"eventName": "DescribeTrails"}]
    by_name = {f["filterName"]: f["filterPattern"] for f in filters}
    for metric, record in records.items():
        messages = [json.dumps(record)] + [json.dumps(o) for o in others]
        matches = logs.test_metric_filter(filterPattern=by_name[f"CIS-{metric}"], logEventMessages=messages)["matches"]
        assert [m["eventNumber"] for m in matches] == [1], metric
