"""Logging state changes placed in the event log's order.

StartLogging/StopLogging bound which events a trail takes by *append order*: a change is recorded
as a mark at the store's newest seq at that moment (:func:`head_seq`), so events acknowledged
before StopLogging returned are delivered and those appended after it are not, whatever their
eventTime says (imported events can be old). :class:`DeliveringTrailService` writes the marks;
:func:`logging_at` answers "was the trail logging when seq S was appended?".
"""

from __future__ import annotations

import bisect
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from ..objectstore.base import ObjectStorage
from ..store.base import EventStore
from ..trails.model import Trail
from ..trails.service import SnsTopicChecker, TrailService
from .state import DeliveryState, Mark


def head_seq(store: EventStore) -> int:
    """The newest seq in ``store`` once everything acknowledged so far is indexed (0 when empty):
    a logging change takes effect after every event acknowledged before it."""
    store.flush()
    return store.last_seq()


def logging_at(marks: list[Mark], seq: int) -> bool:
    """True when the last mark placed before ``seq`` (mark.seq < seq) turned logging on."""
    i = bisect.bisect_left([m.seq for m in marks], seq) - 1
    return i >= 0 and marks[i].logging


class DeliveringTrailService(TrailService):
    """:class:`TrailService` that also records logging marks in ``state`` (with the store's head
    seq) when StartLogging/StopLogging change a trail's state, and forgets a deleted trail's
    cursors. The change and its mark happen under ``state.lock``."""

    def __init__(self, data_dir: Path, storage: ObjectStorage, clock: Callable[[], float], *,
                 state: DeliveryState, store: EventStore, sns_topics: SnsTopicChecker | None = None) -> None:
        super().__init__(data_dir, storage, clock, sns_topics=sns_topics)
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
