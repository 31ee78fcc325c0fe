"""From captured calls to the opentrail server: one builder thread, then the SDK's EventClient.

The forwarding app hands each finished call to :meth:`RecordPipeline.submit`, which only appends
to an in-memory queue (it never blocks and never fails the request). The builder thread resolves
the operation, builds the record and puts it into :class:`opentrail.client.EventClient`, which
appends it to its on-disk spool (bounded by ``spool_max_bytes``) and sends batches to the ingest
endpoint, retrying while opentrail is unreachable; what is unsent at exit stays in the spool and
is sent by the next start. Calls that no botocore model explains are counted (``unresolved``)
and logged at debug level, not recorded.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Protocol

from .capture import CapturedCall
from .record import RecordBuilder

log = logging.getLogger("opentrail.proxy")

_STOP = object()


class EventSink(Protocol):
    """What the pipeline needs of :class:`opentrail.client.EventClient`."""

    def put(self, record: dict[str, Any]) -> None: ...

    def flush(self, timeout_s: float | None = None) -> bool: ...

    def close(self, timeout_s: float | None = None) -> None: ...

    def stats(self) -> dict[str, int]: ...


class RecordPipeline:
    """Captured calls -> records -> ``events``. Thread-safe ``submit``."""

    def __init__(self, builder: RecordBuilder, events: EventSink) -> None:
        self._builder = builder
        self._events = events
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._counts = {"captured": 0, "recorded": 0, "unresolved": 0, "failed": 0}
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._thread = threading.Thread(target=self._run, name="opentrail-proxy-records", daemon=True)
        self._thread.start()

    def submit(self, call: CapturedCall) -> None:
        """Queue a finished call (never blocks)."""
        with self._lock:
            self._counts["captured"] += 1
            self._in_flight += 1
        self._queue.put(call)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            outcome = "failed"
            try:
                record = self._builder.build(item)
                if record is None:
                    outcome = "unresolved"
                    log.debug("no operation matches %s %s", item.method, item.path)
                else:
                    self._events.put(record)
                    outcome = "recorded"
            except Exception:
                log.exception("could not build the record of %s %s", item.method, item.path)
            with self._lock:
                self._counts[outcome] += 1
                self._in_flight -= 1
                self._idle.notify_all()

    def drain(self, timeout_s: float | None = None) -> bool:
        """Wait until every submitted call was built and put; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout_s)

    def flush(self, timeout_s: float | None = None) -> bool:
        """:meth:`drain`, then the event client's flush (True once the server accepted all)."""
        return self.drain(timeout_s) and self._events.flush(timeout_s)

    def close(self, timeout_s: float | None = None) -> None:
        """Build what is queued, stop the thread, close the event client (unsent records stay in
        its spool)."""
        self.drain(timeout_s)
        self._queue.put(_STOP)
        self._thread.join(timeout_s)
        self._events.close(timeout_s)

    def stats(self) -> dict[str, int]:
        """``captured``, ``recorded``, ``unresolved``, ``failed`` calls, plus the event client's
        ``sent``/``spooled``/``pending``/``dropped``."""
        with self._lock:
            out = dict(self._counts)
        out.update({k: v for k, v in self._events.stats().items() if k in ("sent", "spooled", "pending", "dropped")})
        return out
