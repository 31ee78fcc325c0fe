"""Durable state of the default event bus in ``<data-dir>/eventbridge-bus.db`` (SQLite, WAL,
synchronous FULL: a committed change is on disk).

Tables:

- ``cursors (rule_arn, source, seq)``: per rule and source (:data:`SOURCES`: the event log, the
  alarm state-change outbox, custom events) the newest position the rule has been matched
  through. Its matches are in ``outbox`` (or already delivered).
- ``starts (rule_arn, since_seq)``: the RuleConfig.since_seq each rule's cursors were started
  from (a new value -- the rule was enabled again -- restarts them).
- ``heads (source, seq)``: the newest position read of each source (never lowered: on several
  nodes each rule shard's worker writes what it read).
- ``custom_events (id, account, region, log_seq, received_s, event)``: PutEvents' events, with the
  event log's newest seq when they were put (``log_seq``: a rule created at since_seq S takes the
  custom events with log_seq >= S). Deleted once every rule has passed them and they are older
  than :data:`CUSTOM_KEEP_S`.
- ``outbox (id, lane, rule_arn, ..., attempts, next_attempt_s, shard)``: one row per (matched event,
  rule, target), written in the transaction that moves the rule's cursor past the event (so each
  event reaches each rule's targets exactly once into the outbox); deleted once the target took
  it, or it was given up (dead-letter queue or dropped). ``lane`` groups rows by target for the
  dispatcher's per-target concurrency.
- ``matches (rule_arn, event_id, time_s)`` and ``failures (...)``: the newest matches and failed
  invocations per rule, at most ``keep`` each (the status read).
- ``last_ids (name, seq)``: the newest id ever given to a custom event (``custom_events``), as
  SQLite's ``sqlite_sequence`` keeps it, kept by the store itself so it works on PostgreSQL too.

Thread-safe (one connection behind a lock). The file may be a schema of the shared PostgreSQL
database (:mod:`opentrail.state_db`): the per-lane backlog counted in memory is counted again from
the outbox when another connection (node) committed (:class:`~opentrail.state_watch.DataVersionWatch`).
"""

from __future__ import annotations

import collections
import sqlite3
import threading
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import orjson

from ..shards import SHARDS, shard_of, shard_set
from ..state_db import immediate_transaction, open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from ..store.errors import DataDirectoryFullError, is_disk_full
from .model import TargetConfig

BUS_DB = "eventbridge-bus.db"
#: The sources of the bus.
LOG, ALARMS, CUSTOM = "log", "alarms", "custom"
SOURCES = (LOG, ALARMS, CUSTOM)
#: Custom events stay this long (seconds) after every rule passed them: a rule put just before an
#: event, but seen by the bus only after the event was read for the other rules, still finds it.
CUSTOM_KEEP_S = 300.0

_UPSERT_LAST_ID = ("INSERT INTO last_ids (name, seq) VALUES (?, ?) "
                   "ON CONFLICT (name) DO UPDATE SET seq = max(last_ids.seq, excluded.seq)")
_UPSERT_CURSOR = ("INSERT INTO cursors (rule_arn, source, seq) VALUES (?, ?, ?) "
                  "ON CONFLICT (rule_arn, source) DO UPDATE SET seq = excluded.seq")
_UPSERT_START = ("INSERT INTO starts (rule_arn, since_seq) VALUES (?, ?) "
                 "ON CONFLICT (rule_arn) DO UPDATE SET since_seq = excluded.since_seq")
_UPSERT_HEAD = ("INSERT INTO heads (source, seq) VALUES (?, ?) "
                "ON CONFLICT (source) DO UPDATE SET seq = max(heads.seq, excluded.seq)")
_INSERT_DELIVERY = ("INSERT INTO outbox (lane, rule_arn, rule_name, account, region, target, event_id, event, body,"
                    " ingested_s, attempts, next_attempt_s, shard) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_DELIVERY_COLUMNS = ("id, lane, rule_arn, rule_name, account, region, target, event_id, event, body, ingested_s,"
                     " attempts, next_attempt_s")
_TRIM = "DELETE FROM {table} WHERE rule_arn = ? AND id <= ?"


def _plain(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def target_to_json(target: TargetConfig) -> bytes:
    """The target's fields (but ``raw``) as JSON."""
    return orjson.dumps({f.name: getattr(target, f.name) for f in fields(TargetConfig) if f.name != "raw"},
                        default=_plain)


def target_from_json(data: bytes) -> TargetConfig:
    return TargetConfig(**orjson.loads(data))

_INSERT_FAILURE = ("INSERT INTO failures (rule_arn, target_id, target_arn, event_id, error_code, error_message,"
                   " time_s, attempts, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one target of one rule. ``event`` is the envelope's JSON; ``body`` what the
    target receives when it differs (Input / InputPath / InputTransformer), else None;
    ``ingested_s`` when the bus took the event (the start of MaximumEventAgeInSeconds);
    ``attempts`` the failed attempts so far. ``id`` is 0 until committed."""

    lane: str
    rule_arn: str
    rule_name: str
    account_id: str
    region: str
    target: TargetConfig
    event_id: str
    event: bytes
    body: bytes | None
    ingested_s: float
    attempts: int = 0
    next_attempt_s: float = 0.0
    id: int = 0

    @property
    def payload(self) -> bytes:
        """What the target receives."""
        return self.event if self.body is None else self.body


@dataclass(frozen=True, slots=True)
class FailedInvocation:
    """A delivery given up: ``outcome`` is ``DLQ`` (sent to the dead-letter queue), ``DLQ_FAILED``
    (the dead-letter queue refused it too) or ``DROPPED`` (no dead-letter queue)."""

    rule_arn: str
    target_id: str
    target_arn: str
    event_id: str
    error_code: str
    error_message: str
    time_s: float
    attempts: int
    outcome: str


@dataclass(frozen=True, slots=True)
class CustomEvent:
    id: int
    account_id: str
    region: str
    received_s: float
    event: bytes


class BusState:
    """The tables of ``path`` (created if missing); ``keep`` matches and failures per rule.
    ``shards`` (:mod:`opentrail.shards`; None: every shard): the rule shards whose outbox rows
    :meth:`lanes`, :meth:`due` and :meth:`next_due_s` give (a dispatcher of those shards, on
    several nodes); every outbox row carries its rule's shard."""

    def __init__(self, path: Path, keep: int = 20, shards: Iterable[int] | None = None) -> None:
        self._path = Path(path)
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.eventbridge", "bus")
        if isinstance(self._conn, sqlite3.Connection):  # a file from before last_ids: its newest id
            self._conn.execute("INSERT OR IGNORE INTO last_ids (name, seq) SELECT name, seq FROM sqlite_sequence "
                               "WHERE name = 'custom_events'")
        mine, _owns = shard_set(shards)
        #: the SQL condition on outbox rows of this state's shards (shard numbers only: no input)
        self._mine = "" if len(mine) == SHARDS else f" AND shard IN ({', '.join(str(s) for s in sorted(mine))})"
        unplaced = [str(r[0]) for r in self._conn.execute("SELECT DISTINCT rule_arn FROM outbox WHERE shard = -1")]
        if unplaced:  # rows written before outbox rows carried their shard
            write_statements(self._conn, [("UPDATE outbox SET shard = ? WHERE rule_arn = ? AND shard = -1",
                                           (shard_of(arn), arn)) for arn in unplaced], full_dir=self._path.parent)
        self._db = threading.Lock()
        self.keep = keep
        self._watch = DataVersionWatch(self._conn)
        #: Rows waiting per lane (target ARN), kept beside the table: the bus checks it per delivery.
        self._backlog: collections.Counter[str] = collections.Counter()
        self._count_backlog()

    def _count_backlog(self) -> None:
        self._backlog = collections.Counter(
            {str(lane): int(n) for lane, n in self._conn.execute("SELECT lane, count(*) FROM outbox GROUP BY lane")})

    def close(self) -> None:
        with self._db:
            self._conn.close()

    def _write(self, statements: Iterable[tuple[str, Sequence[object]]],
               backlog: Iterable[tuple[str, int]] = ()) -> list[int | None]:
        """Commit ``statements`` in one transaction; then, under the same hold of the lock, add each
        (lane, rows) of ``backlog`` to the backlog counted in memory."""
        with self._db:
            ids = write_statements(self._conn, statements, full_dir=self._path.parent)
            for lane, n in backlog:
                self._backlog[lane] += n
                if self._backlog[lane] <= 0:
                    del self._backlog[lane]
            return ids

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[Any]:
        with self._db:
            return self._conn.execute(sql, args).fetchall()

    # --- cursors -------------------------------------------------------------------------------
    def cursors(self) -> dict[tuple[str, str], int]:
        return {(str(r), str(s)): int(q) for r, s, q in self._read("SELECT rule_arn, source, seq FROM cursors")}

    def starts(self) -> dict[str, int]:
        return {str(r): int(s) for r, s in self._read("SELECT rule_arn, since_seq FROM starts")}

    def heads(self) -> dict[str, int]:
        return {str(s): int(q) for s, q in self._read("SELECT source, seq FROM heads")}

    def start_rules(self, starts: dict[str, int], cursors: dict[tuple[str, str], int]) -> None:
        """Record rules (re)started from ``starts`` with their first ``cursors``, in one transaction."""
        self._write([(_UPSERT_START, (arn, seq)) for arn, seq in starts.items()]
                    + [(_UPSERT_CURSOR, (arn, source, seq)) for (arn, source), seq in cursors.items()])

    def forget_rules(self, arns: Iterable[str]) -> None:
        """Drop deleted rules' cursors (their pending deliveries stay and are sent)."""
        statements: list[tuple[str, Sequence[object]]] = []
        for arn in arns:
            statements += [("DELETE FROM cursors WHERE rule_arn = ?", (arn,)),
                           ("DELETE FROM starts WHERE rule_arn = ?", (arn,))]
        if statements:
            self._write(statements)

    def commit_round(self, cursors: dict[tuple[str, str], int], heads: dict[str, int],
                     deliveries: Sequence[Delivery], matches: Sequence[tuple[str, str, float]],
                     failures: Sequence[FailedInvocation] = ()) -> list[Delivery]:
        """One transaction: the deliveries (returned with their ids), the rules' new ``cursors``,
        the sources' ``heads``, the ``matches`` (rule ARN, envelope id, time) for the status read
        (the oldest beyond ``keep`` per rule dropped) and the ``failures`` of targets that could not
        be given their event at all (their input could not be built)."""
        statements: list[tuple[str, Sequence[object]]] = [
            (_INSERT_DELIVERY, (d.lane, d.rule_arn, d.rule_name, d.account_id, d.region, target_to_json(d.target),
                                d.event_id, d.event, d.body, d.ingested_s, d.attempts, d.next_attempt_s,
                                shard_of(d.rule_arn)))
            for d in deliveries]
        statements += [(_UPSERT_CURSOR, (arn, source, seq)) for (arn, source), seq in cursors.items()]
        statements += [(_UPSERT_HEAD, (source, seq)) for source, seq in heads.items()]
        statements += [("INSERT INTO matches (rule_arn, event_id, time_s) VALUES (?, ?, ?)", m) for m in matches]
        statements += [(_INSERT_FAILURE, (f.rule_arn, f.target_id, f.target_arn, f.event_id, f.error_code,
                                          f.error_message, f.time_s, f.attempts, f.outcome)) for f in failures]
        ids = self._write(statements, [(d.lane, 1) for d in deliveries])
        if matches:
            self._trim("matches", {m[0] for m in matches})
        if failures:
            self._trim("failures", {f.rule_arn for f in failures})
        return [Delivery(d.lane, d.rule_arn, d.rule_name, d.account_id, d.region, d.target, d.event_id, d.event, d.body,
                         d.ingested_s, d.attempts, d.next_attempt_s, int(ids[i] or 0))
                for i, d in enumerate(deliveries)]

    def _trim(self, table: str, arns: Iterable[str]) -> None:
        statements = []
        for arn in arns:
            row = self._read(f"SELECT id FROM {table} WHERE rule_arn = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                             (arn, self.keep))
            if row:
                statements.append((_TRIM.format(table=table), (arn, row[0][0])))
        if statements:
            self._write(statements)

    # --- custom events -------------------------------------------------------------------------
    def append_custom(self, account_id: str, region: str, log_seq: int, received_s: float,
                      events: Sequence[bytes]) -> list[int]:
        """Commit PutEvents' ``events`` (envelope JSON each); returns their ids. Raises
        :class:`DataDirectoryFullError` when the disk is full (nothing committed)."""
        if not events:
            return []
        with self._db:
            try:
                with immediate_transaction(self._conn) as c:
                    ids = [int(c.execute("INSERT INTO custom_events (account, region, log_seq, received_s, event) "
                                         "VALUES (?, ?, ?, ?, ?)",
                                         (account_id, region, log_seq, received_s, e)).lastrowid or 0)
                           for e in events]
                    c.execute(_UPSERT_LAST_ID, ("custom_events", max(ids)))
            except Exception as exc:
                if is_disk_full(exc):
                    raise DataDirectoryFullError(self._path.parent) from exc
                raise
        return ids

    def custom_after(self, after_id: int, limit: int) -> list[CustomEvent]:
        rows = self._read("SELECT id, account, region, received_s, event FROM custom_events WHERE id > ? "
                          "ORDER BY id LIMIT ?", (after_id, limit))
        return [CustomEvent(int(i), str(a), str(r), float(t), bytes(e)) for i, a, r, t, e in rows]

    def custom_head(self) -> int:
        """The newest custom event id ever given (0 when none)."""
        row = self._read("SELECT seq FROM last_ids WHERE name = 'custom_events'")
        return int(row[0][0]) if row else 0

    def custom_start(self, since_seq: int) -> int:
        """Where a rule started at event-log seq ``since_seq`` starts reading custom events: before
        the first one put when the log was at ``since_seq`` or later."""
        row = self._read("SELECT min(id) FROM custom_events WHERE log_seq >= ?", (since_seq,))
        if row and row[0][0] is not None:
            return int(row[0][0]) - 1
        return self.custom_head()

    def purge_custom(self, through_id: int, before_s: float) -> None:
        """Delete the custom events up to ``through_id`` received before ``before_s``."""
        self._write([("DELETE FROM custom_events WHERE id <= ? AND received_s < ?", (through_id, before_s))])

    # --- outbox --------------------------------------------------------------------------------
    def lanes(self) -> set[str]:
        """The lanes holding rows of this state's shards."""
        return {str(r[0]) for r in self._read(f"SELECT DISTINCT lane FROM outbox WHERE 1 = 1{self._mine}")}

    def due(self, lane: str, now_s: float, limit: int) -> list[Delivery]:
        """Up to ``limit`` deliveries of ``lane`` (of this state's shards) due at ``now_s``, the
        longest waiting first."""
        rows = self._read(f"SELECT {_DELIVERY_COLUMNS} FROM outbox WHERE lane = ? AND next_attempt_s <= ?{self._mine} "
                          "ORDER BY next_attempt_s, id LIMIT ?", (lane, now_s, limit))
        return [_delivery(row) for row in rows]

    def next_due_s(self, lane: str) -> float | None:
        row = self._read(f"SELECT min(next_attempt_s) FROM outbox WHERE lane = ?{self._mine}", (lane,))
        return float(row[0][0]) if row and row[0][0] is not None else None

    def pending(self) -> int:
        """Deliveries not yet sent (nor given up)."""
        return int(self._read("SELECT count(*) FROM outbox")[0][0])

    def deliveries(self) -> list[Delivery]:
        return [_delivery(row) for row in self._read(f"SELECT {_DELIVERY_COLUMNS} FROM outbox ORDER BY id")]

    def backlog(self, lane: str) -> int:
        """Rows of ``lane`` waiting to be sent (or retried): counted in memory, and counted again
        from the outbox when another connection (node) committed (at most every
        :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL)."""
        with self._db:
            if self._watch.changed():
                self._count_backlog()
            return self._backlog[lane]

    def _forget(self, delivery_id: int, statements: list[tuple[str, Sequence[object]]]) -> None:
        with self._db:
            row = self._conn.execute("SELECT lane FROM outbox WHERE id = ?", (delivery_id,)).fetchone()
        self._write([("DELETE FROM outbox WHERE id = ?", (delivery_id,)), *statements],
                    [] if row is None else [(str(row[0]), -1)])

    def finish(self, delivery_id: int) -> None:
        """The target took the delivery: delete it."""
        self._forget(delivery_id, [])

    def retry(self, delivery_id: int, attempts: int, next_attempt_s: float) -> None:
        self._write([("UPDATE outbox SET attempts = ?, next_attempt_s = ? WHERE id = ?",
                      (attempts, next_attempt_s, delivery_id))])

    def give_up(self, delivery_id: int, failure: FailedInvocation) -> None:
        """Delete the delivery and record ``failure`` (the oldest beyond ``keep`` dropped)."""
        f = failure
        self._forget(delivery_id, [(_INSERT_FAILURE, (f.rule_arn, f.target_id, f.target_arn, f.event_id, f.error_code,
                                                      f.error_message, f.time_s, f.attempts, f.outcome))])
        self._trim("failures", [f.rule_arn])

    # --- status --------------------------------------------------------------------------------
    def matches(self, rule_arn: str) -> list[tuple[str, float]]:
        """(envelope id, time) of the rule's newest matches, newest first."""
        return [(str(e), float(t)) for e, t in
                self._read("SELECT event_id, time_s FROM matches WHERE rule_arn = ? ORDER BY id DESC", (rule_arn,))]

    def failures(self, rule_arn: str) -> list[FailedInvocation]:
        rows = self._read("SELECT rule_arn, target_id, target_arn, event_id, error_code, error_message, time_s, attempts,"
                          " outcome FROM failures WHERE rule_arn = ? ORDER BY id DESC", (rule_arn,))
        return [FailedInvocation(str(a), str(b), str(c), str(d), str(e), str(f), float(g), int(h), str(i))
                for a, b, c, d, e, f, g, h, i in rows]


def _delivery(row: Sequence[Any]) -> Delivery:
    i, lane, rule_arn, rule_name, account, region, target, event_id, event, body, ingested_s, attempts, due = row
    return Delivery(str(lane), str(rule_arn), str(rule_name), str(account), str(region), target_from_json(bytes(target)),
                    str(event_id), bytes(event), None if body is None else bytes(body), float(ingested_s),
                    int(attempts), float(due), int(i))
