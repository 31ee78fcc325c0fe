-- name: schema
-- The SQLite event store (see opentrail/store/sqlite.py for the design).
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
-- One row per (account, Region, category): the event-history partition an event belongs to.
CREATE TABLE IF NOT EXISTS streams (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    region TEXT NOT NULL,
    category TEXT NOT NULL,
    UNIQUE (account_id, region, category)
);
-- Interned lookup keys: (stream, attribute, value); attribute '' = every event of the stream.
CREATE TABLE IF NOT EXISTS lookup_keys (
    id INTEGER PRIMARY KEY,
    stream INTEGER NOT NULL,
    attribute TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (stream, attribute, value)
);
-- The log: seq is the append order. record is raw-deflate with the meta 'zdict'.
-- keys: the lookup_keys ids the event is indexed under (little-endian uint32 array), for purging.
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_time INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    keys BLOB NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (event_time);
-- eventID dedup and EventId lookups: h = 64-bit hash of (account, eventID).
CREATE TABLE IF NOT EXISTS event_ids (
    h INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (h, seq)
) WITHOUT ROWID;
-- The LookupEvents index: ord = event_time << 32 | seq, so "ORDER BY ord DESC" is newest first.
CREATE TABLE IF NOT EXISTS lookup_index (
    key INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (key, ord)
) WITHOUT ROWID;
