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
-- Interned lookup keys. name = "<stream>:" for every event of the stream, else
-- "<stream>:<attribute>\x1f<value>" (\x1f: the unit separator, in no attribute name).
CREATE TABLE IF NOT EXISTS lookup_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
-- The log: seq is the append order. record is zstd with the meta 'zdict'.
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY,
    event_time INTEGER NOT NULL,
    stream INTEGER NOT NULL,
    event_id TEXT NOT NULL,
    record BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_time ON events (event_time);
-- eventID dedup and EventId lookups: h = 64-bit hash of (account, eventID). New rows go to the
-- small event_ids_recent, merged into event_ids in hash order once it holds enough rows: random
-- hashes inserted one commit at a time would dirty most pages of a large B-tree on every commit.
CREATE TABLE IF NOT EXISTS event_ids (
    h INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (h, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_ids_recent (
    h INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (h, seq)
) WITHOUT ROWID;
-- The LookupEvents index, as posting blocks: for each lookup key, blocks of up to 1024 ords
-- (ord = event_time << 32 | seq), each block's ords ascending in posting_blocks.ords.
-- Blocks of one key may overlap in ord range (events arrive out of eventTime order); a lookup
-- walks them by max_ord descending and stops once no later block can hold a better match.
CREATE TABLE IF NOT EXISTS postings (
    key INTEGER NOT NULL,
    max_ord INTEGER NOT NULL,
    min_ord INTEGER NOT NULL,
    block INTEGER NOT NULL,
    PRIMARY KEY (key, max_ord)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS postings_by_max_ord ON postings (max_ord);
CREATE TABLE IF NOT EXISTS posting_blocks (
    id INTEGER PRIMARY KEY,
    n INTEGER NOT NULL,
    ords BLOB NOT NULL
);
-- When events were received, for event history retention: per minute (epoch seconds // 60) in
-- which the indexer applied log rows, the newest seq after them. Events appended before a
-- restart are applied when the next indexer replays the log, so a receive time is never early.
CREATE TABLE IF NOT EXISTS received (
    minute INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL
);
