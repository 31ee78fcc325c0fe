"""``EventClient``: hand CloudTrail records to a background sender that batches, retries and spools.

    client = EventClient("http://127.0.0.1:4588", key_id, secret, spool_dir=Path("/var/spool/myapp"))
    client.put(audit_event(...))       # returns at once
    client.flush(timeout_s=5)          # True once every record put so far was answered
    client.close()                     # at exit; what is unsent stays in the spool

Records go to ``POST /_opentrail/ingest`` (an admin-account key is needed, see
docs/authentication.md). Full description, guarantees and bounds: docs/sdk.md.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable

import orjson

from ..events.record import MAX_RECORD_BYTES
from .delivery import Backoff, Outcome, RetryLater, deliver_batch
from .ingest import IngestClient
from .memqueue import MemoryQueue
from .spool import Spool

log = logging.getLogger("opentrail.client")

#: Dropped records are logged at most this often (seconds), with a count.
DROP_LOG_INTERVAL_S = 10.0


class EventClient:
    """Send CloudTrail records to an opentrail server from a background thread.

    ``put`` never raises because the server is down. With ``spool_dir`` every record is appended to
    the on-disk spool (:mod:`opentrail.client.spool`) before ``put`` returns and ``put`` never
    blocks; records over ``spool_max_bytes`` are dropped, counted and logged. Without ``spool_dir``
    records wait in memory (at most ``queue_max_events``) and ``put`` blocks while that is full.

    Keyword options beyond the agreed interface: ``batch_max_bytes`` (request body bound, below the
    server's ``--max-request-bytes``), ``retry_base_s``/``retry_max_backoff_s`` (backoff between
    failed attempts), ``timeout_s`` (per request), ``wait_visible`` (False: the server answers once
    the batch is durable, before indexing), ``default_account_id`` (the account of records that
    name none), ``close_at_exit`` (an atexit hook calls ``close(timeout_s=exit_timeout_s)``).
    Raises :class:`opentrail.client.spool.SpoolLockedError` when ``spool_dir`` is in use.
    """

    def __init__(
        self,
        endpoint_url: str,
        access_key_id: str,
        secret_access_key: str,
        *,
        region: str = "us-east-1",
        spool_dir: Path | None = None,
        spool_max_bytes: int = 1 << 30,
        batch_max_events: int = 1000,
        flush_interval_s: float = 0.2,
        queue_max_events: int = 100_000,
        batch_max_bytes: int = 4 << 20,
        retry_base_s: float = 0.1,
        retry_max_backoff_s: float = 30.0,
        timeout_s: float = 10.0,
        wait_visible: bool = False,
        default_account_id: str | None = None,
        close_at_exit: bool = True,
        exit_timeout_s: float = 5.0,
    ) -> None:
        if batch_max_events < 1 or queue_max_events < 1 or flush_interval_s <= 0:
            raise ValueError("batch_max_events and queue_max_events must be >= 1, flush_interval_s > 0")
        self._ingest = IngestClient(endpoint_url, access_key_id, secret_access_key, region=region, timeout_s=timeout_s)
        self._query: dict[str, str] = {"defaultRegion": region}
        if not wait_visible:
            self._query["visible"] = "false"
        if default_account_id:
            self._query["defaultAccountId"] = default_account_id
        self._spool = Spool(Path(spool_dir), max_bytes=spool_max_bytes) if spool_dir is not None else None
        self._memory = MemoryQueue(queue_max_events) if self._spool is None else None
        self._batch_max_events = batch_max_events
        self._batch_max_bytes = batch_max_bytes
        self._flush_interval_s = flush_interval_s
        self._backoff = Backoff(retry_base_s, retry_max_backoff_s)
        self._cond = threading.Condition()
        self._put_count = self._spool.replayed if self._spool else 0  # records that became pending
        self._counts = {"accepted": 0, "duplicates": 0, "expired": 0, "rejected": 0, "dropped": 0, "retries": 0}
        self._wake = False
        self._closing = False
        self._close_deadline: float | None = None
        self._closed = False
        self._failing = False
        self._unlogged_drops = 0
        self._last_drop_log = -DROP_LOG_INTERVAL_S
        if self._spool and self._spool.replayed:
            log.info("opentrail client: %d events left in spool %s will be sent", self._spool.replayed, spool_dir)
        self._thread = threading.Thread(target=self._run, name="opentrail-event-client", daemon=True)
        self._thread.start()
        if close_at_exit:
            ref = weakref.ref(self)
            atexit.register(_close_at_exit, ref, exit_timeout_s)

    # -- the application side -------------------------------------------------------------------

    def put(self, record: dict[str, Any], *, block: bool = True) -> None:
        """Queue one CloudTrail record (a dict). Adds a random ``eventID`` when it has none (the
        caller's dict is not changed), so a retried batch is deduplicated by the server.

        Never raises because of the server; raises TypeError for a record that is not a dict or
        not JSON-serialisable. A record over 256 KB (AWS's event size limit) or put after
        :meth:`close` is dropped, counted and logged. Without a spool and with the memory queue
        full, waits for room (``block=False``: drops, counts and logs the record instead -- what
        the middleware does, so a request is never delayed).
        """
        if not isinstance(record, dict):
            raise TypeError(f"a record must be a dict, got {type(record).__name__}")
        if not isinstance(record.get("eventID"), str) or not record["eventID"]:
            record = {**record, "eventID": str(uuid.uuid4())}
        data = orjson.dumps(record)
        if len(data) > MAX_RECORD_BYTES:
            self._drop(1, f"record {record['eventID']} is {len(data)} bytes, over the {MAX_RECORD_BYTES}-byte limit",
                       rejected=True)
            return
        if self._closed:
            self._drop(1, f"record {record['eventID']} put after close()")
            return
        if self._spool is not None:
            if not self._spool.append(data):
                if self._closed:
                    self._drop(1, f"record {record['eventID']} put after close()")
                else:
                    self._drop(1, f"spool {self._spool.directory} is full ({self._spool.max_bytes} bytes): "
                                  f"record {record['eventID']} dropped")
                return
            with self._cond:
                self._put_count += 1
                if self._spool.records >= self._batch_max_events:
                    self._wake = True
                    self._cond.notify_all()
            return
        assert self._memory is not None
        with self._cond:
            while not self._memory.append(data):
                if self._closed:
                    self._drop(1, f"record {record['eventID']} put after close()")
                    return
                if not block:
                    self._drop(1, f"queue full ({self._memory.max_events} events, no spool_dir): "
                                  f"record {record['eventID']} dropped")
                    return
                self._wake = True
                self._cond.notify_all()
                self._cond.wait(0.5)
            self._put_count += 1
            if self._memory.records >= self._batch_max_events:
                self._wake = True
                self._cond.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Send now and wait until every record put before this call was answered by the server
        (accepted, a duplicate, expired, or rejected -- see :meth:`stats`). False on timeout."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            target = self._put_count
            self._wake = True
            self._cond.notify_all()
            while self._pending() > self._put_count - target:
                if self._closed:
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(0.5 if left is None else min(left, 0.5))
            return True

    def close(self, timeout_s: float | None = None) -> None:
        """Stop: keep sending for up to ``timeout_s`` seconds (None: until everything is sent or an
        attempt fails), then stop the sender. With a spool, unsent records stay in it for the
        next start; without one they are dropped, counted and logged. Idempotent."""
        with self._cond:
            if self._closing:
                already = True
            else:
                already = False
                self._closing = True
                self._close_deadline = None if timeout_s is None else time.monotonic() + timeout_s
                self._wake = True
                self._cond.notify_all()
        if not already:
            self._thread.join()
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        if self._memory is not None:
            lost = self._memory.drain()
            if lost:
                self._drop(lost, f"{lost} events not delivered at close() and no spool_dir: dropped")
        if self._spool is not None:
            left = self._spool.records
            self._spool.close()
            if left:
                log.warning("opentrail client: %d events stay in spool %s for the next start", left, self._spool.directory)
        self._ingest.close()

    def stats(self) -> dict[str, int]:
        """Counts: ``sent`` (answered by the server: accepted + duplicates + expired), ``spooled``
        (records in the spool on disk, not yet acknowledged), ``pending`` (put and not yet
        answered), ``dropped`` (never to be stored: spool full, over 256 KB, unsent at close
        without a spool, rejected by the server), and the breakdown ``accepted``, ``duplicates``,
        ``expired``, ``rejected``, plus ``retries`` (failed attempts)."""
        with self._cond:
            c = dict(self._counts)
            pending = self._pending()
        return {
            "sent": c["accepted"] + c["duplicates"] + c["expired"],
            "spooled": self._spool.records if self._spool else 0,
            "pending": pending,
            "dropped": c["dropped"],
            "accepted": c["accepted"],
            "duplicates": c["duplicates"],
            "expired": c["expired"],
            "rejected": c["rejected"],
            "retries": c["retries"],
        }

    def __enter__(self) -> "EventClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ------------------------------------------------------------------------------

    def _pending(self) -> int:
        if self._spool is not None:
            return self._spool.records
        assert self._memory is not None
        return self._memory.records

    def _drop(self, n: int, why: str, *, rejected: bool = False) -> None:
        """Count ``n`` dropped records; log the reason, at most once per ``DROP_LOG_INTERVAL_S``
        (with the number dropped since the last message)."""
        with self._cond:
            self._counts["dropped"] += n
            if rejected:
                self._counts["rejected"] += n
            self._cond.notify_all()
            self._unlogged_drops += n
            now = time.monotonic()
            if now - self._last_drop_log < DROP_LOG_INTERVAL_S:
                return
            self._last_drop_log = now
            count, self._unlogged_drops = self._unlogged_drops, 0
        log.error("opentrail client: %s (%d dropped since the last message, %d in all)", why, count,
                  self._counts["dropped"])

    def _queue_read(self) -> Any:
        if self._spool is not None:
            return self._spool.read_batch(self._batch_max_events, self._batch_max_bytes)
        assert self._memory is not None
        return self._memory.read_batch(self._batch_max_events, self._batch_max_bytes)

    def _queue_ack(self, batch: Any) -> None:
        if self._spool is not None:
            self._spool.ack(batch)
        else:
            assert self._memory is not None
            self._memory.ack(batch)

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug: say so loudly; records stay queued/spooled
            log.exception("opentrail client: the sender stopped")

    def _loop(self) -> None:
        while True:
            with self._cond:
                if not self._wake and not self._closing:
                    self._cond.wait(self._flush_interval_s)
                self._wake = False
                closing = self._closing
            if self._spool is not None:
                self._spool.sync()
            delivered_all = self._send_available()
            if closing:
                if delivered_all or self._past_close_deadline():
                    return

    def _past_close_deadline(self) -> bool:
        deadline = self._close_deadline
        if deadline is None:
            return True  # close(None): one failed attempt ends it
        return time.monotonic() >= deadline

    def _send_available(self) -> bool:
        """Send batches until the queue is empty (True) or an attempt failed (False, after the
        backoff wait)."""
        while True:
            batch = self._queue_read()
            if batch is None:
                return True
            try:
                outcome = deliver_batch(self._ingest, batch.records, self._query)
            except RetryLater as exc:
                self._failed(str(exc))
                return False
            self._queue_ack(batch)
            self._delivered(outcome)

    def _delivered(self, outcome: Outcome) -> None:
        if self._failing:
            self._failing = False
            log.warning("opentrail client: delivery resumed")
        self._backoff.reset()
        for r in outcome.rejected:
            log.error("opentrail client: the server rejected event %s: %s %s", r.event_id, r.code, r.reason)
        with self._cond:
            self._counts["accepted"] += outcome.accepted
            self._counts["duplicates"] += outcome.duplicates
            self._counts["expired"] += outcome.expired
            self._counts["rejected"] += len(outcome.rejected)
            self._counts["dropped"] += len(outcome.rejected)
            self._cond.notify_all()

    def _failed(self, why: str) -> None:
        delay = self._backoff.next_delay()
        with self._cond:
            self._counts["retries"] += 1
            if not self._failing:
                log.warning("opentrail client: delivery failed, retrying with backoff (%s)", why)
            self._failing = True
            deadline = self._close_deadline
            if self._closing:
                if deadline is None:
                    return
                delay = min(delay, max(0.0, deadline - time.monotonic()))
            end = time.monotonic() + delay
            while True:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
                if self._closing and self._close_deadline is None:
                    break
                if self._closing and self._close_deadline is not None:
                    end = min(end, self._close_deadline)


def _close_at_exit(ref: Callable[[], EventClient | None], timeout_s: float) -> None:
    client = ref()
    if client is not None:
        try:
            client.close(timeout_s=timeout_s)
        except Exception:
            log.exception("opentrail client: close at exit failed")
