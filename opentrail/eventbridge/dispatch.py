"""Sends the bus's outbox rows (:class:`opentrail.eventbridge.bus_state.Delivery`) to their targets,
with EventBridge's retry policy and dead-letter queues.

**Threads.** Rows are grouped in *lanes*, one per target ARN. A scheduler thread takes the rows
due from the outbox (and the bus hands it new rows directly, :meth:`Dispatcher.submit`) into their
lane's queue, at most ``queue_limit`` claimed per lane; each lane is drained by at most
``concurrency`` threads of its own, started when work arrives and ended when the lane is empty. A
slow or hanging target therefore holds only its own lane's threads (each request waits at most the
target's timeout): the bus and the other targets go on.

**Retries** (EventBridge User Guide, "Event retry policy and using dead-letter queues"): a
retryable failure (:class:`opentrail.eventbridge.targets.Outcome`) is tried again after an
exponential backoff with jitter (``backoff_base_s`` doubling per attempt, at most
``backoff_cap_s``, the upper half drawn at random; no sooner than a Retry-After), until the
target's MaximumRetryAttempts retries were made or its MaximumEventAgeInSeconds passed since the
bus took the event. Then, or at once for a failure that is not retryable, the event goes to the
target's dead-letter queue (SQS) if it has one, else it is dropped; either way the failure is kept
for the status read (:meth:`opentrail.eventbridge.bus_state.BusState.failures`). Attempts and due
times are in the outbox, so retries survive restarts.

**Delivery guarantee.** A row is deleted right after its target answered: a crash between the
request and that commit sends it again after the restart (at least once; the envelope id is
stable, so receivers can drop the repeat). A kill repeats at most the requests under way then:
``concurrency`` per target. FIFO queue targets drop it themselves
(MessageDeduplicationId).

**Metrics** (namespace ``AWS/Events``, dimension RuleName, EventBridge User Guide "Monitoring
Amazon EventBridge"): ``Invocations`` (a target invoked: delivered, or failed for good),
``FailedInvocations`` (failed for good), ``InvocationsSentToDlq``, ``InvocationsFailedToBeSentToDlq``
and ``DeadLetterInvocations`` (the target was not invoked at all: missing API destination,
forbidden host, unsupported ARN).
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Protocol

from .bus_state import BusState, Delivery, FailedInvocation
from .targets import Outcome, Sender, failed

log = logging.getLogger(__name__)

#: put_metric_points(account, region, namespace, metric name, dimensions, time s, value)
MetricSink = Callable[[str, str, str, str, Mapping[str, str], float, float], None]
NAMESPACE = "AWS/Events"
#: Requests under way at once per target (a lane's threads), by default.
DEFAULT_CONCURRENCY = 4
DLQ, DLQ_FAILED, DROPPED = "DLQ", "DLQ_FAILED", "DROPPED"


class DeadLetterSender(Protocol):
    def send_dead_letter(self, delivery: Delivery, code: str, message: str, exhausted: str | None,
                         attempts: int) -> Outcome: ...


@dataclass
class _Lane:
    queue: collections.deque[Delivery] = field(default_factory=collections.deque)
    claimed: set[int] = field(default_factory=set)
    workers: int = 0


class Dispatcher:
    """See the module docstring. ``clock`` gives epoch seconds; ``rng`` draws the jitter."""

    def __init__(self, state: BusState, sender: Sender, *, clock: Callable[[], float],
                 dead_letters: DeadLetterSender | None = None, metrics: MetricSink | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY, queue_limit: int = 64, poll_s: float = 0.25,
                 backoff_base_s: float = 1.0, backoff_cap_s: float = 300.0, rng: random.Random | None = None) -> None:
        self._state, self._sender, self._clock = state, sender, clock
        self._dead_letters, self._metrics = dead_letters, metrics
        self._concurrency, self._queue_limit, self._poll_s = concurrency, queue_limit, poll_s
        self._base_s, self._cap_s = backoff_base_s, backoff_cap_s
        self._rng = rng or random.Random()
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: set[threading.Thread] = set()

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            for lane in self._state.lanes():
                self._lanes.setdefault(lane, _Lane())
        self._thread = threading.Thread(target=self._run, name="opentrail-eventbridge-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking work; wait up to ``timeout_s`` for the requests under way."""
        self._stopping.set()
        self._wake.set()
        deadline = time.monotonic() + timeout_s
        if self._thread is not None:
            self._thread.join(timeout=timeout_s)
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                self._schedule(self._clock())
            except Exception:
                log.exception("EventBridge dispatch round failed")
                self._stopping.wait(1.0)
            self._wake.wait(self._poll_s)

    # --- scheduling ----------------------------------------------------------------------------
    def submit(self, deliveries: list[Delivery]) -> None:
        """New outbox rows (committed): queued at once when their lane has room, else found by the
        next scheduling round."""
        if self._stopping.is_set() or self._thread is None:
            return
        now = self._clock()
        with self._lock:
            for d in deliveries:
                lane = self._lanes.setdefault(d.lane, _Lane())
                if d.next_attempt_s <= now and len(lane.claimed) < self._queue_limit:
                    self._claim(d.lane, lane, d)

    def _schedule(self, now: float) -> None:
        with self._lock:
            names = list(self._lanes)
        for name in names:
            # The outbox is read with the lock held: a row a lane thread finishes (deleted or
            # rescheduled, then unclaimed) cannot be read here before and claimed again after.
            with self._lock:
                lane = self._lanes[name]
                room = self._queue_limit - len(lane.claimed)
                if room <= 0:
                    continue
                rows = self._state.due(name, now, self._queue_limit)
                fresh = [d for d in rows if d.id not in lane.claimed][:room]
                for d in fresh:
                    self._claim(name, lane, d)
                idle = not rows and not lane.claimed
            if idle and self._state.next_due_s(name) is None:
                with self._lock:
                    if not lane.claimed and self._lanes.get(name) is lane:
                        del self._lanes[name]

    def _claim(self, name: str, lane: _Lane, d: Delivery) -> None:
        """Queue ``d`` in its lane and start a lane thread if the lane has fewer than its share
        (called with the lock held). A row already claimed (the scheduler read it from the outbox
        before the bus handed it over) is not queued twice."""
        if d.id in lane.claimed:
            return
        lane.claimed.add(d.id)
        lane.queue.append(d)
        if lane.workers < self._concurrency and not self._stopping.is_set():
            lane.workers += 1
            worker = threading.Thread(target=self._drain, args=(name, lane), name="opentrail-eventbridge-target",
                                      daemon=True)
            self._workers.add(worker)
            worker.start()

    def _drain(self, name: str, lane: _Lane) -> None:
        try:
            while True:
                with self._lock:
                    if not lane.queue or self._stopping.is_set():
                        lane.workers -= 1
                        lane.claimed.difference_update(d.id for d in lane.queue)
                        lane.queue.clear()
                        return
                    d = lane.queue.popleft()
                try:
                    self.process(d)
                except Exception:
                    log.exception("EventBridge delivery %d to %s failed", d.id, name)
                finally:
                    with self._lock:
                        lane.claimed.discard(d.id)
        finally:
            with self._lock:
                self._workers.discard(threading.current_thread())

    def run_due(self) -> int:
        """Send every due row now, one at a time, on the calling thread (tests); returns how many
        attempts were made."""
        n = 0
        for name in sorted(self._state.lanes()):
            for d in self._state.due(name, self._clock(), 10_000):
                self.process(d)
                n += 1
        return n

    # --- one attempt ---------------------------------------------------------------------------
    def backoff_s(self, attempts: int) -> float:
        """The wait before the next attempt after ``attempts`` failed ones."""
        ceiling = min(self._cap_s, self._base_s * 2 ** min(attempts - 1, 40))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def process(self, d: Delivery) -> Outcome:
        """Attempt ``d`` once and record what follows: delete it, schedule its retry, or give it up.
        A row already past its MaximumEventAgeInSeconds (the server was down meanwhile) is given up
        without being sent."""
        started = self._clock()
        if started >= d.ingested_s + d.target.maximum_event_age_s:
            expired = failed("EVENT_EXPIRED", f"the event is older than {d.target.maximum_event_age_s} s"
                             " (MaximumEventAgeInSeconds)", invoked=False)
            self._give_up(d, expired, d.attempts, "MaximumEventAgeInSeconds", started)
            return expired
        outcome = self._sender.send(d)
        now = self._clock()
        if outcome.ok:
            self._state.finish(d.id)
            self._metric(d, "Invocations", now)
            return outcome
        attempts = d.attempts + 1
        target = d.target
        exhausted: str | None = None
        if outcome.retryable and not outcome.stop_retrying:
            deadline = d.ingested_s + target.maximum_event_age_s
            if attempts > target.maximum_retry_attempts:
                exhausted = "MaximumRetryAttempts"
            elif now >= deadline:
                exhausted = "MaximumEventAgeInSeconds"
            else:
                delay = self.backoff_s(attempts)
                if outcome.retry_after_s is not None:
                    delay = max(delay, outcome.retry_after_s)
                self._state.retry(d.id, attempts, min(now + delay, deadline))
                return outcome
        elif outcome.stop_retrying:
            exhausted = "MaximumRetryAttempts"
        self._give_up(d, outcome, attempts, exhausted, now)
        return outcome

    def _give_up(self, d: Delivery, outcome: Outcome, attempts: int, exhausted: str | None, now: float) -> None:
        result = DROPPED
        if d.target.dead_letter_arn and self._dead_letters is not None:
            sent = self._dead_letters.send_dead_letter(d, outcome.code, outcome.message, exhausted, attempts)
            if sent.ok:
                result = DLQ
                self._metric(d, "InvocationsSentToDlq", now)
            else:
                result = DLQ_FAILED
                self._metric(d, "InvocationsFailedToBeSentToDlq", now)
                log.warning("event %s of rule %s not sent to the dead-letter queue %s: %s %s", d.event_id,
                            d.rule_arn, d.target.dead_letter_arn, sent.code, sent.message)
        if outcome.invoked:
            self._metric(d, "Invocations", now)
            self._metric(d, "FailedInvocations", now)
        else:
            self._metric(d, "DeadLetterInvocations", now)
        log.info("event %s of rule %s not delivered to %s (%s: %s) after %d attempt(s): %s", d.event_id, d.rule_arn,
                 d.target.arn, outcome.code, outcome.message, attempts, result)
        self._state.give_up(d.id, FailedInvocation(d.rule_arn, d.target.id, d.target.arn, d.event_id, outcome.code,
                                                   outcome.message, now, attempts, result))

    def _metric(self, d: Delivery, name: str, now: float) -> None:
        if self._metrics is None:
            return
        try:
            self._metrics(d.account_id, d.region, NAMESPACE, name, {"RuleName": d.rule_name}, now, 1.0)
        except Exception:
            log.exception("EventBridge metric %s not recorded", name)
