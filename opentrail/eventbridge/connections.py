"""A connection's authorization parameters (CreateConnection / UpdateConnection ``AuthParameters``,
model member names): which are required for each authorization type, how an update merges into
what is kept, the public part DescribeConnection shows and the decrypted
:class:`~opentrail.eventbridge.model.ConnectionAuth` the dispatchers use.

Secret: ``BasicAuthParameters.Password``, ``ApiKeyAuthParameters.ApiKeyValue``,
``OAuthParameters.ClientParameters.ClientSecret`` and the ``Value`` of every HTTP parameter (invocation
or OAuth) with ``IsValueSecret: true``. The whole parameter set is sealed (:mod:`.secrets`); the
public part keeps everything else. Refusals answer ValidationException with opentrail's text (AWS's
is not documented).
"""

from __future__ import annotations

import copy
from typing import Any, Mapping

from .catalog import API_KEY, BASIC, OAUTH
from .errors import ValidationError
from .model import ConnectionAuth

#: Authorization type -> its member of AuthParameters and that member's required fields.
_TYPE_PARAMETERS: dict[str, tuple[str, tuple[str, ...]]] = {
    BASIC: ("BasicAuthParameters", ("Username", "Password")),
    API_KEY: ("ApiKeyAuthParameters", ("ApiKeyName", "ApiKeyValue")),
    OAUTH: ("OAuthParameters", ("ClientParameters", "AuthorizationEndpoint", "HttpMethod")),
}
_HTTP_LISTS = ("HeaderParameters", "QueryStringParameters", "BodyParameters")


def _refuse_private(params: Mapping[str, Any]) -> None:
    if params.get("ConnectivityParameters") is not None:
        raise ValidationError("opentrail does not support private connections (ConnectivityParameters): "
                              "API destinations call public or --webhook-allow endpoints only.")


def _check_complete(authorization_type: str, params: Mapping[str, Any]) -> None:
    member, required = _TYPE_PARAMETERS[authorization_type]
    others = [m for t, (m, _) in _TYPE_PARAMETERS.items() if t != authorization_type and params.get(m) is not None]
    if others:
        raise ValidationError(f"AuthParameters for a {authorization_type} connection cannot contain {others[0]}.")
    given = params.get(member)
    missing = [f for f in required if not isinstance(given, Mapping) or given.get(f) is None]
    client = given.get("ClientParameters") if isinstance(given, Mapping) else None
    if authorization_type == OAUTH and isinstance(client, Mapping):
        missing += [f"ClientParameters.{f}" for f in ("ClientID", "ClientSecret") if client.get(f) is None]
    if missing:
        raise ValidationError(f"{member}.{missing[0]} must be specified for the {authorization_type} "
                              "authorization type.")


def new_parameters(authorization_type: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The full parameter set of CreateConnection, after checking that ``params`` holds exactly the
    member of ``authorization_type`` with its required fields. Raises ValidationError."""
    _refuse_private(params)
    _check_complete(authorization_type, params)
    member, _ = _TYPE_PARAMETERS[authorization_type]
    out: dict[str, Any] = {member: copy.deepcopy(dict(params[member]))}
    if params.get("InvocationHttpParameters") is not None:
        out["InvocationHttpParameters"] = copy.deepcopy(dict(params["InvocationHttpParameters"]))
    return out


def updated_parameters(current_type: str, current: Mapping[str, Any], new_type: str | None,
                       update: Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(authorization type, full parameter set) after UpdateConnection: with a new authorization
    type the update must hold that type's complete member; with the same one the given fields
    replace the kept ones (a username alone keeps the password). ``InvocationHttpParameters`` and
    ``OAuthHttpParameters``, when given, replace the kept lists. Raises ValidationError."""
    update = update or {}
    _refuse_private(update)
    kind = new_type or current_type
    if kind != current_type:
        return kind, new_parameters(kind, update)
    member, _ = _TYPE_PARAMETERS[kind]
    others = [m for t, (m, _) in _TYPE_PARAMETERS.items() if t != kind and update.get(m) is not None]
    if others:
        raise ValidationError(f"AuthParameters for a {kind} connection cannot contain {others[0]}.")
    out = copy.deepcopy(dict(current))
    given = update.get(member)
    if isinstance(given, Mapping):
        merged = dict(out.get(member) or {})
        for key, value in given.items():
            if key == "ClientParameters" and isinstance(value, Mapping):
                merged[key] = {**dict(merged.get(key) or {}), **copy.deepcopy(dict(value))}
            elif value is not None:
                merged[key] = copy.deepcopy(value)
        out[member] = merged
    if update.get("InvocationHttpParameters") is not None:
        out["InvocationHttpParameters"] = copy.deepcopy(dict(update["InvocationHttpParameters"]))
    _check_complete(kind, out)  # a connection whose secrets were lost must be given them again
    return kind, out


def _public_http(params: Mapping[str, Any]) -> dict[str, Any]:
    """HTTP parameters without the values marked ``IsValueSecret``."""
    out: dict[str, Any] = {}
    for name in _HTTP_LISTS:
        if params.get(name) is None:
            continue
        out[name] = [{k: v for k, v in item.items() if not (k == "Value" and item.get("IsValueSecret"))}
                     for item in params[name]]
    return out


def public_parameters(full: Mapping[str, Any]) -> dict[str, Any]:
    """The parameter set as DescribeConnection answers it (``ConnectionAuthResponseParameters``):
    the username, API key name, OAuth client ID, endpoint and method, and HTTP parameters whose values
    are not secret."""
    out: dict[str, Any] = {}
    if "BasicAuthParameters" in full:
        out["BasicAuthParameters"] = {"Username": full["BasicAuthParameters"].get("Username")}
    if "ApiKeyAuthParameters" in full:
        out["ApiKeyAuthParameters"] = {"ApiKeyName": full["ApiKeyAuthParameters"].get("ApiKeyName")}
    if "OAuthParameters" in full:
        oauth = full["OAuthParameters"]
        client_id = (oauth.get("ClientParameters") or {}).get("ClientID")
        shown: dict[str, Any] = {"ClientParameters": {"ClientID": client_id},
                                 "AuthorizationEndpoint": oauth.get("AuthorizationEndpoint"),
                                 "HttpMethod": oauth.get("HttpMethod")}
        if oauth.get("OAuthHttpParameters") is not None:
            shown["OAuthHttpParameters"] = _public_http(oauth["OAuthHttpParameters"])
        out["OAuthParameters"] = shown
    if full.get("InvocationHttpParameters") is not None:
        out["InvocationHttpParameters"] = _public_http(full["InvocationHttpParameters"])
    return out


def endpoints(full: Mapping[str, Any]) -> list[str]:
    """The URLs the connection makes opentrail call besides its API destinations (the OAuth
    authorization endpoint)."""
    oauth = full.get("OAuthParameters")
    return [oauth["AuthorizationEndpoint"]] if isinstance(oauth, Mapping) and oauth.get("AuthorizationEndpoint") else []


def connection_auth(arn: str, authorization_type: str, full: Mapping[str, Any]) -> ConnectionAuth:
    """The decrypted :class:`ConnectionAuth` of a full parameter set."""
    basic = full.get("BasicAuthParameters")
    api_key = full.get("ApiKeyAuthParameters")
    return ConnectionAuth(
        arn=arn, authorization_type=authorization_type,
        basic=(basic["Username"], basic["Password"]) if authorization_type == BASIC and basic else None,
        api_key=(api_key["ApiKeyName"], api_key["ApiKeyValue"]) if authorization_type == API_KEY and api_key else None,
        oauth=full.get("OAuthParameters") if authorization_type == OAUTH else None,
        http_parameters=full.get("InvocationHttpParameters"))
