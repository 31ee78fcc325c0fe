"""The ingest service: records in, durable events out, with a count of what happened to each.

Every producer that hands whole CloudTrail records to opentrail (``opentrail import``, the ingest
HTTP endpoint) goes through :func:`ingest_records`: each record is read with
:func:`opentrail.events.record.read_record`, and the records read are appended to the store in one
batch (one durable commit), however old their eventTime: event history retention counts from when
opentrail received an event (:func:`retention_bound`), so what was just received is inside the
window.
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
    retention window (0 since retention counts from receipt; older servers counted eventTimes), and
    the ``rejected`` records. ``indexed`` False: the batch was acknowledged once durable, before
    deduplication (``wait_visible=False``), so ``duplicates`` is 0 and ``accepted`` counts every
    stored record. ``accounts``: (account id, events accepted into it), one per account, in the
    order first met."""

    accepted: int
    duplicates: int
    expired: int
    rejected: tuple[Rejection, ...] = ()
    indexed: bool = True
    accounts: tuple[tuple[str, int], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """``{"accepted", "duplicates", "expired", "rejected": [{"index", "code", "reason"}],
        "indexed", "accounts": {account id: accepted}}``."""
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "expired": self.expired,
            "rejected": [{"index": r.index, "code": r.code, "reason": r.reason} for r in self.rejected],
            "indexed": self.indexed,
            "accounts": dict(self.accounts),
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
            accounts=tuple((str(a), int(n)) for a, n in d.get("accounts", {}).items()),
        )


def retention_cutoff(retention_days: int, now: float) -> int | None:
    """The start of the event history retention window (epoch seconds), or None when
    ``retention_days`` is 0 (keep forever)."""
    if retention_days <= 0:
        return None
    return int(now) - retention_days * _DAY_S


def retention_bound(store: EventStore, retention_days: int, now: float) -> tuple[int, int] | None:
    """What event history retention removes, as ``(cutoff, seq)``: the events whose eventTime is
    before ``cutoff`` and that the store received before it (seq at most ``seq``,
    :meth:`EventStore.received_seq`) -- an event stays ``retention_days`` after the later of its
    eventTime and the time opentrail received it. The retention purger passes it to
    :meth:`EventStore.purge_before`, LookupEvents as :attr:`LookupQuery.expired`. None: nothing to
    remove (``retention_days`` 0, or nothing received before the cutoff)."""
    cutoff = retention_cutoff(retention_days, now)
    if cutoff is None:
        return None
    through = store.received_seq(cutoff)
    return (cutoff, through) if through > 0 else None


def ingest_records(
    store: EventStore,
    records: Sequence[Any],
    *,
    default_account_id: str | None = None,
    default_region: str | None = None,
    wait_visible: bool = True,
) -> IngestOutcome:
    """Read and append ``records`` (decoded JSON values) to ``store`` in one append, whatever their
    eventTime. Returns once the store has committed the batch. Store errors propagate."""
    events, rejected = read_records(records, default_account_id=default_account_id, default_region=default_region)
    return append_events(store, events, rejected, 0, wait_visible=wait_visible)


def read_records(
    records: Sequence[Any],
    *,
    default_account_id: str | None = None,
    default_region: str | None = None,
) -> tuple[list[NewEvent], list[Rejection]]:
    """The first half of :func:`ingest_records`: ``(events to append, rejections)``."""
    events: list[NewEvent] = []
    rejected: list[Rejection] = []
    read = read_record
    for index, obj in enumerate(records):
        try:
            events.append(read(obj, default_account_id=default_account_id, default_region=default_region))
        except RecordRejected as exc:
            rejected.append(Rejection(index, exc.code, exc.reason))
    return events, rejected


def append_events(
    store: EventStore, events: list[NewEvent], rejected: list[Rejection], expired: int, *, wait_visible: bool
) -> IngestOutcome:
    """The second half of :func:`ingest_records`: append what :func:`read_records` kept."""
    if events:
        result = store.append(events, wait_visible=wait_visible)
        dups = set(result.duplicate_indexes)
        accounts: dict[str, int] = {}
        for i, e in enumerate(events):
            if i not in dups:
                accounts[e.account_id] = accounts.get(e.account_id, 0) + 1
        return IngestOutcome(result.accepted, result.duplicates, expired, tuple(rejected), result.indexed,
                             tuple(accounts.items()))
    return IngestOutcome(0, 0, expired, tuple(rejected))
