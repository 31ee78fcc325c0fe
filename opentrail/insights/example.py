"""``opentrail insights example-history``: a week and a day of one account's CloudTrail history with
two unusual periods in it, to try Insights on (the README's tour imports it).

The history (deterministic for a given ``end`` and ``seed``) ends at ``end`` and starts
``days`` days before it, in one Region:

- usual traffic, every day: ``ssm:PutParameter`` by a deployment role in working hours (about 1.5
  calls a minute, fewer at weekends), ``ec2:RunInstances`` by an autoscaling role (a few an hour),
  ``sts:AssumeRole`` from CI (every few minutes), ``iam:CreateAccessKey`` a couple of times a day,
  read-only ``ec2:DescribeInstances`` (never counted by Insights), and now and then an
  ``AccessDenied`` on ``secretsmanager:GetSecretValue``;
- **the unusual periods**, on the last day: ``ec2:RunInstances`` by an unknown user through the
  AWS CLI, about 40 calls a minute for 12 minutes, 3 hours before ``end``
  (ApiCallRateInsight), and an ``AccessDenied`` storm on ``secretsmanager:GetSecretValue``, about 25
  a minute for 8 minutes, 90 minutes before ``end`` (ApiErrorRateInsight).

Records have the fields CloudTrail writes for these calls (eventVersion 1.09, userIdentity,
sourceIPAddress, userAgent, requestParameters, eventID, readOnly, eventType AwsApiCall,
managementEvent, recipientAccountId, eventCategory Management) and are written as one gzipped
``{"Records": [...]}`` log file, which ``opentrail import`` reads like any trail log file.
"""

from __future__ import annotations

import gzip
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import orjson

#: The unusual periods: (seconds before ``end`` they start, minutes they last).
BURST_BEFORE_END_S, BURST_MINUTES = 3 * 3600, 12
STORM_BEFORE_END_S, STORM_MINUTES = 90 * 60, 8


@dataclass(frozen=True, slots=True)
class _Caller:
    kind: str
    name: str
    agent: str
    ip: str


def _identity(account_id: str, caller: _Caller) -> dict[str, Any]:
    if caller.kind == "AssumedRole":
        return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE{caller.name.upper()[:8]}:session",
                "arn": f"arn:aws:sts::{account_id}:assumed-role/{caller.name}/session", "accountId": account_id,
                "accessKeyId": "ASIAEXAMPLEKEY000001",
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": f"AROAEXAMPLE{caller.name.upper()[:8]}",
                                                     "arn": f"arn:aws:iam::{account_id}:role/{caller.name}",
                                                     "accountId": account_id, "userName": caller.name}}}
    return {"type": "IAMUser", "principalId": f"AIDAEXAMPLE{caller.name.upper()[:8]}",
            "arn": f"arn:aws:iam::{account_id}:user/{caller.name}", "accountId": account_id,
            "accessKeyId": "AKIAEXAMPLEKEY000001", "userName": caller.name}


DEPLOY = _Caller("AssumedRole", "deploy", "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5", "10.0.12.7")
AUTOSCALING = _Caller("AssumedRole", "AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com", "autoscaling.amazonaws.com")
CI = _Caller("IAMUser", "ci", "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#6.1 lang/python#3.12.4", "203.0.113.40")
ADMIN = _Caller("IAMUser", "alice", "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 lang/python#3.11.9", "198.51.100.23")
APP = _Caller("AssumedRole", "payments-app", "aws-sdk-java/2.26.25 Linux/6.1 OpenJDK_64-Bit_Server_VM/21.0.3", "10.0.30.15")
INTRUDER = _Caller("IAMUser", "svc-backup", "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#5.15 lang/python#3.11.9", "192.0.2.77")


def _record(rng: random.Random, account_id: str, region: str, t: float, caller: _Caller, source: str, name: str,
            read_only: bool, params: dict[str, Any] | None, error: str | None = None) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": _identity(account_id, caller),
        "eventTime": datetime.fromtimestamp(int(t), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": caller.ip,
        "userAgent": caller.agent,
    }
    if error is not None:
        rec["errorCode"] = error
        rec["errorMessage"] = (f"User: {rec['userIdentity']['arn']} is not authorized to perform: "
                               f"{source.split('.')[0]}:{name} because no identity-based policy allows the "
                               f"{source.split('.')[0]}:{name} action")
    rec["requestParameters"] = params
    rec["responseElements"] = None
    rec["requestID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rec["eventID"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    rec["readOnly"] = read_only
    rec["eventType"] = "AwsApiCall"
    rec["managementEvent"] = True
    rec["recipientAccountId"] = account_id
    rec["eventCategory"] = "Management"
    return rec


def _working_hours(t: float) -> float:
    """Share of the peak rate at ``t``: 1 from 08:00 to 18:00 UTC on weekdays, 0.4 at weekends, 0.05 at night."""
    at = datetime.fromtimestamp(t, timezone.utc)
    day = 1.0 if at.weekday() < 5 else 0.4
    return day * (1.0 if 8 <= at.hour < 18 else 0.05)


def example_records(account_id: str, region: str, end: datetime, *, days: int = 8, seed: int = 7) -> Iterator[dict[str, Any]]:
    """The records of the history (module docstring), oldest first."""
    rng = random.Random(seed)
    stop = int(end.timestamp()) // 60 * 60
    first = stop - days * 86400
    burst = stop - BURST_BEFORE_END_S
    storm = stop - STORM_BEFORE_END_S
    for minute in range(first, stop, 60):
        calls: list[tuple[float, _Caller, str, str, bool, dict[str, Any] | None, str | None]] = []
        share = _working_hours(minute)
        for _ in range(_poisson(rng, 1.5 * share)):
            calls.append((rng.random(), DEPLOY, "ssm.amazonaws.com", "PutParameter", False,
                          {"name": f"/app/config/key{rng.randrange(40)}", "type": "String", "overwrite": True}, None))
        for _ in range(_poisson(rng, 0.06)):
            calls.append((rng.random(), AUTOSCALING, "ec2.amazonaws.com", "RunInstances", False,
                          {"instanceType": "m6i.large", "minCount": 1, "maxCount": 1}, None))
        for _ in range(_poisson(rng, 0.3)):
            calls.append((rng.random(), CI, "sts.amazonaws.com", "AssumeRole", True,
                          {"roleArn": f"arn:aws:iam::{account_id}:role/deploy", "roleSessionName": "ci"}, None))
        for _ in range(_poisson(rng, 2.0 * share + 0.2)):
            calls.append((rng.random(), APP, "ec2.amazonaws.com", "DescribeInstances", True, {"maxResults": 100}, None))
        for _ in range(_poisson(rng, 2 / 1440)):
            calls.append((rng.random(), ADMIN, "iam.amazonaws.com", "CreateAccessKey", False, {"userName": "ci"}, None))
        for _ in range(_poisson(rng, 0.02)):
            calls.append((rng.random(), APP, "secretsmanager.amazonaws.com", "GetSecretValue", True,
                          {"secretId": "payments/db"}, "AccessDenied"))
        if burst <= minute < burst + BURST_MINUTES * 60:
            for _ in range(_poisson(rng, 40.0)):
                calls.append((rng.random(), INTRUDER, "ec2.amazonaws.com", "RunInstances", False,
                              {"instanceType": "p5.48xlarge", "minCount": 1, "maxCount": 8}, None))
        if storm <= minute < storm + STORM_MINUTES * 60:
            for _ in range(_poisson(rng, 25.0)):
                calls.append((rng.random(), INTRUDER, "secretsmanager.amazonaws.com", "GetSecretValue", True,
                              {"secretId": f"prod/{rng.choice(['db', 'stripe', 'github', 'slack'])}"}, "AccessDenied"))
        calls.sort(key=lambda c: c[0])
        for offset, caller, source, name, read_only, params, error in calls:
            yield _record(rng, account_id, region, minute + offset * 60, caller, source, name, read_only, params, error)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's product method; the means here are small)."""
    if mean <= 0:
        return 0
    limit, k, p = pow(2.718281828459045, -mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def write_example_history(path: Path, account_id: str, region: str, end: datetime, *, days: int = 8,
                          seed: int = 7) -> int:
    """Write the history as one gzipped log file at ``path``; returns the number of records."""
    records = list(example_records(account_id, region, end, days=days, seed=seed))
    with gzip.open(path, "wb", compresslevel=6) as out:
        out.write(orjson.dumps({"Records": records}))
    return len(records)
