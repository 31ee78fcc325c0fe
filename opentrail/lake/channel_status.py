"""GetChannel's IngestionStatus, shared by every node: ``<data-dir>/lake-channel-status.db`` (table
``ingestion_status``, one row per channel; on PostgreSQL the schema ``state_lake_channel_status``).

What each member means (botocore model ``cloudtrail/2013-11-01`` IngestionStatus; the API reference
says no more than "the most recent attempt / successful ingestion / failure"). A PutAuditEvents call
whose events are durable (:class:`opentrail.api.calls.WithEvents`) is one attempt at its time:

- LatestIngestionAttemptTime / AttemptEventID: the latest call's time and the eventID of its last
  accepted event (none when it accepted none: a refused event gets no eventID);
- LatestIngestionSuccessTime / SuccessEventID: the time of the latest call that accepted an event
  and the eventID of its last accepted event;
- LatestIngestionErrorCode: the per-event error code of the last refused event of the latest call
  that refused one (kept when later calls refuse none).

Each pair is kept with its time, and a write keeps the later of what the row holds and what it
brings (per pair), so nodes that take calls for the same channel together end with the latest.

**Kept off the hot path**: :meth:`IngestionStatusStore.record` only notes the values in memory; a
background thread writes what was noted every ``flush_s`` seconds (one transaction for every
channel that changed since, nothing when none did) and :meth:`close` writes the rest. This node's
GetChannel answers with what it noted at once; another node's sees it up to ``flush_s`` (1 s)
later, and a node that dies without closing loses at most its last ``flush_s`` of updates (the
events themselves are durable before the call answers; only the status lags).

The status lives in its own state file rather than in ``lake.db`` beside the channels: every
commit to ``lake.db`` moves its ``PRAGMA data_version``, which makes every node reload the event
data store catalog and Lake ingestion re-read its routes (and purge); a status write every second
would do that every second. Deleting a channel deletes its row (:meth:`forget`); a node that
noted a status for it just before may still write one row for the deleted channel, never read
(channel IDs are never reused).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..state_db import open_state_db, write_statements
from ..state_migrate import apply_schema

log = logging.getLogger("opentrail.lake")

STATUS_DB = "lake-channel-status.db"
#: Seconds between two writes of the noted status (module docstring).
FLUSH_S = 1.0


_SELECT = """SELECT attempt_ms, attempt_event_id, success_ms, success_event_id, error_ms, error_code
    FROM ingestion_status WHERE channel_id = ?"""

_LATER = ("CASE WHEN excluded.{t} IS NOT NULL AND (ingestion_status.{t} IS NULL "
          "OR excluded.{t} >= ingestion_status.{t}) THEN excluded.{c} ELSE ingestion_status.{c} END")
#: Upsert keeping, per (time, value) pair, the later of the row's and the new one (SQLite dialect,
#: translated for PostgreSQL by :mod:`opentrail.state_pg`; SET reads the row as it was).
_UPSERT = ("INSERT INTO ingestion_status (channel_id, attempt_ms, attempt_event_id, success_ms, success_event_id, "
           "error_ms, error_code) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET "
           + ", ".join(f"{c} = " + _LATER.format(t=t, c=c) for t, cs in (
               ("attempt_ms", ("attempt_event_id", "attempt_ms")), ("success_ms", ("success_event_id", "success_ms")),
               ("error_ms", ("error_code", "error_ms"))) for c in cs))

_DELETE = "DELETE FROM ingestion_status WHERE channel_id = ?"

#: (time in epoch milliseconds, value) or None.
Stamped = tuple[int, str | None] | None


@dataclass(slots=True)
class IngestionStatus:
    """GetChannel's IngestionStatus: times in epoch seconds, event IDs as PutAuditEvents answered
    (None: never, left out of the answer)."""

    latest_success_time: float | None = None
    latest_success_event_id: str | None = None
    latest_attempt_time: float | None = None
    latest_attempt_event_id: str | None = None
    latest_error_code: str | None = None


@dataclass(frozen=True, slots=True)
class _Noted:
    """One channel's status as stamped pairs: what a row holds or what a node noted."""

    attempt: Stamped = None
    success: Stamped = None
    error: Stamped = None

    def merged(self, newer: "_Noted") -> "_Noted":
        """Per pair, the later of ``self``'s and ``newer``'s (``newer`` on a tie)."""
        return _Noted(_later(self.attempt, newer.attempt), _later(self.success, newer.success),
                      _later(self.error, newer.error))

    def public(self) -> IngestionStatus:
        def seconds(p: Stamped) -> float | None:
            return None if p is None else p[0] / 1000

        return IngestionStatus(seconds(self.success), self.success[1] if self.success else None,
                               seconds(self.attempt), self.attempt[1] if self.attempt else None,
                               self.error[1] if self.error else None)

    def row(self, channel_id: str) -> tuple[object, ...]:
        def pair(p: Stamped) -> tuple[int | None, str | None]:
            return (None, None) if p is None else p

        return (channel_id, *pair(self.attempt), *pair(self.success), *pair(self.error))


def _later(old: Stamped, new: Stamped) -> Stamped:
    if new is None:
        return old
    return new if old is None or new[0] >= old[0] else old


class IngestionStatusStore:
    """The IngestionStatus of every channel in the state file ``path`` (module docstring).
    ``flush_s``: seconds between background writes (None: no thread; :meth:`flush` writes);
    ``exists``: whether a channel still exists (a noted status of a deleted one is not written)."""

    def __init__(self, path: Path, *, flush_s: float | None = FLUSH_S,
                 exists: Callable[[str], bool] = lambda channel_id: True) -> None:
        self._db = open_state_db(path)
        apply_schema(self._db, "opentrail.lake", "ingestion_status")
        self._exists = exists
        #: held for every use of the connection; taken before ``_noted_lock`` when both are
        self._db_lock = threading.Lock()
        self._noted: dict[str, _Noted] = {}
        self._noted_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if flush_s is not None:
            self._thread = threading.Thread(target=self._run, args=(flush_s,), name="channel-status", daemon=True)
            self._thread.start()

    def record(self, channel_id: str, now: float, last_event_id: str | None, error_code: str | None) -> None:
        """Note one PutAuditEvents call of ``channel_id`` made durable at ``now`` (epoch seconds):
        ``last_event_id`` the eventID of its last accepted event (None: it accepted none),
        ``error_code`` the code of its last refused event (None: it refused none). In memory only."""
        ms = round(now * 1000)
        noted = _Noted((ms, last_event_id), (ms, last_event_id) if last_event_id is not None else None,
                       (ms, error_code) if error_code is not None else None)
        with self._noted_lock:
            before = self._noted.get(channel_id)
            self._noted[channel_id] = noted if before is None else before.merged(noted)

    def status(self, channel_id: str) -> IngestionStatus:
        """What the database holds for ``channel_id`` (every node's writes so far) merged with what
        this node noted and has not written yet."""
        with self._db_lock:
            row = self._db.execute(_SELECT, (channel_id,)).fetchone()
            with self._noted_lock:
                noted = self._noted.get(channel_id)
        stored = _Noted() if row is None else _Noted(
            *((row[i], row[i + 1]) if row[i] is not None else None for i in (0, 2, 4)))
        return (stored if noted is None else stored.merged(noted)).public()

    def flush(self) -> None:
        """Write what was noted (one transaction; nothing when nothing was). On an error, what was
        noted stays to be written next time and the error is raised."""
        with self._noted_lock:
            ids = list(self._noted)
        if not ids:
            return
        gone = {i for i in ids if not self._exists(i)}  # outside our locks: it takes the channels' lock
        with self._db_lock:
            with self._noted_lock:
                batch, self._noted = self._noted, {}
            rows = [n.row(i) for i, n in batch.items() if i not in gone]
            try:
                if rows:
                    write_statements(self._db, [(_UPSERT, r) for r in rows])
            except BaseException:
                with self._noted_lock:
                    for i, n in batch.items():
                        later = self._noted.get(i)
                        self._noted[i] = n if later is None else n.merged(later)
                raise

    def forget(self, channel_id: str) -> None:
        """DeleteChannel: the channel's row and what was noted for it go."""
        with self._db_lock:
            with self._noted_lock:
                self._noted.pop(channel_id, None)
            self._db.execute(_DELETE, (channel_id,))

    def _run(self, flush_s: float) -> None:
        while not self._stop.wait(flush_s):
            try:
                self.flush()
            except Exception as exc:  # the database away: try again next time
                log.warning("could not write the channels' ingestion status: %s", exc)

    def close(self) -> None:
        """Stop the background writes, write what is left, close the connection."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.flush()
        finally:
            with self._db_lock:
                self._db.close()
