"""The one settings table: every server setting has a CLI flag and exactly one environment twin.

``opentrail serve --help`` is generated from :data:`SETTINGS`, and docs/configuration.md lists
every entry (a test checks that it does). Settings are read once at start-up into a
:class:`Settings` value and passed down; nothing reads the environment later.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    """One row: attribute ``name``, CLI ``flag``, environment twin ``env``, ``default``, ``type``
    (int, float, str or Path) and a one-line ``help``."""

    name: str
    flag: str
    env: str
    default: Any
    type: type
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("host", "--host", "OPENTRAIL_HOST", "127.0.0.1", str, "Address to listen on."),
    Setting("port", "--port", "OPENTRAIL_PORT", 4588, int, "TCP port to listen on."),
    Setting(
        "data_dir",
        "--data-dir",
        "OPENTRAIL_DATA_DIR",
        Path("opentrail-data"),
        Path,
        "Directory holding the event store, accounts and credentials (created if missing).",
    ),
    Setting(
        "database_url",
        "--database-url",
        "OPENTRAIL_DATABASE_URL",
        "",
        str,
        "PostgreSQL URL (postgresql://user@host:5432/db) holding the event store and every state store, shared"
        " by several nodes; empty: SQLite files under --data-dir.",
    ),
    Setting(
        "lease_ttl_s",
        "--lease-ttl-s",
        "OPENTRAIL_LEASE_TTL_S",
        10.0,
        float,
        "With --database-url: seconds a node holds the lease on a kind of background work (delivery, Lake,"
        " Insights, rules...) without renewing it (renewed every third of it): a dead node's work moves to"
        " another node within this time.",
    ),
    Setting(
        "min_free_bytes",
        "--min-free-bytes",
        "OPENTRAIL_MIN_FREE_BYTES",
        64 * 1024 * 1024,
        int,
        "Least free space on the data directory's filesystem, in bytes: below it serve refuses to start"
        " and health reports the data directory full.",
    ),
    Setting(
        "event_history_retention_days",
        "--event-history-retention-days",
        "OPENTRAIL_EVENT_HISTORY_RETENTION_DAYS",
        90,
        int,
        "Days of event history kept, from the later of eventTime and when opentrail received the event; 0 keeps events forever.",
    ),
    Setting(
        "lookup_events_rate_limit_per_s",
        "--lookup-events-rate-limit-per-s",
        "OPENTRAIL_LOOKUP_EVENTS_RATE_LIMIT_PER_S",
        0.0,
        float,
        "LookupEvents requests per second per account and Region (AWS: 2); 0 turns the limit off.",
    ),
    Setting(
        "max_request_bytes",
        "--max-request-bytes",
        "OPENTRAIL_MAX_REQUEST_BYTES",
        8 * 1024 * 1024,
        int,
        "Largest request body accepted, in bytes; larger ones get an AWS-style 413 error.",
    ),
    Setting(
        "s3_endpoint_url",
        "--s3-endpoint-url",
        "OPENTRAIL_S3_ENDPOINT_URL",
        "",
        str,
        "S3-compatible endpoint holding trail buckets (AWS credential chain); empty: folders under <data-dir>/buckets.",
    ),
    Setting(
        "sns_endpoint_url",
        "--sns-endpoint-url",
        "OPENTRAIL_SNS_ENDPOINT_URL",
        "",
        str,
        "SNS-compatible endpoint for trail notifications, alarm actions and EventBridge rule targets"
        " (AWS credential chain); empty: AWS SNS.",
    ),
    Setting(
        "sqs_endpoint_url",
        "--sqs-endpoint-url",
        "OPENTRAIL_SQS_ENDPOINT_URL",
        "",
        str,
        "SQS-compatible endpoint for EventBridge rule targets and dead-letter queues (AWS credential chain); empty: AWS SQS.",
    ),
    Setting(
        "webhook_allow",
        "--webhook-allow",
        "OPENTRAIL_WEBHOOK_ALLOW",
        "loopback",
        str,
        "Hosts EventBridge API destinations may call, comma-separated: host names (*.example.com), IP"
        " addresses or CIDR blocks, 'loopback', 'private' or '*'; default loopback only.",
    ),
    Setting(
        "file_targets_dir",
        "--file-targets-dir",
        "OPENTRAIL_FILE_TARGETS_DIR",
        "",
        str,
        "Folder EventBridge file targets (arn:opentrail:file:::<path>) write in; empty: <data-dir>/targets.",
    ),
    Setting(
        "command_targets_dir",
        "--command-targets-dir",
        "OPENTRAIL_COMMAND_TARGETS_DIR",
        "",
        str,
        "Folder holding the programs EventBridge command targets (arn:opentrail:command:::<program>) may run;"
        " empty: command targets are refused.",
    ),
    Setting(
        "rules_max_event_age_s",
        "--rules-max-event-age-s",
        "OPENTRAIL_RULES_MAX_EVENT_AGE_S",
        3600.0,
        float,
        "EventBridge rules skip CloudTrail events whose eventTime is more than this many seconds older than"
        " when opentrail received them (imported history); 0 sends every event to the rules.",
    ),
    Setting(
        "destination_connect_timeout_s",
        "--destination-connect-timeout-s",
        "OPENTRAIL_DESTINATION_CONNECT_TIMEOUT_S",
        5.0,
        float,
        "Seconds to wait for a connection to the S3, SNS and SQS endpoints and EventBridge API destinations"
        " (delivery, digests, notifications, rule targets).",
    ),
    Setting(
        "destination_read_timeout_s",
        "--destination-read-timeout-s",
        "OPENTRAIL_DESTINATION_READ_TIMEOUT_S",
        30.0,
        float,
        "Seconds to wait for the S3, SNS or SQS endpoint to answer a request (an EventBridge API destination:"
        " at most 5); then it fails (RequestTimeout) and is retried.",
    ),
    Setting(
        "delivery_interval_s",
        "--delivery-interval-s",
        "OPENTRAIL_DELIVERY_INTERVAL_S",
        2.0,
        float,
        "Seconds a trail's oldest undelivered event waits before its log file is written, or its batch is sent to the trail's CloudWatch Logs log group (AWS: about 300).",
    ),
    Setting(
        "digest_interval_s",
        "--digest-interval-s",
        "OPENTRAIL_DIGEST_INTERVAL_S",
        3600.0,
        float,
        "Seconds covered by each digest file of a trail with log file validation (AWS: 3600).",
    ),
    Setting(
        "digest_key_rotation_days",
        "--digest-key-rotation-days",
        "OPENTRAIL_DIGEST_KEY_ROTATION_DAYS",
        30.0,
        float,
        "Days each Region's digest signing key is valid before it is replaced (AWS: 30).",
    ),
    Setting(
        "max_concurrent_queries",
        "--max-concurrent-queries",
        "OPENTRAIL_MAX_CONCURRENT_QUERIES",
        10,
        int,
        "Lake queries an account may have queued or running at once; one more gets MaxConcurrentQueriesException (AWS: 10).",
    ),
    Setting(
        "query_timeout_s",
        "--query-timeout-s",
        "OPENTRAIL_QUERY_TIMEOUT_S",
        3600.0,
        float,
        "Seconds a Lake query may run before it ends TIMED_OUT with the rows it had (AWS: about 3600).",
    ),
    Setting(
        "lake_query_memory_mb",
        "--lake-query-memory-mb",
        "OPENTRAIL_LAKE_QUERY_MEMORY_MB",
        2048,
        int,
        "Memory one Lake query may hold, in MiB; the rest of its work (large joins, aggregations, sorts) spills to disk under `<data-dir>/lake-results/.spill`; 0: DuckDB's default, 80% of the machine's memory.",
    ),
    Setting(
        "lake_storage_url",
        "--lake-storage-url",
        "OPENTRAIL_LAKE_STORAGE_URL",
        "",
        str,
        "Where the event data stores' Parquet files are: a folder (empty: <data-dir>/lake) or s3://bucket/prefix on --s3-endpoint-url (AWS S3 when empty), with local copies in <data-dir>/lake-cache.",
    ),
    Setting(
        "lake_cache_size_mb",
        "--lake-cache-size-mb",
        "OPENTRAIL_LAKE_CACHE_SIZE_MB",
        10240,
        int,
        "Most MiB of Parquet files kept in <data-dir>/lake-cache with an s3:// --lake-storage-url (least recently used deleted first; files running queries read stay).",
    ),
    Setting(
        "lake_ingest_interval_s",
        "--lake-ingest-interval-s",
        "OPENTRAIL_LAKE_INGEST_INTERVAL_S",
        1.0,
        float,
        "Seconds the oldest event not yet in its event data stores' files waits before they are written.",
    ),
    Setting(
        "iam_enforcement",
        "--iam-enforcement",
        "OPENTRAIL_IAM_ENFORCEMENT",
        "enforce",
        str,
        "IAM policy evaluation on every API call: 'enforce' denies what policies do not allow; 'log-only'"
        " logs would-be denials as warnings and lets the calls through.",
    ),
    Setting(
        "log_level",
        "--log-level",
        "OPENTRAIL_LOG_LEVEL",
        "info",
        str,
        "Server log level: debug, info, warning or error.",
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings (see :data:`SETTINGS` for meaning and units)."""

    host: str = "127.0.0.1"
    port: int = 4588
    data_dir: Path = Path("opentrail-data")
    database_url: str = ""
    lease_ttl_s: float = 10.0
    min_free_bytes: int = 64 * 1024 * 1024
    event_history_retention_days: int = 90
    lookup_events_rate_limit_per_s: float = 0.0
    max_request_bytes: int = 8 * 1024 * 1024
    s3_endpoint_url: str = ""
    sns_endpoint_url: str = ""
    sqs_endpoint_url: str = ""
    webhook_allow: str = "loopback"
    file_targets_dir: str = ""
    command_targets_dir: str = ""
    rules_max_event_age_s: float = 3600.0
    destination_connect_timeout_s: float = 5.0
    destination_read_timeout_s: float = 30.0
    delivery_interval_s: float = 2.0
    digest_interval_s: float = 3600.0
    digest_key_rotation_days: float = 30.0
    max_concurrent_queries: int = 10
    query_timeout_s: float = 3600.0
    lake_query_memory_mb: int = 2048
    lake_storage_url: str = ""
    lake_cache_size_mb: int = 10240
    lake_ingest_interval_s: float = 1.0
    iam_enforcement: str = "enforce"
    log_level: str = "info"

    @classmethod
    def from_values(cls, **values: Any) -> "Settings":
        """Build from keyword values; unknown names raise TypeError, None means the default."""
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        return cls(**{k: v for k, v in values.items() if v is not None})


def _check_table() -> None:
    names = [s.name for s in SETTINGS]
    assert names == [f.name for f in fields(Settings)], "SETTINGS and Settings disagree"
    for s in SETTINGS:
        assert getattr(Settings(), s.name) == s.default, s.name


_check_table()
