"""What the CloudWatch Logs handlers share: the caller's account and Region, the Logs service of
the context, the log group a request names (``logGroupName`` or ``logGroupIdentifier``), the one
edge where domain errors become wire errors, tokens under the server's key, and the JSON shapes of
log groups and streams (botocore model ``logs/2014-03-28``: ``LogGroup``, ``LogStream``).
"""

from __future__ import annotations

import re
from typing import Any

from ..monitoring.logs import LogsService, check_name_length, sequence_token
from ..monitoring.logs_model import LogGroup, LogStream, log_stream_arn
from .logs_errors import WIRE_ERRORS, InvalidParameterException, ValidationException
from .logs_tokens import seal, unseal
from .services import Handler, context_part
from .wire_common import domain_errors_as, token_key, who

#: A log group ARN as CloudWatch Logs takes it (``logGroupIdentifier``, ``resourceArn``): with or
#: without the trailing ``:*``.
_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):log-group:([^:*]+)(?::\*)?")


#: ``handler`` with CloudWatch Logs domain errors answered as the wire errors of their code.
domain_errors = domain_errors_as(WIRE_ERRORS)


def service(ctx: Any, operation: str) -> LogsService:
    """``ctx.logs``, or UnknownOperationException naming ``operation`` when the server runs without
    it."""
    logs: LogsService = context_part(ctx, "logs", operation)
    return logs


def group_name_of_arn(ctx: Any, arn: str) -> str | None:
    """The log group name an ARN names in the caller's account and Region, or None."""
    m = _GROUP_ARN.fullmatch(arn)
    if m is None:
        return None
    account, region = who(ctx)
    if (m.group(1), m.group(2)) != (region, account):
        return None
    return m.group(3)


def named_group(ctx: Any, params: dict[str, Any], operation: str) -> LogGroup:
    """The log group named by ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN).
    Both: ValidationException "LogGroup name and LogGroup ARN are mutually exclusive parameters."
    (AWS's, DescribeLogStreams); neither: InvalidParameterException (the text is opentrail's); an
    ARN of another account or Region: ResourceNotFoundException."""
    name = params.get("logGroupName")
    identifier = params.get("logGroupIdentifier")
    if name is not None and identifier is not None:
        raise ValidationException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if name is None and identifier is None:
        raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
    logs = service(ctx, operation)
    if name is None:
        assert isinstance(identifier, str)
        name = identifier if not identifier.startswith("arn:") else group_name_of_arn(ctx, identifier)
        if name is None:
            from ..monitoring.logs_errors import LogGroupNotFound

            raise LogGroupNotFound()
    check_name_length(name)
    return logs.group(*who(ctx), name)


def now_ms(ctx: Any) -> int:
    return int(ctx.clock() * 1000)


def make_token(ctx: Any, binding: Any, payload: Any) -> str:
    return seal(token_key(ctx), binding, payload, now_ms(ctx))


def read_token(ctx: Any, binding: Any, params: dict[str, Any]) -> Any:
    """The payload of the request's ``nextToken`` (None when there is none)."""
    token = params.get("nextToken")
    if token is None:
        return None
    return unseal(token_key(ctx), binding, token, now_ms(ctx))


def group_json(group: LogGroup, *, by_pattern: bool = False) -> dict[str, Any]:
    """A ``LogGroup`` as DescribeLogGroups answers it; ``by_pattern``: the shorter form AWS answers
    for a ``logGroupNamePattern`` search (no storedBytes, no deletionProtectionEnabled, no
    retention), per LocalStack's AWS-validated snapshot."""
    out: dict[str, Any] = {"logGroupName": group.name, "creationTime": group.creation_ms}
    if group.retention_days is not None and not by_pattern:
        out["retentionInDays"] = group.retention_days
    out["metricFilterCount"] = group.metric_filter_count
    out["arn"] = group.arn + ":*"
    if not by_pattern:
        out["storedBytes"] = group.stored_bytes
        if group.kms_key_id is not None:
            out["kmsKeyId"] = group.kms_key_id
    out["logGroupClass"] = group.log_group_class
    out["logGroupArn"] = group.arn
    if not by_pattern:
        out["deletionProtectionEnabled"] = group.deletion_protection
    return out


def stream_json(group: LogGroup, stream: LogStream) -> dict[str, Any]:
    """A ``LogStream`` as DescribeLogStreams answers it: the event times and upload sequence token
    appear once the stream has events; storedBytes is always 0 (AWS: "no longer supported for log
    streams, and is always reported as zero")."""
    out: dict[str, Any] = {"logStreamName": stream.name, "creationTime": stream.creation_ms}
    if stream.first_event_ms is not None:
        out["firstEventTimestamp"] = stream.first_event_ms
        out["lastEventTimestamp"] = stream.last_event_ms
        out["lastIngestionTime"] = stream.last_ingestion_ms
        out["uploadSequenceToken"] = sequence_token(stream.id, stream.upload_sequence)
    out["arn"] = log_stream_arn(group.region, group.account_id, group.name, stream.name)
    out["storedBytes"] = 0
    return out
