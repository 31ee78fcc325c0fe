"""The recipes of docs/eventbridge.md ("## Recipes") catch what they say and nothing else.

Each recipe's pattern is read from the doc, parsed by the engine, and run over every real record of
the datasets in its EventBridge envelope (:func:`opentrail.eventbridge.envelope.cloudtrail_event`),
where the events it should catch are counted by a plain Python predicate written from the recipe's
description; then over hand-made records for the cases the datasets lack (a root sign-in, a failed
sign-in, a call AWS made on the root user's behalf)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import orjson
import pytest

from bench.eventbridge_match import dataset_records
from opentrail.eventbridge.envelope import cloudtrail_event
from opentrail.eventbridge.pattern import EventPattern, parse_pattern

DOC = Path(__file__).resolve().parents[2] / "docs" / "eventbridge.md"


def recipes() -> dict[str, EventPattern]:
    """Recipe title -> its parsed pattern."""
    section = DOC.read_text().split("\n## Recipes\n", 1)[1].split("\n## ", 1)[0]
    found = re.findall(r"\n### ([^\n]+)\n.*?```json\n(.*?)```", section, re.S)
    return {title: parse_pattern(text) for title, text in found}


def envelope(record: dict[str, Any]) -> dict[str, Any]:
    return cloudtrail_event(record, str(record.get("recipientAccountId") or "111122223333"),
                            str(record.get("awsRegion") or "us-east-1"))


def identity(r: dict[str, Any]) -> dict[str, Any]:
    return r.get("userIdentity") if isinstance(r.get("userIdentity"), dict) else {}  # type: ignore[return-value]


TAMPERING = {"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors", "PutInsightSelectors",
             "DeleteEventDataStore", "StopEventDataStoreIngestion"}
IAM_POLICY = {"PutUserPolicy", "PutGroupPolicy", "PutRolePolicy", "DeleteUserPolicy", "DeleteGroupPolicy",
              "DeleteRolePolicy", "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion",
              "SetDefaultPolicyVersion", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy",
              "DetachGroupPolicy", "AttachRolePolicy", "DetachRolePolicy"}
API_CALL = "AwsApiCall"

#: Recipe title -> what it should catch, said in Python.
INTENT: dict[str, Callable[[dict[str, Any]], bool]] = {
    "Trail tampering": lambda r: r.get("eventType") == API_CALL and r.get("eventSource") == "cloudtrail.amazonaws.com"
    and r.get("eventName") in TAMPERING,
    "Root user activity": lambda r: r.get("eventType") in (API_CALL, "AwsConsoleSignIn")
    and identity(r).get("type") == "Root" and "invokedBy" not in identity(r),
    "Console sign-in failures": lambda r: r.get("eventType") == "AwsConsoleSignIn"
    and r.get("eventSource") == "signin.amazonaws.com" and r.get("eventName") == "ConsoleLogin"
    and (r.get("responseElements") or {}).get("ConsoleLogin") == "Failure",
    "IAM policy changes": lambda r: r.get("eventType") == API_CALL and r.get("eventSource") == "iam.amazonaws.com"
    and r.get("eventName") in IAM_POLICY,
    "New access keys and console passwords": lambda r: r.get("eventType") == API_CALL
    and r.get("eventSource") == "iam.amazonaws.com" and "errorCode" not in r
    and r.get("eventName") in ("CreateAccessKey", "CreateLoginProfile", "UpdateLoginProfile"),
    "Access denied": lambda r: r.get("eventType") == API_CALL and isinstance(r.get("errorCode"), str)
    and (r["errorCode"].startswith("AccessDenied") or r["errorCode"].endswith("UnauthorizedOperation")
         or r["errorCode"] == "UnauthorizedAccess"),
}

#: Recipe title -> how many dataset records it catches (counted with INTENT when written).
DATASET_MATCHES = {
    "Trail tampering": 11,
    "Root user activity": 0,
    "Console sign-in failures": 0,
    "IAM policy changes": 28,
    "New access keys and console passwords": 8,
    "Access denied": 111,
}


def made(event_name: str, source: str, identity: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"eventVersion": "1.08", "eventTime": "2026-12-01T10:00:00Z", "eventSource": source,
            "eventName": event_name, "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.7",
            "userIdentity": identity, "eventID": f"{event_name}-{len(fields)}", "eventType": API_CALL,
            "recipientAccountId": "111122223333", **fields}


ROOT = {"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root",
        "accountId": "111122223333"}
USER = {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333", "userName": "alice"}

#: Hand-made records: (record, the recipes that must catch it).
MADE: list[tuple[dict[str, Any], set[str]]] = [
    (made("ConsoleLogin", "signin.amazonaws.com", ROOT, eventType="AwsConsoleSignIn",
          responseElements={"ConsoleLogin": "Success"}), {"Root user activity"}),
    (made("ConsoleLogin", "signin.amazonaws.com", USER, eventType="AwsConsoleSignIn",
          responseElements={"ConsoleLogin": "Failure"}, errorMessage="Failed authentication"),
     {"Console sign-in failures"}),
    (made("ConsoleLogin", "signin.amazonaws.com", USER, eventType="AwsConsoleSignIn",
          responseElements={"ConsoleLogin": "Success"}), set()),
    (made("CreateBucket", "s3.amazonaws.com", {**ROOT, "invokedBy": "cloudformation.amazonaws.com"}), set()),
    (made("DeleteTrail", "cloudtrail.amazonaws.com", ROOT), {"Root user activity", "Trail tampering"}),
    (made("StartLogging", "cloudtrail.amazonaws.com", USER), set()),
    (made("StopLogging", "cloudtrail.amazonaws.com", USER, errorCode="AccessDenied",
          errorMessage="not authorized"), {"Trail tampering", "Access denied"}),
    (made("RunInstances", "ec2.amazonaws.com", USER, errorCode="Client.UnauthorizedOperation"), {"Access denied"}),
    (made("CreateAccessKey", "iam.amazonaws.com", USER, errorCode="LimitExceeded"), set()),
    (made("AttachRolePolicy", "iam.amazonaws.com", USER), {"IAM policy changes"}),
    (made("UpdateLoginProfile", "iam.amazonaws.com", USER), {"New access keys and console passwords"}),
]


@pytest.fixture(scope="module")
def patterns() -> dict[str, EventPattern]:
    return recipes()


def test_the_doc_has_the_recipes_the_test_knows(patterns: dict[str, EventPattern]) -> None:
    assert list(patterns) == list(INTENT)


@pytest.mark.parametrize("title", list(INTENT))
def test_recipe_catches_what_it_says_in_the_datasets(patterns: dict[str, EventPattern], title: str) -> None:
    records = dataset_records()
    assert len(records) > 3000
    caught = [r for r in records if patterns[title].matches(envelope(r))]
    intended = [r for r in records if INTENT[title](r)]
    assert [r["eventID"] for r in caught] == [r["eventID"] for r in intended]
    assert len(caught) == DATASET_MATCHES[title]


@pytest.mark.parametrize("record,expected", MADE, ids=[f"{r['eventName']}-{i}" for i, (r, _) in enumerate(MADE)])
def test_recipes_on_made_records(patterns: dict[str, EventPattern], record: dict[str, Any], expected: set[str]) -> None:
    event = orjson.loads(orjson.dumps(envelope(record)))
    assert {t for t, p in patterns.items() if p.matches(event)} == expected
    assert {t for t in INTENT if INTENT[t](record)} == expected
