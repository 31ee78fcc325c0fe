"""Pure helpers of the EventBridge rule pages: the pattern summary of the rules list, a target as a
table row (by its kind), a failed invocation as a row, the pattern tester's event (a CloudTrail
record in its EventBridge envelope, or a sample) and its verdict."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..eventbridge.envelope import cloudtrail_event
from ..eventbridge.pattern import InvalidEventPattern, InvalidTestEvent, parse_pattern, parse_test_event
from ..eventbridge.pattern_syntax import Node
from ..eventbridge.targets import API_DESTINATION, COMMAND, COMMAND_PREFIX, FILE, FILE_PREFIX, SNS, SQS, target_kind
from .monitoring_view import when

#: The fields the rules list summarises, as the pattern names them (nested keys joined by dots).
SUMMARY_FIELDS = (("source", "source"), ("detail-type", "detail-type"), ("detail.eventName", "eventName"))
#: EventBridge's RetryPolicy defaults (EventBridge User Guide, "Event retry policy").
DEFAULT_RETRY_ATTEMPTS, DEFAULT_EVENT_AGE_S = 185, 86400
KIND_LABELS = {API_DESTINATION: "API destination", SQS: "SQS queue", SNS: "SNS topic", FILE: "File (opentrail)",
               COMMAND: "Command (opentrail)"}


def pretty_json(text: str | None) -> str:
    """``text`` (JSON) indented by two spaces, non-ASCII kept; text that is not JSON as it is."""
    if not text:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _shown(value: Any) -> str:
    """A pattern value as the summary shows it: a string as it is, anything else as compact JSON."""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def pattern_summary(text: str | None) -> list[tuple[str, list[str]]]:
    """[(label, values)] of the pattern's ``source``, ``detail-type`` and ``detail.eventName``
    fields, in that order, only those it names; values as written (operators as compact JSON,
    ``{"prefix":"Stop"}``), those of every ``$or`` branch included, without repeats. An empty list
    for no pattern; ``[("invalid", [reason])]`` for a pattern the engine refuses."""
    if not text:
        return []
    try:
        tree = parse_pattern(text).tree
    except InvalidEventPattern as exc:
        return [("invalid", [exc.reason])]
    found: dict[str, list[str]] = {name: [] for name, _ in SUMMARY_FIELDS}

    def visit(node: Node) -> None:
        for field in node.fields:
            if field.name in found:
                for matcher in field.matchers:
                    shown = _shown(matcher.source)
                    if shown not in found[field.name]:
                        found[field.name].append(shown)
        for group in node.ors:
            for branch in group:
                visit(branch)

    visit(tree)
    return [(label, found[name]) for name, label in SUMMARY_FIELDS if found[name]]


def api_destination_name(arn: str) -> str:
    """The name in ``arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>``."""
    resource = arn.split(":", 5)[-1]
    parts = resource.split("/")
    return parts[1] if len(parts) >= 2 else ""


@dataclass(frozen=True)
class TargetRow:
    """One target of ListTargetsByRule as the rule page shows it: ``kind`` a label, ``where`` what
    it calls (endpoint and method, queue, topic, path, program), ``details`` [(label, text)]:
    input, retry policy, dead-letter queue and kind-specific parameters."""

    id: str
    arn: str
    kind: str
    where: str
    details: list[tuple[str, str]]


def target_row(target: Mapping[str, Any], destination: Mapping[str, Any] | None = None,
               destination_error: str | None = None) -> TargetRow:
    """``target`` (a ListTargetsByRule ``Targets`` item); ``destination`` the DescribeApiDestination
    answer of an API destination target (or ``destination_error`` when it failed)."""
    arn = str(target.get("Arn", ""))
    kind = target_kind(arn)
    details: list[tuple[str, str]] = []
    if kind == API_DESTINATION:
        if destination is not None:
            where = f"{destination.get('HttpMethod', '')} {destination.get('InvocationEndpoint', '')}"
            details.append(("Connection", str(destination.get("ConnectionArn", ""))))
        else:
            where = destination_error or ""
        http = target.get("HttpParameters") or {}
        if http.get("PathParameterValues"):
            details.append(("Path parameters", ", ".join(http["PathParameterValues"])))
        for key, label in (("HeaderParameters", "Headers"), ("QueryStringParameters", "Query string")):
            if http.get(key):
                details.append((label, ", ".join(f"{k}: {v}" for k, v in http[key].items())))
    elif kind in (SQS, SNS):
        where = arn.split(":", 5)[-1]
        group = (target.get("SqsParameters") or {}).get("MessageGroupId")
        if group:
            details.append(("Message group", str(group)))
    elif kind == FILE:
        where = arn[len(FILE_PREFIX):]
    elif kind == COMMAND:
        where = arn[len(COMMAND_PREFIX):]
    else:
        where = ""
    if target.get("Input") is not None:
        details.append(("Input", str(target["Input"])))
    elif target.get("InputPath") is not None:
        details.append(("Input path", str(target["InputPath"])))
    elif target.get("InputTransformer") is not None:
        transformer = target["InputTransformer"]
        paths = transformer.get("InputPathsMap") or {}
        details.append(("Input paths", ", ".join(f"{k}: {v}" for k, v in paths.items()) or "none"))
        details.append(("Input template", str(transformer.get("InputTemplate", ""))))
    else:
        details.append(("Input", "the matched event"))
    retry = target.get("RetryPolicy") or {}
    attempts = retry.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)
    age = retry.get("MaximumEventAgeInSeconds", DEFAULT_EVENT_AGE_S)
    details.append(("Retry policy", f"{attempts} retries, events up to {age} s old"
                    + ("" if retry else " (default)")))
    details.append(("Dead-letter queue", str((target.get("DeadLetterConfig") or {}).get("Arn") or "none")))
    return TargetRow(str(target.get("Id", "")), arn, KIND_LABELS.get(kind or "", "Not delivered by opentrail"),
                     where, details)


def failure_row(failure: Any) -> dict[str, Any]:
    """A :class:`opentrail.eventbridge.bus_state.FailedInvocation` as a table row."""
    return {"time": when(failure.time_s), "target_id": failure.target_id, "target_arn": failure.target_arn,
            "event_id": failure.event_id, "code": failure.error_code, "message": failure.error_message,
            "attempts": failure.attempts, "outcome": failure.outcome}


def lookup_envelope(event: Mapping[str, Any], account_id: str, region: str) -> dict[str, Any]:
    """A LookupEvents ``Events`` item's record (``CloudTrailEvent``) in its EventBridge envelope
    (:func:`opentrail.eventbridge.envelope.cloudtrail_event`)."""
    return cloudtrail_event(json.loads(event["CloudTrailEvent"]), account_id, region)


def sample_envelope(account_id: str, region: str, now_s: float) -> dict[str, Any]:
    """An envelope of a StopLogging call at ``now_s``, for when the account has no events yet."""
    from ..events.times import format_event_time

    record = {
        "eventVersion": "1.11",
        "userIdentity": {"type": "IAMUser", "accountId": account_id,
                         "arn": f"arn:aws:iam::{account_id}:user/example", "userName": "example"},
        "eventTime": format_event_time(int(now_s)), "eventSource": "cloudtrail.amazonaws.com",
        "eventName": "StopLogging", "awsRegion": region, "sourceIPAddress": "192.0.2.10",
        "userAgent": "aws-cli/2.27.0", "requestParameters": {"name": "management-events"},
        "responseElements": None, "eventID": "00000000-0000-4000-8000-000000000000", "readOnly": False,
        "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    return cloudtrail_event(record, account_id, region)


def newest_not_from(events: Sequence[Mapping[str, Any]], access_key_id: str) -> Mapping[str, Any] | None:
    """The first of ``events`` (LookupEvents, newest first) not made with ``access_key_id`` (the
    console session's own calls), else the first; None for none."""
    for event in events:
        if event.get("AccessKeyId") != access_key_id:
            return event
    return events[0] if events else None


def mismatch_reason(pattern: str, event: str) -> str | None:
    """Why ``event`` does not match ``pattern`` (:meth:`EventPattern.explain`), both already accepted
    by TestEventPattern; None when the engine finds it matches or cannot read them."""
    try:
        return parse_pattern(pattern).explain(parse_test_event(event))
    except (InvalidEventPattern, InvalidTestEvent):
        return None
