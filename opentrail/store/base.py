"""The event store interface: what every backend (SQLite now, PostgreSQL next) provides.

Producers hand :class:`NewEvent` batches to :meth:`EventStore.append`; it returns once the batch is
durably committed ("acknowledged means durable"). Readers use :meth:`EventStore.lookup` (the
LookupEvents index) and :meth:`EventStore.read_since` (the ordered log every later consumer --
trail delivery, digests, Insights -- follows with its own cursor).

Times are integer epoch **seconds** (CloudTrail's eventTime has second precision).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import Sequence

from .errors import DataDirectoryFullError as DataDirectoryFullError  # re-exported: raised by every backend


#: The eight LookupEvents attribute keys, as the CloudTrail API model spells them
#: (``LookupAttributeKey`` enum in botocore/data/cloudtrail/2013-11-01/service-2.json).
LOOKUP_ATTRIBUTE_KEYS: tuple[str, ...] = (
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
)


#: The eventTime range a store must hold, epoch seconds: 1970-01-01 up to 2106-02-07 (unsigned
#: 32-bit). Readers reject records outside it (CloudTrail itself began in 2013).
MIN_EVENT_TIME = 0
MAX_EVENT_TIME = (1 << 32) - 1


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One record ready to be stored.

    - ``event_id``: the record's eventID (or a derived id for records that lack one).
    - ``event_time``: eventTime as epoch seconds, within [MIN_EVENT_TIME, MAX_EVENT_TIME].
    - ``account_id`` / ``region``: the event-history partition (recipient account, awsRegion).
    - ``category``: "Management", "Data", "Insight" or "NetworkActivity".
    - ``record``: the original record as compact JSON bytes (every field kept).
    - ``lookup``: (attribute key, value) pairs to index, keys from :data:`LOOKUP_ATTRIBUTE_KEYS`;
      only used for management and Insights events (the ones LookupEvents returns).
    """

    event_id: str
    event_time: int
    account_id: str
    region: str
    category: str
    record: bytes
    lookup: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as read back: ``seq`` is the store-wide append order (1, 2, ...)."""

    seq: int
    event_id: str
    event_time: int
    account_id: str
    region: str
    category: str
    record: bytes


@dataclass(frozen=True, slots=True)
class EventColumns:
    """Events in append order as parallel columns, for consumers of the log that take many events
    at once (trail delivery): no object per event.

    - ``seqs``: ascending sequence numbers.
    - ``partitions``: per event, the id of its (account_id, region, category) partition;
      ``partition_names`` maps every id present to that triple. Ids mean nothing across stores
      and are only guaranteed within one :meth:`EventStore.read_columns` answer.
    - ``records``: per event, the record bytes as appended.
    """

    seqs: Sequence[int]
    partitions: Sequence[int]
    partition_names: dict[int, tuple[str, str, str]]
    records: Sequence[bytes]

    def __len__(self) -> int:
        return len(self.seqs)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Outcome of one :meth:`EventStore.append`: ``accepted`` new events, ``duplicates`` skipped
    because their eventID was already stored in the same account (or repeated in the batch).
    ``indexed`` is False when the append returned once durable but before deduplication and
    indexing (``wait_visible=False`` on a store that indexes behind a log): every event then
    counts as accepted."""

    accepted: int
    duplicates: int
    duplicate_indexes: tuple[int, ...] = ()
    indexed: bool = True


@dataclass(frozen=True, slots=True)
class LookupQuery:
    """One page of LookupEvents.

    - ``attribute``: at most one (key, value) lookup attribute, or None for all events.
    - ``start_time`` / ``end_time``: inclusive epoch-second bounds, or None for open.
    - ``insight``: True for EventCategory=insight (Insights events only); False for
      management events only.
    - ``limit``: 1..50.
    - ``after``: the opaque cursor a previous page returned; the page starts strictly after it.
    - ``expired``: ``(event_time, seq)``: leave out the events ``purge_before(event_time, seq)``
      would delete (eventTime before ``event_time`` and seq at most ``seq``), so events past the
      retention window are not returned before the purger deletes them. None: leave out nothing.
    """

    account_id: str
    region: str
    attribute: tuple[str, str] | None = None
    start_time: int | None = None
    end_time: int | None = None
    insight: bool = False
    limit: int = 50
    after: tuple[int, int] | None = None
    expired: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class LookupPage:
    """Events newest first (eventTime, then append order, descending); ``next_cursor`` is None on the
    last page."""

    events: list[StoredEvent] = field(default_factory=list)
    next_cursor: tuple[int, int] | None = None


class EventStore(abc.ABC):
    """Durable event storage with the LookupEvents index. Thread-safe: any thread may call any
    method; writes are funnelled through one writer with group commit.

    A write that fails because the filesystem is full raises :class:`DataDirectoryFullError`
    (nothing of it is acknowledged); the store recovers by itself once space is freed."""

    @abc.abstractmethod
    def append(self, events: Sequence[NewEvent], *, wait_visible: bool = True) -> AppendResult:
        """Store a batch; return once it is durably committed (and, with ``wait_visible``, once it
        is visible to :meth:`lookup`). Events whose eventID is already stored for the same account
        are skipped and counted as duplicates."""

    def submit(self, events: Sequence[NewEvent]) -> None:
        """Queue a batch without waiting (used for self-recorded API calls). Default: append."""
        self.append(events, wait_visible=False)

    def flush(self) -> None:
        """Return once everything appended or submitted before the call is durable and visible
        to :meth:`lookup`. Default: nothing to wait for."""

    def is_full(self) -> bool:
        """True while writes fail for lack of space (the last durable write raised
        :class:`DataDirectoryFullError` and none succeeded since, or indexing waits for space).
        Default: False (a store without a disk)."""
        return False

    @abc.abstractmethod
    def lookup(self, query: LookupQuery) -> LookupPage:
        """One page of events matching ``query``, newest first."""

    @abc.abstractmethod
    def last_seq(self) -> int:
        """The newest sequence number visible to :meth:`read_since` (0 when empty). Call
        :meth:`flush` first to include everything acknowledged so far."""

    @abc.abstractmethod
    def read_since(self, seq: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events with sequence number greater than ``seq``, in append order."""

    def read_columns(self, seq: int, limit: int) -> EventColumns:
        """:meth:`read_since` as columns (same events, same order). Backends override it when they
        can skip building a :class:`StoredEvent` per event."""
        events = self.read_since(seq, limit)
        ids: dict[tuple[str, str, str], int] = {}
        partitions = [ids.setdefault((e.account_id, e.region, e.category), len(ids)) for e in events]
        return EventColumns([e.seq for e in events], partitions, {i: p for p, i in ids.items()},
                            [e.record for e in events])

    @abc.abstractmethod
    def received_seq(self, before: int) -> int:
        """The newest seq of the events the store received (appended) before ``before`` (epoch
        seconds), 0 when none. A backend may keep receive times coarsely and answer an older seq
        (events received up to a minute before ``before`` left out), never a newer one. Events the
        store held before it kept receive times count as received when it first recorded one."""

    @abc.abstractmethod
    def purge_before(self, event_time: int, through_seq: int | None = None) -> int:
        """Delete events whose eventTime is before ``event_time`` and, when ``through_seq`` is
        given, whose seq is at most ``through_seq``; return how many. Event history retention
        passes ``(cutoff, received_seq(cutoff))``: an event goes once both its eventTime and the
        time the store received it are before the cutoff. Must not stall concurrent appends for
        more than a short moment."""

    @abc.abstractmethod
    def count(self) -> int:
        """Number of stored events."""

    @abc.abstractmethod
    def close(self) -> None:
        """Flush pending writes and release resources. Idempotent."""

    def __enter__(self) -> "EventStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
