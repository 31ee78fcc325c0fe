"""The appending half of the trail -> CloudWatch Logs delivery: planned batches
(:class:`~.cloudwatch_logs_state.LogPlan`) appended to their log groups in order per (trail,
Region), retried with backoff, reported in GetTrailStatus, and forgotten once appended.

- :meth:`LogBatchAppender.add` takes a committed plan (with its records, or None: rebuilt from the
  event store when due). The reading thread adds; the appending thread (or a test's
  :meth:`~.cloudwatch_logs.CloudWatchLogsWorker.step`) runs :meth:`LogBatchAppender.append_due`.
- Each append passes the plan's ``batch_id``; a round appends at most
  :data:`MAX_APPENDS_PER_ROUND` plans per (trail, Region) and then deletes the appended plans in
  one transaction, so after a crash at most that many are repeated, each recognised by the log
  store (which remembers a stream's last 1,000 batch ids).
- A failure (``ResourceNotFoundException`` for a deleted log group, or the log store failing) is
  retried for that (trail, Region) with backoff 1, 2, 4 ... ``max_backoff_s`` seconds, later plans
  waiting behind it; the trail's LatestCloudWatchLogsDeliveryError is the error's ``code``
  (:func:`error_code`), and the next success sets LatestCloudWatchLogsDeliveryTime and clears it
  (each written at most once a second per trail while nothing changes). A failing plan that is
  no longer wanted (``still_wanted``: its trail deleted, or sending elsewhere) is dropped with a
  warning.
"""

from __future__ import annotations

import bisect
import logging
import threading
from collections import deque
from typing import Callable, Protocol

from ..store.base import EventStore
from ..trails.names import parse_log_group_arn
from ..trails.service import TrailService
from .cloudwatch_logs_state import CloudWatchLogsState, LogPlan

log = logging.getLogger(__name__)

#: Plans appended per (trail, Region) per round at most (the log store remembers a stream's last
#: 1,000 batch ids: opentrail.monitoring.logs_store.KEPT_BATCH_IDS).
MAX_APPENDS_PER_ROUND = 100
#: Least clock seconds between two writes of the same status to a trail.
STATUS_EVERY_S = 1.0
#: LatestCloudWatchLogsDeliveryError for a failure without a CloudWatch Logs error code.
UNAVAILABLE = "ServiceUnavailableException"


class LogEventAppender(Protocol):
    """Where log events go (:class:`opentrail.monitoring.logs.LogsService`)."""

    def append_events(self, account_id: str, region: str, group_name: str, stream_name: str,
                      events: list[tuple[int, str]], *, create_stream: bool = True,
                      batch_id: str | None = None) -> None:
        """Append ``events`` ((timestamp ms, message), in order) to the stream, creating it when
        missing; a ``batch_id`` already appended is ignored. Raises an exception whose ``code`` is
        ``ResourceNotFoundException`` when the log group does not exist."""
        ...


def error_code(exc: BaseException) -> str:
    """LatestCloudWatchLogsDeliveryError for ``exc``: its ``code`` (the CloudWatch Logs error code,
    e.g. ``ResourceNotFoundException``), else :data:`UNAVAILABLE`."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, str) and code else UNAVAILABLE


class LogBatchAppender:
    """Appends the plans handed to it (see the module docstring); thread-safe between one adding
    and one appending thread. ``clock`` is not read: each round is given ``now``."""

    def __init__(self, store: EventStore, trails: TrailService, logs: LogEventAppender, state: CloudWatchLogsState,
                 *, still_wanted: Callable[[LogPlan], bool], max_backoff_s: float = 30.0,
                 owns: Callable[[str], bool] | None = None) -> None:
        self._store, self._trails, self._logs, self._state = store, trails, logs, state
        self._still_wanted, self._max_backoff_s = still_wanted, max_backoff_s
        self._lock = threading.Lock()  # guards _pending and _records
        self._pending: dict[tuple[str, str], deque[LogPlan]] = {}
        self._records: dict[int, list[bytes]] = {}
        self._failures: dict[tuple[str, str], int] = {}
        self._next_attempt: dict[tuple[str, str], float] = {}
        self._reported: dict[str, tuple[float, str | None]] = {}
        #: Events held in memory for plans not yet appended.
        self.buffered = 0
        for plan in state.pending_plans():
            if owns is None or owns(plan.arn):  # else another shard's (opentrail.shards)
                self.add(plan, None)

    def failing(self, key: tuple[str, str]) -> bool:
        """True while the (trail, Region) ``key`` has a failing append."""
        return key in self._failures

    def pending(self) -> int:
        """Plans not yet appended."""
        with self._lock:
            return sum(len(q) for q in self._pending.values())

    def add(self, plan: LogPlan, records: list[bytes] | None) -> None:
        """Queue a committed ``plan`` behind the earlier ones of its (trail, Region); ``records``
        are its events' bytes (None: read from the event store when due)."""
        with self._lock:
            if records is not None:
                self._records[plan.id] = records
                self.buffered += len(records)
            self._pending.setdefault((plan.arn, plan.region), deque()).append(plan)

    def _take_records(self, plan: LogPlan) -> list[bytes]:
        with self._lock:
            records = self._records.pop(plan.id, None)
            if records is not None:
                self.buffered -= len(records)
        return self._rebuild(plan) if records is None else records

    def _rebuild(self, plan: LogPlan) -> list[bytes]:
        records: list[bytes] = []
        for first, last in plan.runs:
            cursor = first - 1
            while cursor < last:
                chunk = self._store.read_columns(cursor, min(last - cursor, 10_000))
                if not chunk:
                    break
                records.extend(chunk.records[: bisect.bisect_right(chunk.seqs, last)])
                cursor = chunk.seqs[-1]
        if len(records) != plan.count:
            log.warning("CloudWatch Logs batch %s: %d of %d events still in the store", plan.batch_id, len(records),
                        plan.count)
        return records

    def append_due(self, now: float) -> bool:
        """Append the due plans in order per (trail, Region), then forget the appended ones.
        Returns True when due plans were left for the next round (:data:`MAX_APPENDS_PER_ROUND`)."""
        done: list[LogPlan] = []
        more = False
        with self._lock:
            queues = list(self._pending.items())
        for key, queue in queues:
            if self._next_attempt.get(key, float("-inf")) > now:
                continue
            appended = 0
            while queue:
                if appended == MAX_APPENDS_PER_ROUND:
                    more = True
                    break
                appended += 1
                plan = queue[0]
                error = self._append(plan, now)
                if error is None:
                    self._forget_failure(key)
                    self._report(plan.arn, now, None)
                elif self._still_wanted(plan):
                    failures = self._failures[key] = self._failures.get(key, 0) + 1
                    self._next_attempt[key] = now + min(self._max_backoff_s, 2.0 ** (failures - 1))
                    self._report(plan.arn, now, error)
                    break
                else:
                    log.warning("dropping CloudWatch Logs batch %s of trail %s (%d events): %s, and its trail no "
                                "longer sends to %s", plan.batch_id, plan.arn, plan.count, error, plan.group_arn)
                    self._forget_failure(key)
                done.append(plan)
                queue.popleft()
            with self._lock:
                if not queue and self._pending.get(key) is queue:
                    del self._pending[key]
        self._state.finish_plans(done)
        return more

    def _append(self, plan: LogPlan, now: float) -> str | None:
        """Append ``plan`` now, stamped ``now``; the error code when it failed, else None."""
        records = self._take_records(plan)
        timestamp_ms = int(now * 1000)
        events = [(timestamp_ms, r.decode("utf-8", "replace")) for r in records]
        try:
            group = parse_log_group_arn(plan.group_arn)
            self._logs.append_events(group.account_id, group.region, group.name, plan.stream, events,
                                     batch_id=plan.batch_id)
        except Exception as exc:
            log.warning("CloudWatch Logs delivery of trail %s to %s failed: %s", plan.arn, plan.group_arn, exc)
            return error_code(exc)
        return None

    def _forget_failure(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)
        self._next_attempt.pop(key, None)

    def _report(self, arn: str, now: float, error: str | None) -> None:
        last = self._reported.get(arn)
        if last is not None and last[1] == error and now - last[0] < STATUS_EVERY_S:
            return
        self._reported[arn] = (now, error)
        self._trails.record_cloudwatch_logs_delivery(arn, now, error)
