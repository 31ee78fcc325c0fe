"""The AWS SDK for JavaScript v3 (``@aws-sdk/client-cloudwatch-logs``, a Smithy-generated client that
is not botocore) against a real server: CreateLogGroup, CreateLogStream, PutLogEvents,
FilterLogEvents (a JSON pattern) and an AWS error, with exact answers.

The npm package is installed once per version into the test cache (tests/npm_packages.py); the
test skips only when node or npm is absent.
"""

from __future__ import annotations

import time
from typing import Any

from tests.npm_packages import run_js_v3

from .conftest import LogsServer

JS_SDK = "@aws-sdk/client-cloudwatch-logs"
JS_SDK_VERSION = "3.1169.0"


def run_js(srv: LogsServer, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    results = run_js_v3(JS_SDK, JS_SDK_VERSION, "CloudWatchLogsClient", endpoint=srv.url, region="us-east-1",
                        key_id=srv.key.access_key_id, secret=srv.key.secret_access_key, calls=calls)
    assert [op for op, _ in results] == [op for op, _ in calls]
    return [answer for _, answer in results]


def test_javascript_v3_sdk(srv: LogsServer) -> None:
    t = int(time.time() * 1000) - 1000
    message = '{"userIdentity": {"type": "Root"}, "eventName": "ConsoleLogin"}'
    answers = run_js(srv, [
        ("CreateLogGroup", {"logGroupName": "js-trail"}),
        ("CreateLogStream", {"logGroupName": "js-trail", "logStreamName": "s"}),
        ("PutLogEvents", {"logGroupName": "js-trail", "logStreamName": "s", "logEvents": [
            {"timestamp": t, "message": message}, {"timestamp": t + 1, "message": '{"eventName": "GetObject"}'}]}),
        ("FilterLogEvents", {"logGroupName": "js-trail", "filterPattern": '{ $.userIdentity.type = "Root" }'}),
        ("CreateLogGroup", {"logGroupName": "js-trail"}),
    ])
    assert answers[0] == {} and answers[1] == {}
    assert sorted(answers[2]) == ["nextSequenceToken"]
    found = answers[3]
    assert found["searchedLogStreams"] == [] and "nextToken" not in found
    [event] = found["events"]
    assert event == {"logStreamName": "s", "timestamp": t, "message": message,
                     "ingestionTime": event["ingestionTime"], "eventId": event["eventId"]}
    assert event["ingestionTime"] >= t and len(event["eventId"]) == 56
    assert answers[4] == {"error": {"name": "ResourceAlreadyExistsException",
                                    "message": "The specified log group already exists", "status": 400}}
    # boto3 reads back what the JS SDK wrote.
    got = srv.client().get_log_events(logGroupName="js-trail", logStreamName="s", startFromHead=True)["events"]
    assert [(e["timestamp"], e["message"]) for e in got] == [(t, message), (t + 1, '{"eventName": "GetObject"}')]
