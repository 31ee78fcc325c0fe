"""Trails and selectors as plain typed values: no I/O, no wire casing.

Shapes mirror the botocore model (``Trail``, ``EventSelector``, ``DataResource``,
``AdvancedEventSelector``, ``AdvancedFieldSelector``, ``InsightSelector``, ``Tag``) in snake_case.
Times are epoch seconds (float). A :class:`Trail` is immutable; the service replaces it on change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: ``EventSelector.ReadWriteType`` values.
READ_WRITE_TYPES: tuple[str, ...] = ("ReadOnly", "WriteOnly", "All")
#: ``InsightSelector.InsightType`` values.
INSIGHT_TYPES: tuple[str, ...] = ("ApiCallRateInsight", "ApiErrorRateInsight")
#: ``InsightSelector.EventCategories`` values.
INSIGHT_EVENT_CATEGORIES: tuple[str, ...] = ("Management", "Data")


@dataclass(frozen=True, slots=True)
class DataResource:
    """``{Type, Values}``: a resource type (``AWS::S3::Object``...) and ARN prefixes."""

    type: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class EventSelector:
    """A basic event selector; the defaults are the selector AWS reports for a new trail."""

    read_write_type: str = "All"
    include_management_events: bool = True
    data_resources: tuple[DataResource, ...] = ()
    exclude_management_event_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AdvancedFieldSelector:
    """One condition set on a record field; each operator holds values (empty = not given)."""

    field: str
    equals: tuple[str, ...] = ()
    starts_with: tuple[str, ...] = ()
    ends_with: tuple[str, ...] = ()
    not_equals: tuple[str, ...] = ()
    not_starts_with: tuple[str, ...] = ()
    not_ends_with: tuple[str, ...] = ()

    def value_count(self) -> int:
        """Number of values over all operators (AWS counts these against the 500 limit)."""
        return sum(len(v) for v in (self.equals, self.starts_with, self.ends_with, self.not_equals,
                                    self.not_starts_with, self.not_ends_with))


@dataclass(frozen=True, slots=True)
class AdvancedEventSelector:
    """``{Name?, FieldSelectors}``: an event matches when it satisfies every field selector."""

    field_selectors: tuple[AdvancedFieldSelector, ...]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class InsightSelector:
    """``{InsightType, EventCategories?}`` (None = not given: management events)."""

    insight_type: str
    event_categories: tuple[str, ...] | None = None


def sns_topic_arn(name: str, region: str, account_id: str) -> str:
    """The ARN of SnsTopicName ``name`` for a trail of ``account_id`` in ``region``: ``name`` itself
    when it is an ARN, else ``arn:aws:sns:<region>:<account>:<name>``."""
    if name.startswith("arn:"):
        return name
    return f"arn:aws:sns:{region}:{account_id}:{name}"


@dataclass(frozen=True, slots=True)
class TrailSelectors:
    """What a trail selects: basic selectors, advanced selectors, or neither (= the default: every
    read and write management event). At most one of the two is set."""

    event_selectors: tuple[EventSelector, ...] | None = None
    advanced_event_selectors: tuple[AdvancedEventSelector, ...] | None = None


#: The selector AWS reports (and applies) for a trail that never had PutEventSelectors.
DEFAULT_EVENT_SELECTORS: tuple[EventSelector, ...] = (EventSelector(),)


@dataclass(frozen=True, slots=True)
class TrailStatus:
    """GetTrailStatus facts. Logging times are set by Start/StopLogging; delivery and notification
    facts are written by delivery through :meth:`TrailService.record_delivery` and friends (None until
    something happened)."""

    is_logging: bool = False
    start_logging_time: float | None = None
    stop_logging_time: float | None = None
    latest_delivery_time: float | None = None
    latest_delivery_error: str | None = None
    latest_delivery_attempt_time: float | None = None
    latest_delivery_attempt_succeeded: float | None = None
    latest_notification_time: float | None = None
    latest_notification_error: str | None = None
    latest_notification_attempt_time: float | None = None
    latest_notification_attempt_succeeded: float | None = None
    latest_digest_delivery_time: float | None = None
    latest_digest_delivery_error: str | None = None
    latest_cloudwatch_logs_delivery_time: float | None = None
    latest_cloudwatch_logs_delivery_error: str | None = None


def trail_arn(region: str, account_id: str, name: str) -> str:
    """``arn:aws:cloudtrail:<region>:<account>:trail/<name>``."""
    return f"arn:aws:cloudtrail:{region}:{account_id}:trail/{name}"


@dataclass(frozen=True, slots=True)
class Trail:
    """A trail of ``account_id`` created in ``home_region``. ``tags`` keep insertion order."""

    account_id: str
    home_region: str
    name: str
    s3_bucket_name: str
    s3_key_prefix: str | None = None
    sns_topic_name: str | None = None
    include_global_service_events: bool = True
    is_multi_region_trail: bool = False
    log_file_validation_enabled: bool = False
    cloud_watch_logs_log_group_arn: str | None = None
    cloud_watch_logs_role_arn: str | None = None
    kms_key_id: str | None = None
    is_organization_trail: bool = False
    selectors: TrailSelectors = field(default_factory=TrailSelectors)
    has_custom_event_selectors: bool = False
    insight_selectors: tuple[InsightSelector, ...] = ()
    tags: tuple[tuple[str, str | None], ...] = ()
    status: TrailStatus = field(default_factory=TrailStatus)
    created_time: float = 0.0

    @property
    def arn(self) -> str:
        return trail_arn(self.home_region, self.account_id, self.name)

    @property
    def sns_topic_arn(self) -> str | None:
        """The topic's ARN in the home Region (SnsTopicName may already be an ARN)."""
        if not self.sns_topic_name:
            return None
        return sns_topic_arn(self.sns_topic_name, self.home_region, self.account_id)

    @property
    def event_selectors(self) -> tuple[EventSelector, ...] | None:
        """The basic selectors in force (the default one when none were put), or None when the
        trail uses advanced selectors."""
        if self.selectors.advanced_event_selectors is not None:
            return None
        return self.selectors.event_selectors if self.selectors.event_selectors is not None else DEFAULT_EVENT_SELECTORS

    def visible_in(self, region: str) -> bool:
        """True when the trail exists in ``region``: its home, or any Region for a multi-Region
        trail (a shadow trail)."""
        return self.home_region == region or self.is_multi_region_trail
