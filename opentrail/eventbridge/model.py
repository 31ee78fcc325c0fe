"""The shapes the EventBridge control plane (rules, targets, connections, API destinations, kept by
:class:`RuleCatalog`) hands to the data plane (the bus and the target dispatchers).

Field names follow ``botocore/data/events/2015-10-07`` (PutRule, PutTargets, CreateConnection,
CreateApiDestination); values are already validated and defaulted as EventBridge does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol

#: EventBridge's defaults for a target's RetryPolicy (API Reference, "RetryPolicy").
DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE_S = 86400
#: The only event bus opentrail serves (custom buses answer ResourceNotFoundException).
DEFAULT_BUS = "default"
#: Rule states (model enum ``RuleState``).
ENABLED = "ENABLED"
DISABLED = "DISABLED"
ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@dataclass(frozen=True, slots=True)
class TargetConfig:
    """One target of a rule (model shape ``Target``). ``arn`` is an SQS queue, SNS topic, API
    destination (``arn:aws:events:<region>:<account>:api-destination/<name>/<uuid>``) or
    opentrail's own local targets (``arn:opentrail:file:::<path>``, ``arn:opentrail:command:::<name>``).
    ``input`` / ``input_path`` / ``input_transformer`` (``{"InputPathsMap": {...}, "InputTemplate":
    "..."}``) at most one set; ``http_parameters`` is the model's ``HttpParameters``;
    ``dead_letter_arn`` an SQS queue ARN or None; ``raw`` the Target as PutTargets gave it (what
    ListTargetsByRule answers)."""

    id: str
    arn: str
    input: str | None = None
    input_path: str | None = None
    input_transformer: Mapping[str, Any] | None = None
    http_parameters: Mapping[str, Any] | None = None
    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAXIMUM_EVENT_AGE_S
    dead_letter_arn: str | None = None
    sqs_message_group_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RuleConfig:
    """One rule on an account's default event bus in one Region. ``event_pattern`` is the pattern's
    JSON text (None for a schedule-only rule); ``since_seq`` the newest event-log seq when the rule
    was created or last enabled (the bus gives it only events after that)."""

    arn: str
    name: str
    account_id: str
    region: str
    state: str
    event_pattern: str | None
    targets: tuple[TargetConfig, ...] = ()
    event_bus_name: str = DEFAULT_BUS
    schedule_expression: str | None = None
    since_seq: int = 0

    @property
    def enabled(self) -> bool:
        return self.state != DISABLED

    @property
    def all_management_events(self) -> bool:
        """True when the rule also takes read-only management events
        (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS)."""
        return self.state == ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS


@dataclass(frozen=True, slots=True)
class ApiDestinationConfig:
    """An API destination (CreateApiDestination): where and how to call, and at most
    ``rate_limit_per_s`` invocations per second (EventBridge's default 300)."""

    arn: str
    name: str
    connection_arn: str
    invocation_endpoint: str
    http_method: str
    rate_limit_per_s: int = 300


@dataclass(frozen=True, slots=True)
class ConnectionAuth:
    """A connection's authorization, decrypted (never logged, never answered):
    ``authorization_type`` BASIC (``basic`` = (username, password)), API_KEY (``api_key`` =
    (header name, value)) or OAUTH_CLIENT_CREDENTIALS (``oauth`` = the OAuthParameters with the
    client secret); ``http_parameters`` the connection's InvocationHttpParameters
    (HeaderParameters / QueryStringParameters / BodyParameters lists of {Key, Value, IsValueSecret})."""

    arn: str
    authorization_type: str
    basic: tuple[str, str] | None = None
    api_key: tuple[str, str] | None = None
    oauth: Mapping[str, Any] | None = None
    http_parameters: Mapping[str, Any] | None = None


class RuleCatalog(Protocol):
    """What the data plane reads from the control plane. ``version`` changes whenever a rule,
    target, connection or API destination changes (the bus reloads its compiled rule set then)."""

    @property
    def version(self) -> int: ...

    def rules(self) -> list[RuleConfig]:
        """Every rule of every account and Region, with its targets."""
        ...

    def api_destination(self, arn: str) -> ApiDestinationConfig | None: ...

    def connection_auth(self, arn: str) -> ConnectionAuth | None: ...


class EventBus(Protocol):
    """What the control plane hands custom events to (PutEvents)."""

    def put_events(self, account_id: str, region: str, events: list[dict[str, Any]]) -> list[str]:
        """Make ``events`` (complete envelopes: version, id, detail-type, source, account, time,
        region, resources, detail) durable on the default bus; returns their ids. Raises
        :class:`opentrail.store.errors.DataDirectoryFullError` when they cannot be stored."""
        ...
