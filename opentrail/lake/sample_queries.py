"""opentrail's sample Lake queries and SearchSampleQueries' ranking (no I/O).

AWS's console corpus is not published (``../shared/reference/lake.md`` §A.6), so these are
opentrail's own: useful security and operations questions about CloudTrail events, each with a
name, a description and the SQL, whose table is ``<event_data_store_id>`` (replace it with an event
data store ID, as with AWS's samples). Every one is run by tests/lake/test_sample_queries.py over a
store of real records.

Ranking (:func:`search`): BM25 (k1 1.2, b 0.75) of the phrase's terms over each query's name
(counted 3 times), description (twice) and SQL (once, identifiers split at camelCase). Terms are
lower-cased words without stop words, plural ``s`` dropped, with a few synonyms folded
(login/logon/signin -> signin, failed/failure/errors -> error, denied -> deny, ...). Relevance (the
model's 0..1 float) is ``0.5 * score / best score for the phrase + 0.5 * share of the phrase's terms
the query contains``, rounded to 4 places: the best match containing every term is 1.0. Queries that
match no term are left out; ties are broken by name.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

PLACEHOLDER = "<event_data_store_id>"


@dataclass(frozen=True, slots=True)
class SampleQuery:
    name: str
    description: str
    sql: str


def _q(name: str, description: str, sql: str) -> SampleQuery:
    return SampleQuery(name, description, sql.replace("$EDS", PLACEHOLDER))


#: The corpus, in a stable order.
SAMPLE_QUERIES: tuple[SampleQuery, ...] = (
    _q("Most frequent API calls", "The 10 API calls (event names) made most often, with their event source.",
       "SELECT eventSource, eventName, count(*) AS eventCount FROM $EDS GROUP BY eventSource, eventName "
       "ORDER BY eventCount DESC, eventName LIMIT 10"),
    _q("Top event sources", "The AWS services (event sources) with the most events.",
       "SELECT eventSource, count(*) AS eventCount FROM $EDS GROUP BY eventSource ORDER BY eventCount DESC, "
       "eventSource LIMIT 10"),
    _q("Top callers", "The identities (users and roles) that made the most API calls.",
       "SELECT userIdentity.arn AS callerArn, count(*) AS eventCount FROM $EDS WHERE userIdentity.arn IS NOT NULL "
       "GROUP BY userIdentity.arn ORDER BY eventCount DESC, callerArn LIMIT 10"),
    _q("Failed API calls by error code", "How many calls failed, grouped by error code.",
       "SELECT errorCode, count(*) AS eventCount FROM $EDS WHERE errorCode IS NOT NULL GROUP BY errorCode "
       "ORDER BY eventCount DESC, errorCode"),
    _q("Recent failed API calls", "The latest calls that failed, with the error message, caller and source IP.",
       "SELECT eventTime, eventSource, eventName, errorCode, errorMessage, userIdentity.arn AS callerArn, "
       "sourceIPAddress FROM $EDS WHERE errorCode IS NOT NULL ORDER BY eventTime DESC, eventID LIMIT 50"),
    _q("Access denied calls", "Calls refused for lack of permission (AccessDenied, UnauthorizedOperation), "
       "by caller and API.",
       "SELECT userIdentity.arn AS callerArn, eventSource, eventName, count(*) AS eventCount FROM $EDS "
       "WHERE errorCode LIKE '%AccessDenied%' OR errorCode LIKE '%UnauthorizedOperation%' "
       "GROUP BY userIdentity.arn, eventSource, eventName ORDER BY eventCount DESC, eventName LIMIT 50"),
    _q("Console sign-ins", "Every AWS Management Console sign-in (login) with its result, source IP and MFA use.",
       "SELECT eventTime, userIdentity.arn AS callerArn, sourceIPAddress, "
       "element_at(responseElements, 'ConsoleLogin') AS loginResult, element_at(additionalEventData, 'MFAUsed') "
       "AS mfaUsed FROM $EDS WHERE eventName = 'ConsoleLogin' ORDER BY eventTime DESC"),
    _q("Failed console sign-ins", "Console sign-in (login) attempts that failed, by user and source IP.",
       "SELECT userIdentity.arn AS callerArn, sourceIPAddress, count(*) AS attempts FROM $EDS "
       "WHERE eventName = 'ConsoleLogin' AND (errorMessage IS NOT NULL OR "
       "element_at(responseElements, 'ConsoleLogin') = 'Failure') GROUP BY userIdentity.arn, sourceIPAddress "
       "ORDER BY attempts DESC"),
    _q("Console sign-ins without MFA", "Console sign-ins (logins) made without multi-factor authentication.",
       "SELECT eventTime, userIdentity.arn AS callerArn, sourceIPAddress FROM $EDS WHERE eventName = 'ConsoleLogin' "
       "AND element_at(additionalEventData, 'MFAUsed') = 'No' ORDER BY eventTime DESC"),
    _q("Root user activity", "API calls made with the account's root user credentials.",
       "SELECT eventTime, eventSource, eventName, sourceIPAddress, userAgent FROM $EDS "
       "WHERE userIdentity.type = 'Root' ORDER BY eventTime DESC LIMIT 100"),
    _q("IAM changes", "Changes to IAM users, groups, roles and policies (write calls to iam.amazonaws.com).",
       "SELECT eventTime, eventName, userIdentity.arn AS callerArn, errorCode FROM $EDS "
       "WHERE eventSource = 'iam.amazonaws.com' AND readOnly = false ORDER BY eventTime DESC LIMIT 100"),
    _q("Access keys created", "New IAM access keys: who created them and for which user.",
       "SELECT eventTime, userIdentity.arn AS callerArn, element_at(requestParameters, 'userName') AS userName, "
       "errorCode FROM $EDS WHERE eventName = 'CreateAccessKey' ORDER BY eventTime DESC"),
    _q("IAM policy changes", "Policies created, attached, detached, put or deleted on users, groups and roles.",
       "SELECT eventTime, eventName, userIdentity.arn AS callerArn, element_at(requestParameters, 'policyArn') AS "
       "policyArn FROM $EDS WHERE eventSource = 'iam.amazonaws.com' AND (eventName LIKE '%Policy%') "
       "AND readOnly = false ORDER BY eventTime DESC LIMIT 100"),
    _q("Security group changes", "Ingress and egress rules added to or removed from EC2 security groups.",
       "SELECT eventTime, eventName, userIdentity.arn AS callerArn, element_at(requestParameters, 'groupId') AS "
       "groupId, errorCode FROM $EDS WHERE eventName IN ('AuthorizeSecurityGroupIngress', "
       "'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress', "
       "'CreateSecurityGroup', 'DeleteSecurityGroup') ORDER BY eventTime DESC"),
    _q("Activity by source IP address", "Source IP addresses with the most calls and how many identities used each.",
       "SELECT sourceIPAddress, count(*) AS eventCount, count(DISTINCT userIdentity.arn) AS identities FROM $EDS "
       "GROUP BY sourceIPAddress ORDER BY eventCount DESC, sourceIPAddress LIMIT 20"),
    _q("Activity by Region", "Events per AWS Region: spot use of Regions you do not operate in.",
       "SELECT awsRegion, count(*) AS eventCount FROM $EDS GROUP BY awsRegion ORDER BY eventCount DESC, awsRegion"),
    _q("Events per hour", "The number of events in each hour (event volume over time).",
       "SELECT date_trunc('hour', eventTime) AS eventHour, count(*) AS eventCount FROM $EDS GROUP BY 1 ORDER BY 1"),
    _q("Events per day", "The number of events and failed calls each day.",
       "SELECT date_trunc('day', eventTime) AS eventDay, count(*) AS eventCount, "
       "count(errorCode) AS errorCount FROM $EDS GROUP BY 1 ORDER BY 1"),
    _q("Assumed role sessions", "Which IAM roles were used through AssumeRole sessions, and how much.",
       "SELECT userIdentity.sessionContext.sessionIssuer.arn AS roleArn, count(*) AS eventCount FROM $EDS "
       "WHERE userIdentity.type = 'AssumedRole' GROUP BY 1 ORDER BY eventCount DESC, roleArn LIMIT 20"),
    _q("Write (mutating) calls", "Calls that changed something (readOnly false), by API, excluding reads.",
       "SELECT eventSource, eventName, count(*) AS eventCount FROM $EDS WHERE readOnly = false "
       "GROUP BY eventSource, eventName ORDER BY eventCount DESC, eventName LIMIT 20"),
    _q("CloudTrail logging changes", "Trails stopped, deleted or changed, and event selectors changed: attempts "
       "to blind auditing.",
       "SELECT eventTime, eventName, userIdentity.arn AS callerArn, element_at(requestParameters, 'name') AS "
       "trailName, errorCode FROM $EDS WHERE eventSource = 'cloudtrail.amazonaws.com' AND eventName IN "
       "('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'CreateTrail', 'StartLogging') "
       "ORDER BY eventTime DESC"),
    _q("S3 bucket activity", "The S3 buckets named in the most calls, with the calls made on them.",
       "SELECT element_at(requestParameters, 'bucketName') AS bucketName, eventName, count(*) AS eventCount "
       "FROM $EDS WHERE eventSource = 's3.amazonaws.com' AND element_at(requestParameters, 'bucketName') IS NOT NULL "
       "GROUP BY 1, 2 ORDER BY eventCount DESC, bucketName, eventName LIMIT 20"),
    _q("User agents", "The tools and SDKs (user agents) that called the APIs.",
       "SELECT userAgent, count(*) AS eventCount FROM $EDS GROUP BY userAgent ORDER BY eventCount DESC, userAgent "
       "LIMIT 20"),
    _q("KMS key deletion and disabling", "KMS keys scheduled for deletion or disabled.",
       "SELECT eventTime, eventName, userIdentity.arn AS callerArn, element_at(requestParameters, 'keyId') AS keyId "
       "FROM $EDS WHERE eventSource = 'kms.amazonaws.com' AND eventName IN ('ScheduleKeyDeletion', 'DisableKey') "
       "ORDER BY eventTime DESC"),
    _q("EC2 instances launched", "RunInstances calls: who launched EC2 instances, where, and whether it worked.",
       "SELECT eventTime, awsRegion, userIdentity.arn AS callerArn, sourceIPAddress, errorCode FROM $EDS "
       "WHERE eventName = 'RunInstances' ORDER BY eventTime DESC"),
    _q("Security services turned off", "GuardDuty, Config, Security Hub or CloudTrail protections disabled or "
       "deleted.",
       "SELECT eventTime, eventSource, eventName, userIdentity.arn AS callerArn FROM $EDS WHERE eventName IN "
       "('DeleteDetector', 'StopConfigurationRecorder', 'DeleteConfigurationRecorder', 'DisableSecurityHub', "
       "'StopLogging', 'DeleteTrail', 'DeleteFlowLogs') ORDER BY eventTime DESC"),
    _q("Reconnaissance by caller", "Identities making many List, Describe and Get calls (discovery, enumeration).",
       "SELECT userIdentity.arn AS callerArn, count(*) AS readCalls, count(DISTINCT eventName) AS distinctApis "
       "FROM $EDS WHERE eventName LIKE 'List%' OR eventName LIKE 'Describe%' OR eventName LIKE 'Get%' "
       "GROUP BY userIdentity.arn ORDER BY distinctApis DESC, readCalls DESC LIMIT 20"),
    _q("Identity types", "Events by identity type: IAM users, assumed roles, AWS services, root.",
       "SELECT userIdentity.type AS identityType, count(*) AS eventCount FROM $EDS GROUP BY userIdentity.type "
       "ORDER BY eventCount DESC"),
    _q("Cross-account calls", "Calls made by principals of another account than the one that received them.",
       "SELECT userIdentity.accountId AS callerAccount, recipientAccountId, eventName, count(*) AS eventCount "
       "FROM $EDS WHERE userIdentity.accountId IS NOT NULL AND userIdentity.accountId <> recipientAccountId "
       "GROUP BY 1, 2, 3 ORDER BY eventCount DESC LIMIT 20"),
    _q("Latest events", "The 50 most recent events with caller and source IP.",
       "SELECT eventTime, eventSource, eventName, userIdentity.arn AS callerArn, sourceIPAddress FROM $EDS "
       "ORDER BY eventTime DESC, eventID LIMIT 50"),
)

_STOP = frozenset("a an and are as at be by can do does for from how i in is it list me my of on or show that the "
                  "their them there these this to was were what when where which who whom why with".split())
_SYNONYMS = {"login": "signin", "logon": "signin", "logins": "signin", "sign": "signin", "signins": "signin",
             "failed": "error", "failure": "error", "fail": "error", "errors": "error", "failing": "error",
             "denied": "deny", "unauthorized": "deny", "forbidden": "deny", "user": "caller",
             "identity": "caller", "principal": "caller", "who": "caller", "ip": "ip", "address": "ip",
             "region": "region", "keys": "key", "instance": "ec2", "instances": "ec2", "bucket": "s3",
             "buckets": "s3", "root": "root", "mfa": "mfa", "multi": "mfa", "factor": "mfa"}
_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


def terms(text: str, *, split_camel: bool = False) -> list[str]:
    """The search terms of ``text`` (see the module documentation)."""
    out = []
    for word in _WORD.findall(text):
        parts = _CAMEL.findall(word) if split_camel else [word]
        for part in parts:
            t = part.lower()
            if t in _STOP or len(t) < 2:
                continue
            t = _SYNONYMS.get(t, t)
            if len(t) > 3 and t.endswith("s") and not t.endswith("ss"):
                t = t[:-1]
            out.append(_SYNONYMS.get(t, t))
    return out


def _document(q: SampleQuery) -> list[str]:
    return terms(q.name) * 3 + terms(q.description) * 2 + terms(q.sql.replace(PLACEHOLDER, ""), split_camel=True)


_DOCS = [Counter(_document(q)) for q in SAMPLE_QUERIES]
_LENGTHS = [sum(d.values()) for d in _DOCS]
_AVG = sum(_LENGTHS) / len(_LENGTHS)
_DF = Counter(t for d in _DOCS for t in d)
K1, B = 1.2, 0.75


def _bm25(query: list[str], i: int) -> float:
    doc, n = _DOCS[i], len(_DOCS)
    score = 0.0
    for t in set(query):
        tf = doc.get(t, 0)
        if not tf:
            continue
        idf = math.log(1 + (n - _DF[t] + 0.5) / (_DF[t] + 0.5))
        score += idf * tf * (K1 + 1) / (tf + K1 * (1 - B + B * _LENGTHS[i] / _AVG))
    return score


def search(phrase: str) -> list[tuple[SampleQuery, float]]:
    """The sample queries matching ``phrase``, most relevant first, with their relevance in (0, 1]."""
    query = terms(phrase, split_camel=True)
    wanted = set(query)
    scores = [(_bm25(query, i), i) for i in range(len(SAMPLE_QUERIES))]
    best = max((s for s, _ in scores), default=0.0)
    if best <= 0:
        return []
    out = []
    for s, i in scores:
        if s <= 0:
            continue
        share = sum(1 for t in wanted if t in _DOCS[i]) / len(wanted)
        out.append((SAMPLE_QUERIES[i], round(0.5 * s / best + 0.5 * share, 4)))
    out.sort(key=lambda pair: (-pair[1], pair[0].name))
    return out
