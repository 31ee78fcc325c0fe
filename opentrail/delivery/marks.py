"""Logging state changes placed in the event log's order.

StartLogging/StopLogging bound which events a trail takes by *append order*: a change is recorded
as a mark at the store's newest seq at that moment (:func:`head_seq`), so events acknowledged
before StopLogging returned are delivered and those appended after it are not, whatever their
eventTime says (imported events can be old). :class:`DeliveringTrailService` writes the marks;
:func:`logging_at` answers "was the trail logging when seq S was appended?". Changes of a trail's
CloudWatchLogsLogGroupArn are placed the same way (log group marks, for the CloudWatch Logs
delivery). :func:`settled_marks` is how a worker reads trails and marks together.
"""

from __future__ import annotations

import bisect
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..objectstore.base import ObjectStorage
from ..store.base import EventStore
from ..trails.model import Trail
from ..trails.service import LogGroupChecker, SnsTopicChecker, TrailService, TrailSettings
from .state import DeliveryState, LogGroupMark, Mark


def head_seq(store: EventStore) -> int:
    """The newest seq in ``store`` once everything acknowledged so far is indexed (0 when empty):
    a logging change takes effect after every event acknowledged before it."""
    store.flush()
    return store.last_seq()


def logging_at(marks: list[Mark], seq: int) -> bool:
    """True when the last mark placed before ``seq`` (mark.seq < seq) turned logging on."""
    i = bisect.bisect_left([m.seq for m in marks], seq) - 1
    return i >= 0 and marks[i].logging


def settled_marks(trails: TrailService, state: DeliveryState, store: EventStore,
                  owns: Callable[[str], bool] | None = None,
                  ) -> tuple[list[Trail], dict[str, list[Mark]], dict[str, list[LogGroupMark]]]:
    """Every trail (``owns(arn)`` true: a worker's shard, :mod:`opentrail.shards`) with its
    logging marks and log group marks, read together under ``state.lock``.
    A trail whose logging state or log group differs from its last mark (a crash between the
    trail's write and its mark's) gets the missing mark now, at the store's head seq (only the
    owned trails: each trail's marks are settled by the one worker that owns it).

    The marks are read first, then the trails as they are now (:meth:`TrailService.refresh`:
    another node's changes included): a trail's change is committed before its mark, so every
    mark read belongs to a trail state at most as new as the one read after it, and a missing
    mark is placed with the trail's current state, never with a state another node already left."""
    with state.lock:
        marks = state.marks()
        groups = state.log_group_marks()
        trails.refresh()
        all_trails = [t for t in trails.trails() if owns is None or owns(t.arn)]
        for trail in all_trails:
            have = marks.get(trail.arn, [])
            if trail.status.is_logging != (bool(have) and have[-1].logging):
                mark = Mark(head_seq(store), trail.status.is_logging)
                state.add_mark(trail.arn, mark.seq, mark.logging)
                marks[trail.arn] = [*have, mark]
            placed = groups.get(trail.arn, [])
            if trail.cloud_watch_logs_log_group_arn != (placed[-1].group_arn if placed else None):
                group_mark = LogGroupMark(head_seq(store), trail.cloud_watch_logs_log_group_arn)
                state.add_log_group_mark(trail.arn, group_mark.seq, group_mark.group_arn)
                groups[trail.arn] = [*placed, group_mark]
        return all_trails, marks, groups


class DeliveringTrailService(TrailService):
    """:class:`TrailService` that also records logging marks in ``state`` (with the store's head
    seq) when StartLogging/StopLogging change a trail's state, log group marks when
    CreateTrail/UpdateTrail change its CloudWatchLogsLogGroupArn, and forgets a deleted trail's
    cursors. The change and its mark happen under ``state.lock``."""

    def __init__(self, data_dir: Path, storage: ObjectStorage, clock: Callable[[], float], *,
                 state: DeliveryState, store: EventStore, sns_topics: SnsTopicChecker | None = None,
                 log_groups: LogGroupChecker | None = None) -> None:
        super().__init__(data_dir, storage, clock, sns_topics=sns_topics, log_groups=log_groups)
        self._delivery_state = state
        self._event_store = store

    @contextmanager
    def staged_changes(self) -> Iterator[Callable[[], None]]:
        """:meth:`TrailService.staged_changes` under ``state.lock`` too (taken first, as the
        delivery worker does), so a staged change and its mark are committed together."""
        with self._delivery_state.lock, super().staged_changes() as commit:
            yield commit

    def _mark(self, trail: Trail) -> None:
        marks = self._delivery_state.marks().get(trail.arn, [])
        was_logging = bool(marks) and marks[-1].logging
        if trail.status.is_logging != was_logging:
            self._delivery_state.add_mark(trail.arn, head_seq(self._event_store), trail.status.is_logging)

    def _mark_log_group(self, trail: Trail) -> None:
        marks = self._delivery_state.log_group_marks().get(trail.arn, [])
        if trail.cloud_watch_logs_log_group_arn != (marks[-1].group_arn if marks else None):
            self._delivery_state.add_log_group_mark(trail.arn, head_seq(self._event_store),
                                                    trail.cloud_watch_logs_log_group_arn)

    def create_trail(self, account_id: str, region: str, name: str, settings: TrailSettings,
                     tags: tuple[tuple[str, str | None], ...] = ()) -> Trail:
        with self._delivery_state.lock:
            trail = super().create_trail(account_id, region, name, settings, tags)
            self._apply(lambda: self._mark_log_group(trail))
            return trail

    def update_trail(self, account_id: str, region: str, name_or_arn: str, settings: TrailSettings) -> Trail:
        with self._delivery_state.lock:
            trail = super().update_trail(account_id, region, name_or_arn, settings)
            self._apply(lambda: self._mark_log_group(trail))
            return trail

    def start_logging(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        with self._delivery_state.lock:
            trail = super().start_logging(account_id, region, name_or_arn)
            self._apply(lambda: self._mark(trail))
            return trail

    def stop_logging(self, account_id: str, region: str, name_or_arn: str) -> Trail:
        with self._delivery_state.lock:
            trail = super().stop_logging(account_id, region, name_or_arn)
            self._apply(lambda: self._mark(trail))
            return trail

    def delete_trail(self, account_id: str, region: str, name_or_arn: str) -> None:
        with self._delivery_state.lock:
            before = {t.arn for t in self.trails()}
            super().delete_trail(account_id, region, name_or_arn)

            def forget() -> None:
                for arn in before - {t.arn for t in self.trails()}:
                    self._delivery_state.forget_trail(arn)

            self._apply(forget)
