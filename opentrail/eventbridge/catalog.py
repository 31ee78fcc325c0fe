"""The EventBridge control plane's resources as plain values (no I/O): rules with their targets,
connections (their public part) and API destinations, their ARNs and EventBridge's documented
quotas. Times are epoch seconds.

Targets, connection auth parameters and HTTP parameters are kept as the API gives them (member
names of ``botocore/data/events/2015-10-07``), as :mod:`.model` does for the data plane.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .model import DEFAULT_BUS

#: Targets per rule (PutTargets: "Each rule can have up to five (5) targets").
MAX_TARGETS_PER_RULE = 5
#: Rules per event bus (EventBridge quotas: 300, adjustable on AWS).
MAX_RULES_PER_BUS = 300
#: Tags per resource (TagResource: "as many as 50 tags").
MAX_TAGS = 50
#: API destinations' InvocationRateLimitPerSecond when not given.
DEFAULT_RATE_LIMIT_PER_S = 300
#: Connection states (model enum ``ConnectionState``) opentrail uses.
AUTHORIZED = "AUTHORIZED"
AUTHORIZING = "AUTHORIZING"
DELETING = "DELETING"
#: Connection authorization types (model enum ``ConnectionAuthorizationType``).
BASIC, API_KEY, OAUTH = "BASIC", "API_KEY", "OAUTH_CLIENT_CREDENTIALS"


def rule_arn(region: str, account_id: str, name: str) -> str:
    """``arn:aws:events:<region>:<account>:rule/<name>`` (a rule of the default event bus)."""
    return f"arn:aws:events:{region}:{account_id}:rule/{name}"


def event_bus_arn(region: str, account_id: str, name: str = DEFAULT_BUS) -> str:
    """``arn:aws:events:<region>:<account>:event-bus/<name>``."""
    return f"arn:aws:events:{region}:{account_id}:event-bus/{name}"


def connection_arn(region: str, account_id: str, name: str, uuid: str) -> str:
    """``arn:aws:events:<region>:<account>:connection/<name>/<uuid>``."""
    return f"arn:aws:events:{region}:{account_id}:connection/{name}/{uuid}"


def api_destination_arn(region: str, account_id: str, name: str, uuid: str) -> str:
    """``arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>``."""
    return f"arn:aws:events:{region}:{account_id}:api-destination/{name}/{uuid}"


def secret_arn(region: str, account_id: str, name: str, secret_id: str) -> str:
    """The Secrets Manager ARN form AWS gives a connection's secret:
    ``arn:aws:secretsmanager:<region>:<account>:secret:events!connection/<name>/<uuid>-<6 chars>``
    (``secret_id`` is ``<uuid>-<6 chars>``). opentrail keeps the secret itself (:mod:`.secrets`)."""
    return f"arn:aws:secretsmanager:{region}:{account_id}:secret:events!connection/{name}/{secret_id}"


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule of an account's default event bus in one Region (DescribeRule's fields), with its
    targets (each the Target object PutTargets gave, in the order they were first put)."""

    account_id: str
    region: str
    name: str
    state: str
    event_pattern: str | None
    schedule_expression: str | None
    description: str | None
    role_arn: str | None
    created_by: str
    since_seq: int
    tags: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[Mapping[str, Any], ...] = ()

    @property
    def arn(self) -> str:
        return rule_arn(self.region, self.account_id, self.name)


@dataclass(frozen=True, slots=True)
class Connection:
    """A connection as DescribeConnection shows it: ``auth_parameters`` without its secrets
    (:func:`opentrail.eventbridge.connections.public_parameters`)."""

    account_id: str
    region: str
    name: str
    uuid: str
    authorization_type: str
    state: str
    description: str | None
    auth_parameters: Mapping[str, Any]
    secret_id: str
    creation_s: float
    modified_s: float
    authorized_s: float

    @property
    def arn(self) -> str:
        return connection_arn(self.region, self.account_id, self.name, self.uuid)

    @property
    def secret_arn(self) -> str:
        return secret_arn(self.region, self.account_id, self.name, self.secret_id)


@dataclass(frozen=True, slots=True)
class ApiDestination:
    """An API destination (DescribeApiDestination's fields)."""

    account_id: str
    region: str
    name: str
    uuid: str
    connection_arn: str
    invocation_endpoint: str
    http_method: str
    rate_limit_per_s: int
    description: str | None
    creation_s: float
    modified_s: float

    @property
    def arn(self) -> str:
        return api_destination_arn(self.region, self.account_id, self.name, self.uuid)


@dataclass(frozen=True, slots=True)
class TargetFailure:
    """One FailedEntries item of PutTargets / RemoveTargets."""

    target_id: str
    code: str
    message: str
