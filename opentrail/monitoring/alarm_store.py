"""The alarm catalog, durably: one SQLite file (``alarms.db`` in the data directory).

Tables:

- ``alarms (account, region, name, body)``: each metric alarm (:class:`MetricAlarm` as JSON), also
  held in memory for the scheduler;
- ``history (id, account, region, alarm_name, alarm_type, ts, item_type, summary, data)``: the
  DescribeAlarmHistory items, kept after the alarm is deleted (as AWS keeps them) for
  :data:`HISTORY_RETENTION_S` (AWS: 30 days);
- ``tags (arn, key, value)``: TagResource's tags;
- ``actions (id, account, region, alarm_name, target, subject, message, state_change_s, attempts,
  next_attempt_s, created_s)``: the actions of state changes not yet carried out (an SNS publish
  that failed is retried from here, so a state change is never lost);
- ``events (id, account, region, time_s, event)``: each state change as its EventBridge event
  (an outbox read by the EventBridge service; rows are kept).

A state change (alarm row, its history item, its actions and its event) is one transaction.
Every method is thread-safe; each write is committed when it returns.

The file may be a schema of the shared PostgreSQL database (:mod:`opentrail.state_db`), written by
several nodes: the alarms held in memory are read again when the file's data version moved
(:class:`~opentrail.state_watch.DataVersionWatch`: looked at on every read on SQLite, at most every
0.5 s on PostgreSQL), and :meth:`SqliteAlarmStore.generation` counts those reloads for caches built
over the alarms.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import orjson

from ..state_db import immediate_transaction, open_state_db
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .alarms import HistoryItem, MetricAlarm

#: File name of the catalog in the data directory.
FILE_NAME = "alarms.db"
#: How long history items are kept (AWS: "CloudWatch retains the history of an alarm for 30 days").
HISTORY_RETENTION_S = 30 * 86400


AlarmKey = tuple[str, str, str]


@dataclass(frozen=True)
class PendingAction:
    """An action of a state change still to be carried out: publish ``message`` with ``subject``
    to the SNS topic ``target``. ``attempts`` made so far; next one due at ``next_attempt_s``."""

    account_id: str
    region: str
    alarm_name: str
    target: str
    subject: str
    message: str
    state_change_s: float
    next_attempt_s: float
    created_s: float
    attempts: int = 0
    id: int = 0


@dataclass(frozen=True)
class AlarmStateUpdate:
    """What one state change writes: the alarm after it, its StateUpdate history item, its actions
    and its EventBridge event (None: none kept)."""

    alarm: MetricAlarm
    history: HistoryItem
    actions: Sequence[PendingAction] = ()
    event: dict[str, object] | None = None


class SqliteAlarmStore:
    """The catalog in ``path`` (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.monitoring", "alarms")
        self._lock = threading.RLock()
        self._watch = DataVersionWatch(self._conn)
        self._generation = 0
        self._alarms: dict[AlarmKey, MetricAlarm] = {}
        self._load()

    def _load(self) -> None:
        alarms = {}
        for body, in self._conn.execute("SELECT body FROM alarms"):
            alarm = MetricAlarm.from_json(orjson.loads(body))
            alarms[(alarm.account_id, alarm.region, alarm.name)] = alarm
        self._alarms = alarms
        self._generation += 1

    def _fresh(self) -> dict[AlarmKey, MetricAlarm]:
        """The alarms in memory, read again first when another connection (node) committed."""
        if self._watch.changed():
            self._load()
        return self._alarms

    def generation(self) -> int:
        """Moves whenever the alarms in memory were read again from the database (another node
        changed them): a cache built over :meth:`alarms` is rebuilt then."""
        with self._lock:
            self._fresh()
            return self._generation

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # --- alarms ------------------------------------------------------------------------------

    def get(self, account_id: str, region: str, name: str) -> MetricAlarm | None:
        with self._lock:
            return self._fresh().get((account_id, region, name))

    def alarms(self, account_id: str | None = None, region: str | None = None) -> list[MetricAlarm]:
        """The alarms of an account and Region (every alarm when both are None), by name (then
        account and Region)."""
        with self._lock:
            found = [a for (acct, reg, _), a in self._fresh().items()
                     if (account_id is None or acct == account_id) and (region is None or reg == region)]
        return sorted(found, key=lambda a: (a.name, a.account_id, a.region))

    def count(self, account_id: str, region: str) -> int:
        with self._lock:
            return sum(1 for (acct, reg, _) in self._fresh() if acct == account_id and reg == region)

    def put_alarm(self, alarm: MetricAlarm, history: Iterable[HistoryItem] = (), *,
                  limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Create or replace ``alarm`` and add its history items. ``limit`` (n, error): when the
        alarm is new and its account and Region already have n alarms, ``error()`` is raised and
        nothing written; both are looked up in the write transaction (``BEGIN IMMEDIATE``, across
        nodes), so nodes creating alarms at once never pass n together."""
        with self._lock, immediate_transaction(self._conn):
            if limit is not None and self._conn.execute(
                    "SELECT 1 FROM alarms WHERE account = ? AND region = ? AND name = ?",
                    (alarm.account_id, alarm.region, alarm.name)).fetchone() is None:
                count = self._conn.execute("SELECT COUNT(*) FROM alarms WHERE account = ? AND region = ?",
                                           (alarm.account_id, alarm.region)).fetchone()[0]
                if count >= limit[0]:
                    raise limit[1]()
            self._write_alarm(alarm)
            self._add_history(alarm.account_id, alarm.region, history)
            self._alarms[(alarm.account_id, alarm.region, alarm.name)] = alarm

    def delete_alarms(self, account_id: str, region: str, names: Sequence[str],
                      history: Iterable[HistoryItem] = ()) -> None:
        """Delete the alarms ``names`` (and their tags), adding ``history``."""
        with self._lock, immediate_transaction(self._conn):
            for name in names:
                alarm = self._fresh().get((account_id, region, name))
                self._conn.execute("DELETE FROM alarms WHERE account = ? AND region = ? AND name = ?",
                                   (account_id, region, name))
                if alarm is not None:
                    self._conn.execute("DELETE FROM tags WHERE arn = ?", (alarm.arn,))
            self._add_history(account_id, region, history)
            for name in names:
                self._alarms.pop((account_id, region, name), None)

    def record_state_change(self, change: AlarmStateUpdate) -> None:
        """Write a state change in one transaction (see :class:`AlarmStateUpdate`)."""
        alarm = change.alarm
        with self._lock, immediate_transaction(self._conn):
            self._write_alarm(alarm)
            self._add_history(alarm.account_id, alarm.region, [change.history])
            for action in change.actions:
                self._conn.execute(
                    "INSERT INTO actions (account, region, alarm_name, target, subject, message, state_change_s, "
                    "attempts, next_attempt_s, created_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (action.account_id, action.region, action.alarm_name, action.target, action.subject,
                     action.message, action.state_change_s, action.attempts, action.next_attempt_s,
                     action.created_s))
            if change.event is not None:
                self._conn.execute("INSERT INTO events (account, region, time_s, event) VALUES (?, ?, ?, ?)",
                                   (alarm.account_id, alarm.region, alarm.state_updated_s,
                                    orjson.dumps(change.event).decode()))
            self._alarms[(alarm.account_id, alarm.region, alarm.name)] = alarm

    def _write_alarm(self, alarm: MetricAlarm) -> None:
        self._conn.execute("INSERT OR REPLACE INTO alarms (account, region, name, body) VALUES (?, ?, ?, ?)",
                           (alarm.account_id, alarm.region, alarm.name, orjson.dumps(alarm.to_json()).decode()))

    # --- history -----------------------------------------------------------------------------

    def add_history(self, account_id: str, region: str, items: Iterable[HistoryItem]) -> None:
        with self._lock, immediate_transaction(self._conn):
            self._add_history(account_id, region, items)

    def _add_history(self, account_id: str, region: str, items: Iterable[HistoryItem]) -> None:
        self._conn.executemany(
            "INSERT INTO history (account, region, alarm_name, alarm_type, ts, item_type, summary, data) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(account_id, region, i.alarm_name, i.alarm_type, i.timestamp_s, i.item_type, i.summary, i.data)
             for i in items])

    def history(self, account_id: str, region: str, *, alarm_name: str | None = None,
                item_type: str | None = None, alarm_types: Sequence[str] = (), start_s: float | None = None,
                end_s: float | None = None, ascending: bool = False, after: tuple[float, int] | None = None,
                limit: int = 100) -> list[HistoryItem]:
        """History items matching the filters, newest first (oldest first with ``ascending``),
        starting after the (timestamp, id) cursor ``after``; at most ``limit``."""
        clauses = ["account = ?", "region = ?"]
        params: list[object] = [account_id, region]
        for column, value in (("alarm_name", alarm_name), ("item_type", item_type)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if alarm_types:
            clauses.append(f"alarm_type IN ({', '.join('?' * len(alarm_types))})")
            params.extend(alarm_types)
        if start_s is not None:
            clauses.append("ts >= ?")
            params.append(start_s)
        if end_s is not None:
            clauses.append("ts <= ?")
            params.append(end_s)
        if after is not None:
            clauses.append("(ts, id) > (?, ?)" if ascending else "(ts, id) < (?, ?)")
            params.extend(after)
        order = "ASC" if ascending else "DESC"
        sql = (f"SELECT id, alarm_name, alarm_type, ts, item_type, summary, data FROM history "
               f"WHERE {' AND '.join(clauses)} ORDER BY ts {order}, id {order} LIMIT ?")
        with self._lock:
            rows = self._conn.execute(sql, [*params, limit]).fetchall()
        return [HistoryItem(name, ts, kind, summary, data, alarm_type, id)
                for id, name, alarm_type, ts, kind, summary, data in rows]

    def purge_history(self, before_s: float) -> int:
        """Delete history items older than ``before_s``; returns how many."""
        with self._lock, immediate_transaction(self._conn):
            return self._conn.execute("DELETE FROM history WHERE ts < ?", (before_s,)).rowcount

    # --- tags --------------------------------------------------------------------------------

    def tags(self, arn: str) -> dict[str, str]:
        with self._lock:
            return dict(self._conn.execute("SELECT key, value FROM tags WHERE arn = ? ORDER BY key", (arn,)))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self._lock, immediate_transaction(self._conn):
            self._conn.executemany("INSERT OR REPLACE INTO tags (arn, key, value) VALUES (?, ?, ?)",
                                   [(arn, k, v) for k, v in tags.items()])

    def untag(self, arn: str, keys: Sequence[str]) -> None:
        with self._lock, immediate_transaction(self._conn):
            self._conn.executemany("DELETE FROM tags WHERE arn = ? AND key = ?", [(arn, k) for k in keys])

    # --- actions and events ------------------------------------------------------------------

    def due_actions(self, now_s: float, limit: int = 100) -> list[PendingAction]:
        """Pending actions whose next attempt is due at ``now_s``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id, account, region, alarm_name, target, subject, message, state_change_s, attempts, "
                "next_attempt_s, created_s FROM actions WHERE next_attempt_s <= ? ORDER BY id LIMIT ?",
                (now_s, limit)).fetchall()
        return [PendingAction(account, region, name, target, subject, message, change_s, next_s, created_s,
                              attempts, id)
                for id, account, region, name, target, subject, message, change_s, attempts, next_s, created_s
                in rows]

    def pending_actions(self) -> list[PendingAction]:
        """Every pending action (any due time), oldest first."""
        return self.due_actions(float("inf"), limit=1_000_000)

    def next_action_due_s(self) -> float | None:
        with self._lock:
            (due,) = self._conn.execute("SELECT MIN(next_attempt_s) FROM actions").fetchone()
        return None if due is None else float(due)

    def finish_action(self, action: PendingAction, history: HistoryItem) -> None:
        """The action is done (delivered, or given up): remove it and add its Action item."""
        with self._lock, immediate_transaction(self._conn):
            self._conn.execute("DELETE FROM actions WHERE id = ?", (action.id,))
            self._add_history(action.account_id, action.region, [history])

    def retry_action(self, action: PendingAction, next_attempt_s: float, history: HistoryItem) -> None:
        """An attempt failed: count it, schedule the next one, add its Action item."""
        with self._lock, immediate_transaction(self._conn):
            self._conn.execute("UPDATE actions SET attempts = attempts + 1, next_attempt_s = ? WHERE id = ?",
                               (next_attempt_s, action.id))
            self._add_history(action.account_id, action.region, [history])

    def events_after(self, after_id: int = 0, limit: int = 1000) -> list[tuple[int, dict[str, object]]]:
        """(id, event) of the state-change events after ``after_id``, oldest first."""
        with self._lock:
            rows = self._conn.execute("SELECT id, event FROM events WHERE id > ? ORDER BY id LIMIT ?",
                                      (after_id, limit)).fetchall()
        return [(id, orjson.loads(event)) for id, event in rows]
