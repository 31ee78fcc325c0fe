"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-eventbridge``, a Smithy-generated client that is
not botocore, signing for ``events`` and sending ``X-Amz-Target: AWSEvents.<Op>``) against a real
server: PutRule, PutTargets, DescribeRule, ListTargetsByRule, TestEventPattern, PutEvents and an AWS
error, compared with boto3's answers field by field.

The npm package is installed once per version into the test cache (tests/npm_packages.py); the
test skips only when node or npm is absent.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from tests.npm_packages import run_js_v3

from .conftest import ACCOUNT, REGION, EbServer

JS_SDK = "@aws-sdk/client-eventbridge"
JS_SDK_VERSION = "3.1169.0"
PATTERN = '{"source":["my.app"]}'
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"


def run_js(eb: EbServer, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results = run_js_v3(JS_SDK, JS_SDK_VERSION, "EventBridgeClient", endpoint=eb.url, region=REGION,
                        key_id=eb.key.access_key_id, secret=eb.key.secret_access_key, calls=calls)
    assert [op for op, _ in results] == [op for op, _ in calls]
    return [answer for _, answer in results]


def boto(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def test_javascript_v3_sdk_answers_as_boto3(eb: EbServer) -> None:
    event = json.dumps({"id": "1", "account": ACCOUNT, "source": "my.app", "time": "2026-12-02T10:00:00Z",
                        "region": REGION, "resources": [], "detail-type": "x", "detail": {}})
    answers = run_js(eb, [
        ("PutRule", {"Name": "js-rule", "EventPattern": PATTERN, "Description": "from js"}),
        ("PutTargets", {"Rule": "js-rule", "Targets": [{"Id": "q", "Arn": QUEUE, "Input": '{"a":1}'}]}),
        ("DescribeRule", {"Name": "js-rule"}),
        ("ListTargetsByRule", {"Rule": "js-rule"}),
        ("TestEventPattern", {"EventPattern": PATTERN, "Event": event}),
        ("PutEvents", {"Entries": [{"Source": "my.app", "DetailType": "x", "Detail": "{}"}, {"Source": "my.app"}]}),
        ("DescribeRule", {"Name": "missing"}),
    ])
    events = eb.client()
    assert answers[0] == boto(events.put_rule(Name="js-rule", EventPattern=PATTERN, Description="from js")) == {
        "RuleArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/js-rule"}
    assert answers[1] == {"FailedEntryCount": 0, "FailedEntries": []}
    assert answers[2] == boto(events.describe_rule(Name="js-rule")) == {
        "Name": "js-rule", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/js-rule", "EventPattern": PATTERN,
        "State": "ENABLED", "Description": "from js", "EventBusName": "default", "CreatedBy": ACCOUNT}
    assert answers[3] == boto(events.list_targets_by_rule(Rule="js-rule")) == {
        "Targets": [{"Id": "q", "Arn": QUEUE, "Input": '{"a":1}'}]}
    assert answers[4] == boto(events.test_event_pattern(EventPattern=PATTERN, Event=event)) == {"Result": True}
    [(_, _, envelope)] = eb.bus.events
    assert answers[5] == {"FailedEntryCount": 1, "Entries": [
        {"EventId": envelope["id"]},
        {"ErrorCode": "InvalidArgument",
         "ErrorMessage": "Parameter DetailType is not valid. Reason: DetailType is a required argument."}]}
    try:
        events.describe_rule(Name="missing")
    except ClientError as exc:
        boto_error = exc.response["Error"]
    assert answers[6] == {"error": {"name": boto_error["Code"], "message": boto_error["Message"], "status": 400}}
    assert boto_error == {"Code": "ResourceNotFoundException", "Message": "Rule missing does not exist on EventBus default."}
