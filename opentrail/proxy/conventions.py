"""CloudTrail naming and classification conventions that the botocore models do not carry.

- eventSource: ``<endpointPrefix>.amazonaws.com`` (``monitoring`` for CloudWatch, ``states`` for
  Step Functions), except SES (``email`` -> ``ses``) and DynamoDB Streams (``dynamodb``).
- eventName: the operation name, except Lambda, whose records name the versioned API
  (``CreateFunction20150331``, ``GetFunction20150331v2``; the names below are the ones seen in
  datasets/cloudtrail/stratus-red-team; others keep the operation name, unconfirmed).
- readOnly: operations named Get*/List*/Describe*/Head*/Lookup*/BatchGet*/Query/Scan/Search*/
  Select*/Check*/Test*/Validate* (AWS's read-only APIs follow this naming).
- Data events: :data:`opentrail.events.classify.DATA_EVENT_APIS` (S3 object, Lambda Invoke,
  DynamoDB item APIs) plus SQS message APIs (``AWS::SQS::Queue``) and SNS Publish/PublishBatch
  (``AWS::SNS::Topic``) from the CloudTrail User Guide's data event table.
- resources, outside S3 (:mod:`opentrail.proxy.s3`): the DynamoDB table, the Lambda function,
  the SQS queue, the SNS topic and the role of STS AssumeRole named in the request.
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


def event_source(endpoint_prefix: str) -> str:
    """``s3`` -> ``s3.amazonaws.com``."""
    return _SOURCE_OVERRIDES.get(endpoint_prefix, endpoint_prefix) + ".amazonaws.com"


def event_name(source: str, operation: str) -> str:
    """The eventName CloudTrail writes for ``operation`` of ``source``."""
    if source == "lambda.amazonaws.com":
        return _LAMBDA_EVENT_NAMES.get(operation, operation)
    return operation


def is_read_only(operation: str) -> bool:
    """readOnly by operation name (see the module docstring)."""
    return bool(_READ_ONLY_RE.match(operation))


def is_data_event(source: str, operation: str) -> bool:
    """True for the data-event APIs (see the module docstring)."""
    return operation in DATA_EVENT_APIS.get(source, ()) or operation in _EXTRA_DATA_APIS.get(source, ())


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def resources(source: str, operation: str, params: dict[str, Any], region: str, account_id: str) -> list[dict[str, Any]] | None:
    """resources for a non-S3 call from its (raw, member-named) request parameters, or None."""
    if source == "dynamodb.amazonaws.com" and isinstance(params.get("TableName"), str):
        name = params["TableName"]
        arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account_id}:table/{name}"
        return [{"accountId": _arn_account(arn) or account_id, "type": "AWS::DynamoDB::Table", "ARN": arn}]
    if source == "lambda.amazonaws.com" and isinstance(params.get("FunctionName"), str) and operation != "CreateFunction":
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
