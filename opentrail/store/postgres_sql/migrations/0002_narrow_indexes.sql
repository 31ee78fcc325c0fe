-- Narrower B-trees for appends (opentrail/store/postgres.py). Inserting index entries was most of
-- the database's CPU per appended event: the lookup index's keys held the attribute value
-- (variable-width bytea before event_time and seq, so every comparison walked the tuple), and the
-- deduplication index held the account and eventID as text and bytea, in random order. After this
-- script every entry an append inserts is made of fixed-width integers.

-- Lookup keys interned: one row per (partition, attribute, value), found by its unique index.
-- Rows are never deleted (a key outliving its events costs one small row).
CREATE TABLE event_lookup_keys (
    id           bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    partition_id integer  NOT NULL,
    attribute    smallint NOT NULL,
    value        bytea    NOT NULL,
    UNIQUE (partition_id, attribute, value)
);
INSERT INTO event_lookup_keys (partition_id, attribute, value)
SELECT DISTINCT partition_id, attribute, value FROM event_lookup ORDER BY 1, 2, 3;

-- The LookupEvents index, now (key, eventTime, seq): one row per (event, attribute, value),
-- management and Insights events only.
CREATE TABLE event_lookup_v2 (
    key_id     bigint NOT NULL,
    event_time bigint NOT NULL,
    seq        bigint NOT NULL
);
INSERT INTO event_lookup_v2 (key_id, event_time, seq)
SELECT k.id, l.event_time, l.seq
FROM event_lookup l JOIN event_lookup_keys k USING (partition_id, attribute, value)
ORDER BY l.seq;
DROP TABLE event_lookup;
ALTER TABLE event_lookup_v2 RENAME TO event_lookup;
CREATE INDEX event_lookup_key_time ON event_lookup (key_id, event_time, seq);
-- Rows are inserted in seq order, so a BRIN index finds a purged event's rows cheaply.
CREATE INDEX event_lookup_seq ON event_lookup USING brin (seq);

-- Deduplication on eventID per account and EventId lookups: a 64-bit hash of (account, eventID).
-- Not unique: a query compares the account and eventID themselves, so a hash collision costs one
-- more row read, never a lost event. Uniqueness holds because appends check and insert under the
-- event_seq row lock.
CREATE INDEX events_event_hash ON events (hashtextextended(account_id || '/' || encode(event_id, 'hex'), 0));
DROP INDEX events_account_event_id;
