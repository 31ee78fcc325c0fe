"""PutTargets' targets: which ARNs opentrail can deliver to, the checks EventBridge makes, and the
:class:`~opentrail.eventbridge.model.TargetConfig` a stored target becomes.

Delivered target kinds (:func:`target_kind`): SQS queues (``arn:aws:sqs:...``), SNS topics
(``arn:aws:sns:...``), API destinations (``arn:aws:events:...:api-destination/<name>/<uuid>``, which
must exist), and opentrail's local targets ``arn:opentrail:file:::<path>`` (appends each event as a
JSON line) and ``arn:opentrail:command:::<program>`` (runs it with the event on standard input), within
the operator's limits (:mod:`.local_targets`). Any other well-formed ARN (Lambda, Kinesis, Step Functions, another event bus...) is a target
AWS accepts but opentrail cannot deliver to: it is answered as a FailedEntries entry, not kept.

Request-level refusals (ValidationException, the whole call fails): more than one of Input,
InputPath and InputTransformer (AWS's text), an Input that is not JSON, a DeadLetterConfig that is not
an SQS queue ARN (opentrail's text). RetryPolicy ranges (0-185 attempts, 60-86400 s) are the model's
constraints, checked before the handler runs.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping

import orjson

from .catalog import TargetFailure
from .errors import ValidationError
from .local_targets import LocalTargetPolicy, LocalTargetRefused
from .model import DEFAULT_MAXIMUM_EVENT_AGE_S, DEFAULT_MAXIMUM_RETRY_ATTEMPTS, TargetConfig

SQS_ARN = re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,75}(?:\.fifo)?")
SNS_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}")
API_DESTINATION_ARN = re.compile(
    r"arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:api-destination/[.\-_A-Za-z0-9]+/[\-A-Za-z0-9]+")
FILE_ARN_PREFIX = "arn:opentrail:file:::"
COMMAND_ARN_PREFIX = "arn:opentrail:command:::"
_ANY_ARN = re.compile(r"arn:[^:\s]+:[^:\s]+:[^:\s]*:[^:\s]*:\S+")
_SERVICE = re.compile(r"arn:[^:]+:([^:]+):")

SUPPORTED = ("SQS queues, SNS topics, API destinations, arn:opentrail:file:::<path> and "
             "arn:opentrail:command:::<program>")


def target_kind(arn: str) -> str | None:
    """``sqs``, ``sns``, ``api-destination``, ``file`` or ``command``; None for an ARN opentrail does
    not deliver to."""
    if SQS_ARN.fullmatch(arn):
        return "sqs"
    if SNS_ARN.fullmatch(arn):
        return "sns"
    if API_DESTINATION_ARN.fullmatch(arn):
        return "api-destination"
    if arn.startswith(FILE_ARN_PREFIX) and arn[len(FILE_ARN_PREFIX):].strip():
        return "file"
    if arn.startswith(COMMAND_ARN_PREFIX) and arn[len(COMMAND_ARN_PREFIX):].strip():
        return "command"
    return None


def check_request(targets: list[Mapping[str, Any]]) -> None:
    """The request-level checks of PutTargets (see the module docstring); raises ValidationError."""
    for target in targets:
        given = [k for k in ("Input", "InputPath", "InputTransformer") if target.get(k) is not None]
        if len(given) > 1:
            raise ValidationError(
                f"Only one of Input, InputPath, or InputTransformer must be provided for target {target['Id']}.")
        if target.get("Input") is not None:
            try:
                orjson.loads(target["Input"])
            except orjson.JSONDecodeError:
                raise ValidationError(f"Parameter Input of target {target['Id']} is not valid JSON.") from None
        dead_letter = (target.get("DeadLetterConfig") or {}).get("Arn")
        if dead_letter is not None and not SQS_ARN.fullmatch(dead_letter):
            raise ValidationError(f"Parameter DeadLetterConfig.Arn of target {target['Id']} is not valid. "
                                  "Reason: it must be the ARN of an SQS queue.")


def entry_failure(target: Mapping[str, Any], api_destination_exists: Callable[[str], bool],
                  local_targets: LocalTargetPolicy | None = None) -> TargetFailure | None:
    """Why one target cannot be kept (a FailedEntries item), or None. A file or command target
    outside ``local_targets``' limits is refused (ValidationException naming the setting)."""
    target_id, arn = target["Id"], target["Arn"]
    if not _ANY_ARN.fullmatch(arn):
        return TargetFailure(target_id, "ValidationException",
                             f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.")
    kind = target_kind(arn)
    if kind is None:
        m = _SERVICE.match(arn)
        what = f"{m.group(1)} targets" if m else "this target"
        return TargetFailure(target_id, "ValidationException",
                             f"opentrail cannot deliver events to {what} ({arn}); it delivers to {SUPPORTED}.")
    if kind in ("file", "command") and local_targets is not None:
        try:
            local_targets.check(arn)
        except LocalTargetRefused as exc:
            return TargetFailure(target_id, "ValidationException", f"Target {target_id} is not allowed: {exc}.")
    if kind == "api-destination" and not api_destination_exists(arn):
        return TargetFailure(target_id, "ResourceNotFoundException", f"API destination {arn} does not exist.")
    if kind == "sqs" and arn.endswith(".fifo") and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
        return TargetFailure(target_id, "ValidationException",
                             f"Parameter(s) SqsParameters must be specified for target: {target_id}.")
    return None


def target_config(raw: Mapping[str, Any]) -> TargetConfig:
    """A stored Target as the data plane reads it, with EventBridge's RetryPolicy defaults."""
    retry = raw.get("RetryPolicy") or {}
    return TargetConfig(
        id=raw["Id"], arn=raw["Arn"], input=raw.get("Input"), input_path=raw.get("InputPath"),
        input_transformer=raw.get("InputTransformer"), http_parameters=raw.get("HttpParameters"),
        maximum_retry_attempts=int(retry.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)),
        maximum_event_age_s=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE_S)),
        dead_letter_arn=(raw.get("DeadLetterConfig") or {}).get("Arn"),
        sqs_message_group_id=(raw.get("SqsParameters") or {}).get("MessageGroupId"),
        raw=raw)
