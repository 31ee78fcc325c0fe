"""CloudWatch Logs, the service behind the Logs API and the trail -> CloudWatch Logs delivery: log
groups, log streams, log events, retention, tags and metric filters, kept in ``<data-dir>/logs.db``
(:class:`opentrail.monitoring.logs_store.SqliteLogsStore`).

Catalog changes (groups, streams, retention, tags, metric filters) are *staged* inside
:meth:`LogsService.staged_changes`, as the trail service's are: the API records the call first,
then commits them (:mod:`opentrail.api.calls`). Log events are not catalog changes: PutLogEvents is
not recorded by CloudTrail, and a batch is acknowledged only once its transaction is committed.

Every ingested batch (PutLogEvents and :meth:`LogsService.append_events`) runs through the group's
metric filters after it is committed; their data points go to the injected ``metric_sink``
(:data:`opentrail.monitoring.logs_metrics.MetricSink`; None drops them). Reads live in
:mod:`.logs_reads`. Times are epoch milliseconds; ``clock`` gives epoch seconds.

Errors are :mod:`.logs_errors` (domain errors carrying the wire code and AWS's message).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable, ContextManager, Sequence

import orjson

from ..staging import Staging
from .filter_pattern import InvalidFilterPattern, compile_pattern
from .logs_errors import (NAME_TOO_LONG, InvalidParameter, LimitExceeded, LogGroupExists, LogGroupNotFound,
                          LogStreamExists, LogStreamNotFound, MetricFilterNotFound, TooManyTags, ValidationError)
from .logs_metrics import (CompiledFilter, GroupFilters, MetricBatchSink, MetricSink, check_transformation,
                           data_points)
from .logs_model import (EVENT_OVERHEAD_BYTES, MAX_AGE_MS, MAX_BATCH_BYTES, MAX_BATCH_SPAN_MS, MAX_FUTURE_MS,
                         MAX_METRIC_FILTERS, MAX_NAME_LENGTH, MAX_REGEX_PATTERNS_PER_GROUP, MAX_TAGS, RETENTION_DAYS,
                         LogGroup, LogStream, MetricFilter, MetricTransformation, Rejected)
from .logs_reads import LogsReads
from .logs_store import LOGS_DB, REPEATED, FilterRow, SqliteLogsStore

log = logging.getLogger("opentrail.logs")

DAY_MS = 86_400_000


def check_name_length(*names: str | None) -> None:
    """AWS's refusal of a log group or stream name over 512 characters."""
    if any(n is not None and len(n) > MAX_NAME_LENGTH for n in names):
        raise InvalidParameter(NAME_TOO_LONG)


def sequence_token(stream_id: int, sequence: int) -> str:
    """A stream's ``uploadSequenceToken`` / PutLogEvents ``nextSequenceToken``: 56 digits, as AWS's
    (ignored on input, as AWS now ignores it)."""
    return f"{stream_id:020d}{sequence:036d}"


def classify(events: Sequence[tuple[int, str]], now_ms: int, retention_days: int | None) -> Rejected:
    """Which events of a chronological batch PutLogEvents rejects: more than 2 hours in the future
    (from ``too_new_start`` on), older than 14 days (before ``too_old_end``), older than the group's
    retention (before ``expired_end``)."""
    too_old = now_ms - MAX_AGE_MS
    expired = now_ms - retention_days * DAY_MS if retention_days is not None else None
    too_new = now_ms + MAX_FUTURE_MS
    old_end = sum(1 for t, _ in events if t < too_old)
    expired_end = sum(1 for t, _ in events if expired is not None and t < expired)
    new_start = next((i for i, (t, _) in enumerate(events) if t > too_new), None)
    return Rejected(too_new_start=new_start, too_old_end=old_end or None,
                    expired_end=expired_end if expired_end > old_end else None)


class LogsService:
    """CloudWatch Logs over ``<data_dir>/logs.db``. ``clock`` gives epoch seconds. Metric filters'
    data points go to ``metric_batch_sink`` (all of a batch's at once; e.g.
    :func:`~opentrail.monitoring.logs_metrics.metric_store_sink`), else one by one to
    ``metric_sink``; with neither they are dropped."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time, *,
                 metric_sink: MetricSink | None = None, metric_batch_sink: MetricBatchSink | None = None,
                 scan_budget: int = 500_000) -> None:
        self._store = SqliteLogsStore(Path(data_dir) / LOGS_DB)
        self._clock = clock
        self.metric_sink = metric_sink
        self.metric_batch_sink = metric_batch_sink
        self._lock = threading.RLock()
        self._staging = Staging(self._lock)
        self._filters: dict[int, GroupFilters] = {}
        self._filters_at = self._store.filters_version()  # the filters' version _filters were compiled at
        self._filters_lock = threading.Lock()
        self.reads = LogsReads(self._store, scan_budget=scan_budget)

    def close(self) -> None:
        self._store.close()

    def now_ms(self) -> int:
        return int(self._clock() * 1000)

    # --- staging -----------------------------------------------------------------------------

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the catalog lock and stage this thread's catalog changes until the yielded
        ``commit`` writes them (:class:`opentrail.staging.Staging`)."""
        return self._staging.changes()

    def _apply(self, change: Callable[[], None]) -> None:
        self._staging.apply(change)

    # --- log groups --------------------------------------------------------------------------

    def group(self, account_id: str, region: str, name: str) -> LogGroup:
        """The log group, or :class:`LogGroupNotFound`."""
        group = self._store.group(account_id, region, name)
        if group is None:
            raise LogGroupNotFound()
        return group

    def group_exists(self, account_id: str, region: str, group_name: str) -> bool:
        """Whether the log group exists (for the trail -> CloudWatch Logs delivery)."""
        return self._store.group(account_id, region, group_name) is not None

    def create_log_group(self, account_id: str, region: str, name: str, *, tags: dict[str, str] | None = None,
                         kms_key_id: str | None = None, log_group_class: str | None = None,
                         deletion_protection: bool = False) -> None:
        """CreateLogGroup. Raises LogGroupExists, InvalidParameter. A name starting with ``aws/``
        is refused as AWS documents; that message is opentrail's (AWS's is not known)."""
        check_name_length(name)
        if name.startswith("aws/"):
            raise InvalidParameter("Log group names can't start with the string aws/.")
        if self._store.group(account_id, region, name) is not None:
            raise LogGroupExists()
        now = self.now_ms()
        self._apply(lambda: self._store.insert_group(
            account_id, region, name, now, kms_key_id=kms_key_id, log_group_class=log_group_class or "STANDARD",
            deletion_protection=deletion_protection, tags=dict(tags or {}), taken=LogGroupExists))

    def delete_log_group(self, account_id: str, region: str, name: str) -> None:
        """DeleteLogGroup, with its streams, events and metric filters. A group with deletion
        protection is refused with ValidationException (the message is opentrail's)."""
        check_name_length(name)
        group = self.group(account_id, region, name)
        if group.deletion_protection:
            raise ValidationError("Cannot delete log group with deletion protection enabled.")

        def change() -> None:
            self._store.delete_group(group.id)
            self._forget_filters(group.id)

        self._apply(change)

    def describe_log_groups(self, account_id: str, region: str, *, prefix: str | None = None,
                            contains: str | None = None, after: str = "", limit: int = 50) -> list[LogGroup]:
        """Groups sorted by name after ``after``; at most ``limit`` (one more tells the caller a
        next page exists)."""
        return self._store.groups(account_id, region, prefix=prefix, contains=contains, after=after, limit=limit)

    def put_retention_policy(self, account_id: str, region: str, name: str, days: int) -> None:
        """PutRetentionPolicy: ``days`` must be one of :data:`RETENTION_DAYS` (AWS answers with
        Coral's enum message, listed in the Days documentation)."""
        check_name_length(name)
        if days not in RETENTION_DAYS:
            raise InvalidParameter(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(str(d) for d in RETENTION_DAYS)}]")
        group = self.group(account_id, region, name)
        self._apply(lambda: self._store.set_retention(group.id, days))

    def delete_retention_policy(self, account_id: str, region: str, name: str) -> None:
        check_name_length(name)
        group = self.group(account_id, region, name)
        self._apply(lambda: self._store.set_retention(group.id, None))

    def purge_expired(self, now: float | None = None) -> int:
        """Delete the events of every group with a retention policy whose timestamp is more than
        its retention before ``now`` (epoch seconds; the clock's when None). Returns how many. AWS
        does this within 72 hours; the server runs it once an hour."""
        now_ms = int((self._clock() if now is None else now) * 1000)
        total = 0
        for group_id, days in self._store.retained_groups():
            total += self._store.purge_before(group_id, now_ms - days * DAY_MS)
        return total

    # --- tags --------------------------------------------------------------------------------

    def tag_log_group(self, account_id: str, region: str, name: str, tags: dict[str, str], *,
                      resource_api: bool = False) -> None:
        """TagLogGroup (``resource_api`` False) / TagResource: add or replace tags. More than 50 in
        all is refused with InvalidParameter, or TooManyTags for TagResource (the text is
        opentrail's; AWS's is not known)."""
        check_name_length(name)
        group = self.group(account_id, region, name)
        merged = {**group.tags, **tags}
        if len(merged) > MAX_TAGS:
            raise TooManyTags() if resource_api else InvalidParameter(TooManyTags.default_message)
        self._apply(lambda: self._store.set_tags(group.id, merged))

    def untag_log_group(self, account_id: str, region: str, name: str, keys: Sequence[str]) -> None:
        check_name_length(name)
        group = self.group(account_id, region, name)
        kept = {k: v for k, v in group.tags.items() if k not in set(keys)}
        self._apply(lambda: self._store.set_tags(group.id, kept))

    # --- log streams -------------------------------------------------------------------------

    def stream(self, group: LogGroup, name: str) -> LogStream:
        stream = self._store.stream(group.id, name)
        if stream is None:
            raise LogStreamNotFound()
        return stream

    def create_log_stream(self, account_id: str, region: str, group_name: str, name: str) -> None:
        check_name_length(group_name, name)
        group = self.group(account_id, region, group_name)
        if self._store.stream(group.id, name) is not None:
            raise LogStreamExists()
        now = self.now_ms()
        self._apply(lambda: self._store.insert_stream(group.id, name, now, taken=LogStreamExists))

    def delete_log_stream(self, account_id: str, region: str, group_name: str, name: str) -> None:
        check_name_length(group_name, name)
        group = self.group(account_id, region, group_name)
        stream = self.stream(group, name)
        self._apply(lambda: self._store.delete_stream(group.id, stream.id))

    def describe_log_streams(self, group: LogGroup, *, prefix: str | None = None, by_time: bool = False,
                             descending: bool = False, after: tuple[int, str] | None = None,
                             limit: int = 50) -> list[LogStream]:
        """DescribeLogStreams. Ordering by LastEventTime with a prefix is refused (AWS's text)."""
        if by_time and prefix is not None:
            raise InvalidParameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
        return self._store.streams(group.id, by_time=by_time, descending=descending, prefix=prefix, after=after,
                                   limit=limit)

    # --- ingestion ---------------------------------------------------------------------------

    def put_log_events(self, account_id: str, region: str, group_name: str, stream_name: str,
                       events: Sequence[tuple[int, str]]) -> tuple[str, Rejected]:
        """PutLogEvents: ``events`` ((timestamp ms, message)) as sent. Returns the next sequence
        token and what was rejected (too new, too old, older than the retention). Raises
        InvalidParameter for a batch over 1,048,576 bytes, out of chronological order, or whose
        accepted events span more than 24 hours; LogGroupNotFound, LogStreamNotFound."""
        check_name_length(group_name, stream_name)
        size = sum(len(m.encode("utf-8")) + EVENT_OVERHEAD_BYTES for _, m in events)
        if size > MAX_BATCH_BYTES:
            raise InvalidParameter(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
        if any(events[i][0] < events[i - 1][0] for i in range(1, len(events))):
            raise InvalidParameter("Log events in a single PutLogEvents request must be in chronological order.")
        group = self.group(account_id, region, group_name)
        stream = self.stream(group, stream_name)
        now = self.now_ms()
        rejected = classify(events, now, group.retention_days)
        first = max(rejected.too_old_end or 0, rejected.expired_end or 0)
        end = rejected.too_new_start if rejected.too_new_start is not None else len(events)
        accepted = list(events[first:end]) if first < end else []
        if accepted and accepted[-1][0] - accepted[0][0] > MAX_BATCH_SPAN_MS:
            raise InvalidParameter("The batch of log events in a single PutLogEvents request cannot span more than"
                                   " 24 hours.")
        sequence = stream.upload_sequence
        if accepted:
            written = self._store.append(group.id, stream.id, accepted, now, creation_ms=now)
            if written is None:
                raise LogGroupNotFound()
            sequence = written
            self._evaluate(account_id, region, group.id, accepted)
        return sequence_token(stream.id, sequence), rejected

    def append_events(self, account_id: str, region: str, group_name: str, stream_name: str,
                      events: list[tuple[int, str]], *, create_stream: bool = True,
                      batch_id: str | None = None) -> None:
        """Append ``events`` ((timestamp ms, message)) to the stream, creating it when missing
        (``create_stream``), durably, then run the group's metric filters on them. No PutLogEvents
        limits apply. ``batch_id`` makes the append idempotent: a batch id among the stream's last
        1,000 appended ones (:data:`.logs_store.KEPT_BATCH_IDS`) is ignored -- nothing appended,
        no filter run -- so a caller that crashed before noting its append can repeat it (the
        trail -> CloudWatch Logs delivery does). Raises :class:`LogGroupNotFound` (``.code``
        ResourceNotFoundException) when the group does not exist, :class:`LogStreamNotFound` when
        the stream does not and ``create_stream`` is false."""
        group = self.group(account_id, region, group_name)
        target: int | str = stream_name if create_stream else self.stream(group, stream_name).id
        if not events:
            return
        now = self.now_ms()
        written = self._store.append(group.id, target, events, now, creation_ms=now, batch_id=batch_id)
        if written is None:
            raise LogGroupNotFound()
        if written == REPEATED:
            return
        self._evaluate(account_id, region, group.id, events)

    # --- metric filters ----------------------------------------------------------------------

    def put_metric_filter(self, account_id: str, region: str, group_name: str, name: str, pattern_text: str,
                          transformation: MetricTransformation, extra: dict[str, object] | None = None) -> None:
        """PutMetricFilter: create or replace. Raises LogGroupNotFound, InvalidParameter (pattern
        or transformation), LimitExceeded (100 filters, or more than 5 regex patterns in the
        group; the texts are moto's/opentrail's)."""
        check_name_length(group_name)
        group = self.group(account_id, region, group_name)
        try:
            pattern = compile_pattern(pattern_text)
        except InvalidFilterPattern as exc:
            raise InvalidParameter(exc.message) from None
        check_transformation(pattern, transformation)
        if sum(row[2] != name for row in self._store.filters_of(group.id)) >= MAX_METRIC_FILTERS:
            raise LimitExceeded()
        others = [f for f in self._compiled(group.id).filters if f.filter.name != name]
        if pattern.regex_count and sum(f.pattern.regex_count > 0 for f in others) >= MAX_REGEX_PATTERNS_PER_GROUP:
            raise LimitExceeded("Your log group has reached the maximum of 5 filter patterns with regular expressions.")
        now = self.now_ms()
        stored = {k: v for k, v in asdict(transformation).items() if v is not None}

        def change() -> None:
            self._store.put_filter(group.id, name, pattern_text, stored, dict(extra or {}), now,
                                   limit=(MAX_METRIC_FILTERS, LimitExceeded))
            self._forget_filters(group.id)

        self._apply(change)

    def delete_metric_filter(self, account_id: str, region: str, group_name: str, name: str) -> None:
        check_name_length(group_name)
        group = self.group(account_id, region, group_name)
        if all(row[2] != name for row in self._store.filters_of(group.id)):
            raise MetricFilterNotFound()

        def change() -> None:
            self._store.delete_filter(group.id, name)
            self._forget_filters(group.id)

        self._apply(change)

    def describe_metric_filters(self, account_id: str, region: str, *, group_name: str | None = None,
                                prefix: str | None = None, metric: tuple[str, str] | None = None,
                                after: tuple[str, str] = ("", ""), limit: int = 50) -> list[MetricFilter]:
        """Filters sorted by (filter name, group name) after ``after``: of one group (with an
        optional name prefix, used only with a group, as AWS does) or of the account and Region;
        ``metric`` (name, namespace) keeps those publishing that metric."""
        group_id = None
        if group_name is not None:
            check_name_length(group_name)
            group_id = self.group(account_id, region, group_name).id
        rows = self._store.filters(account_id, region, group_id=group_id,
                                   prefix=prefix if group_id is not None else None, after=after)
        out: list[MetricFilter] = []
        for row in rows:
            f = _filter(row)
            t = f.transformation
            if metric is not None and (t.metric_name, t.metric_namespace) != metric:
                continue
            out.append(f)
            if len(out) >= limit:
                break
        return out

    def test_metric_filter(self, pattern_text: str, messages: Sequence[str]) -> list[tuple[int, str, dict[str, str]]]:
        """TestMetricFilter: (1-based event number, message, extracted values) of each matching
        message. Raises InvalidParameter for an invalid pattern."""
        try:
            pattern = compile_pattern(pattern_text)
        except InvalidFilterPattern as exc:
            raise InvalidParameter(exc.message) from None
        out = []
        for number, message in enumerate(messages, 1):
            match = pattern.match(message)
            if match is not None:
                out.append((number, message, dict(match.extracted_values)))
        return out

    def _compiled(self, group_id: int) -> GroupFilters:
        version = self._store.filters_version()  # another node may have changed them
        with self._filters_lock:
            if version != self._filters_at:
                self._filters.clear()
                self._filters_at = version
            cached = self._filters.get(group_id)
        if cached is not None:
            return cached
        compiled = []
        for row in self._store.filters_of(group_id):
            f = _filter(row)
            try:
                compiled.append(CompiledFilter(f, compile_pattern(f.pattern)))
            except InvalidFilterPattern:  # stored by an older grammar: skipped, not fatal
                log.warning("metric filter %s of log group %s has an invalid pattern; skipped", f.name, f.group_name)
        group = GroupFilters(compiled)
        with self._filters_lock:
            self._filters[group_id] = group
        return group

    def _forget_filters(self, group_id: int) -> None:
        with self._filters_lock:
            self._filters.pop(group_id, None)

    def _evaluate(self, account_id: str, region: str, group_id: int, events: Sequence[tuple[int, str]]) -> None:
        batch_sink, sink = self.metric_batch_sink, self.metric_sink
        if batch_sink is None and sink is None:
            return
        filters = self._compiled(group_id)
        if not filters:
            return
        points = data_points(filters, events)
        if not points:
            return
        try:  # the events are stored; a failing sink must not fail the ingestion
            if batch_sink is not None:
                batch_sink(account_id, region, points)
                return
            assert sink is not None
            for p in points:
                sink(account_id, region, p.namespace, p.metric_name, dict(p.dimensions), p.timestamp_s, p.value, p.unit)
        except Exception:
            log.exception("metric filter data points of log group %s could not be published", group_id)


def _filter(row: FilterRow) -> MetricFilter:
    group_id, group_name, name, pattern, transformation, extra, created = row
    t = orjson.loads(transformation)
    return MetricFilter(group_id=group_id, group_name=group_name, name=name, pattern=pattern,
                        transformation=MetricTransformation(**t), creation_ms=created, extra=orjson.loads(extra))
