"""Amazon EventBridge handlers (:data:`EVENTS_HANDLERS`, loaded by :mod:`.events_operations`): rules,
targets, tags, the default event bus and TestEventPattern here; PutEvents in :mod:`.events_put`;
connections and API destinations in :mod:`.events_destination_handlers`.

Each handler reads the request (already checked against the model), calls
:class:`opentrail.eventbridge.rules_service.RulesService` in the caller's account and signing Region
and renders the model's output shape. Only the default event bus is served: any other
``EventBusName`` answers ResourceNotFoundException "Event bus x does not exist.". List pages hold at
most ``Limit`` (1-100, default 100) items; ``NextToken`` is sealed under the server's key.
"""

from __future__ import annotations

from typing import Any

from ..eventbridge.catalog import event_bus_arn
from ..eventbridge.model import DEFAULT_BUS
from .events_destination_handlers import DESTINATION_HANDLERS
from .events_errors import InvalidEventPatternException, ValidationException
from .events_put import put_events
from .events_wire import (Handler, check_bus, domain_errors, limit_of, model_value, page, read_token, rule_json,
                          service, target_shape)
from .wire_common import who


@domain_errors
def put_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    tags = {t["Key"]: t["Value"] for t in params.get("Tags") or []}
    arn = service(ctx, "PutRule").put_rule(
        *who(ctx), params["Name"], event_pattern=params.get("EventPattern"),
        schedule_expression=params.get("ScheduleExpression"), state=params.get("State"),
        description=params.get("Description"), role_arn=params.get("RoleArn"), tags=tags)
    return {"RuleArn": arn}


@domain_errors
def describe_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    return rule_json(service(ctx, "DescribeRule").rule(*who(ctx), params["Name"]), describe=True)


@domain_errors
def list_rules(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    prefix = params.get("NamePrefix")
    binding = ["ListRules", *who(ctx), prefix]
    limit = limit_of(params)
    rules = service(ctx, "ListRules").list_rules(*who(ctx), prefix=prefix, after=read_token(ctx, binding, params),
                                                 limit=limit + 1)
    shown, token = page(ctx, binding, rules, limit, lambda r: r.name)
    out: dict[str, Any] = {"Rules": [rule_json(r) for r in shown]}
    if token is not None:
        out["NextToken"] = token
    return out


@domain_errors
def delete_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    service(ctx, "DeleteRule").delete_rule(*who(ctx), params["Name"], force=bool(params.get("Force")))
    return {}


@domain_errors
def enable_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    service(ctx, "EnableRule").enable_rule(*who(ctx), params["Name"])
    return {}


@domain_errors
def disable_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    service(ctx, "DisableRule").disable_rule(*who(ctx), params["Name"])
    return {}


def _failures(failures: list[Any]) -> dict[str, Any]:
    return {"FailedEntryCount": len(failures),
            "FailedEntries": [{"TargetId": f.target_id, "ErrorCode": f.code, "ErrorMessage": f.message}
                              for f in failures]}


@domain_errors
def put_targets(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    shape = target_shape()
    targets = [model_value(t, shape) for t in params["Targets"]]
    return _failures(service(ctx, "PutTargets").put_targets(*who(ctx), params["Rule"], targets))


@domain_errors
def remove_targets(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    return _failures(service(ctx, "RemoveTargets").remove_targets(*who(ctx), params["Rule"], params["Ids"]))


@domain_errors
def list_targets_by_rule(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    rule = service(ctx, "ListTargetsByRule").rule(*who(ctx), params["Rule"])
    binding = ["ListTargetsByRule", *who(ctx), rule.name]
    after = read_token(ctx, binding, params)
    ids = [t["Id"] for t in rule.targets]
    start = ids.index(after) + 1 if after in ids else 0
    limit = limit_of(params)
    shown, token = page(ctx, binding, list(rule.targets[start:]), limit, lambda t: t["Id"])
    out: dict[str, Any] = {"Targets": [dict(t) for t in shown]}
    if token is not None:
        out["NextToken"] = token
    return out


@domain_errors
def list_rule_names_by_target(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    check_bus(ctx, params.get("EventBusName"))
    arn = params["TargetArn"]
    binding = ["ListRuleNamesByTarget", *who(ctx), arn]
    limit = limit_of(params)
    names = service(ctx, "ListRuleNamesByTarget").rule_names_by_target(
        *who(ctx), arn, after=read_token(ctx, binding, params), limit=limit + 1)
    shown, token = page(ctx, binding, names, limit, lambda n: n)
    out: dict[str, Any] = {"RuleNames": shown}
    if token is not None:
        out["NextToken"] = token
    return out


def run_test_event_pattern(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """TestEventPattern: the event is read first ("Parameter Event is not valid.",
    ValidationException), then the pattern (InvalidEventPatternException with the engine's reason)."""
    from ..eventbridge.pattern import InvalidEventPattern, InvalidTestEvent, parse_pattern, parse_test_event

    try:
        event = parse_test_event(params["Event"])
    except InvalidTestEvent as exc:
        raise ValidationException(exc.message) from None
    try:
        pattern = parse_pattern(params["EventPattern"])
    except InvalidEventPattern as exc:
        raise InvalidEventPatternException(exc.message) from None
    return {"Result": bool(pattern.matches(event))}


# --- tags and the default event bus -------------------------------------------------------------


@domain_errors
def tag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    tags = {t["Key"]: t["Value"] for t in params["Tags"]}
    service(ctx, "TagResource").tag_resource(*who(ctx), params["ResourceARN"], tags)
    return {}


@domain_errors
def untag_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "UntagResource").untag_resource(*who(ctx), params["ResourceARN"], params["TagKeys"])
    return {}


@domain_errors
def list_tags_for_resource(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    tags = service(ctx, "ListTagsForResource").tags_of(*who(ctx), params["ResourceARN"])
    return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


def _default_bus(ctx: Any) -> dict[str, Any]:
    account, region = who(ctx)
    return {"Name": DEFAULT_BUS, "Arn": event_bus_arn(region, account)}


@domain_errors
def list_event_buses(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """ListEventBuses: the default event bus (the only one opentrail serves), when it fits NamePrefix."""
    service(ctx, "ListEventBuses")
    prefix = params.get("NamePrefix") or ""
    binding = ["ListEventBuses", *who(ctx), prefix]
    after = read_token(ctx, binding, params)
    buses = [_default_bus(ctx)] if DEFAULT_BUS.startswith(prefix) and DEFAULT_BUS > after else []
    return {"EventBuses": buses}


@domain_errors
def describe_event_bus(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DescribeEventBus")
    check_bus(ctx, params.get("Name"))
    return _default_bus(ctx)


#: Operation -> handler, for every implemented EventBridge operation.
EVENTS_HANDLERS: dict[str, Handler] = {
    "PutRule": put_rule,
    "DescribeRule": describe_rule,
    "ListRules": list_rules,
    "DeleteRule": delete_rule,
    "EnableRule": enable_rule,
    "DisableRule": disable_rule,
    "PutTargets": put_targets,
    "RemoveTargets": remove_targets,
    "ListTargetsByRule": list_targets_by_rule,
    "ListRuleNamesByTarget": list_rule_names_by_target,
    "TestEventPattern": run_test_event_pattern,
    "PutEvents": put_events,
    "TagResource": tag_resource,
    "UntagResource": untag_resource,
    "ListTagsForResource": list_tags_for_resource,
    "ListEventBuses": list_event_buses,
    "DescribeEventBus": describe_event_bus,
    **DESTINATION_HANDLERS,
}
