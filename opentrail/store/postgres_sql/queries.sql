-- Named queries of the PostgreSQL event store (opentrail/store/postgres.py). Each block starts
-- with a "-- name: <name>" line; parameters are psycopg's %(name)s.

-- name: meta_init
INSERT INTO event_store_meta (name, value) VALUES ('zdict', %(zdict)s) ON CONFLICT (name) DO NOTHING;

-- name: meta_zdict
SELECT value FROM event_store_meta WHERE name = 'zdict';

-- name: partition_add
INSERT INTO event_partitions (account_id, region, category)
VALUES (%(account_id)s, %(region)s, %(category)s)
ON CONFLICT (account_id, region, category) DO NOTHING;

-- name: partitions_all
SELECT id, account_id, region, category FROM event_partitions;

-- name: seq_lock
SELECT last_seq FROM event_seq WHERE singleton FOR UPDATE;

-- name: seq_set
UPDATE event_seq SET last_seq = %(last_seq)s WHERE singleton;

-- name: seq_last
SELECT last_seq FROM event_seq WHERE singleton;

-- name: existing_ids
-- The given (account, eventID) pairs that events after seq %(since)s hold (0: any stored event).
-- Parameters: the accounts and the eventIDs, each as comma-separated hex of their UTF-8 bytes
-- (cheap to send); the answer gives them back. LATERAL ... LIMIT 1: one probe of the hash index
-- per pair (without it, the planner may prefer a hash join over the whole table).
SELECT s.account_hex, s.id_hex
FROM unnest(string_to_array(%(accounts)s, ','), string_to_array(%(event_ids)s, ',')) AS s (account_hex, id_hex)
CROSS JOIN LATERAL (SELECT convert_from(decode(s.account_hex, 'hex'), 'UTF8') AS account_id,
                           decode(s.id_hex, 'hex') AS event_id) AS p
CROSS JOIN LATERAL (SELECT 1 FROM events e
                    WHERE hashtextextended(e.account_id || '/' || encode(e.event_id, 'hex'), 0)
                        = hashtextextended(p.account_id || '/' || s.id_hex, 0)
                      AND e.account_id = p.account_id AND e.event_id = p.event_id AND e.seq > %(since)s
                    LIMIT 1) AS stored;

-- name: lookup_keys_add
INSERT INTO event_lookup_keys (partition_id, attribute, value)
SELECT * FROM unnest(%(partitions)s::integer[], %(attributes)s::smallint[], %(values)s::bytea[])
ON CONFLICT (partition_id, attribute, value) DO NOTHING;

-- name: lookup_keys_find
SELECT k.id, k.partition_id, k.attribute, k.value
FROM unnest(%(partitions)s::integer[], %(attributes)s::smallint[], %(values)s::bytea[]) AS s (partition_id, attribute, value)
JOIN event_lookup_keys k USING (partition_id, attribute, value);

-- name: copy_events
-- COPY's binary format, built by the writer in one block (bytea fields as they are).
COPY events (seq, partition_id, event_time, account_id, event_id, record) FROM STDIN (FORMAT binary);

-- name: copy_postings
COPY event_postings (key_id, max_time, min_time, max_seq, times, seqs) FROM STDIN (FORMAT binary);

-- name: received_add
INSERT INTO event_received (minute, seq) VALUES (%(minute)s, %(seq)s)
ON CONFLICT (minute) DO UPDATE SET seq = GREATEST(event_received.seq, excluded.seq);

-- name: received_seq
SELECT seq FROM event_received WHERE minute < %(minute)s ORDER BY minute DESC LIMIT 1;

-- name: received_last_minute
SELECT minute FROM event_received ORDER BY minute DESC LIMIT 1;

-- name: lookup_all
-- One upper bound, (upper_time, upper_seq) = the lesser of (end, +inf) and the page cursor: with a
-- separate event_time <= end beside the row comparison, a backward scan starts at the row bound
-- and walks every newer entry of the partition down to the window.
SELECT seq, partition_id, event_time, event_id, record FROM events
WHERE partition_id = %(partition_id)s
  AND event_time >= %(start)s
  AND (event_time, seq) < (%(upper_time)s, %(upper_seq)s)
  AND NOT (event_time < %(expired_time)s AND seq <= %(expired_seq)s)
ORDER BY event_time DESC, seq DESC
LIMIT %(limit)s;

-- name: lookup_key
-- The key's id, and the purge bounds (event_time, through_seq) whose events the blocks still list.
SELECT id, ARRAY(SELECT event_time FROM event_purged ORDER BY event_time, through_seq),
       ARRAY(SELECT through_seq FROM event_purged ORDER BY event_time, through_seq)
FROM event_lookup_keys WHERE partition_id = %(partition_id)s AND attribute = %(attribute)s AND value = %(value)s;

-- name: postings_page
-- The next blocks of a key, newest max_time first, after the (max_time, id) cursor. The first
-- cursor is (end of the hour of the window's last second, 0): a block holding an event at or
-- before that second has max_time below it. (The cursor is the only upper bound, as in lookup_all.)
SELECT id, max_time, min_time, times, seqs FROM event_postings
WHERE key_id = %(key_id)s AND max_time >= %(start)s
  AND (max_time, id) < (%(cursor_time)s, %(cursor_id)s)
ORDER BY max_time DESC, id DESC
LIMIT %(limit)s;

-- name: events_by_seq
SELECT seq, partition_id, event_time, event_id, record FROM events WHERE seq = ANY(%(seqs)s);

-- name: lookup_event_id
-- The eventID's rows through the hash index first (OFFSET 0: otherwise the planner, with no
-- statistics on the hash expression, may start from the partition's time range and read
-- every event of the window), then the window.
SELECT seq, partition_id, event_time, event_id, record
FROM (SELECT * FROM events
      WHERE hashtextextended(account_id || '/' || encode(event_id, 'hex'), 0)
          = hashtextextended(%(account_id)s::text || '/' || encode(%(value)s::bytea, 'hex'), 0)
        AND account_id = %(account_id)s AND event_id = %(value)s
      OFFSET 0) AS e
WHERE partition_id = %(partition_id)s
  AND event_time >= %(start)s
  AND (event_time, seq) < (%(upper_time)s, %(upper_seq)s)
  AND NOT (event_time < %(expired_time)s AND seq <= %(expired_seq)s);

-- name: read_since
SELECT seq, partition_id, event_time, event_id, record FROM events
WHERE seq > %(seq)s ORDER BY seq LIMIT %(limit)s;

-- name: purge_events
DELETE FROM events WHERE seq IN (
    SELECT seq FROM events
    WHERE partition_id = ANY(%(partitions)s) AND event_time < %(event_time)s AND seq <= %(through_seq)s
    LIMIT %(limit)s)
RETURNING seq;

-- name: purged_drop_covered
DELETE FROM event_purged
WHERE event_time <= %(event_time)s AND through_seq <= %(through_seq)s
  AND (event_time, through_seq) <> (%(event_time)s, %(through_seq)s);

-- name: purged_add
INSERT INTO event_purged (event_time, through_seq)
SELECT %(event_time)s, %(through_seq)s
WHERE NOT EXISTS (SELECT 1 FROM event_purged WHERE event_time >= %(event_time)s AND through_seq >= %(through_seq)s);

-- name: purge_postings
DELETE FROM event_postings WHERE id IN (
    SELECT id FROM event_postings WHERE max_time < %(event_time)s AND max_seq <= %(through_seq)s LIMIT %(limit)s);

-- name: count
SELECT count(*) FROM events;
