"""PostgreSQL event store specifics (the conformance suite covers the interface): seq order
under concurrent writers on several stores (nodes), migrations, bytes kept exactly."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import psycopg
import pytest

from opentrail.store.base import LOOKUP_ATTRIBUTE_KEYS, AppendResult, LookupQuery, NewEvent
from opentrail.store.postgres import PostgresEventStore
from opentrail.store.postgres_migrate import Migration, SchemaTooNewError, migrate, migrations
from opentrail.store.sqlite_codec import DEFAULT_ZDICT, RecordCodec
from tests import postgres as pg

ACCT, REGION = "111111111111", "us-east-1"


@pytest.fixture
def url(postgres_database: str, request: pytest.FixtureRequest) -> Iterator[str]:
    schema = f"t_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"[:60]
    pg.create_schema(postgres_database, schema)
    yield pg.url_of(postgres_database.rsplit("/", 1)[1], schema)
    with psycopg.connect(postgres_database, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _ev(eid: str, t: int = 1_700_000_000, lookup: tuple[tuple[str, str], ...] = ()) -> NewEvent:
    return NewEvent(eid, t, ACCT, REGION, "Management", f'{{"eventID":"{eid}"}}'.encode(), lookup)


def test_read_since_never_skips_under_concurrent_writers_on_several_nodes(url: str) -> None:
    """Three stores on one database (as three nodes), two appending threads each, small groups so
    transactions interleave; a reader on a fourth store follows read_since and must see every seq
    exactly once, in order, each read starting right after the last seq it saw."""
    writers = [PostgresEventStore(url, group_max_events=5, pool_max=3) for _ in range(3)]
    reader = PostgresEventStore(url, pool_max=2)
    threads_n, batches, size = 6, 40, 7
    total = threads_n * batches * size
    done = threading.Event()
    seen: list[int] = []
    gaps: list[tuple[int, int]] = []

    def write(n: int) -> None:
        store = writers[n % 3]
        for b in range(batches):
            store.append([_ev(f"w{n}-{b}-{i}") for i in range(size)])

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            for e in reader.read_since(cursor, 50):
                if e.seq != cursor + 1:
                    gaps.append((cursor, e.seq))
                seen.append(e.seq)
                cursor = e.seq
            if finished and cursor == reader.last_seq():
                return

    try:
        follower = threading.Thread(target=follow)
        follower.start()
        threads = [threading.Thread(target=write, args=(n,)) for n in range(threads_n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        follower.join(timeout=60)
        assert gaps == []
        assert seen == list(range(1, total + 1))
        assert reader.count() == total and reader.last_seq() == total
    finally:
        for s in (*writers, reader):
            s.close()


def test_concurrent_nodes_deduplicate_exactly_once(url: str) -> None:
    a, b = PostgresEventStore(url), PostgresEventStore(url)
    results: list[AppendResult] = []
    try:
        threads = [threading.Thread(target=lambda s=s: results.append(s.append([_ev(f"same-{i}") for i in range(50)])))
                   for s in (a, b, a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted((r.accepted, r.duplicates) for r in results) == [(0, 50), (0, 50), (0, 50), (50, 0)]
        assert [e.event_id for e in b.read_since(0, 100)] == [f"same-{i}" for i in range(50)]
    finally:
        a.close()
        b.close()


def test_migrations_recorded_and_applied_once(url: str) -> None:
    PostgresEventStore(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT version, name FROM schema_migrations ORDER BY version").fetchall() == [
            (m.version, m.name) for m in migrations()] == [(1, "events"), (2, "narrow_indexes")]
        assert migrate(conn) == []
        extra = Migration(3, "extra", "CREATE TABLE extra (x int); INSERT INTO extra VALUES (7);")
        assert migrate(conn, [*migrations(), extra]) == [3]
        assert migrate(conn, [*migrations(), extra]) == []
        assert conn.execute("SELECT x FROM extra").fetchall() == [(7,)]
        with pytest.raises(SchemaTooNewError, match=r"schema versions \[3\]"):
            migrate(conn)
        failing = Migration(4, "bad", "CREATE TABLE half (x int); SELECT no_such_column FROM extra;")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            migrate(conn, [*migrations(), extra, failing])
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)
        assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone() == (3,)


def test_version_1_database_upgrades_with_its_events_and_lookups(url: str) -> None:
    """A database written by the version-1 schema (lookup values inline, a unique eventID index)
    keeps every event, lookup and deduplication after 0002_narrow_indexes."""
    v1 = [m for m in migrations() if m.version == 1]
    with psycopg.connect(url, autocommit=True) as conn:
        assert migrate(conn, v1) == [1]
        conn.execute("INSERT INTO event_store_meta (name, value) VALUES ('zdict', %s)", (DEFAULT_ZDICT,))
        conn.execute("INSERT INTO event_partitions (account_id, region, category) VALUES (%s, %s, 'Management')", (ACCT, REGION))
        codec = RecordCodec(DEFAULT_ZDICT)
        for seq, (event_id, user) in enumerate([("old-1", "alice"), ("old-2", "bob"), ("old-3", "alice")], start=1):
            conn.execute("INSERT INTO events VALUES (%s, 1, %s, %s, %s, %s)",
                         (seq, 100 + seq, ACCT, event_id.encode(), codec.compress(b'{"eventID":"%s"}' % event_id.encode())))
            conn.execute("INSERT INTO event_lookup VALUES (1, %s, %s, %s, %s)",
                         (LOOKUP_ATTRIBUTE_KEYS.index("Username"), user.encode(), 100 + seq, seq))
        conn.execute("UPDATE event_seq SET last_seq = 3")
    with PostgresEventStore(url) as store:
        alice = store.lookup(LookupQuery(ACCT, REGION, ("Username", "alice")))
        assert [e.event_id for e in alice.events] == ["old-3", "old-1"]
        assert [e.event_id for e in store.lookup(LookupQuery(ACCT, REGION, ("EventId", "old-2"))).events] == ["old-2"]
        assert store.append([_ev("old-2"), _ev("new-4", 200, (("Username", "alice"),))]) == AppendResult(1, 1, (0,))
        alice = store.lookup(LookupQuery(ACCT, REGION, ("Username", "alice")))
        assert [e.event_id for e in alice.events] == ["new-4", "old-3", "old-1"]


def test_any_event_id_and_value_bytes_roundtrip(url: str) -> None:
    odd = "nul\x00é\u2603"
    record = b'{"eventID":"nul\\u0000","x":  [1, 2 ]}'
    with PostgresEventStore(url) as store:
        e = NewEvent(odd, 5, ACCT, REGION, "Management", record, (("Username", odd), ("Username", odd)))
        assert store.append([e, e]) == AppendResult(1, 1, (1,))
        (got,) = store.read_since(0, 5)
        assert (got.event_id, got.record) == (odd, record)
        for attribute in (("Username", odd), ("EventId", odd)):
            assert [x.event_id for x in store.lookup(LookupQuery(ACCT, REGION, attribute)).events] == [odd]


def test_unreachable_database_raises_on_open() -> None:
    with pytest.raises(psycopg.OperationalError, match="127.0.0.1.*port 1 failed: Connection refused"):
        PostgresEventStore("postgresql://postgres@127.0.0.1:1/none", connect_timeout_s=1.5)


def test_database_unreachable_is_a_503_and_the_store_recovers_by_itself(url: str) -> None:
    from opentrail.api.errors import ServiceUnavailable, store_error_to_aws

    dbname = url.split("/")[-1].split("?")[0]
    with PostgresEventStore(url, pool_max=2, connect_timeout_s=1) as store:
        store.append([_ev("before")])
        with psycopg.connect(pg.ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
            try:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s"
                              " AND pid <> pg_backend_pid()", (dbname,))
                for call in (lambda: store.append([_ev("during")]), lambda: store.lookup(LookupQuery(ACCT, REGION))):
                    with pytest.raises(psycopg.OperationalError) as info:
                        call()
                    error = store_error_to_aws(info.value)
                    assert (type(error), error.status, error.message) == (
                        ServiceUnavailable, 503, "The database did not answer: retry later.")
            finally:
                admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')
        deadline = time.monotonic() + 60  # the pool reconnects in the background, with backoff
        while True:
            try:
                result = store.append([_ev("after"), _ev("before")])
                break
            except psycopg.OperationalError:
                assert time.monotonic() < deadline, "the store did not reconnect"
        assert result == AppendResult(1, 1, (1,))
        assert [e.event_id for e in store.read_since(0, 10)] == ["before", "after"]
