"""Durable digest state in ``<data-dir>/digests.db`` (SQLite, WAL, synchronous FULL).

Tables:

- ``chains (arn, region, kind, ...)``: one row per trail, Region and kind (``regular`` or
  ``backfill``). ``active`` 1 while the trail logs with validation on; ``start_time`` is where the
  next digest starts (the previous one's end, or when the chain (re)started); ``prev_*`` describe
  the last digest written (all null: the next one is a *starting* digest). ``closing_at`` /
  ``close_reason`` (``stop``, ``delete``, ``validation``, ``coverage``) are set when the trail
  stopped logging, was deleted, turned validation off or (an organization trail) stopped covering
  the chain's account or organization: the final digest is written once delivery caught up.
  ``account_id``, ``trail_name``, ``home_region``, ``bucket``, ``prefix`` are the trail's as last
  seen (a deleted trail's final and backfill digests still need them).
- ``files (bucket, key, arn, region, hash, newest, oldest, delivered_at, digest_id)``: every log
  file delivered for a trail with validation on, recorded right after its upload succeeded and
  before delivery forgets its plan (a crash in between uploads the same bytes again and the second
  record is ignored: the primary key is (bucket, key)). ``digest_id`` is the digest listing it --
  each file is listed in exactly one digest.
- ``digests (id, arn, region, bucket, key, body, metadata, end_time, uploaded)``: a digest is
  written here (signed, with its files assigned and its chain moved) in one transaction, then
  uploaded; after a crash the same bytes are uploaded again. Uploaded digests and the files they
  list are forgotten a week after the digest's end (:meth:`DigestState.prune`).

Every method is thread-safe (one connection behind :attr:`lock`, an RLock that callers also hold to
make "read the clock, then write" atomic with respect to each other).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from ..state_db import open_state_db, write_statements
from ..state_migrate import apply_schema

if TYPE_CHECKING:
    from ..trails.model import Trail

DIGESTS_DB = "digests.db"


REGULAR = "regular"
BACKFILL = "backfill"


@dataclass(frozen=True, slots=True)
class Chain:
    """A row of ``chains`` (see the module docstring)."""

    arn: str
    region: str
    kind: str
    active: bool
    start_time: int
    closing_at: int | None
    close_reason: str | None
    prev_bucket: str | None
    prev_key: str | None
    prev_hash: str | None
    prev_signature: str | None
    prev_end: int | None
    account_id: str
    trail_name: str
    home_region: str
    bucket: str
    prefix: str | None


@dataclass(frozen=True, slots=True)
class DeliveredFile:
    """A row of ``files``: a delivered log file of ``arn`` in ``region``."""

    bucket: str
    key: str
    arn: str
    region: str
    hash: str
    newest: int | None
    oldest: int | None
    delivered_at: int


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    """A row of ``digests`` not uploaded yet."""

    id: int
    arn: str
    region: str
    bucket: str
    key: str
    body: bytes
    metadata: dict[str, str]
    end_time: int


def new_chain(trail: "Trail", region: str, start_time: int) -> Chain:
    """An active regular chain of ``trail`` in ``region`` starting at ``start_time`` (epoch
    seconds) with no previous digest: its first digest is a *starting* digest."""
    return Chain(trail.arn, region, REGULAR, True, start_time, None, None, None, None, None, None, None,
                 trail.account_id, trail.name, trail.home_region, trail.s3_bucket_name, trail.s3_key_prefix)


_CHAIN_COLUMNS = ("arn, region, kind, active, start_time, closing_at, close_reason, prev_bucket, prev_key, prev_hash, "
                  "prev_signature, prev_end, account_id, trail_name, home_region, bucket, prefix")


def _chain(row: tuple[object, ...]) -> Chain:
    values = list(row)
    values[3] = bool(values[3])
    return Chain(*values)  # type: ignore[arg-type]


class DigestState:
    """The tables of ``path`` (created if missing)."""

    def __init__(self, path: Path) -> None:
        self._conn = open_state_db(path)
        apply_schema(self._conn, "opentrail.digests", "digests")
        self.lock = threading.RLock()

    def close(self) -> None:
        with self.lock:
            self._conn.close()

    def _read(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self.lock:
            return self._conn.execute(sql, args).fetchall()

    def write(self, statements: list[tuple[str, tuple[object, ...]]]) -> list[int | None]:
        """Run ``statements`` in one transaction; returns each one's lastrowid."""
        with self.lock:
            return write_statements(self._conn, statements)

    # --- chains ------------------------------------------------------------------------------
    def chains(self) -> list[Chain]:
        return [_chain(r) for r in self._read(f"SELECT {_CHAIN_COLUMNS} FROM chains ORDER BY arn, region, kind")]

    @staticmethod
    def put_chain(chain: Chain) -> tuple[str, tuple[object, ...]]:
        """The statement that stores ``chain`` (insert or replace), for :meth:`write`."""
        values = (chain.arn, chain.region, chain.kind, int(chain.active), chain.start_time, chain.closing_at,
                  chain.close_reason, chain.prev_bucket, chain.prev_key, chain.prev_hash, chain.prev_signature,
                  chain.prev_end, chain.account_id, chain.trail_name, chain.home_region, chain.bucket, chain.prefix)
        return (f"INSERT OR REPLACE INTO chains ({_CHAIN_COLUMNS}) VALUES ({', '.join('?' * len(values))})", values)

    @staticmethod
    def start_chain(chain: Chain) -> tuple[str, tuple[object, ...]]:
        """The statement that starts ``chain`` unless an active chain already holds its (arn,
        region, kind): the log file recorder starts chains the digest worker has not noticed yet,
        and must not reset one that the worker (perhaps on another node) has already started and
        linked to its previous digests."""
        sql, values = DigestState.put_chain(chain)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _CHAIN_COLUMNS.split(", ")[3:])
        sql = (sql.replace("INSERT OR REPLACE", "INSERT", 1)
               + f" ON CONFLICT (arn, region, kind) DO UPDATE SET {updates} WHERE chains.active = 0")
        return (sql, values)

    # --- files -------------------------------------------------------------------------------
    @staticmethod
    def add_file(f: DeliveredFile) -> tuple[str, tuple[object, ...]]:
        """The statement that records a delivered file (ignored if (bucket, key) is known)."""
        return ("INSERT OR IGNORE INTO files (bucket, key, arn, region, hash, newest, oldest, delivered_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (f.bucket, f.key, f.arn, f.region, f.hash, f.newest, f.oldest, f.delivered_at))

    def pending_files(self, arn: str, region: str) -> list[DeliveredFile]:
        """Files of the trail and Region not listed in a digest yet, by delivery time."""
        rows = self._read("SELECT bucket, key, arn, region, hash, newest, oldest, delivered_at FROM files "
                          "WHERE arn = ? AND region = ? AND digest_id IS NULL ORDER BY delivered_at, key", (arn, region))
        return [DeliveredFile(*r) for r in rows]  # type: ignore[arg-type]

    def pending_regions(self) -> set[tuple[str, str]]:
        """(arn, region) pairs that have files not listed in a digest yet."""
        return {(str(a), str(r)) for a, r in self._read("SELECT DISTINCT arn, region FROM files WHERE digest_id IS NULL")}

    def file_digest_keys(self) -> dict[tuple[str, str], str]:
        """(bucket, key) of every recorded file -> key of the digest listing it (tests, audits)."""
        rows = self._read("SELECT f.bucket, f.key, d.key FROM files f JOIN digests d ON d.id = f.digest_id")
        return {(str(b), str(k)): str(d) for b, k, d in rows}

    # --- digests -----------------------------------------------------------------------------
    @staticmethod
    def add_digest(arn: str, region: str, bucket: str, key: str, body: bytes, metadata: dict[str, str],
                   end_time: int) -> tuple[str, tuple[object, ...]]:
        return ("INSERT INTO digests (arn, region, bucket, key, body, metadata, end_time, uploaded) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                (arn, region, bucket, key, body, orjson.dumps(metadata).decode(), end_time))

    def planned_digests(self) -> list[PlannedDigest]:
        rows = self._read("SELECT id, arn, region, bucket, key, body, metadata, end_time FROM digests "
                          "WHERE uploaded = 0 ORDER BY id")
        return [PlannedDigest(int(i), str(a), str(r), str(b), str(k), bytes(body), orjson.loads(str(m)), int(e))  # type: ignore[arg-type, call-overload]
                for i, a, r, b, k, body, m, e in rows]

    def mark_uploaded(self, digest_id: int) -> None:
        """The digest is uploaded: keep its row (for :meth:`prune`) without its body."""
        self.write([("UPDATE digests SET uploaded = 1, body = ? WHERE id = ?", (b"", digest_id))])

    def prune(self, before: int) -> None:
        """Forget files listed in an uploaded digest, and uploaded digests, that ended before
        ``before`` (epoch seconds): their only use was to ignore a second record of the same
        upload, which happens within seconds."""
        self.write([
            ("DELETE FROM files WHERE digest_id IN (SELECT id FROM digests WHERE uploaded = 1 AND end_time < ?)", (before,)),
            ("DELETE FROM digests WHERE uploaded = 1 AND end_time < ? "
             "AND id NOT IN (SELECT digest_id FROM files WHERE digest_id IS NOT NULL)", (before,)),
        ])

    def digest_count(self) -> int:
        return int(self._read("SELECT count(*) FROM digests")[0][0])  # type: ignore[call-overload]
