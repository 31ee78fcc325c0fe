"""CloudWatch Logs resources as plain values (no I/O, no wire casing): log groups, log streams, log
events, metric filters, their ARNs, and the service's documented limits.

Times are epoch milliseconds (``*_ms``), as the Logs API counts them. Sources: the botocore model
``logs/2014-03-28`` (shapes and their documentation), the PutLogEvents and PutRetentionPolicy API
reference pages (batch limits, retention days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

#: The retention periods PutRetentionPolicy accepts (model shape ``Days``), in days.
RETENTION_DAYS: tuple[int, ...] = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                                   2192, 2557, 2922, 3288, 3653)
#: Longest log group and log stream name.
MAX_NAME_LENGTH = 512
#: PutLogEvents: at most this many bytes per batch, counting each message's UTF-8 bytes plus
#: :data:`EVENT_OVERHEAD_BYTES`.
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26
#: PutLogEvents: events further in the future are rejected (tooNewLogEventStartIndex).
MAX_FUTURE_MS = 2 * 3600 * 1000
#: PutLogEvents: events older than this are rejected (tooOldLogEventEndIndex).
MAX_AGE_MS = 14 * 86400 * 1000
#: PutLogEvents: the accepted events of one batch may span at most this long.
MAX_BATCH_SPAN_MS = 24 * 3600 * 1000
#: Metric filters per log group.
MAX_METRIC_FILTERS = 100
#: ``%regex%`` patterns per log group, over its metric (and subscription) filters.
MAX_REGEX_PATTERNS_PER_GROUP = 5
#: Dimensions per metric transformation.
MAX_DIMENSIONS = 3
#: Tags per log group.
MAX_TAGS = 50
#: A GetLogEvents/FilterLogEvents page holds at most this many bytes of events (messages' UTF-8
#: bytes plus :data:`EVENT_OVERHEAD_BYTES` each) and at most :data:`MAX_PAGE_EVENTS` events.
MAX_PAGE_BYTES = 1_048_576
MAX_PAGE_EVENTS = 10_000


def log_group_arn(region: str, account_id: str, name: str) -> str:
    """``arn:aws:logs:<region>:<account>:log-group:<name>`` (DescribeLogGroups ``logGroupArn``, the
    ``resourceArn`` of TagResource)."""
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}"


def log_stream_arn(region: str, account_id: str, group: str, stream: str) -> str:
    """``arn:aws:logs:<region>:<account>:log-group:<group>:log-stream:<stream>``."""
    return f"{log_group_arn(region, account_id, group)}:log-stream:{stream}"


@dataclass(frozen=True, slots=True)
class LogGroup:
    """One log group. ``stored_bytes`` counts the UTF-8 bytes of the messages it keeps;
    ``retention_days`` None keeps events forever."""

    id: int
    account_id: str
    region: str
    name: str
    creation_ms: int
    retention_days: int | None = None
    kms_key_id: str | None = None
    log_group_class: str = "STANDARD"
    deletion_protection: bool = False
    stored_bytes: int = 0
    metric_filter_count: int = 0
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def arn(self) -> str:
        """The ARN without ``:*`` (``logGroupArn``)."""
        return log_group_arn(self.region, self.account_id, self.name)


@dataclass(frozen=True, slots=True)
class LogStream:
    """One log stream; the event times are None until its first event. ``upload_sequence`` counts
    the batches written to it (it numbers ``uploadSequenceToken``)."""

    id: int
    group_id: int
    name: str
    creation_ms: int
    first_event_ms: int | None = None
    last_event_ms: int | None = None
    last_ingestion_ms: int | None = None
    upload_sequence: int = 0


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One stored log event: ``id`` is its position in ingestion order (unique in the data
    directory), ``timestamp_ms`` the time it happened, ``ingestion_ms`` the time it was received."""

    id: int
    stream_id: int
    timestamp_ms: int
    ingestion_ms: int
    message: str

    @property
    def key(self) -> tuple[int, int]:
        """The event's place in a stream or group: (timestamp, id)."""
        return (self.timestamp_ms, self.id)


@dataclass(frozen=True, slots=True)
class MetricTransformation:
    """How matching events become data points: ``metric_value`` is a number (``1``) or a field
    reference (``$.latency``, ``$size``, ``$7``); ``dimensions`` maps a dimension name to a field
    reference; ``default_value`` is emitted for a minute with events but no match."""

    metric_name: str
    metric_namespace: str
    metric_value: str
    default_value: float | None = None
    dimensions: Mapping[str, str] = field(default_factory=dict)
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class MetricFilter:
    """A metric filter of a log group. ``extra`` keeps the members opentrail stores but does not
    act on (``applyOnTransformedLogs``, ``fieldSelectionCriteria``, ``emitSystemFieldDimensions``)."""

    group_id: int
    group_name: str
    name: str
    pattern: str
    transformation: MetricTransformation
    creation_ms: int
    extra: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejected:
    """PutLogEvents' ``rejectedLogEventsInfo``: indexes into the batch (None: nothing rejected for
    that reason). ``too_new_start`` is inclusive, ``too_old_end`` and ``expired_end`` exclusive."""

    too_new_start: int | None = None
    too_old_end: int | None = None
    expired_end: int | None = None

    @property
    def any(self) -> bool:
        return self.too_new_start is not None or self.too_old_end is not None or self.expired_end is not None


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a read stopped: after (``forward``) or before the event at ``key`` (timestamp, id)."""

    forward: bool
    key: tuple[int, int]
