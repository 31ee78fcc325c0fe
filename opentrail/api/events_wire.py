"""What the EventBridge handlers share: the caller's account and Region, the rules service of the
context, the one edge where domain errors become wire errors, the event bus a request names (only
``default`` is served), NextTokens under the server's key, and the JSON shapes of rules,
connections and API destinations (botocore model ``events/2015-10-07``: ``Rule``,
``DescribeRuleResponse``, ``Connection``, ``DescribeConnectionResponse``, ``ApiDestination``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..eventbridge.catalog import ApiDestination, Connection, Rule, event_bus_arn
from ..eventbridge.errors import NotFound
from ..eventbridge.model import DEFAULT_BUS
from .errors import AwsError
from .events_errors import WIRE_ERRORS, ValidationException
from .logs_tokens import seal, unseal
from .model import input_shape
from .services import Handler, context_part
from .wire_common import domain_errors_as, integer, token_key

#: Page size of the List operations when ``Limit`` is not given (their maximum).
DEFAULT_LIMIT = 100
INVALID_TOKEN = "The NextToken provided is not valid."


#: ``handler`` with EventBridge domain errors answered as the wire errors of their code.
domain_errors = domain_errors_as(WIRE_ERRORS)


def service(ctx: Any, operation: str) -> Any:
    """``ctx.eventbridge`` (the :class:`~opentrail.eventbridge.rules_service.RulesService`), or
    UnknownOperationException naming ``operation`` when the server runs without it."""
    return context_part(ctx, "eventbridge", operation)


def check_bus(ctx: Any, name: str | None) -> None:
    """The ``EventBusName`` of a request: absent, ``default`` or the default bus's ARN; any other
    bus answers ResourceNotFoundException "Event bus x does not exist." (opentrail serves only the
    default event bus)."""
    if name is None or name == DEFAULT_BUS or name == event_bus_arn(ctx.caller.region, ctx.caller.account_id):
        return
    raise NotFound.event_bus(name.rsplit("event-bus/", 1)[-1] if name.startswith("arn:") else name)


def limit_of(params: dict[str, Any]) -> int:
    return integer(params, "Limit") or DEFAULT_LIMIT


def make_token(ctx: Any, binding: list[Any], after: str) -> str:
    """An opaque NextToken holding the last name answered, valid for the same request for 24 h."""
    return seal(token_key(ctx), binding, after, int(ctx.clock() * 1000))


def read_token(ctx: Any, binding: list[Any], params: dict[str, Any]) -> str:
    """The name to list after (``""`` without a token); ValidationException for a token that was not
    made for this request (the text is opentrail's)."""
    token = params.get("NextToken")
    if token is None:
        return ""
    try:
        after = unseal(token_key(ctx), binding, token, int(ctx.clock() * 1000))
    except AwsError:
        raise ValidationException(INVALID_TOKEN) from None
    if not isinstance(after, str):
        raise ValidationException(INVALID_TOKEN)
    return after


def page(ctx: Any, binding: list[Any], items: list[Any], limit: int,
         name: Callable[[Any], str]) -> tuple[list[Any], str | None]:
    """The first ``limit`` of ``items`` (fetched with one more) and the NextToken when more follow."""
    if len(items) > limit:
        return items[:limit], make_token(ctx, binding, name(items[limit - 1]))
    return items, None


def model_value(value: Any, shape: Any) -> Any:
    """``value`` with only the members its botocore ``shape`` knows and integers truncated, as
    EventBridge keeps a Target (unknown members are ignored by AWS)."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        return {k: model_value(v, shape.members[k]) for k, v in value.items() if k in shape.members and v is not None}
    if kind == "list" and isinstance(value, list):
        return [model_value(v, shape.member) for v in value]
    if kind == "map" and isinstance(value, dict):
        return {k: model_value(v, shape.value) for k, v in value.items()}
    if kind in ("integer", "long") and isinstance(value, float):
        return math.floor(value)
    return value


def target_shape() -> Any:
    """The model's ``Target`` structure."""
    return input_shape("PutTargets", "events").members["Targets"].member


def without_none(out: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in out.items() if v is not None}


def rule_json(rule: Rule, *, describe: bool = False) -> dict[str, Any]:
    """A ``Rule`` as ListRules answers it; with ``describe`` DescribeRule's answer (CreatedBy too)."""
    out = without_none({"Name": rule.name, "Arn": rule.arn, "EventPattern": rule.event_pattern, "State": rule.state,
                        "Description": rule.description, "ScheduleExpression": rule.schedule_expression,
                        "RoleArn": rule.role_arn, "EventBusName": DEFAULT_BUS})
    if describe:
        out["CreatedBy"] = rule.created_by
    return out


def connection_json(connection: Connection, *, describe: bool = False) -> dict[str, Any]:
    """A ``Connection`` as ListConnections answers it; with ``describe`` DescribeConnection's answer
    (description, SecretArn and the public AuthParameters; never a secret)."""
    out: dict[str, Any] = {"ConnectionArn": connection.arn, "Name": connection.name,
                           "ConnectionState": connection.state, "AuthorizationType": connection.authorization_type,
                           "CreationTime": connection.creation_s, "LastModifiedTime": connection.modified_s,
                           "LastAuthorizedTime": connection.authorized_s}
    if describe:
        if connection.description is not None:
            out["Description"] = connection.description
        out["SecretArn"] = connection.secret_arn
        out["AuthParameters"] = dict(connection.auth_parameters)
    return out


def destination_json(destination: ApiDestination, *, describe: bool = False) -> dict[str, Any]:
    """An ``ApiDestination`` as ListApiDestinations answers it; with ``describe`` DescribeApiDestination's."""
    out: dict[str, Any] = {"ApiDestinationArn": destination.arn, "Name": destination.name,
                           "ApiDestinationState": "ACTIVE", "ConnectionArn": destination.connection_arn,
                           "InvocationEndpoint": destination.invocation_endpoint,
                           "HttpMethod": destination.http_method,
                           "InvocationRateLimitPerSecond": destination.rate_limit_per_s,
                           "CreationTime": destination.creation_s, "LastModifiedTime": destination.modified_s}
    if describe and destination.description is not None:
        out["Description"] = destination.description
    return out
