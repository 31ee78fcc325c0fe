"""EventBridge connections and API destinations (:data:`DESTINATION_HANDLERS`): CreateConnection,
DescribeConnection, ListConnections, UpdateConnection, DeleteConnection and the same five for API
destinations. Secrets are never answered (:mod:`opentrail.eventbridge.destinations_service`).

CreateConnection and UpdateConnection answer ``ConnectionState`` AUTHORIZED for API_KEY and BASIC
connections and AUTHORIZING for OAUTH_CLIENT_CREDENTIALS ones (as AWS does while it fetches a token);
DeleteConnection answers DELETING. ``KmsKeyIdentifier`` is accepted and not used (secrets are sealed
under opentrail's own key); private connectivity (``InvocationConnectivityParameters``) is refused.
"""

from __future__ import annotations

from typing import Any

from ..eventbridge.catalog import AUTHORIZING, DELETING, OAUTH
from .events_errors import ValidationException
from .events_wire import Handler, connection_json, destination_json, domain_errors, limit_of, page, read_token, service
from .wire_common import integer, who


def _state_answer(connection: Any) -> dict[str, Any]:
    state = AUTHORIZING if connection.authorization_type == OAUTH else connection.state
    return {"ConnectionArn": connection.arn, "ConnectionState": state, "CreationTime": connection.creation_s,
            "LastModifiedTime": connection.modified_s}


def _refuse_private(params: dict[str, Any]) -> None:
    if params.get("InvocationConnectivityParameters") is not None:
        raise ValidationException("opentrail does not support private connections "
                                  "(InvocationConnectivityParameters).")


@domain_errors
def create_connection(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _refuse_private(params)
    connection = service(ctx, "CreateConnection").create_connection(
        *who(ctx), params["Name"], params["AuthorizationType"], params["AuthParameters"],
        description=params.get("Description"))
    return _state_answer(connection)


@domain_errors
def describe_connection(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return connection_json(service(ctx, "DescribeConnection").connection(*who(ctx), params["Name"]), describe=True)


@domain_errors
def list_connections(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    prefix, state = params.get("NamePrefix"), params.get("ConnectionState")
    binding = ["ListConnections", *who(ctx), prefix, state]
    limit = limit_of(params)
    found = service(ctx, "ListConnections").list_connections(
        *who(ctx), prefix=prefix, state=state, after=read_token(ctx, binding, params), limit=limit + 1)
    shown, token = page(ctx, binding, found, limit, lambda c: c.name)
    out: dict[str, Any] = {"Connections": [connection_json(c) for c in shown]}
    if token is not None:
        out["NextToken"] = token
    return out


@domain_errors
def update_connection(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    _refuse_private(params)
    connection = service(ctx, "UpdateConnection").update_connection(
        *who(ctx), params["Name"], authorization_type=params.get("AuthorizationType"),
        auth_parameters=params.get("AuthParameters"), description=params.get("Description"))
    return {**_state_answer(connection), "LastAuthorizedTime": connection.authorized_s}


@domain_errors
def delete_connection(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    connection = service(ctx, "DeleteConnection").delete_connection(*who(ctx), params["Name"])
    return {"ConnectionArn": connection.arn, "ConnectionState": DELETING, "CreationTime": connection.creation_s,
            "LastModifiedTime": connection.modified_s, "LastAuthorizedTime": connection.authorized_s}


def _destination_answer(destination: Any) -> dict[str, Any]:
    return {"ApiDestinationArn": destination.arn, "ApiDestinationState": "ACTIVE",
            "CreationTime": destination.creation_s, "LastModifiedTime": destination.modified_s}


@domain_errors
def create_api_destination(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    destination = service(ctx, "CreateApiDestination").create_api_destination(
        *who(ctx), params["Name"], connection_arn=params["ConnectionArn"],
        invocation_endpoint=params["InvocationEndpoint"], http_method=params["HttpMethod"],
        rate_limit_per_s=integer(params, "InvocationRateLimitPerSecond"), description=params.get("Description"))
    return _destination_answer(destination)


@domain_errors
def describe_api_destination(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    destination = service(ctx, "DescribeApiDestination").api_destination_named(*who(ctx), params["Name"])
    return destination_json(destination, describe=True)


@domain_errors
def list_api_destinations(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    prefix, connection = params.get("NamePrefix"), params.get("ConnectionArn")
    binding = ["ListApiDestinations", *who(ctx), prefix, connection]
    limit = limit_of(params)
    found = service(ctx, "ListApiDestinations").list_api_destinations(
        *who(ctx), prefix=prefix, connection_arn=connection, after=read_token(ctx, binding, params), limit=limit + 1)
    shown, token = page(ctx, binding, found, limit, lambda d: d.name)
    out: dict[str, Any] = {"ApiDestinations": [destination_json(d) for d in shown]}
    if token is not None:
        out["NextToken"] = token
    return out


@domain_errors
def update_api_destination(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    destination = service(ctx, "UpdateApiDestination").update_api_destination(
        *who(ctx), params["Name"], connection_arn=params.get("ConnectionArn"),
        invocation_endpoint=params.get("InvocationEndpoint"), http_method=params.get("HttpMethod"),
        rate_limit_per_s=integer(params, "InvocationRateLimitPerSecond"), description=params.get("Description"))
    return _destination_answer(destination)


@domain_errors
def delete_api_destination(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    service(ctx, "DeleteApiDestination").delete_api_destination(*who(ctx), params["Name"])
    return {}


#: Operation -> handler, for the connection and API destination operations.
DESTINATION_HANDLERS: dict[str, Handler] = {
    "CreateConnection": create_connection,
    "DescribeConnection": describe_connection,
    "ListConnections": list_connections,
    "UpdateConnection": update_connection,
    "DeleteConnection": delete_connection,
    "CreateApiDestination": create_api_destination,
    "DescribeApiDestination": describe_api_destination,
    "ListApiDestinations": list_api_destinations,
    "UpdateApiDestination": update_api_destination,
    "DeleteApiDestination": delete_api_destination,
}
