"""The stock AWS CLI (``python -m awscli``, as tests/test_e2e_cli.py runs it) against a real server
with ``--endpoint-url``: ``aws events put-rule / put-targets / list-rules / list-targets-by-rule``
and an AWS error on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from .conftest import ACCOUNT, REGION, EbServer

PATTERN = '{"source":["aws.cloudtrail"],"detail-type":["AWS API Call via CloudTrail"]}'
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:alerts"


def events(eb: EbServer, *args: str, ok: bool = True) -> Any:
    proc = subprocess.run([sys.executable, "-m", "awscli", "events", *args, "--endpoint-url", eb.url,
                           "--output", "json"], env=eb.cli_env(), capture_output=True, text=True, timeout=120)
    if not ok:
        return proc
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


def test_the_aws_cli_manages_rules(eb: EbServer) -> None:
    assert events(eb, "put-rule", "--name", "ct-calls", "--event-pattern", PATTERN, "--description", "all calls") == {
        "RuleArn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ct-calls"}
    assert events(eb, "put-targets", "--rule", "ct-calls", "--targets",
                  json.dumps([{"Id": "q", "Arn": QUEUE, "InputPath": "$.detail"}])) == {
        "FailedEntryCount": 0, "FailedEntries": []}
    assert events(eb, "list-rules") == {"Rules": [{
        "Name": "ct-calls", "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/ct-calls", "EventPattern": PATTERN,
        "State": "ENABLED", "Description": "all calls", "EventBusName": "default"}]}
    assert events(eb, "list-targets-by-rule", "--rule", "ct-calls") == {
        "Targets": [{"Id": "q", "Arn": QUEUE, "InputPath": "$.detail"}]}
    refused = events(eb, "delete-rule", "--name", "ct-calls", ok=False)
    assert refused.returncode == 255  # AWS CLI v1: a service error
    assert refused.stderr.strip() == ("An error occurred (ValidationException) when calling the DeleteRule operation: "
                                      "Rule can't be deleted since it has targets.")
