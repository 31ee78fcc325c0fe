"""ChannelSender: your application's audit events to a CloudTrail Lake channel through the stock
``cloudtrail-data`` PutAuditEvents API (boto3), batched, retried and spooled on disk.

    sender = ChannelSender(boto3.client("cloudtrail-data", endpoint_url=...), channel_arn, spool_dir)
    sender.send({"version": "1.0", "userIdentity": {...}, "eventSource": ..., ...})  # never blocks
    sender.flush(timeout_s=10)   # True once everything sent so far was answered
    sender.close()

- :meth:`send` appends ``{"id", "eventData"}`` to the spool (:class:`opentrail.client.spool.Spool`:
  one ``write(2)``, so it survives the process being killed; fsynced every ``sync_interval_s``)
  and returns False when the spool is full (``max_spool_bytes``: the event is dropped and counted).
- One thread sends the spool in order, batches of at most 100 events and 1 MB of eventData (the
  API's limits). Throttling, 5xx answers and connection errors are retried with backoff
  (``retry_first_s`` doubling up to ``retry_max_s``) forever: the batch stays in the spool until
  answered. Per-event failures (``failed`` entries) and request errors that retrying cannot fix
  (ChannelNotFound, InvalidChannelARN, ChannelInsufficientPermission, ValidationException...) are
  final: logged, counted in :attr:`failed`, and the batch is acknowledged.
- After a restart the spool is sent again from its last acknowledged batch; an event sent twice
  (a crash between answer and acknowledgement) is stored twice, as it would be on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from .spool import Spool

log = logging.getLogger("opentrail.client")

MAX_EVENTS = 100
MAX_BYTES = 1024 * 1024
#: Error codes worth retrying (the request may succeed later).
RETRYABLE = frozenset({"ThrottlingException", "Throttling", "InternalFailure", "ServiceUnavailable",
                       "RequestTimeout", "InternalServerError"})


class ChannelSender:
    """See the module docstring. ``client`` is a boto3 ``cloudtrail-data`` client."""

    def __init__(self, client: Any, channel_arn: str, spool_dir: Path, *, max_spool_bytes: int = 256 << 20,
                 sync_interval_s: float = 1.0, retry_first_s: float = 0.2, retry_max_s: float = 30.0) -> None:
        self._client, self._arn = client, channel_arn
        self._spool = Spool(Path(spool_dir), max_bytes=max_spool_bytes)
        self._sync_interval_s, self._retry_first_s, self._retry_max_s = sync_interval_s, retry_first_s, retry_max_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Event()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="opentrail-channel-sender", daemon=True)
        self._thread.start()

    def send(self, event_data: dict[str, Any] | str, event_id: str | None = None) -> bool:
        """Queue one audit event (its eventData as an object or JSON text); False when dropped."""
        text = event_data if isinstance(event_data, str) else orjson.dumps(event_data).decode()
        ok = self._spool.append(orjson.dumps({"id": event_id or uuid.uuid4().hex, "eventData": text}))
        if not ok:
            self.dropped += 1
        self._idle.clear()
        self._wake.set()
        return ok

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every event queued so far was answered; False on timeout."""
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._idle.wait(0.05) and self._spool.read_batch(1, MAX_BYTES) is None:
                return True
            self._wake.set()
        return False

    def close(self, timeout_s: float = 30.0) -> None:
        """Send what is queued (up to ``timeout_s``), stop the thread, close the spool."""
        self.flush(timeout_s)
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)
        self._spool.sync()
        self._spool.close()

    def _run(self) -> None:
        last_sync = time.monotonic()
        while not self._stop.is_set():
            batch = self._spool.read_batch(MAX_EVENTS, MAX_BYTES)
            if batch is None:
                self._idle.set()
                self._wake.wait(self._sync_interval_s)
                self._wake.clear()
            else:
                self._deliver(batch)
            if time.monotonic() - last_sync >= self._sync_interval_s:
                self._spool.sync()
                last_sync = time.monotonic()

    def _deliver(self, batch: Any) -> None:
        events = [orjson.loads(r) for r in batch.records]
        wait = self._retry_first_s
        while not self._stop.is_set():
            try:
                answer = self._client.put_audit_events(channelArn=self._arn, auditEvents=events)
            except Exception as exc:
                code = getattr(exc, "response", {}).get("Error", {}).get("Code")
                status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if code is not None and code not in RETRYABLE and status < 500:
                    log.error("channel sender: %d events refused (%s): %s", len(events), code, exc)
                    self.failed += len(events)
                    self._spool.ack(batch)
                    return
                log.warning("channel sender: retrying in %.1f s: %s", wait, exc)
                self._stop.wait(wait)
                wait = min(self._retry_max_s, wait * 2)
                continue
            for f in answer.get("failed", []):
                log.error("channel sender: event %s refused: %s %s", f.get("id"), f.get("errorCode"),
                          f.get("errorMessage"))
            self.failed += len(answer.get("failed", []))
            self.sent += len(answer.get("successful", []))
            self._spool.ack(batch)
            return
