"""Durable state of the CloudWatch Logs delivery in ``<data-dir>/cloudwatch-logs.db`` (SQLite, WAL,
synchronous FULL).

Tables:

- ``cursors (arn, read_seq)``: every event of the trail with seq <= read_seq that goes to its log
  group is in a planned (or appended) batch; a restart reads the event log again from there.
- ``regions (arn, region, planned_seq)``: per trail and Region (= log stream), the events with
  seq <= planned_seq are in planned batches.
- ``plans (id, batch_id, arn, region, group_arn, stream, runs, count, through_seq)``: a batch of
  log events chosen -- destination and events (``runs`` of seqs) fixed -- before it is appended. Deleted once the append succeeded. After a crash the same
  batch is appended again with the same ``batch_id``, which the log store ignores when it already
  holds it (:meth:`opentrail.monitoring.logs.LogsService.append_events`).

Thread-safe (one connection behind a lock). Writes of one worker round are grouped in one
transaction each (:meth:`add_plans`, :meth:`finish_plans`).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..state_db import open_state_db, write_statements
from ..state_migrate import apply_schema
from .logfile import runs_from_bytes, runs_to_bytes

CLOUDWATCH_LOGS_DB = "cloudwatch-logs.db"

_UPSERT_CURSOR = ("INSERT INTO cursors (arn, read_seq) VALUES (?, ?) "
                  "ON CONFLICT (arn) DO UPDATE SET read_seq = excluded.read_seq")
_UPSERT_REGION = ("INSERT INTO regions (arn, region, planned_seq) VALUES (?, ?, ?) "
                  "ON CONFLICT (arn, region) DO UPDATE SET planned_seq = excluded.planned_seq")
_INSERT_PLAN = ("INSERT INTO plans (batch_id, arn, region, group_arn, stream, runs, count, through_seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


@dataclass(frozen=True, slots=True)
class LogPlan:
    """A planned batch: the ``count`` events in ``runs`` (first, last seq) of trail ``arn`` and
    ``region``, to be appended to stream ``stream`` of log group ``group_arn``; it covers the
    trail's events of that Region up to ``through_seq``. ``id`` is 0 until the plan is committed."""

    batch_id: str
    arn: str
    region: str
    group_arn: str
    stream: str
    runs: tuple[tuple[int, int], ...]
    count: int
    through_seq: int
    id: int = 0


def new_batch_id() -> str:
    """A batch id never used before (random UUID)."""
    return str(uuid.uuid4())


class CloudWatchLogsState:
    """The tables of ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.delivery", "cloudwatch_logs")
        self._db = threading.Lock()

    def close(self) -> None:
        with self._db:
            self._conn.close()

    def _write(self, statements: Sequence[tuple[str, tuple[object, ...]]]) -> list[int | None]:
        with self._db:
            return write_statements(self._conn, statements)

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._db:
            return self._conn.execute(sql, args).fetchall()

    # --- cursors -----------------------------------------------------------------------------
    def read_seqs(self) -> dict[str, int]:
        return {str(a): int(s) for a, s in self._read("SELECT arn, read_seq FROM cursors")}  # type: ignore[call-overload]

    def set_read_seqs(self, read_seqs: dict[str, int]) -> None:
        self._write([(_UPSERT_CURSOR, (arn, seq)) for arn, seq in read_seqs.items()])

    def planned_seqs(self) -> dict[tuple[str, str], int]:
        rows = self._read("SELECT arn, region, planned_seq FROM regions")
        return {(str(a), str(r)): int(s) for a, r, s in rows}  # type: ignore[call-overload]

    def forget_trail(self, arn: str) -> None:
        """Drop a deleted trail's cursors (its planned batches stay and are appended)."""
        self._write([("DELETE FROM cursors WHERE arn = ?", (arn,)), ("DELETE FROM regions WHERE arn = ?", (arn,))])

    # --- plans -------------------------------------------------------------------------------
    def add_plans(self, plans: Sequence[LogPlan], read_seqs: dict[str, int]) -> list[LogPlan]:
        """Commit ``plans`` (in order), each one's (trail, Region) planned cursor and the trails'
        ``read_seqs``, in one transaction; returns the plans with their ids."""
        statements: list[tuple[str, tuple[object, ...]]] = []
        for p in plans:
            statements.append((_INSERT_PLAN, (p.batch_id, p.arn, p.region, p.group_arn, p.stream, runs_to_bytes(p.runs),
                                              p.count, p.through_seq)))
            statements.append((_UPSERT_REGION, (p.arn, p.region, p.through_seq)))
        statements.extend((_UPSERT_CURSOR, (arn, seq)) for arn, seq in read_seqs.items())
        ids = self._write(statements)
        out = []
        for i, p in enumerate(plans):
            plan_id = ids[2 * i]
            assert plan_id is not None
            out.append(LogPlan(p.batch_id, p.arn, p.region, p.group_arn, p.stream, p.runs, p.count, p.through_seq,
                               plan_id))
        return out

    def pending_plans(self) -> list[LogPlan]:
        rows = self._read("SELECT batch_id, arn, region, group_arn, stream, runs, count, through_seq, id "
                          "FROM plans ORDER BY id")
        return [LogPlan(str(b), str(a), str(r), str(g), str(s), tuple(runs_from_bytes(bytes(blob))),  # type: ignore[arg-type]
                        int(c), int(th), int(i)) for b, a, r, g, s, blob, c, th, i in rows]  # type: ignore[call-overload]

    def finish_plans(self, plans: Sequence[LogPlan]) -> None:
        """The plans' batches are appended (or dropped): delete them."""
        if plans:
            self._write([("DELETE FROM plans WHERE id = ?", (p.id,)) for p in plans])
