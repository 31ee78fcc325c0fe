"""Bad input to every implemented CloudWatch Logs operation: each member of a minimal request (the
log group ``fuzz`` and stream ``s`` exist) replaced by values of the wrong type, huge, empty,
negative or strange ones, sent as raw signed JSON to a real server. Every answer is below 500 and a
JSON error object with a ``__type`` (a caller's mistake is never a server error)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.loaders import Loader

from opentrail.api.logs_handlers import LOGS_HANDLERS

from .conftest import ACCOUNT, REGION, LogsServer

MODEL = Loader().load_service_model("logs", "service-2")
SHAPES: dict[str, Any] = MODEL["shapes"]
GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:fuzz"
KNOWN: dict[str, Any] = {
    "logGroupName": "fuzz", "logStreamName": "s", "logGroupIdentifier": GROUP_ARN, "resourceArn": GROUP_ARN,
    "filterName": "f", "filterPattern": "{ $.a = 1 }", "retentionInDays": 7, "tags": {"k": "v"},
    "logEvents": [{"timestamp": 0, "message": "m"}], "logEventMessages": ["m"], "tagKeys": ["k"],
    "metricTransformations": [{"metricName": "M", "metricNamespace": "N", "metricValue": "1"}],
}
BAD: list[Any] = ["s", 7, -1, 2.5, True, None, [], {}, ["s"], {"k": "v"}, -(2**63), 2**64 - 1, "", "x" * 5000,
                  "\u0000\ud7ff\U0010ffff", "arn:aws:logs:us-east-1:000000000000:destination:d", "f/" + "9" * 56,
                  [{"timestamp": -5, "message": ""}], [{"timestamp": 2**62, "message": "m"}]]


def minimal(operation: str) -> dict[str, Any]:
    """The required members, and the log group's name where the group may be named either way."""
    shape = SHAPES[MODEL["operations"][operation]["input"]["shape"]]
    body = {m: KNOWN.get(m, "x") for m in shape.get("required", ())}
    if "logGroupIdentifier" in shape["members"] and "logGroupName" not in body:
        body["logGroupName"] = "fuzz"
    return body


def members(operation: str) -> list[str]:
    return list(SHAPES[MODEL["operations"][operation]["input"]["shape"]]["members"])


def send(srv: LogsServer, client: httpx.Client, operation: str, body: dict[str, Any]) -> httpx.Response:
    data = orjson.dumps(body)
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"Logs_20140328.{operation}"}
    request = AWSRequest(method="POST", url=srv.url + "/", data=data, headers=headers)
    SigV4Auth(Credentials(srv.key.access_key_id, srv.key.secret_access_key), "logs", REGION).add_auth(request)
    return client.post(srv.url + "/", content=data, headers=dict(request.headers.items()))


def test_bad_members_never_answer_a_server_error(srv: LogsServer) -> None:
    logs = srv.client()
    logs.create_log_group(logGroupName="fuzz")
    logs.create_log_stream(logGroupName="fuzz", logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName="fuzz", logStreamName="s", logEvents=[{"timestamp": now, "message": "m"}])
    failures = []
    with httpx.Client(timeout=30) as client:
        for operation in sorted(LOGS_HANDLERS):
            if operation in ("DeleteLogGroup", "DeleteLogStream"):
                continue  # they would remove what the other requests need; their members are the same
            for member in members(operation):
                for value in BAD:
                    body = {**minimal(operation), member: value}
                    if member == "logGroupIdentifier":
                        body.pop("logGroupName", None)
                    response = send(srv, client, operation, body)
                    answer = response.json()
                    if response.status_code >= 500 or not isinstance(answer, dict) or (
                            response.status_code >= 400 and not isinstance(answer.get("__type"), str)):
                        failures.append((operation, member, repr(value)[:40], response.status_code, answer))
    assert failures == [], failures[:5]


@pytest.mark.parametrize("operation", ["DeleteLogGroup", "DeleteLogStream"])
def test_bad_members_of_deletes(srv: LogsServer, operation: str) -> None:
    srv.client().create_log_group(logGroupName="fuzz")
    with httpx.Client(timeout=30) as client:
        for member in members(operation):
            for value in BAD:
                response = send(srv, client, operation, {**minimal(operation), member: value})
                assert response.status_code < 500, (member, value, response.text)
