"""The ingest service: records in, durable events out, with a count of what happened to each.

Every producer that hands whole CloudTrail records to opentrail (``opentrail import``, the ingest
HTTP endpoint) goes through :func:`ingest_records`: each record is read with
:func:`opentrail.events.record.read_record`, records older than the event-history retention window
are skipped, and the rest are appended to the store in one batch (one durable commit).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .events.record import RecordRejected, read_record
from .store.base import EventStore, NewEvent

_DAY_S = 86400


@dataclass(frozen=True, slots=True)
class Rejection:
    """Record number ``index`` (0-based, in the batch given) was not stored: ``code``/``reason``
    from :class:`RecordRejected`."""

    index: int
    code: str
    reason: str


@dataclass(frozen=True, slots=True)
class IngestOutcome:
    """Counts for one batch: ``accepted`` newly stored, ``duplicates`` skipped (eventID already
    stored for the account, or repeated in the batch), ``expired`` skipped as older than the
    retention window, and the ``rejected`` records. ``indexed`` False: the batch was acknowledged
    once durable, before deduplication (``wait_visible=False``), so ``duplicates`` is 0 and
    ``accepted`` counts every stored record."""

    accepted: int
    duplicates: int
    expired: int
    rejected: tuple[Rejection, ...] = ()
    indexed: bool = True

    def to_json(self) -> dict[str, Any]:
        """``{"accepted", "duplicates", "expired", "rejected": [{"index", "code", "reason"}],
        "indexed"}``."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "expired": self.expired,
            "rejected": [{"index": r.index, "code": r.code, "reason": r.reason} for r in self.rejected],
            "indexed": self.indexed,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "IngestOutcome":
        """Inverse of :meth:`to_json`. Raises KeyError/TypeError/ValueError on a malformed dict."""
        return cls(
            accepted=int(d["accepted"]),
            duplicates=int(d["duplicates"]),
            expired=int(d["expired"]),
            rejected=tuple(Rejection(int(r["index"]), str(r["code"]), str(r["reason"])) for r in d["rejected"]),
            indexed=bool(d.get("indexed", True)),
        )


def retention_cutoff(retention_days: int, now: float) -> int | None:
    """Oldest eventTime (epoch seconds) still inside the window, or None when ``retention_days``
    is 0 (keep forever)."""
    if retention_days <= 0:
        return None
    return int(now) - retention_days * _DAY_S


def ingest_records(
    store: EventStore,
    records: Sequence[Any],
    *,
    retention_days: int,
    now: float,
    default_account_id: str | None = None,
    default_region: str | None = None,
    wait_visible: bool = True,
) -> IngestOutcome:
    """Read, filter and append ``records`` (decoded JSON values) to ``store`` in one append.

    ``retention_days`` 0 keeps everything; otherwise a record whose eventTime is before
    ``now - retention_days`` days (``now`` in epoch seconds, injected) counts as ``expired``.
    Returns once the store has committed the batch. Store errors propagate.
    """
    events, rejected, expired = read_records(
        records,
        retention_days=retention_days,
        now=now,
        default_account_id=default_account_id,
        default_region=default_region,
    )
    return append_events(store, events, rejected, expired, wait_visible=wait_visible)


def read_records(
    records: Sequence[Any],
    *,
    retention_days: int,
    now: float,
    default_account_id: str | None = None,
    default_region: str | None = None,
) -> tuple[list[NewEvent], list[Rejection], int]:
    """The first half of :func:`ingest_records`: ``(events to append, rejections, expired count)``."""
    cutoff = retention_cutoff(retention_days, now)
    events: list[NewEvent] = []
    rejected: list[Rejection] = []
    expired = 0
    read = read_record
    for index, obj in enumerate(records):
        try:
            event = read(obj, default_account_id=default_account_id, default_region=default_region)
        except RecordRejected as exc:
            rejected.append(Rejection(index, exc.code, exc.reason))
            continue
        if cutoff is not None and event.event_time < cutoff:
            expired += 1
            continue
        events.append(event)
    return events, rejected, expired


def append_events(
    store: EventStore, events: list[NewEvent], rejected: list[Rejection], expired: int, *, wait_visible: bool
) -> IngestOutcome:
    """The second half of :func:`ingest_records`: append what :func:`read_records` kept."""
    if events:
        result = store.append(events, wait_visible=wait_visible)
        return IngestOutcome(result.accepted, result.duplicates, expired, tuple(rejected), result.indexed)
    return IngestOutcome(0, 0, expired, tuple(rejected))
