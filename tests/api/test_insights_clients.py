"""The Insights API operations through the stock AWS CLI and the AWS SDK for JavaScript v3 against a
real server: the CLI's ``list-insights-metric-data`` and ``put-insight-selectors`` answer exact
values, and the JavaScript SDK gets, member for member, what boto3 gets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any, Iterator

import pytest
from botocore import xform_name

from tests.npm_packages import run_js_v3
from opentrail.events.record import read_record
from tests.trails.test_js_sdk import JS_SDK, JS_SDK_VERSION, js_time, plain

from .insights_server import ACCOUNT, BUCKET, HOUR, NOW, REGION, InsightsServer, at, insight_record, start_insights_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InsightsServer]:
    yield from start_insights_server(tmp_path_factory)


def aws(srv: InsightsServer, *args: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=srv.key.access_key_id, AWS_SECRET_ACCESS_KEY=srv.key.secret_access_key,
               AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL_CLOUDTRAIL=srv.url,
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
    proc = subprocess.run([sys.executable, "-m", "awscli", "cloudtrail", *args, "--output", "json"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_aws_cli_lists_metric_data_and_puts_insight_selectors(srv: InsightsServer) -> None:
    answer = aws(srv, "list-insights-metric-data", "--event-source", "iam.amazonaws.com", "--event-name",
                 "CreateUser", "--insight-type", "ApiCallRateInsight", "--period", "300",
                 "--data-type", "FillWithZeros", "--start-time", str(HOUR - 7200), "--end-time", str(HOUR - 6000))
    assert answer == {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser",
                      "InsightType": "ApiCallRateInsight",
                      "Timestamps": [HOUR - 7200 + 300 * i for i in range(4)],  # the wire's epoch seconds
                      "Values": [0.0, 7.0, 0.0, 0.0]}
    srv.client().create_trail(Name="cli-trail", S3BucketName=BUCKET)
    put = aws(srv, "put-insight-selectors", "--trail-name", "cli-trail", "--insight-selectors",
              '[{"InsightType": "ApiCallRateInsight"}, {"InsightType": "ApiErrorRateInsight", '
              '"EventCategories": ["Management"]}]')
    assert put == {"TrailARN": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/cli-trail", "InsightSelectors": [
        {"InsightType": "ApiCallRateInsight"},
        {"InsightType": "ApiErrorRateInsight", "EventCategories": ["Management"]}]}


def test_javascript_v3_sdk_gets_what_boto3_gets(srv: InsightsServer) -> None:
    arn = srv.client().create_trail(Name="js-trail", S3BucketName=BUCKET)["TrailARN"]
    record = insight_record("44444444-4444-4444-8444-444444444444", NOW - 120, "PutObject", "s3.amazonaws.com", "Start")
    srv.store.append([read_record(record)])
    calls: list[tuple[str, dict[str, Any]]] = [
        ("ListInsightsMetricData", {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser",
                                    "InsightType": "ApiCallRateInsight", "Period": 60, "MaxResults": 3}),
        ("ListInsightsMetricData", {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser",
                                    "InsightType": "ApiErrorRateInsight", "ErrorCode": "AccessDenied"}),
        ("ListInsightsMetricData", {"EventSource": "iam.amazonaws.com", "EventName": "CreateUser",
                                    "InsightType": "ApiCallRateInsight", "Period": 120}),
        ("PutInsightSelectors", {"TrailName": "js-trail", "InsightSelectors": [{"InsightType": "ApiErrorRateInsight"}]}),
        ("GetInsightSelectors", {"TrailName": "js-trail"}),
        ("ListInsightsData", {"InsightSource": arn, "DataType": "InsightsEvents"}),
    ]
    js = run_js_v3(JS_SDK, JS_SDK_VERSION, "CloudTrailClient", endpoint=srv.url, region=REGION,
                   key_id=srv.key.access_key_id, secret=srv.key.secret_access_key, calls=calls)
    client = srv.client()
    boto: list[tuple[str, Any]] = []
    for operation, params in calls:
        try:
            boto.append((operation, plain(getattr(client, xform_name(operation))(**params))))
        except client.exceptions.ClientError as exc:
            err = exc.response["Error"]
            boto.append((operation, {"error": {"name": err["Code"], "message": err["Message"],
                                               "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}}))
    assert js == boto
    first = js[0][1]
    assert first["Timestamps"] == [js_time(at(t)) for t in (HOUR - 7200 + 300, HOUR - 7200 + 360, HOUR - 60)]
    assert (first["Values"], len(first["NextToken"])) == ([3, 4, 2], 55)
    assert js[1][1]["ErrorCode"] == "AccessDenied" and js[1][1]["Values"] == [5]
    assert js[2][1] == {"error": {"name": "InvalidParameterException",
                                  "message": "Period must be 60, 300 or 3600 seconds; 120 was specified.",
                                  "status": 400}}
    assert js[4][1] == {"TrailARN": arn, "InsightSelectors": [{"InsightType": "ApiErrorRateInsight"}]}
    [event] = js[5][1]["Events"]
    assert (event["EventId"], event["EventName"], event["EventSource"], event["EventTime"]) == (
        record["eventID"], "PutObject", "s3.amazonaws.com", js_time(at(NOW - 120)))
    assert json.loads(event["CloudTrailEvent"]) == record
