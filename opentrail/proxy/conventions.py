"""CloudTrail naming and classification conventions that the botocore models do not carry.

- eventSource: ``<endpointPrefix>.amazonaws.com`` (``monitoring`` for CloudWatch, ``states`` for
  Step Functions), except SES (``email`` -> ``ses``) and DynamoDB Streams (``dynamodb``).
- eventName: the operation name, except Lambda, whose records name the versioned API
  (``CreateFunction20150331``, ``GetFunction20150331v2``; the names below are the ones seen in
  datasets/cloudtrail/stratus-red-team; others keep the operation name, unconfirmed).
- S3 eventNames that are not the operation name (:data:`_S3_EVENT_NAMES`: ``ListObjectsV2`` is
  recorded as ``ListObjects`` with ``list-type: "2"``, datasets/cloudtrail/otrf; the
  ``...Configuration`` operations under their older names ``GetBucketLifecycle``,
  ``GetAccelerateConfiguration``, ``PutBucketPublicAccessBlock``, datasets/cloudtrail/invictus-ir;
  the notification pair is unconfirmed).
- readOnly: operations named Get*/List*/Describe*/Head*/Lookup*/BatchGet*/Query/Scan/Search*/
  Select*/Check*/Test*/Validate* (AWS's read-only APIs follow this naming), except
  :data:`_READ_ONLY_OVERRIDES` seen in real records: STS AssumeRole* and KMS's cryptographic
  operations (Encrypt, Decrypt, GenerateDataKey, ...) are read-only, STS GetFederationToken is not
  (datasets/cloudtrail/invictus-ir, stratus-red-team).
- Data events: :data:`opentrail.events.classify.DATA_EVENT_APIS` (S3 object, Lambda Invoke,
  DynamoDB item APIs) plus SQS message APIs (``AWS::SQS::Queue``) and SNS Publish/PublishBatch
  (``AWS::SNS::Topic``) from the CloudTrail User Guide's data event table.
- resources, outside S3 (:mod:`opentrail.proxy.s3`): the DynamoDB table, the Lambda function of
  Invoke (Lambda management records have none, datasets/cloudtrail/invictus-ir), the SQS queue,
  the SNS topic, the role of STS AssumeRole and the KMS key (from the request's ``KeyId``, else the
  answer's, as Decrypt names it) of KMS operations, the SSM parameter(s) of Put/Get/Delete
  Parameter(s) (without ``type``, as AWS writes them).
- DynamoDB item operations: key attribute values are written as plain values and the item's
  other attribute values are not written (PutItem's ``item`` lists attribute names;
  ``expressionAttributeValues`` is left out), per the DynamoDB developer guide's note that
  non-key attribute values do not appear in classic-API records.
"""

from __future__ import annotations

import re
from typing import Any

from ..events.classify import DATA_EVENT_APIS

_SOURCE_OVERRIDES = {"email": "ses", "streams.dynamodb": "dynamodb"}
_LAMBDA_EVENT_NAMES = {
    "AddPermission": "AddPermission20150331v2",
    "CreateFunction": "CreateFunction20150331",
    "DeleteFunction": "DeleteFunction20150331",
    "GetFunction": "GetFunction20150331v2",
    "ListFunctions": "ListFunctions20150331",
    "ListVersionsByFunction": "ListVersionsByFunction20150331",
    "RemovePermission": "RemovePermission20150331v2",
    "UpdateFunctionCode": "UpdateFunctionCode20150331v2",
    "UpdateFunctionConfiguration": "UpdateFunctionConfiguration20150331v2",
}
_S3_EVENT_NAMES = {
    "ListObjectsV2": "ListObjects",
    "GetBucketAccelerateConfiguration": "GetAccelerateConfiguration",
    "PutBucketAccelerateConfiguration": "PutAccelerateConfiguration",
    "GetBucketLifecycleConfiguration": "GetBucketLifecycle",
    "PutBucketLifecycleConfiguration": "PutBucketLifecycle",
    "GetBucketNotificationConfiguration": "GetBucketNotification",
    "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock",
    "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "DeletePublicAccessBlock": "DeleteBucketPublicAccessBlock",
}
_KMS_CRYPTO = ("Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
               "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "Sign", "Verify", "GenerateMac",
               "VerifyMac")
_READ_ONLY_OVERRIDES: dict[tuple[str, str], bool] = {
    ("sts.amazonaws.com", "AssumeRole"): True,
    ("sts.amazonaws.com", "AssumeRoleWithSAML"): True,
    ("sts.amazonaws.com", "AssumeRoleWithWebIdentity"): True,
    ("sts.amazonaws.com", "GetFederationToken"): False,
    **{("kms.amazonaws.com", name): True for name in _KMS_CRYPTO},
}
_READ_ONLY_RE = re.compile(
    r"^(Get|List|Describe|Head|Lookup|BatchGet|Search|Select|Check|Test|Validate)[A-Z0-9]|^(Query|Scan)$"
)
_EXTRA_DATA_APIS: dict[str, frozenset[str]] = {
    "sqs.amazonaws.com": frozenset({
        "SendMessage", "SendMessageBatch", "ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
        "ChangeMessageVisibility", "ChangeMessageVisibilityBatch",
    }),
    "sns.amazonaws.com": frozenset({"Publish", "PublishBatch"}),
}


#: SSM operations whose records name the parameter as a resource (``{"accountId", "ARN"}``, no
#: ``type``; datasets/cloudtrail/invictus-ir).
_SSM_PARAMETER_OPS = frozenset({"PutParameter", "DeleteParameter", "GetParameter", "GetParameters"})
#: apiVersion as records write it (the model's ``2014-03-28`` without dashes for CloudWatch Logs;
#: DynamoDB keeps the dashes; datasets/cloudtrail/invictus-ir); other services write none.
_API_VERSION_STYLE = {"dynamodb.amazonaws.com": "dashed", "logs.amazonaws.com": "compact"}


def api_version(source: str, model_version: str) -> str | None:
    """The record's apiVersion for ``source`` (see :data:`_API_VERSION_STYLE`), or None."""
    style = _API_VERSION_STYLE.get(source)
    if style is None:
        return None
    return model_version if style == "dashed" else model_version.replace("-", "")


def event_source(endpoint_prefix: str) -> str:
    """``s3`` -> ``s3.amazonaws.com``."""
    return _SOURCE_OVERRIDES.get(endpoint_prefix, endpoint_prefix) + ".amazonaws.com"


def event_name(source: str, operation: str) -> str:
    """The eventName CloudTrail writes for ``operation`` of ``source``."""
    if source == "lambda.amazonaws.com":
        return _LAMBDA_EVENT_NAMES.get(operation, operation)
    if source == "s3.amazonaws.com":
        return _S3_EVENT_NAMES.get(operation, operation)
    return operation


def is_read_only(operation: str, source: str = "") -> bool:
    """readOnly by operation name (see the module docstring)."""
    override = _READ_ONLY_OVERRIDES.get((source, operation))
    if override is not None:
        return override
    return bool(_READ_ONLY_RE.match(operation))


def is_data_event(source: str, operation: str) -> bool:
    """True for the data-event APIs (see the module docstring)."""
    return operation in DATA_EVENT_APIS.get(source, ()) or operation in _EXTRA_DATA_APIS.get(source, ())


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def resources(source: str, operation: str, params: dict[str, Any], region: str, account_id: str,
              output: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
    """resources for a non-S3 call from its (raw, member-named) request parameters (and, for KMS,
    the parsed ``output``), or None."""
    if source == "dynamodb.amazonaws.com" and isinstance(params.get("TableName"), str):
        name = params["TableName"]
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
        return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::DynamoDB::Table", "ARN": arn}]
    if source == "kms.amazonaws.com":
        return _kms_key(params, output, region, account_id)
    if source == "ssm.amazonaws.com" and operation in _SSM_PARAMETER_OPS:
        names = params.get("Names") if operation == "GetParameters" else [params.get("Name")]
        arns = [n if n.startswith("arn:") else f"arn:aws:ssm:{region}:{account_id}:parameter{'' if n.startswith('/') else '/'}{n}"
                for n in names or () if isinstance(n, str)]
        return [{"accountId": _arn_account(a) or account_id, "ARN": a} for a in arns] or None
    if source == "lambda.amazonaws.com" and isinstance(params.get("FunctionName"), str) and operation == "Invoke":
        name = params["FunctionName"]
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::Lambda::Function", "ARN": arn}]
    if source == "sts.amazonaws.com" and operation == "AssumeRole" and isinstance(params.get("RoleArn"), str):
        arn = params["RoleArn"]
        return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::IAM::Role", "ARN": arn}]
    if source == "sqs.amazonaws.com" and isinstance(params.get("QueueUrl"), str):
        parts = params["QueueUrl"].rstrip("/").split("/")
        if len(parts) >= 2:
            owner = parts[-2] if parts[-2].isdigit() else account_id
            return [{"accountId": owner, "type": "AWS::SQS::Queue", "ARN": f"arn:aws:sqs:{region}:{owner}:{parts[-1]}"}]
    if source == "sns.amazonaws.com" and isinstance(params.get("TopicArn"), str):
        arn = params["TopicArn"]
        return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::SNS::Topic", "ARN": arn}]
    return None


def _kms_key(params: dict[str, Any], output: dict[str, Any] | None, region: str,
             account_id: str) -> list[dict[str, Any]] | None:
    key = params.get("KeyId")
    if not isinstance(key, str) or key.startswith("alias/") or ":alias/" in key:
        key = (output or {}).get("KeyId") or (output or {}).get("KeyMetadata", {}).get("Arn")
    if not isinstance(key, str) or not key or key.startswith("alias/") or ":alias/" in key:
        return None
    arn = key if key.startswith("arn:") else f"arn:aws:kms:{region}:{account_id}:key/{key}"
    return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::KMS::Key", "ARN": arn}]


#: Operations whose records keep only some response members, renamed: Secrets Manager's
#: CreateSecret/PutSecretValue records write only ``{"arn": ...}`` (datasets/cloudtrail/invictus-ir;
#: DeleteSecret's keep every member, with ``aRN``).
_RESPONSE_ONLY: dict[tuple[str, str], dict[str, str]] = {
    ("secretsmanager.amazonaws.com", "CreateSecret"): {"aRN": "arn"},
    ("secretsmanager.amazonaws.com", "PutSecretValue"): {"aRN": "arn"},
}


def writes_response(source: str, operation: str) -> bool:
    """False when AWS writes ``responseElements: null`` for a successful call: operations read-only
    by name (DescribeInstances, GetCallerIdentity) and KMS's cryptographic operations; AssumeRole,
    read-only by :func:`is_read_only`, keeps its responseElements."""
    if source == "kms.amazonaws.com" and operation in _KMS_CRYPTO:
        return False
    if _READ_ONLY_OVERRIDES.get((source, operation)) is False:
        return True  # GetFederationToken
    return not _READ_ONLY_RE.match(operation)


def filter_response(source: str, operation: str, elements: dict[str, Any] | None) -> dict[str, Any] | None:
    """responseElements reduced per :data:`_RESPONSE_ONLY`."""
    only = _RESPONSE_ONLY.get((source, operation))
    if not only or elements is None:
        return elements
    out = {only[k]: v for k, v in elements.items() if k in only}
    return out or None


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        return next(iter(value.values()))
    return value


def redact_dynamodb_item(operation: str, request_parameters: dict[str, Any]) -> dict[str, Any]:
    """DynamoDB item-operation requestParameters as CloudTrail writes them (see the docstring)."""
    out = dict(request_parameters)
    out.pop("expressionAttributeValues", None)
    if isinstance(out.get("key"), dict):
        out["key"] = {k: _plain(v) for k, v in out["key"].items()}
    if operation == "PutItem" and isinstance(out.get("item"), dict):
        out["item"] = list(out["item"])
    return out
