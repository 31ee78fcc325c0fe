"""When alarms are evaluated: at the end of each evaluation interval, and promptly when data arrives.

CloudWatch evaluates an alarm every 10 s when its period is 10, 20 or 30 s, every minute otherwise,
and hourly when Evaluation Periods x Period exceeds a day (:func:`.alarm_eval.evaluation_interval_s`),
each time on the periods that ended at that boundary (:func:`.alarm_eval.query_window`). The
scheduler keeps each alarm's next boundary and runs ``evaluate(alarm_key, now)`` when it is reached;
a new or changed alarm is evaluated at the first run after the change.
A data point put on an alarm's metric (:meth:`AlarmScheduler.metric_changed`) makes the alarm due at
once, so data that arrives after its period ended is evaluated without waiting for the next
boundary (the evaluation still covers only whole periods).

Time comes from the injected clock: tests call :meth:`run_due` after moving it; ``start()`` runs
the same on a thread that sleeps until the next boundary (at most :data:`MAX_IDLE_S`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Callable, Iterable

from .alarm_eval import evaluation_interval_s
from .alarm_model import AlarmConfig

log = logging.getLogger(__name__)

#: The scheduler thread looks at the clock at least this often, seconds.
MAX_IDLE_S = 1.0

AlarmKey = tuple[str, str, str]


def next_boundary(config: AlarmConfig, now_s: float) -> float:
    """The first evaluation boundary of ``config`` after ``now_s``."""
    step = evaluation_interval_s(config)
    return (math.floor(now_s / step) + 1) * step


class AlarmScheduler:
    """Runs ``evaluate(key, now_s)`` for each alarm when due (see the module docstring).
    ``configs()`` lists the evaluated alarms' keys and settings."""

    def __init__(self, configs: Callable[[], Iterable[tuple[AlarmKey, AlarmConfig]]],
                 evaluate: Callable[[AlarmKey, float], None], clock: Callable[[], float] = time.time) -> None:
        self._configs = configs
        self._evaluate = evaluate
        self._clock = clock
        self._due: dict[AlarmKey, float] = {}
        self._urgent: set[AlarmKey] = set()
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def alarms_changed(self, keys: Iterable[AlarmKey]) -> None:
        """``keys`` were created, updated or deleted: re-read their settings at the next run."""
        with self._lock:
            for key in keys:
                self._due.pop(key, None)
        self._wake.set()

    def metric_changed(self, keys: Iterable[AlarmKey]) -> None:
        """Data arrived on the metric of the alarms ``keys``: evaluate them now."""
        with self._lock:
            self._urgent.update(keys)
        self._wake.set()

    def run_due(self) -> int:
        """Evaluate every alarm due at the clock's time; returns how many were evaluated."""
        with self._run_lock:
            now = self._clock()
            configs = dict(self._configs())
            with self._lock:
                for key in list(self._due):
                    if key not in configs:
                        del self._due[key]
                due = []
                for key, config in configs.items():
                    when = self._due.get(key)
                    if when is None:  # new (or changed): evaluated at once
                        when = now
                    if when <= now or key in self._urgent:
                        due.append(key)
                        self._due[key] = next_boundary(config, now)
                self._urgent.clear()
            for key in due:
                try:
                    self._evaluate(key, now)
                except Exception:  # one alarm must not stop the others
                    log.exception("evaluating alarm %s failed", key[2])
            return len(due)

    def next_due_s(self) -> float | None:
        with self._lock:
            return min(self._due.values(), default=None)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="opentrail-alarm-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            due = self.next_due_s()
            wait = MAX_IDLE_S if due is None else min(MAX_IDLE_S, max(0.0, due - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()
