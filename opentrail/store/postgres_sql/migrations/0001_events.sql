-- The PostgreSQL event store (opentrail/store/postgres.py): events, the lookup index, receive
-- times. Applied once, in a transaction, by opentrail/store/postgres_migrate.py.

-- name -> value: 'zdict' is the zstd dictionary the store's records are compressed with (kept
-- for the store's life, as the SQLite store does).
CREATE TABLE event_store_meta (
    name  text PRIMARY KEY,
    value bytea NOT NULL
);

-- One row: the newest seq handed out. Every append transaction locks it (SELECT ... FOR UPDATE)
-- before it allocates seqs and keeps the lock until it commits, so seqs are allocated and
-- committed in the same order on every node: a reader never sees seq N+1 before N.
CREATE TABLE event_seq (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq  bigint NOT NULL
);
INSERT INTO event_seq (singleton, last_seq) VALUES (true, 0);

-- Interned (account, Region, category) triples: events and lookup rows name them by id.
CREATE TABLE event_partitions (
    id         integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id text NOT NULL,
    region     text NOT NULL,
    category   text NOT NULL,
    UNIQUE (account_id, region, category)
);

-- One row per stored event. event_id is bytea (the eventID's UTF-8 bytes: any string, NUL
-- included); record is the original record bytes compressed with zstd and event_store_meta's
-- dictionary, one frame per record.
CREATE TABLE events (
    seq          bigint  PRIMARY KEY,
    partition_id integer NOT NULL,
    event_time   bigint  NOT NULL,
    account_id   text    NOT NULL,
    event_id     bytea   NOT NULL,
    record       bytea   NOT NULL
);
-- Deduplication on eventID per account, and EventId lookups.
CREATE UNIQUE INDEX events_account_event_id ON events (account_id, event_id);
-- LookupEvents without an attribute (newest first is a backward scan), and retention.
CREATE INDEX events_partition_time ON events (partition_id, event_time, seq);

-- The LookupEvents index for the attributes other than EventId: one row per (event, attribute,
-- value), management and Insights events only. attribute is the position of the key in
-- LOOKUP_ATTRIBUTE_KEYS.
CREATE TABLE event_lookup (
    partition_id integer  NOT NULL,
    attribute    smallint NOT NULL,
    value        bytea    NOT NULL,
    event_time   bigint   NOT NULL,
    seq          bigint   NOT NULL,
    PRIMARY KEY (partition_id, attribute, value, event_time, seq)
);
-- Rows are inserted in seq order, so a BRIN index finds a purged event's rows cheaply.
CREATE INDEX event_lookup_seq ON event_lookup USING brin (seq);

-- Receive times, coarsely: per minute (epoch seconds // 60) in which events were appended, the
-- newest seq appended in it.
CREATE TABLE event_received (
    minute bigint PRIMARY KEY,
    seq    bigint NOT NULL
);
