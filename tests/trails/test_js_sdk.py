"""The AWS SDK for JavaScript v3 (a Smithy-generated SDK: ``X-Amz-Target: CloudTrail_20131101.<Op>``)
against a real server: every answer equals what boto3 gets for the same calls.

The npm package is installed once per version into the test cache (tests/npm_packages.py); the
test skips only when node or npm is absent.
"""

from __future__ import annotations

import datetime
import json
import time
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

from tests.npm_packages import run_js_v3

from .conftest import ACCOUNT, BUCKET, REGION, TrailServer

JS_SDK = "@aws-sdk/client-cloudtrail"
JS_SDK_VERSION = "3.1137.0"
NAME = "sdk-trail"
ARN = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{NAME}"

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("CreateTrail", {"Name": NAME, "S3BucketName": BUCKET, "S3KeyPrefix": "sdk", "EnableLogFileValidation": True,
                     "TagsList": [{"Key": "team", "Value": "security"}]}),
    ("GetTrail", {"Name": NAME}),
    ("DescribeTrails", {"trailNameList": [NAME]}),
    ("ListTrails", {}),
    ("StartLogging", {"Name": NAME}),
    ("GetTrailStatus", {"Name": NAME}),
    ("PutEventSelectors", {"TrailName": NAME, "EventSelectors": [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}]}]}),
    ("GetEventSelectors", {"TrailName": NAME}),
    ("LookupEvents", {"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateTrail"}]}),
    ("UpdateTrail", {"Name": NAME, "EnableLogFileValidation": False, "S3KeyPrefix": ""}),
    ("DeleteTrail", {"Name": NAME}),
    ("GetTrail", {"Name": "missing-trail"}),
]


def js_time(value: datetime.datetime) -> str:
    """A timestamp as JavaScript's ``Date.toJSON`` writes it (milliseconds, ``Z``)."""
    utc = value.astimezone(datetime.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def plain(value: Any) -> Any:
    """A boto3 answer as the JS script prints its own: no ResponseMetadata, timestamps as text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime):
        return js_time(value)
    return value


def run_js(srv: TrailServer, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    return run_js_v3(JS_SDK, JS_SDK_VERSION, "CloudTrailClient", endpoint=srv.url, region=REGION,
                     key_id=srv.key.access_key_id, secret=srv.key.secret_access_key, calls=calls)


def run_boto3(srv: TrailServer, calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Any]]:
    client = srv.client()
    out: list[tuple[str, Any]] = []
    for operation, params in calls:
        method = getattr(client, xform_name(operation))
        try:
            out.append((operation, plain(method(**params))))
        except ClientError as exc:
            err = exc.response["Error"]
            out.append((operation, {"error": {"name": err["Code"], "message": err["Message"],
                                              "status": exc.response["ResponseMetadata"]["HTTPStatusCode"]}}))
    return out


def test_javascript_v3_sdk_gets_what_boto3_gets(srv: TrailServer) -> None:
    srv.clock.now = float(int(time.time()))  # whole seconds: both clients render them alike
    js = run_js(srv, CALLS)
    assert [op for op, _ in js] == [op for op, _ in CALLS]
    answers = dict(enumerate(answer for _, answer in js))

    # Exact answers (the JS SDK parsed them; its own shapes use the same member names).
    assert answers[0] == {"Name": NAME, "S3BucketName": BUCKET, "S3KeyPrefix": "sdk", "IncludeGlobalServiceEvents": True,
                          "IsMultiRegionTrail": False, "TrailARN": ARN, "LogFileValidationEnabled": True,
                          "IsOrganizationTrail": False}
    assert answers[3] == {"Trails": [{"TrailARN": ARN, "Name": NAME, "HomeRegion": REGION}]}
    assert answers[4] == {}
    assert answers[5]["IsLogging"] is True
    started = js_time(datetime.datetime.fromtimestamp(srv.clock.now, datetime.timezone.utc))
    assert answers[5]["StartLoggingTime"] == started
    assert answers[7] == {"TrailARN": ARN, "EventSelectors": [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "ExcludeManagementEventSources": [],
         "DataResources": [{"Type": "AWS::S3::Object", "Values": [f"arn:aws:s3:::{BUCKET}/"]}]}]}
    assert [e["EventName"] for e in answers[8]["Events"]] == ["CreateTrail"]
    create_record = json.loads(answers[8]["Events"][0]["CloudTrailEvent"])
    assert create_record["requestParameters"]["name"] == NAME
    assert create_record["userAgent"].startswith("aws-sdk-js/3.") and " api/cloudtrail#3." in create_record["userAgent"]
    assert answers[9]["LogFileValidationEnabled"] is False and "S3KeyPrefix" not in answers[9]
    assert answers[10] == {}
    assert answers[11] == {"error": {
        "name": "TrailNotFoundException",
        "message": f"Unknown trail: arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/missing-trail for the user: {ACCOUNT}",
        "status": 400}}

    # boto3 reads the same CreateTrail event the JS SDK read ...
    lookup = CALLS[8]
    assert run_boto3(srv, [lookup]) == [("LookupEvents", answers[8])]
    # ... and gets the same answers for the same calls (the server's clock is fixed).
    not_lookup = [call for call in CALLS if call[0] != "LookupEvents"]
    expected = [item for item in js if item[0] != "LookupEvents"]
    assert run_boto3(srv, not_lookup) == expected
