"""The resource ARNs one API call is about, as IAM policies see them: built from the request
parameters, the caller's account and signing Region, per the Service Authorization Reference
("Resource types defined by ..." of CloudTrail, CloudWatch Logs, CloudWatch, EventBridge,
Organizations, STS and IAM).

:func:`resource_arns` takes a :class:`~opentrail.api.services.Service` and its operation and reads
the resource type from the service's ``resources`` table (``trail``, ``log-group``, ``a|b`` for an
action authorized on whichever of those the request names, ``named`` for the ARN the request
gives, ``*`` for none). The answer is a tuple of ARNs (all must be allowed), ``("*",)`` when the
action has no resource type, the parameter naming the resource is absent, or the type is unknown
here (so a policy naming specific resources does not match, a ``"Resource": "*"`` one does).

ARN forms (``<r>`` the signing Region, ``<a>`` the caller's account):

- CloudTrail ``arn:aws:cloudtrail:<r>:<a>:trail/<name>`` (a ``Name``/``TrailName`` that is already
  an ARN is used as is, also for another account), ``eventdatastore/<id>``, ``channel/<id>``,
  ``dashboard/<name>``; for a resource being created whose id is not known yet (CreateEventDataStore,
  CreateChannel) ``eventdatastore/*`` / ``channel/*``; StartQuery's event data stores are the ids
  and ARNs after ``FROM``/``JOIN`` in the statement.
- CloudWatch Logs ``arn:aws:logs:<r>:<a>:log-group:<name>:log-stream:`` for log-group actions and
  ``...:log-group:<name>:log-stream:<stream>`` for log-stream ones: the form AWS names in its
  denials ("... not authorized to perform: logs:CreateLogGroup on resource:
  arn:aws:logs:eu-central-1:...:log-group:/aws/lambda/x:log-stream: because ...", quoted in
  elastic/apm-aws-lambda#526), which ``log-group:<name>:*`` policies match; ``destination:<n>``,
  ``delivery-source:<n>``, ``delivery-destination:<n>``, ``delivery:<id>``.
- CloudWatch ``arn:aws:cloudwatch:<r>:<a>:alarm:<name>``, ``arn:aws:cloudwatch::<a>:dashboard/<n>``,
  ``insight-rule/<n>``, ``metric-stream/<n>``.
- EventBridge ``arn:aws:events:<r>:<a>:rule/<name>`` (default bus) or ``rule/<bus>/<name>``,
  ``event-bus/<name>`` (``default`` when the bus is not named; PutEvents: each entry's bus),
  ``connection/<n>``, ``api-destination/<n>``, ``archive/<n>``, ``replay/<n>``, ``endpoint/<n>``,
  ``arn:aws:events:<r>::event-source/<n>``.
- Organizations: the organization's own ARNs (:class:`opentrail.organizations.model.Organization`)
  for the accounts, roots, OUs and policies the request names, when the caller's account is in an
  organization (``*`` otherwise, and for handshakes, resource policies and transfers).
- STS: ``RoleArn`` as given; AssumeRoot ``arn:aws:iam::<TargetPrincipal>:root``; GetFederationToken
  ``arn:aws:sts::<a>:federated-user/<Name>``.
- IAM: ``arn:aws:iam::<a>:user<path><name>`` (the user's path from the IAM directory, else the
  request's ``Path``, else ``/``; no ``UserName``: the calling user, as IAM acts on the caller),
  ``role<path><name>``, ``group<path><name>``, ``policy<path><name>`` (or ``PolicyArn``),
  ``instance-profile<path><name>``, the provider ARNs as given.

:func:`resource_account` is the account an ARN names (for cross-account decisions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

__all__ = ["Scope", "resource_arns", "resource_account", "request_tags"]

ANY = ("*",)


@dataclass(frozen=True)
class Scope:
    """What ARNs are built from besides the parameters: the caller's ``account`` and signing
    ``region``; ``organization`` (the caller's :class:`opentrail.organizations.model.Organization`
    or None); ``iam`` (an :class:`opentrail.iam.model.IamDirectory` or None), for users' and
    roles' paths; ``caller_user`` the calling IAM user's ARN (None for root and sessions)."""

    account: str
    region: str
    organization: Any = None
    iam: Any = None
    caller_user: str | None = None


Params = Mapping[str, Any]
Builder = Callable[[Scope, Params], "tuple[str, ...] | None"]


def _strs(params: Params, *names: str) -> list[str]:
    """The non-empty string values of the first of ``names`` present (a string or a list)."""
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and value:
            return [value]
        if isinstance(value, list):
            found = [v for v in value if isinstance(v, str) and v]
            if found:
                return found
    return []


def _named(prefix: str, *names: str) -> Builder:
    """ARNs ``<prefix><value>`` for each value of the first of ``names`` present; a value that is
    already an ARN is kept."""

    def build(scope: Scope, params: Params) -> tuple[str, ...] | None:
        values = _strs(params, *names)
        if not values:
            return None
        base = prefix.format(r=scope.region, a=scope.account)
        return tuple(v if v.startswith("arn:") else base + v for v in values)

    return build


def _fixed(arn: str) -> Builder:
    return lambda scope, params: (arn.format(r=scope.region, a=scope.account),)


def _first(*builders: Builder) -> Builder:
    def build(scope: Scope, params: Params) -> tuple[str, ...] | None:
        for b in builders:
            found = b(scope, params)
            if found:
                return found
        return None

    return build


# --- CloudTrail ------------------------------------------------------------------------------------

_CT = "arn:aws:cloudtrail:{r}:{a}:"
_FROM = re.compile(r"\b(?:FROM|JOIN)\s+[\"`]?([A-Za-z0-9:/_.-]+)", re.IGNORECASE)


def _query_stores(scope: Scope, params: Params) -> tuple[str, ...] | None:
    statement = params.get("QueryStatement")
    if not isinstance(statement, str):
        return None
    found = [m.group(1) for m in _FROM.finditer(statement)]
    base = _CT.format(r=scope.region, a=scope.account) + "eventdatastore/"
    return tuple(dict.fromkeys(v if v.startswith("arn:") else base + v for v in found)) or None


_CLOUDTRAIL: dict[str, Builder] = {
    "trail": _named(_CT + "trail/", "Name", "TrailName", "InsightSource"),
    "eventdatastore": _first(_named(_CT + "eventdatastore/", "EventDataStore", "EventDataStores"), _query_stores),
    "channel": _named(_CT + "channel/", "Channel"),
    "dashboard": _named(_CT + "dashboard/", "DashboardId"),
    "named": _named("", "ResourceArn", "ResourceId", "ResourceIdList"),
}
#: Creations whose resource id is made by the service: any resource of the type.
_CLOUDTRAIL_CREATE: dict[str, Builder] = {
    "CreateEventDataStore": _fixed(_CT + "eventdatastore/*"),
    "CreateChannel": _fixed(_CT + "channel/*"),
    "CreateDashboard": _named(_CT + "dashboard/", "Name"),
}

# --- CloudWatch Logs -------------------------------------------------------------------------------

_LOGS = "arn:aws:logs:{r}:{a}:"
_LOG_GROUP_ARN = re.compile(r"^arn:([^:]*):logs:([^:]*):([^:]*):log-group:([^:]+)(?::.*)?$")
_GROUP_PARAMS = ("logGroupIdentifier", "logGroupName", "logGroupIdentifiers", "logGroupNames", "logGroupArnList",
                 "filterLogGroupArn", "resourceIdentifier")


def _log_group_arns(scope: Scope, params: Params) -> list[tuple[str, str]]:
    """(``arn:aws:logs:<r>:<a>:log-group:<name>``, name) of every log group the request names."""
    out = []
    for v in _strs(params, *_GROUP_PARAMS):
        m = _LOG_GROUP_ARN.match(v)
        if m:
            out.append((f"arn:{m.group(1)}:logs:{m.group(2)}:{m.group(3)}:log-group:{m.group(4)}", m.group(4)))
        elif not v.startswith("arn:"):
            out.append((_LOGS.format(r=scope.region, a=scope.account) + "log-group:" + v, v))
    return out


def _log_group(scope: Scope, params: Params) -> tuple[str, ...] | None:
    return tuple(arn + ":log-stream:" for arn, _ in _log_group_arns(scope, params)) or None


def _log_stream(scope: Scope, params: Params) -> tuple[str, ...] | None:
    groups = _log_group_arns(scope, params)
    streams = _strs(params, "logStreamName")
    if not groups:
        return None
    return tuple(f"{arn}:log-stream:{s}" for arn, _ in groups for s in (streams or [""]))


_LOGS_TYPES: dict[str, Builder] = {
    "log-group": _log_group,
    "log-stream": _log_stream,
    "destination": _named(_LOGS + "destination:", "destinationName"),
    "delivery-source": _named(_LOGS + "delivery-source:", "name"),
    "delivery-destination": _named(_LOGS + "delivery-destination:", "deliveryDestinationName", "name", "names"),
    "delivery": _named(_LOGS + "delivery:", "id"),
    "anomaly-detector": _named("", "anomalyDetectorArn"),
    "named": _named("", "resourceArn"),
}
_LOGS_OPS: dict[str, Builder] = {
    # a delivery's source is named by the request; its id is made by the service
    "CreateDelivery": _named(_LOGS + "delivery-source:", "deliverySourceName"),
}

# --- CloudWatch ------------------------------------------------------------------------------------

_CW = "arn:aws:cloudwatch:{r}:{a}:"
_MONITORING: dict[str, Builder] = {
    "alarm": _named(_CW + "alarm:", "AlarmName", "AlarmNames"),
    "dashboard": _named("arn:aws:cloudwatch::{a}:dashboard/", "DashboardName", "DashboardNames"),
    "insight-rule": _named(_CW + "insight-rule/", "RuleName", "RuleNames"),
    "metric-stream": _named(_CW + "metric-stream/", "Name", "Names"),
    "named": _named("", "ResourceARN"),
}

# --- EventBridge -----------------------------------------------------------------------------------

_EV = "arn:aws:events:{r}:{a}:"


def _bus_name(value: Any) -> str:
    """The bus name of an ``EventBusName`` value (a name or an ARN); ``default`` when absent."""
    if not isinstance(value, str) or not value:
        return "default"
    if value.startswith("arn:") and "event-bus/" in value:
        return value.split("event-bus/", 1)[1]
    return value


def _bus_arn(scope: Scope, value: Any) -> str:
    if isinstance(value, str) and value.startswith("arn:"):
        return value
    return _EV.format(r=scope.region, a=scope.account) + "event-bus/" + _bus_name(value)


def _rule(scope: Scope, params: Params) -> tuple[str, ...] | None:
    names = _strs(params, "Name", "Rule")
    if not names:
        return None
    bus = _bus_name(params.get("EventBusName"))
    base = _EV.format(r=scope.region, a=scope.account) + "rule/" + ("" if bus == "default" else bus + "/")
    return tuple(base + n for n in names)


def _event_bus(scope: Scope, params: Params) -> tuple[str, ...] | None:
    entries = params.get("Entries")
    if isinstance(entries, list):
        buses = [_bus_arn(scope, e.get("EventBusName")) for e in entries if isinstance(e, dict)]
        return tuple(dict.fromkeys(buses)) or None
    return (_bus_arn(scope, params.get("Name", params.get("EventBusName"))),)


_EVENTS: dict[str, Builder] = {
    "rule": _rule,
    "event-bus": _event_bus,
    "connection": _named(_EV + "connection/", "Name"),
    "api-destination": _named(_EV + "api-destination/", "Name"),
    "archive": _first(_named(_EV + "archive/", "ArchiveName"), _named("", "EventSourceArn")),
    "replay": _named(_EV + "replay/", "ReplayName"),
    "endpoint": _named(_EV + "endpoint/", "Name"),
    "event-source": _named("arn:aws:events:{r}::event-source/", "Name", "EventSourceName"),
    "named": _named("", "ResourceARN"),
}

# --- Organizations ---------------------------------------------------------------------------------

_ORG_ID_PARAMS = ("PolicyId", "AccountId", "TargetId", "ParentId", "RootId", "OrganizationalUnitId", "ChildId",
                  "SourceParentId", "DestinationParentId", "ResourceId")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


def _org_arn(org: Any, ident: str) -> str | None:
    if ident.startswith("r-"):
        return f"arn:aws:organizations::{org.management_account_id}:root/{org.id}/{ident}"
    if ident.startswith("ou-"):
        return str(org.ou_arn(ident))
    if ident.startswith("p-"):
        return str(org.policy_arn(ident))
    if _ACCOUNT_ID.match(ident):
        return str(org.account_arn(ident))
    return None


def _organizations(scope: Scope, params: Params) -> tuple[str, ...] | None:
    org = scope.organization
    if org is None:
        return None
    idents = [params[n] for n in _ORG_ID_PARAMS if isinstance(params.get(n), str)]
    target = params.get("Target")
    if isinstance(target, dict) and target.get("Type") == "ACCOUNT" and isinstance(target.get("Id"), str):
        idents.append(target["Id"])
    arns = [a for a in (_org_arn(org, i) for i in idents) if a]
    return tuple(dict.fromkeys(arns)) or None


# --- STS -------------------------------------------------------------------------------------------

_STS: dict[str, Builder] = {
    "role": _named("", "RoleArn"),
    "root": _named("arn:aws:iam::", "TargetPrincipal"),
    "user": _named("arn:aws:sts::{a}:federated-user/", "Name"),
}


def _root_arn(scope: Scope, params: Params) -> tuple[str, ...] | None:
    found = _STS["root"](scope, params)
    return tuple(a if a.endswith(":root") else a + ":root" for a in found) if found else None


# --- IAM -------------------------------------------------------------------------------------------

_IAM = "arn:aws:iam::{a}:"


def _path(params: Params) -> str:
    path = params.get("Path")
    return path if isinstance(path, str) and path.startswith("/") and path.endswith("/") else "/"


def _iam_user(scope: Scope, params: Params) -> tuple[str, ...] | None:
    names = _strs(params, "UserName")
    if not names:
        return (scope.caller_user,) if scope.caller_user else None
    out = []
    for name in names:
        user = scope.iam.get_user(scope.account, name) if scope.iam is not None else None
        out.append(user.arn if user is not None else f"arn:aws:iam::{scope.account}:user{_path(params)}{name}")
    return tuple(out)


def _iam_role(scope: Scope, params: Params) -> tuple[str, ...] | None:
    names = _strs(params, "RoleName")
    if not names:
        return None
    out = []
    for name in names:
        role = scope.iam.get_role(scope.account, name) if scope.iam is not None else None
        out.append(role.arn if role is not None else f"arn:aws:iam::{scope.account}:role{_path(params)}{name}")
    return tuple(out)


def _iam_pathed(kind: str, param: str) -> Builder:
    def build(scope: Scope, params: Params) -> tuple[str, ...] | None:
        names = _strs(params, param)
        return tuple(f"arn:aws:iam::{scope.account}:{kind}{_path(params)}{n}" for n in names) or None

    return build


_IAM_TYPES: dict[str, Builder] = {
    "user": _iam_user,
    "role": _iam_role,
    "group": _iam_pathed("group", "GroupName"),
    "policy": _first(_named("", "PolicyArn"), _iam_pathed("policy", "PolicyName")),
    "instance-profile": _iam_pathed("instance-profile", "InstanceProfileName"),
    "oidc-provider": _named("", "OpenIDConnectProviderArn"),
    "saml-provider": _named("", "SAMLProviderArn"),
    "mfa": _first(_named(_IAM + "mfa/", "VirtualMFADeviceName"), _named("", "SerialNumber")),
    "server-certificate": _iam_pathed("server-certificate", "ServerCertificateName"),
}

#: IAM prefix -> resource type -> builder.
TYPES: dict[str, dict[str, Builder]] = {
    "cloudtrail": _CLOUDTRAIL,
    "logs": _LOGS_TYPES,
    "cloudwatch": _MONITORING,
    "events": _EVENTS,
    "sts": {**_STS, "root": _root_arn},
    "iam": _IAM_TYPES,
    "cloudtrail-data": {"channel": _named("", "channelArn")},
}
#: IAM prefix -> operation -> builder, where the operation's parameters differ from its type's.
OPERATIONS: dict[str, dict[str, Builder]] = {"cloudtrail": _CLOUDTRAIL_CREATE, "logs": _LOGS_OPS}


def resource_arns(service: Any, operation: str, params: Params | None, scope: Scope) -> tuple[str, ...]:
    """The ARNs ``operation`` of ``service`` (a :class:`~opentrail.api.services.Service`) acts on,
    for ``params`` (the decoded request); ``("*",)`` when none applies (see the module docstring)."""
    rtype = service.resources.get(operation, "*")
    if rtype == "*":
        return ANY
    params = params or {}
    prefix = service.iam_prefix
    if prefix == "organizations":
        return _organizations(scope, params) or ANY
    special = OPERATIONS.get(prefix, {}).get(operation)
    if special is not None:
        return special(scope, params) or ANY
    types = TYPES.get(prefix, {})
    for part in rtype.split("|"):
        builder = types.get(part)
        found = builder(scope, params) if builder is not None else None
        if found:
            return found
    return ANY


def resource_account(arns: Iterable[str]) -> str | None:
    """The account the first ARN with an account field names (``arn:aws:<svc>:<region>:<account>:...``),
    or None (``*``, ARNs without an account)."""
    for arn in arns:
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[4] and parts[4] != "aws":
            return parts[4]
    return None


def request_tags(params: Params | None) -> dict[str, Any]:
    """``aws:RequestTag/<key>`` and ``aws:TagKeys`` of a request that carries tags: ``Tags`` /
    ``TagsList`` / ``tags`` as ``[{"Key", "Value"}]`` or ``{key: value}``; ``TagKeys`` /
    ``tagKeys`` (untag operations) give ``aws:TagKeys`` only. {} when the request has none."""
    if not params:
        return {}
    out: dict[str, Any] = {}
    keys: list[str] = []
    for name in ("Tags", "TagsList", "tags"):
        value = params.get(name)
        if isinstance(value, dict):
            pairs = [(k, v) for k, v in value.items() if isinstance(k, str) and isinstance(v, str)]
        elif isinstance(value, list):
            pairs = [(t.get("Key"), t.get("Value", "")) for t in value if isinstance(t, dict)]
            pairs = [(k, v) for k, v in pairs if isinstance(k, str) and isinstance(v, str)]
        else:
            continue
        for k, v in pairs:
            out[f"aws:RequestTag/{k}"] = v
            keys.append(k)
    for name in ("TagKeys", "tagKeys"):
        value = params.get(name)
        if isinstance(value, list):
            keys.extend(k for k in value if isinstance(k, str))
    if keys:
        out["aws:TagKeys"] = list(dict.fromkeys(keys))
    return out
