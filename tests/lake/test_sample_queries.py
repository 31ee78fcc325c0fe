"""Every sample query of SearchSampleQueries runs (parsed, checked, executed) over a store of real
records (invictus-ir) and answers its expected columns; a few answer exact values computed by
Python over the records. The ranking's documented properties are checked on fixed phrases."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from opentrail.lake.sample_queries import PLACEHOLDER, SAMPLE_QUERIES, search, terms
from tests.lake.conftest import Runner

#: name -> Lake's column names of its answer.
COLUMNS = {
    "Most frequent API calls": ("eventSource", "eventName", "eventCount"),
    "Top event sources": ("eventSource", "eventCount"),
    "Top callers": ("callerArn", "eventCount"),
    "Failed API calls by error code": ("errorCode", "eventCount"),
    "Recent failed API calls": ("eventTime", "eventSource", "eventName", "errorCode", "errorMessage", "callerArn",
                                "sourceIPAddress"),
    "Access denied calls": ("callerArn", "eventSource", "eventName", "eventCount"),
    "Console sign-ins": ("eventTime", "callerArn", "sourceIPAddress", "loginResult", "mfaUsed"),
    "Failed console sign-ins": ("callerArn", "sourceIPAddress", "attempts"),
    "Console sign-ins without MFA": ("eventTime", "callerArn", "sourceIPAddress"),
    "Root user activity": ("eventTime", "eventSource", "eventName", "sourceIPAddress", "userAgent"),
    "IAM changes": ("eventTime", "eventName", "callerArn", "errorCode"),
    "Access keys created": ("eventTime", "callerArn", "userName", "errorCode"),
    "IAM policy changes": ("eventTime", "eventName", "callerArn", "policyArn"),
    "Security group changes": ("eventTime", "eventName", "callerArn", "groupId", "errorCode"),
    "Activity by source IP address": ("sourceIPAddress", "eventCount", "identities"),
    "Activity by Region": ("awsRegion", "eventCount"),
    "Events per hour": ("eventHour", "eventCount"),
    "Events per day": ("eventDay", "eventCount", "errorCount"),
    "Assumed role sessions": ("roleArn", "eventCount"),
    "Write (mutating) calls": ("eventSource", "eventName", "eventCount"),
    "CloudTrail logging changes": ("eventTime", "eventName", "callerArn", "trailName", "errorCode"),
    "S3 bucket activity": ("bucketName", "eventName", "eventCount"),
    "User agents": ("userAgent", "eventCount"),
    "KMS key deletion and disabling": ("eventTime", "eventName", "callerArn", "keyId"),
    "EC2 instances launched": ("eventTime", "awsRegion", "callerArn", "sourceIPAddress", "errorCode"),
    "Security services turned off": ("eventTime", "eventSource", "eventName", "callerArn"),
    "Reconnaissance by caller": ("callerArn", "readCalls", "distinctApis"),
    "Identity types": ("identityType", "eventCount"),
    "Cross-account calls": ("callerAccount", "recipientAccountId", "eventName", "eventCount"),
    "Latest events": ("eventTime", "eventSource", "eventName", "callerArn", "sourceIPAddress"),
}


def test_the_corpus_has_at_least_25_distinct_queries() -> None:
    assert len(SAMPLE_QUERIES) >= 25
    assert len({q.name for q in SAMPLE_QUERIES}) == len(SAMPLE_QUERIES)
    assert set(COLUMNS) == {q.name for q in SAMPLE_QUERIES}
    assert all(f"FROM {PLACEHOLDER}" in q.sql and q.description.endswith(".") for q in SAMPLE_QUERIES)


@pytest.mark.parametrize("name", [q.name for q in SAMPLE_QUERIES])
def test_every_sample_query_runs(run: Runner, name: str) -> None:
    query = next(q for q in SAMPLE_QUERIES if q.name == name)
    names, rows = run(query.sql.replace(PLACEHOLDER, "$EDS"))
    assert names == COLUMNS[name]
    assert all(len(r) == len(names) for r in rows)


def _top(counter: collections.Counter[Any], n: int) -> list[tuple[Any, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def _sql(name: str) -> str:
    return next(q.sql for q in SAMPLE_QUERIES if q.name == name).replace(PLACEHOLDER, "$EDS")


def test_exact_values(run: Runner, records: list[dict[str, Any]]) -> None:
    _, rows = run(_sql("Top event sources"))
    assert rows == [[s, str(n)] for s, n in _top(collections.Counter(r["eventSource"] for r in records), 10)]
    _, rows = run(_sql("Failed API calls by error code"))
    errors = collections.Counter(r["errorCode"] for r in records if r.get("errorCode"))
    assert rows == [[e, str(n)] for e, n in _top(errors, len(errors))]
    _, rows = run(_sql("Activity by Region"))
    assert rows == [[g, str(n)] for g, n in _top(collections.Counter(r["awsRegion"] for r in records), 100)]
    _, rows = run(_sql("Console sign-ins"))
    logins = sorted((r for r in records if r["eventName"] == "ConsoleLogin"), key=lambda r: r["eventTime"], reverse=True)
    assert [[row[1], row[2], row[3]] for row in rows] == [
        [r["userIdentity"].get("arn"), r["sourceIPAddress"], r["responseElements"]["ConsoleLogin"]] for r in logins]
    _, rows = run(_sql("Identity types"))
    types = collections.Counter(r["userIdentity"].get("type") for r in records)
    assert sorted((t or "", int(n)) for t, n in rows) == sorted((t or "", n) for t, n in types.items())
    _, rows = run(_sql("Events per day"))
    assert rows == [["2023-07-10 00:00:00.000", str(len(records)), str(sum(errors.values()))]]


def test_ranking() -> None:
    ranked = search("who stopped cloudtrail logging")
    assert ranked[0][0].name == "CloudTrail logging changes" and ranked[0][1] == 1.0
    assert all(0 < r <= 1 for _, r in ranked)
    assert [r for _, r in ranked] == sorted((r for _, r in ranked), reverse=True)
    assert search("console login failures")[0][0].name == "Failed console sign-ins"
    assert search("AccessDenied")[0][0].name == "Access denied calls"
    assert search("s3 buckets")[0][0].name == "S3 bucket activity"
    assert search("zzzz qqqq") == []
    assert terms("Failed Logins by users") == ["error", "signin", "caller"]
