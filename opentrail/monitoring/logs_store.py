"""Durable storage of CloudWatch Logs: ``<data-dir>/logs.db`` (SQLite, WAL, ``synchronous=FULL``).

Tables: ``log_groups`` (one row per group, tags as a JSON object), ``log_streams``, ``log_events``
(one row per event, indexed by (group, timestamp) and (stream, timestamp); the rowid is the event's
ingestion order and, with the timestamp, its place in a read), ``metric_filters`` and
``appended_batches`` (the batch ids of each stream's last :data:`KEPT_BATCH_IDS` appends that gave
one, so a batch appended again after a crash is recognised: see :meth:`SqliteLogsStore.append`).

Writes go through one connection under one lock, one transaction each (a PutLogEvents batch is
one transaction, its events one ``executemany``: acknowledged means committed). Reads use a
connection per thread, so a long FilterLogEvents scan never holds up writers; a scan reads pages
of events by (timestamp, id) key, so it holds no cursor open between pages. Events are returned as
plain tuples ``(id, stream_id, timestamp_ms, ingestion_ms, message)`` (:data:`Row`): reads are the
hot path.

The file may be a schema of the shared PostgreSQL database (:mod:`opentrail.state_db`), written by
several nodes: :meth:`SqliteLogsStore.filters_version` tells a cache of metric filters when any node
changed them (the ``filters_version`` row, moved by every change to a group's filters).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable, Generator, Iterable, Iterator, Sequence

import orjson

from ..state_db import Guard, ThreadReaders, immediate_transaction, open_state_db, write_statements
from ..state_migrate import apply_schema
from ..state_watch import DataVersionWatch
from .logs_model import LogGroup, LogStream

#: The database file in the data directory.
LOGS_DB = "logs.db"

#: One event as read: (id, stream_id, timestamp_ms, ingestion_ms, message).
Row = tuple[int, int, int, int, str]
#: A row of :meth:`SqliteLogsStore.scan_blocks`: the message as ``str``, or as ``bytes`` when read raw.
AnyRow = tuple[int, int, int, int, Any]


_GROUP_COLUMNS = """g.id, g.account_id, g.region, g.name, g.creation_ms, g.retention_days, g.kms_key_id,
    g.log_group_class, g.deletion_protection, g.stored_bytes, g.tags,
    (SELECT count(*) FROM metric_filters f WHERE f.group_id = g.id)"""
SELECT_GROUP = f"SELECT {_GROUP_COLUMNS} FROM log_groups g WHERE g.account_id = ? AND g.region = ? AND g.name = ?"
SELECT_GROUP_BY_ID = f"SELECT {_GROUP_COLUMNS} FROM log_groups g WHERE g.id = ?"
#: (An optional parameter is tested as ``CAST(:p AS TEXT) IS NULL``: PostgreSQL must know its type.)
SELECT_GROUPS = f"""SELECT {_GROUP_COLUMNS} FROM log_groups g
    WHERE g.account_id = :account AND g.region = :region AND g.name > :after
      AND (CAST(:prefix AS TEXT) IS NULL OR substr(g.name, 1, length(:prefix)) = :prefix)
      AND (CAST(:contains AS TEXT) IS NULL OR instr(g.name, :contains) > 0)
    ORDER BY g.name LIMIT :limit"""
SELECT_RETAINED_GROUPS = "SELECT id, retention_days FROM log_groups WHERE retention_days IS NOT NULL"
INSERT_GROUP = """INSERT OR IGNORE INTO log_groups (account_id, region, name, creation_ms, retention_days, kms_key_id,
    log_group_class, deletion_protection, tags) VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?)"""
UPDATE_RETENTION = "UPDATE log_groups SET retention_days = ? WHERE id = ?"
UPDATE_TAGS = "UPDATE log_groups SET tags = ? WHERE id = ?"
GROUP_EXISTS = "SELECT 1 FROM log_groups WHERE id = ?"
DELETE_GROUP = ("DELETE FROM log_events WHERE group_id = :id",
                "DELETE FROM appended_batches WHERE stream_id IN (SELECT id FROM log_streams WHERE group_id = :id)",
                "DELETE FROM log_streams WHERE group_id = :id",
                "DELETE FROM metric_filters WHERE group_id = :id", "DELETE FROM log_groups WHERE id = :id",
                "UPDATE filters_version SET n = n + 1 WHERE id = 1")

_STREAM_COLUMNS = ("id, group_id, name, creation_ms, first_event_ms, last_event_ms, last_ingestion_ms, "
                   "upload_sequence")
SELECT_STREAM = f"SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = ? AND name = ?"
SELECT_STREAM_ID = "SELECT id FROM log_streams WHERE group_id = ? AND name = ?"
#: Streams by name (ascending or descending), after a name, with an optional prefix.
SELECT_STREAMS_BY_NAME = {
    False: f"""SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = :group AND name > :after
        AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(:prefix)) = :prefix) ORDER BY name LIMIT :limit""",
    True: f"""SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = :group AND name < :after
        AND (CAST(:prefix AS TEXT) IS NULL OR substr(name, 1, length(:prefix)) = :prefix) ORDER BY name DESC LIMIT :limit""",
}
#: Streams by last event time (streams without events first), then name.
SELECT_STREAMS_BY_TIME = {
    False: f"""SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = :group
        AND (coalesce(last_event_ms, -1), name) > (:after_time, :after)
        ORDER BY coalesce(last_event_ms, -1), name LIMIT :limit""",
    True: f"""SELECT {_STREAM_COLUMNS} FROM log_streams WHERE group_id = :group
        AND (coalesce(last_event_ms, -1), name) < (:after_time, :after)
        ORDER BY coalesce(last_event_ms, -1) DESC, name DESC LIMIT :limit""",
}
SELECT_STREAM_NAMES = "SELECT id, name FROM log_streams WHERE group_id = ?"
COUNT_OTHER_FILTERS = "SELECT COUNT(*) >= ? FROM metric_filters WHERE group_id = ? AND name <> ?"
INSERT_STREAM = "INSERT OR IGNORE INTO log_streams (group_id, name, creation_ms) VALUES (?, ?, ?)"
DELETE_STREAM = ("DELETE FROM log_events WHERE stream_id = :id", "DELETE FROM appended_batches WHERE stream_id = :id",
                 "DELETE FROM log_streams WHERE id = :id")
STREAM_BYTES = "SELECT coalesce(sum(length(CAST(message AS BLOB))), 0) FROM log_events WHERE stream_id = ?"
UPDATE_STREAM_AFTER_APPEND = """UPDATE log_streams SET
    first_event_ms = min(coalesce(first_event_ms, :first), :first),
    last_event_ms = max(coalesce(last_event_ms, :last), :last),
    last_ingestion_ms = :ingestion, upload_sequence = upload_sequence + 1
    WHERE id = :id RETURNING upload_sequence"""
ADD_STORED_BYTES = "UPDATE log_groups SET stored_bytes = max(stored_bytes + ?, 0) WHERE id = ?"

#: Batch ids kept per stream: an append that repeats one of the stream's last this many batch ids is
#: ignored. The trail -> CloudWatch Logs delivery has far fewer appended-but-unconfirmed batches
#: per stream (opentrail.delivery.cloudwatch_logs.MAX_APPENDS_PER_ROUND).
KEPT_BATCH_IDS = 1000
#: :meth:`SqliteLogsStore.append`'s answer for a batch id already appended.
REPEATED = -1
BATCH_APPENDED = "SELECT 1 FROM appended_batches WHERE batch_id = ? AND stream_id = ?"
INSERT_BATCH = "INSERT OR REPLACE INTO appended_batches (batch_id, stream_id, sequence) VALUES (?, ?, ?)"
FORGET_OLD_BATCHES = "DELETE FROM appended_batches WHERE stream_id = ? AND sequence <= ?"
INSERT_EVENT = "INSERT INTO log_events (group_id, stream_id, ts, ingestion_ms, message) VALUES (?, ?, ?, ?, ?)"
_EVENT_COLUMNS = "id, stream_id, ts, ingestion_ms, message"
_SCAN = {
    ("group", False): """SELECT {columns} FROM log_events INDEXED BY log_events_by_group
        WHERE group_id = :owner AND ts >= :start AND ts < :end AND (ts, id) > (:key_ts, :key_id)
        ORDER BY ts, id LIMIT :limit""",
    ("group", True): """SELECT {columns} FROM log_events INDEXED BY log_events_by_group
        WHERE group_id = :owner AND ts >= :start AND ts < :end AND (ts, id) < (:key_ts, :key_id)
        ORDER BY ts DESC, id DESC LIMIT :limit""",
    ("stream", False): """SELECT {columns} FROM log_events INDEXED BY log_events_by_stream
        WHERE stream_id = :owner AND ts >= :start AND ts < :end AND (ts, id) > (:key_ts, :key_id)
        ORDER BY ts, id LIMIT :limit""",
    ("stream", True): """SELECT {columns} FROM log_events INDEXED BY log_events_by_stream
        WHERE stream_id = :owner AND ts >= :start AND ts < :end AND (ts, id) < (:key_ts, :key_id)
        ORDER BY ts DESC, id DESC LIMIT :limit""",
}
#: Up to :limit events of a group or of one stream in [start, end), after/before a (timestamp, id)
#: key; by (owner kind, descending, raw): ``raw`` reads the message as its UTF-8 bytes.
SCAN_EVENTS = {
    (kind, descending, raw): sql.format(columns=_EVENT_COLUMNS.replace("message", "CAST(message AS BLOB)")
                                        if raw else _EVENT_COLUMNS)
    for (kind, descending), sql in _SCAN.items() for raw in (False, True)
}
#: Up to :limit events of a group older than :before (oldest first), for the retention purge.
EXPIRED_CHUNK = """SELECT id, length(CAST(message AS BLOB)) FROM log_events INDEXED BY log_events_by_group
    WHERE group_id = ? AND ts < ? ORDER BY ts, id LIMIT ?"""
DELETE_EVENT = "DELETE FROM log_events WHERE id = ?"

_FILTER_COLUMNS = "f.group_id, g.name, f.name, f.pattern, f.transformation, f.extra, f.creation_ms"
SELECT_FILTERS_OF_GROUP = f"""SELECT {_FILTER_COLUMNS} FROM metric_filters f JOIN log_groups g ON g.id = f.group_id
    WHERE f.group_id = ? ORDER BY f.name"""
SELECT_FILTERS = f"""SELECT {_FILTER_COLUMNS} FROM metric_filters f JOIN log_groups g ON g.id = f.group_id
    WHERE g.account_id = :account AND g.region = :region AND (CAST(:group AS BIGINT) IS NULL OR f.group_id = :group)
      AND (CAST(:prefix AS TEXT) IS NULL OR substr(f.name, 1, length(:prefix)) = :prefix)
      AND (f.name, g.name) > (:after, :after_group)
    ORDER BY f.name, g.name"""
UPSERT_FILTER = """INSERT INTO metric_filters (group_id, name, pattern, transformation, extra, creation_ms)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (group_id, name) DO UPDATE SET pattern = excluded.pattern,
    transformation = excluded.transformation, extra = excluded.extra"""
DELETE_FILTER = "DELETE FROM metric_filters WHERE group_id = ? AND name = ?"
BUMP_FILTERS_VERSION = "UPDATE filters_version SET n = n + 1 WHERE id = 1"
SELECT_FILTERS_VERSION = "SELECT n FROM filters_version WHERE id = 1"

#: A filter as stored: (group_id, group name, name, pattern, transformation JSON, extra JSON, creation_ms).
FilterRow = tuple[int, str, str, str, str, str, int]


def _clamp(value: int) -> int:
    """A time or id bound within SQLite's integers (callers may pass any JSON number)."""
    return max(-(2**62), min(value, 2**62))


def _group(row: Sequence[object]) -> LogGroup:
    (gid, account, region, name, created, retention, kms, cls, protection, stored, tags, filters) = row
    return LogGroup(id=gid, account_id=account, region=region, name=name, creation_ms=created,  # type: ignore[arg-type]
                    retention_days=retention, kms_key_id=kms, log_group_class=cls,  # type: ignore[arg-type]
                    deletion_protection=bool(protection), stored_bytes=stored,  # type: ignore[arg-type]
                    metric_filter_count=filters, tags=orjson.loads(tags))  # type: ignore[arg-type]


def _stream(row: Sequence[object]) -> LogStream:
    return LogStream(*row)  # type: ignore[arg-type]


class SqliteLogsStore:
    """The CloudWatch Logs tables at ``path`` (see the module docstring). Safe to use from many
    threads; :meth:`close` once at the end."""

    def __init__(self, path: Path) -> None:
        self._path = Path(path)
        self._db = open_state_db(self._path)
        apply_schema(self._db, "opentrail.monitoring", "logs")
        self._db.execute("INSERT OR IGNORE INTO filters_version (id, n) VALUES (1, 0)")
        self._write_lock = threading.Lock()
        self._readers = ThreadReaders(self._path)
        self._watch_lock = threading.Lock()
        self._watch_db = open_state_db(self._path)  # its own: the writer's may be in a transaction
        self._watch = DataVersionWatch(self._watch_db)
        self._filters_version = int(self._watch_db.execute(SELECT_FILTERS_VERSION).fetchone()[0])
        self._filters_stale = False  # this store changed the filters: read their version again

    def _reader(self) -> sqlite3.Connection:
        return self._readers.connection()

    def close(self) -> None:
        with self._write_lock:
            self._db.close()
        with self._watch_lock:
            self._watch_db.close()
        self._readers.close()

    # --- log groups ----------------------------------------------------------------------------

    def group(self, account_id: str, region: str, name: str) -> LogGroup | None:
        row = self._reader().execute(SELECT_GROUP, (account_id, region, name)).fetchone()
        return None if row is None else _group(row)

    def group_by_id(self, group_id: int) -> LogGroup | None:
        row = self._reader().execute(SELECT_GROUP_BY_ID, (group_id,)).fetchone()
        return None if row is None else _group(row)

    def groups(self, account_id: str, region: str, *, prefix: str | None = None, contains: str | None = None,
               after: str = "", limit: int = 50) -> list[LogGroup]:
        """Groups sorted by name (byte order: ASCII for log group names), after ``after``."""
        rows = self._reader().execute(SELECT_GROUPS, {"account": account_id, "region": region, "after": after,
                                                      "prefix": prefix, "contains": contains, "limit": limit})
        return [_group(r) for r in rows]

    def retained_groups(self) -> list[tuple[int, int]]:
        """(group id, retention days) of every group with a retention policy."""
        return list(self._reader().execute(SELECT_RETAINED_GROUPS))

    def insert_group(self, account_id: str, region: str, name: str, creation_ms: int, *, kms_key_id: str | None,
                     log_group_class: str, deletion_protection: bool, tags: dict[str, str],
                     taken: Callable[[], Exception] | None = None) -> None:
        """Add a group; when the name is taken (by another node meanwhile, the UNIQUE constraint in
        the same statement), ``taken()`` is raised, or nothing happens without it."""
        with self._write_lock:
            cur = self._db.execute(INSERT_GROUP, (account_id, region, name, creation_ms, kms_key_id, log_group_class,
                                                  int(deletion_protection), orjson.dumps(tags).decode()))
        if cur.rowcount == 0 and taken is not None:
            raise taken()

    def set_retention(self, group_id: int, days: int | None) -> None:
        with self._write_lock:
            self._db.execute(UPDATE_RETENTION, (days, group_id))

    def set_tags(self, group_id: int, tags: dict[str, str]) -> None:
        with self._write_lock:
            self._db.execute(UPDATE_TAGS, (orjson.dumps(tags).decode(), group_id))

    def delete_group(self, group_id: int) -> None:
        """Delete the group with its streams, events and metric filters (one transaction)."""
        self._transaction(DELETE_GROUP, {"id": group_id})
        self._filters_changed()

    # --- log streams ---------------------------------------------------------------------------

    def stream(self, group_id: int, name: str) -> LogStream | None:
        row = self._reader().execute(SELECT_STREAM, (group_id, name)).fetchone()
        return None if row is None else _stream(row)

    def streams(self, group_id: int, *, by_time: bool, descending: bool, prefix: str | None,
                after: tuple[int, str] | None, limit: int) -> list[LogStream]:
        """Streams of a group by name or by last event time (then name), from after ``after``
        (the (last event time or -1, name) of the previous page's last stream)."""
        if by_time:
            default = (2**62, "") if descending else (-2, "")
            after_time, after_name = after if after is not None else default
            params = {"group": group_id, "after_time": after_time, "after": after_name, "limit": limit}
            rows = self._reader().execute(SELECT_STREAMS_BY_TIME[descending], params)
        else:
            name = after[1] if after is not None else ("\U0010ffff" if descending else "")
            params = {"group": group_id, "after": name, "prefix": prefix, "limit": limit}
            rows = self._reader().execute(SELECT_STREAMS_BY_NAME[descending], params)
        return [_stream(r) for r in rows]

    def stream_names(self, group_id: int) -> dict[int, str]:
        """Stream id -> name for every stream of the group."""
        return dict(self._reader().execute(SELECT_STREAM_NAMES, (group_id,)))

    def insert_stream(self, group_id: int, name: str, creation_ms: int,
                      taken: Callable[[], Exception] | None = None) -> None:
        """Add a stream; when the name is taken, ``taken()`` is raised (as for :meth:`insert_group`),
        or nothing happens without it."""
        with self._write_lock:
            cur = self._db.execute(INSERT_STREAM, (group_id, name, creation_ms))
        if cur.rowcount == 0 and taken is not None:
            raise taken()

    def delete_stream(self, group_id: int, stream_id: int) -> None:
        """Delete the stream and its events (one transaction), taking their bytes off the group."""
        with self._write_lock, immediate_transaction(self._db) as db:
            (size,) = db.execute(STREAM_BYTES, (stream_id,)).fetchone()
            for sql in DELETE_STREAM:
                db.execute(sql, {"id": stream_id})
            db.execute(ADD_STORED_BYTES, (-size, group_id))

    # --- log events ----------------------------------------------------------------------------

    def append(self, group_id: int, stream: int | str, events: Sequence[tuple[int, str]], ingestion_ms: int, *,
               creation_ms: int, batch_id: str | None = None) -> int | None:
        """Append ``events`` ((timestamp ms, message), any order) to the stream (an id, or a name
        created when missing) of group ``group_id`` in one transaction; returns the stream's new
        upload sequence number, or None when the group no longer exists (nothing written). With
        ``batch_id``: :data:`REPEATED` (nothing written) when the stream's last
        :data:`KEPT_BATCH_IDS` batch ids hold it, else it is recorded in the same transaction."""
        if not events:
            return 0
        size = sum(len(m.encode("utf-8")) for _, m in events)
        first = min(t for t, _ in events)
        last = max(t for t, _ in events)
        with self._write_lock, immediate_transaction(self._db) as db:
            if db.execute(GROUP_EXISTS, (group_id,)).fetchone() is None:
                db.execute("ROLLBACK")
                return None
            if isinstance(stream, str):
                db.execute(INSERT_STREAM, (group_id, stream, creation_ms))
                (stream_id,) = db.execute(SELECT_STREAM_ID, (group_id, stream)).fetchone()
            else:
                stream_id = stream
            if batch_id is not None and db.execute(BATCH_APPENDED, (batch_id, stream_id)).fetchone():
                db.execute("ROLLBACK")
                return REPEATED
            db.executemany(INSERT_EVENT, [(group_id, stream_id, t, ingestion_ms, m) for t, m in events])
            (sequence,) = db.execute(UPDATE_STREAM_AFTER_APPEND, {"first": first, "last": last,
                                                                  "ingestion": ingestion_ms, "id": stream_id}).fetchone()
            db.execute(ADD_STORED_BYTES, (size, group_id))
            if batch_id is not None:
                db.execute(INSERT_BATCH, (batch_id, stream_id, sequence))
                db.execute(FORGET_OLD_BATCHES, (stream_id, sequence - KEPT_BATCH_IDS))
        return int(sequence)

    def scan(self, *, group_id: int | None = None, stream_id: int | None = None, start_ms: int = 0,
             end_ms: int = 2**62, after: tuple[int, int] | None = None, descending: bool = False,
             batch: int = 2000) -> Iterator[Row]:
        """Events of one group (interleaving its streams) or one stream with ``start_ms <=
        timestamp < end_ms``, in (timestamp, id) order (reversed when ``descending``), strictly
        after ``after`` in that order. A generator: stop reading whenever you have enough."""
        for block in self.scan_blocks(group_id=group_id, stream_id=stream_id, start_ms=start_ms, end_ms=end_ms,
                                      after=after, descending=descending, batch=batch):
            yield from block

    def scan_blocks(self, *, group_id: int | None = None, stream_id: int | None = None, start_ms: int = 0,
                    end_ms: int = 2**62, after: tuple[int, int] | None = None, descending: bool = False,
                    batch: int = 2000, raw: bool = False) -> Generator[list[AnyRow], None, None]:
        """:meth:`scan` in blocks of up to ``batch`` events; ``raw``: messages as UTF-8 bytes."""
        owner_kind, owner = ("stream", stream_id) if stream_id is not None else ("group", group_id)
        if after is None:
            after = (2**62, 2**62) if descending else (-(2**62), -1)
        sql = SCAN_EVENTS[(owner_kind, descending, raw)]
        params = {"owner": owner, "start": _clamp(start_ms), "end": _clamp(end_ms), "key_ts": _clamp(after[0]),
                  "key_id": _clamp(after[1]), "limit": max(1, batch)}
        while True:
            rows = self._reader().execute(sql, params).fetchall()
            if rows:
                yield rows
            if len(rows) < params["limit"]:
                return
            params["key_ts"], params["key_id"] = rows[-1][2], rows[-1][0]

    def purge_before(self, group_id: int, before_ms: int, chunk: int = 5000) -> int:
        """Delete the group's events with a timestamp before ``before_ms``, ``chunk`` at a time
        (each chunk one transaction, so writers are not held up); returns how many."""
        total = 0
        while True:
            with self._write_lock, immediate_transaction(self._db) as db:
                rows = db.execute(EXPIRED_CHUNK, (group_id, before_ms, chunk)).fetchall()
                if not rows:
                    return total
                db.executemany(DELETE_EVENT, [(r[0],) for r in rows])
                db.execute(ADD_STORED_BYTES, (-sum(r[1] for r in rows), group_id))
            total += len(rows)

    # --- metric filters ------------------------------------------------------------------------

    def filters_of(self, group_id: int) -> list[FilterRow]:
        return list(self._reader().execute(SELECT_FILTERS_OF_GROUP, (group_id,)))

    def filters(self, account_id: str, region: str, *, group_id: int | None, prefix: str | None,
                after: tuple[str, str] = ("", "")) -> Iterable[FilterRow]:
        """Filters of the account and Region (or of one group) sorted by (filter name, group name),
        after ``after``."""
        params = {"account": account_id, "region": region, "group": group_id, "prefix": prefix,
                  "after": after[0], "after_group": after[1]}
        return self._reader().execute(SELECT_FILTERS, params)

    def put_filter(self, group_id: int, name: str, pattern: str, transformation: dict[str, object],
                   extra: dict[str, object], creation_ms: int,
                   limit: tuple[int, Callable[[], Exception]] | None = None) -> None:
        """Create or replace a filter (a replaced one keeps its creation time). ``limit`` (n,
        error): ``error()`` is raised, nothing written, when the group has n other filters, counted
        in the write transaction."""
        guards = [] if limit is None else [Guard(COUNT_OTHER_FILTERS, (limit[0], group_id, name), limit[1])]
        with self._write_lock:
            write_statements(self._db, [(UPSERT_FILTER, (group_id, name, pattern, orjson.dumps(transformation).decode(),
                                                         orjson.dumps(extra).decode(), creation_ms)),
                                        (BUMP_FILTERS_VERSION, ())], guards=guards)
        self._filters_changed()

    def delete_filter(self, group_id: int, name: str) -> None:
        with self._write_lock:
            write_statements(self._db, [(DELETE_FILTER, (group_id, name)), (BUMP_FILTERS_VERSION, ())])
        self._filters_changed()

    def _filters_changed(self) -> None:
        with self._watch_lock:
            self._filters_stale = True

    def filters_version(self) -> int:
        """A number that moves whenever a metric filter was put or deleted (or its group deleted),
        through this store or any other on the same database: read again when the file's data
        version moved, which is looked at on every call on SQLite and at most every
        :data:`~opentrail.state_watch.PG_RECHECK_S` seconds on PostgreSQL."""
        with self._watch_lock:
            if self._watch.changed() or self._filters_stale:
                self._filters_stale = False
                self._filters_version = int(self._watch_db.execute(SELECT_FILTERS_VERSION).fetchone()[0])
            return self._filters_version

    # --- helpers -------------------------------------------------------------------------------

    def _transaction(self, statements: Sequence[str], params: dict[str, object]) -> None:
        with self._write_lock:
            write_statements(self._db, [(sql, params) for sql in statements])
