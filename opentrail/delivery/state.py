"""Durable delivery state in ``<data-dir>/delivery.db`` (SQLite, WAL, synchronous FULL).

Tables:

- ``marks (id, arn, seq, logging)``: logging state changes of a trail, placed in the event log's
  append order: ``logging=1`` at seq S means the trail takes events with seq > S, ``logging=0``
  means it stops taking them. Written when StartLogging/StopLogging change the state.
- ``log_group_marks (id, arn, seq, group_arn)``: changes of a trail's CloudWatchLogsLogGroupArn in
  the same order: from the event after seq S on, the trail's events go to log group ``group_arn``
  (NULL: to none). Written when CreateTrail/UpdateTrail change it; read by the CloudWatch Logs
  delivery (:mod:`.cloudwatch_logs`).
- ``trails (arn, read_seq)``: every selected event of the trail with seq <= read_seq is in a
  planned (or delivered) log file; a restart reads the event log again from there.
- ``regions (arn, region, planned_seq, delivered_seq)``: per trail and Region, the events with
  seq <= planned_seq are in planned files, those <= delivered_seq in uploaded ones. ``region`` (here
  and in ``plans``) is the file stream (:func:`.logfile.stream`): the Region for management and
  data events, ``<region>/Insight`` for the trail's Insights events.
- ``plans (id, arn, region, bucket, key, runs, count, through_seq, sns_topic_arn)``: a log file
  chosen (key fixed) before it is uploaded; ``runs`` lists its events by seq. Deleted once the
  upload succeeded. After a crash the same key is uploaded with the same bytes again.

Every method is thread-safe (one connection behind a lock). :attr:`lock` is the *logging lock*
that :class:`~opentrail.delivery.marks.DeliveringTrailService` holds while it changes a trail's
logging state and writes the mark, and that the worker holds while it reads trails and marks, so
the worker never sees one without the other (in this process; across nodes see
:func:`~opentrail.delivery.marks.settled_marks`).

:attr:`DeliveryState.version` tells the workers to reload trails and marks: it changes on every
mark or forget made here, and whenever another connection (another node) committed a write to the
database (:class:`opentrail.state_watch.DataVersionWatch`: seen at the next look on SQLite, within
:data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..state_db import open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .logfile import runs_from_bytes, runs_to_bytes

DELIVERY_DB = "delivery.db"


@dataclass(frozen=True, slots=True)
class Mark:
    """A logging state change at ``seq`` (see the module docstring)."""

    seq: int
    logging: bool


@dataclass(frozen=True, slots=True)
class LogGroupMark:
    """From the event after ``seq`` on, the trail's log group is ``group_arn`` (None: none)."""

    seq: int
    group_arn: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    """A planned log file: ``runs`` are (first, last) seq ranges of its ``count`` events; the file
    covers the trail's selected events of ``region`` up to ``through_seq``."""

    id: int
    arn: str
    region: str
    bucket: str
    key: str
    runs: tuple[tuple[int, int], ...]
    count: int
    through_seq: int
    sns_topic_arn: str | None


class DeliveryState:
    """The tables of ``path`` (created if missing); ``clock`` (monotonic seconds) paces the looks
    for other nodes' writes (:class:`~opentrail.state_watch.DataVersionWatch`)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.delivery", "delivery")
        self._db = threading.Lock()
        self.lock = threading.RLock()
        self._bumps = 0
        self._watch = DataVersionWatch(self._conn, clock=clock)

    @property
    def version(self) -> int:
        """A number that changes on every mark or forget made through this object at once, and
        when a look finds that another connection committed a write (on every call on SQLite, at
        most every :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL, where any
        write counts, this node's included): the workers compare it to know when to reload the
        marks."""
        with self._db:
            return self._bumps + self._watch.version()

    def close(self) -> None:
        with self._db:
            self._conn.close()

    def _write(self, statements: list[tuple[str, tuple[object, ...]]]) -> list[int | None]:
        with self._db:
            return write_statements(self._conn, statements)

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._db:
            return self._conn.execute(sql, args).fetchall()

    # --- marks -------------------------------------------------------------------------------
    def add_mark(self, arn: str, seq: int, logging: bool) -> None:
        self._write([("INSERT INTO marks (arn, seq, logging) VALUES (?, ?, ?)", (arn, seq, int(logging)))])
        self._bumps += 1

    def marks(self) -> dict[str, list[Mark]]:
        """Every trail's marks in (seq, insertion) order."""
        out: dict[str, list[Mark]] = {}
        for arn, seq, logging in self._read("SELECT arn, seq, logging FROM marks ORDER BY arn, seq, id"):
            out.setdefault(str(arn), []).append(Mark(int(seq), bool(logging)))  # type: ignore[call-overload]
        return out

    def add_log_group_mark(self, arn: str, seq: int, group_arn: str | None) -> None:
        self._write([("INSERT INTO log_group_marks (arn, seq, group_arn) VALUES (?, ?, ?)", (arn, seq, group_arn))])
        self._bumps += 1

    def log_group_marks(self) -> dict[str, list[LogGroupMark]]:
        """Every trail's log group marks in (seq, insertion) order."""
        out: dict[str, list[LogGroupMark]] = {}
        for arn, seq, group in self._read("SELECT arn, seq, group_arn FROM log_group_marks ORDER BY arn, seq, id"):
            out.setdefault(str(arn), []).append(LogGroupMark(int(seq), None if group is None else str(group)))  # type: ignore[call-overload]
        return out

    def forget_trail(self, arn: str) -> None:
        """Drop a deleted trail's marks and cursors (its planned files stay and are uploaded)."""
        self._write([("DELETE FROM marks WHERE arn = ?", (arn,)), ("DELETE FROM trails WHERE arn = ?", (arn,)),
                     ("DELETE FROM regions WHERE arn = ?", (arn,)), ("DELETE FROM log_group_marks WHERE arn = ?", (arn,))])
        self._bumps += 1

    # --- cursors -----------------------------------------------------------------------------
    def read_seqs(self) -> dict[str, int]:
        return {str(a): int(s) for a, s in self._read("SELECT arn, read_seq FROM trails")}  # type: ignore[call-overload]

    def set_read_seqs(self, read_seqs: dict[str, int]) -> None:
        self._write([("INSERT INTO trails (arn, read_seq) VALUES (?, ?) ON CONFLICT (arn) DO UPDATE SET read_seq = excluded.read_seq",
                      (arn, seq)) for arn, seq in read_seqs.items()])

    def planned_seqs(self) -> dict[tuple[str, str], int]:
        rows = self._read("SELECT arn, region, planned_seq FROM regions")
        return {(str(a), str(r)): int(s) for a, r, s in rows}  # type: ignore[call-overload]

    def delivered_seqs(self) -> dict[tuple[str, str], int]:
        rows = self._read("SELECT arn, region, delivered_seq FROM regions")
        return {(str(a), str(r)): int(s) for a, r, s in rows}  # type: ignore[call-overload]

    # --- plans -------------------------------------------------------------------------------
    def add_plan(self, arn: str, region: str, bucket: str, key: str, runs: list[tuple[int, int]], count: int,
                 through_seq: int, sns_topic_arn: str | None, read_seq: int) -> Plan:
        """Record a planned file and move the trail's planned/read cursors, in one transaction."""
        ids = self._write([
            ("INSERT INTO plans (arn, region, bucket, key, runs, count, through_seq, sns_topic_arn) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
             (arn, region, bucket, key, runs_to_bytes(runs), count, through_seq, sns_topic_arn)),
            ("INSERT INTO regions (arn, region, planned_seq, delivered_seq) VALUES (?, ?, ?, 0) "
             "ON CONFLICT (arn, region) DO UPDATE SET planned_seq = excluded.planned_seq", (arn, region, through_seq)),
            ("INSERT INTO trails (arn, read_seq) VALUES (?, ?) ON CONFLICT (arn) DO UPDATE SET read_seq = excluded.read_seq",
             (arn, read_seq)),
        ])
        assert ids[0] is not None
        return Plan(ids[0], arn, region, bucket, key, tuple(runs), count, through_seq, sns_topic_arn)

    def pending_plans(self) -> list[Plan]:
        rows = self._read("SELECT id, arn, region, bucket, key, runs, count, through_seq, sns_topic_arn FROM plans ORDER BY id")
        return [Plan(int(i), str(a), str(r), str(b), str(k), tuple(runs_from_bytes(bytes(blob))), int(c), int(t),  # type: ignore[arg-type, call-overload]
                     None if s is None else str(s)) for i, a, r, b, k, blob, c, t, s in rows]

    def finish_plan(self, plan: Plan) -> None:
        """The plan's file is uploaded: delete the plan, move the Region's delivered cursor."""
        self._write([
            ("DELETE FROM plans WHERE id = ?", (plan.id,)),
            ("UPDATE regions SET delivered_seq = max(delivered_seq, ?) WHERE arn = ? AND region = ?",
             (plan.through_seq, plan.arn, plan.region)),
        ])
