"""Event category of a CloudTrail record: "Management", "Data", "Insight" or "NetworkActivity".

Rules, first match wins (AWS CloudTrail User Guide, "CloudTrail record contents" for
``eventCategory``/``managementEvent``/``eventType``; "Logging data events" for the data-event APIs):

1. ``eventCategory`` when it is one of the four AWS values (any letter case).
2. ``eventType`` ``AwsCloudTrailInsight`` -> Insight; ``AwsVpceEvent`` -> NetworkActivity.
3. ``managementEvent`` true -> Management, false -> Data (booleans, or the strings "true"/"false").
4. Records written before those fields existed (eventVersion < 1.07): the eventSource/eventName pair
   against the data-event APIs of that era -- S3 object-level APIs, Lambda ``Invoke``, DynamoDB
   item-level APIs and the DynamoDB Streams read APIs -> Data.
5. Everything else -> Management.
"""

from __future__ import annotations

from typing import Any

MANAGEMENT = "Management"
DATA = "Data"
INSIGHT = "Insight"
NETWORK_ACTIVITY = "NetworkActivity"

CATEGORIES: tuple[str, ...] = (MANAGEMENT, DATA, INSIGHT, NETWORK_ACTIVITY)
_BY_LOWER = {c.lower(): c for c in CATEGORIES}

#: Data-event API names per eventSource, for records without eventCategory/managementEvent.
#: S3: the object-level operations CloudTrail logs as data events for AWS::S3::Object (the S3 User
#: Guide, "Amazon S3 data events in CloudTrail"), including the object-listing operations
#: (ListObjects, ListObjectVersions, ListMultipartUploads, ListParts) that real trails record with
#: managementEvent false. Lambda: Invoke. DynamoDB: the item-level and PartiQL operations
#: (AWS::DynamoDB::Table) and stream reads (AWS::DynamoDB::Stream).
DATA_EVENT_APIS: dict[str, frozenset[str]] = {
    "s3.amazonaws.com": frozenset(
        {
            "AbortMultipartUpload",
            "CompleteMultipartUpload",
            "CopyObject",
            "CreateMultipartUpload",
            "DeleteObject",
            "DeleteObjects",
            "DeleteObjectTagging",
            "GetObject",
            "GetObjectAcl",
            "GetObjectAttributes",
            "GetObjectLegalHold",
            "GetObjectRetention",
            "GetObjectTagging",
            "GetObjectTorrent",
            "HeadObject",
            "InitiateMultipartUpload",
            "ListMultipartUploadParts",
            "ListMultipartUploads",
            "ListObjectVersions",
            "ListObjects",
            "ListObjectsV2",
            "ListParts",
            "PostObject",
            "PostObjectRestore",
            "PutObject",
            "PutObjectAcl",
            "PutObjectLegalHold",
            "PutObjectLockRetention",
            "PutObjectRetention",
            "PutObjectTagging",
            "RestoreObject",
            "SelectObjectContent",
            "UploadPart",
            "UploadPartCopy",
        }
    ),
    "lambda.amazonaws.com": frozenset({"Invoke", "InvokeAsync"}),
    "dynamodb.amazonaws.com": frozenset(
        {
            "BatchExecuteStatement",
            "BatchGetItem",
            "BatchWriteItem",
            "DeleteItem",
            "ExecuteStatement",
            "ExecuteTransaction",
            "GetItem",
            "GetRecords",
            "GetShardIterator",
            "PutItem",
            "Query",
            "Scan",
            "TransactGetItems",
            "TransactWriteItems",
            "UpdateItem",
        }
    ),
}


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def event_category(record: dict[str, Any]) -> str:
    """The event category of ``record`` (one of :data:`CATEGORIES`), by the rules in the module
    docstring. Never raises for any dict."""
    category = record.get("eventCategory")
    if isinstance(category, str) and category.lower() in _BY_LOWER:
        return _BY_LOWER[category.lower()]
    event_type = record.get("eventType")
    if event_type == "AwsCloudTrailInsight":
        return INSIGHT
    if event_type == "AwsVpceEvent":
        return NETWORK_ACTIVITY
    management = _flag(record.get("managementEvent"))
    if management is not None:
        return MANAGEMENT if management else DATA
    source, name = record.get("eventSource"), record.get("eventName")
    if isinstance(source, str) and isinstance(name, str) and name in DATA_EVENT_APIS.get(source, ()):
        return DATA
    return MANAGEMENT
