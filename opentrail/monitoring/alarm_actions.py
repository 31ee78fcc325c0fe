"""Carrying out alarm actions: publishing the alarm message to SNS topics, with retries.

A state change leaves one :class:`~.alarm_store.PendingAction` per SNS topic of the new state's
actions in the alarm store (same transaction as the change). :meth:`AlarmActionRunner.run_due`
publishes each due one to ``--sns-endpoint-url`` (boto3, the AWS credential chain, the timeouts and
retries of :mod:`opentrail.endpoints`, like the trail notifications) and records the attempt as an
``Action`` history item:

- delivered: ``Successfully executed action arn:aws:sns:...`` and HistoryData
  ``{"actionState":"Succeeded","stateUpdateTimestamp":<ms>,"notificationResource":"arn...",
  "publishedMessage":"<message>"}``; the action is done;
- failed (SNS answered an error, or did not answer): ``Failed to execute action arn:aws:sns:...
  Received error: "<code>"`` and HistoryData ``{"actionState":"Failed",...,"error":"<code>"}``; the
  next attempt is due after :func:`retry_delay_s` (1, 2, 4 ... 300 s); after
  :data:`GIVE_UP_AFTER_S` (a day) the action is dropped with a last item saying so.

Nothing is lost on a restart: pending actions are rows, retried when due. The runner takes an
injected clock; :class:`AlarmActionRunner` is also a thread that runs :meth:`run_due` when woken or
when the next action is due.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import botocore.exceptions

from ..endpoints import EndpointTimeouts, RegionalClients, unreachable_code
from .alarm_store import PendingAction, SqliteAlarmStore
from .alarms import ACTION, HistoryItem
from .javajson import dumps

log = logging.getLogger(__name__)

#: Longest wait between two attempts, seconds.
MAX_RETRY_DELAY_S = 300.0
#: An action still failing this long after its state change is dropped.
GIVE_UP_AFTER_S = 86400.0

#: Publishes (topic ARN, subject, message); returns None or the error code.
Publisher = Callable[[str, str, str], "str | None"]


def retry_delay_s(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones: 1, 2, 4 ... capped at 300."""
    return min(MAX_RETRY_DELAY_S, 2.0 ** max(0, attempts - 1))


class SnsPublisher:
    """Publishes to SNS at ``endpoint_url`` ("" = AWS) with the AWS credential chain."""

    def __init__(self, endpoint_url: str, timeouts: EndpointTimeouts = EndpointTimeouts()) -> None:
        self._clients = RegionalClients("sns", endpoint_url, timeouts)

    def __call__(self, topic_arn: str, subject: str, message: str) -> str | None:
        """Publish; None on success, else the SNS error code (or ``RequestTimeout`` /
        ``ServiceUnavailable`` when the endpoint did not answer)."""
        try:
            self._clients.get(topic_arn.split(":")[3]).publish(TopicArn=topic_arn, Subject=subject, Message=message)
        except botocore.exceptions.ClientError as exc:
            return str(exc.response.get("Error", {}).get("Code", "")) or "InternalError"
        except (botocore.exceptions.BotoCoreError, IndexError) as exc:
            log.warning("alarm action to %s failed: %s", topic_arn, exc)
            return unreachable_code(exc)
        return None

    def close(self) -> None:
        self._clients.close()


def action_item(action: PendingAction, now_s: float, error: str | None, *, giving_up: bool = False) -> HistoryItem:
    """The ``Action`` history item of one attempt (see the module docstring)."""
    data: dict[str, object] = {"actionState": "Succeeded" if error is None else "Failed",
                               "stateUpdateTimestamp": int(action.state_change_s * 1000),
                               "notificationResource": action.target}
    if error is None:
        data["publishedMessage"] = action.message
        summary = f"Successfully executed action {action.target}"
    else:
        data["error"] = error
        summary = f'Failed to execute action {action.target}. Received error: "{error}"'
        if giving_up:
            summary += f"; no more attempts after {action.attempts + 1}"
    return HistoryItem(action.alarm_name, now_s, ACTION, summary, dumps(data))


class AlarmActionRunner:
    """Runs due actions of ``store`` through ``publish`` at the ``clock``'s time (see the module
    docstring). ``start()`` runs it on its own thread; ``wake()`` asks for a run now."""

    def __init__(self, store: SqliteAlarmStore, publish: Publisher, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._publish = publish
        self._clock = clock
        self._run_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_due(self) -> int:
        """Attempt every action due now; returns how many were delivered."""
        delivered = 0
        with self._run_lock:
            for action in self._store.due_actions(self._clock()):
                error = self._publish(action.target, action.subject, action.message)
                now = self._clock()
                if error is None:
                    self._store.finish_action(action, action_item(action, now, None))
                    delivered += 1
                elif now - action.created_s >= GIVE_UP_AFTER_S:
                    log.error("alarm action to %s dropped after %d attempts: %s", action.target,
                              action.attempts + 1, error)
                    self._store.finish_action(action, action_item(action, now, error, giving_up=True))
                else:
                    self._store.retry_action(action, now + retry_delay_s(action.attempts + 1),
                                             action_item(action, now, error))
        return delivered

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="opentrail-alarm-actions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # an action must never stop the thread
                log.exception("alarm actions failed")
            due = self._store.next_action_due_s()
            wait = 1.0 if due is None else min(1.0, max(0.0, due - self._clock()))
            self._wake.wait(wait)
            self._wake.clear()
