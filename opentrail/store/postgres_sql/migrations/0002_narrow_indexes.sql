-- Fewer and narrower index entries per appended event (opentrail/store/postgres.py). Inserting
-- B-tree entries was most of the database's CPU per event: one event_lookup row (with its
-- primary-key entry, the attribute value as bytea in the middle of the key) per lookup attribute,
-- about seven per event, and a (account, eventID) text/bytea unique index in random order.

-- Lookup keys interned: one row per (partition, attribute, value), found by its unique index.
-- attribute is the position of the key in LOOKUP_ATTRIBUTE_KEYS. Rows are never deleted (a key
-- outliving its events costs one small row).
CREATE TABLE event_lookup_keys (
    id           bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_id integer  NOT NULL,
    attribute    smallint NOT NULL,
    value        bytea    NOT NULL,
    UNIQUE (partition_id, attribute, value)
);
INSERT INTO event_lookup_keys (partition_id, attribute, value)
SELECT DISTINCT partition_id, attribute, value FROM event_lookup ORDER BY 1, 2, 3;

-- The LookupEvents index as posting blocks: an append transaction writes, per lookup key and
-- hour of eventTime (epoch seconds div 3600) its events fall in, blocks of at most 4096 events
-- (times and seqs ascending by (event_time, seq), same positions, each a bytea of big-endian
-- 64-bit integers as int8send writes them), so a busy append writes one
-- row per key instead of one per event. Blocks of a key may overlap in time: a lookup walks them
-- by max_time descending and stops once no further block can hold a better match. max_time and
-- min_time share an hour, which bounds how far above a time window's end a lookup starts.
CREATE TABLE event_postings (
    id       bigint   GENERATED ALWAYS AS IDENTITY,
    key_id   bigint   NOT NULL,
    max_time bigint   NOT NULL,
    min_time bigint   NOT NULL,
    max_seq  bigint   NOT NULL,
    times    bytea    NOT NULL,
    seqs     bytea    NOT NULL
);
INSERT INTO event_postings (key_id, max_time, min_time, max_seq, times, seqs)
SELECT key_id, max(event_time), min(event_time), max(seq),
       string_agg(int8send(event_time), ''::bytea ORDER BY event_time, seq),
       string_agg(int8send(seq), ''::bytea ORDER BY event_time, seq)
FROM (SELECT k.id AS key_id, l.event_time, l.seq,
             floor(l.event_time / 3600.0) AS hour,
             (row_number() OVER (PARTITION BY k.id, floor(l.event_time / 3600.0) ORDER BY l.event_time, l.seq) - 1) / 4096 AS part
      FROM event_lookup l JOIN event_lookup_keys k USING (partition_id, attribute, value)) AS entries
GROUP BY key_id, hour, part
ORDER BY max(seq);
DROP TABLE event_lookup;
CREATE INDEX event_postings_key_time ON event_postings (key_id, max_time, id);
-- Blocks are written in seq (and roughly time) order: retention finds whole expired blocks here.
CREATE INDEX event_postings_max_time ON event_postings USING brin (max_time);

-- What purges deleted: an event with event_time < this event_time and seq <= through_seq is gone
-- (or about to be: a purge records its bound before it deletes). Posting blocks still list purged
-- events until all of a block's events are purged, and lookups skip them by these bounds. Only
-- bounds no other row covers are kept (usually one row).
CREATE TABLE event_purged (
    event_time  bigint NOT NULL,
    through_seq bigint NOT NULL,
    PRIMARY KEY (event_time, through_seq)
);

-- Deduplication on eventID per account and EventId lookups: a 64-bit hash of (account, eventID).
-- Not unique: a query compares the account and eventID themselves, so a hash collision costs one
-- more row read, never a lost event. Uniqueness holds because appends check and insert under the
-- event_seq row lock.
CREATE INDEX events_event_hash ON events (hashtextextended(account_id || '/' || encode(event_id, 'hex'), 0));
DROP INDEX events_account_event_id;
