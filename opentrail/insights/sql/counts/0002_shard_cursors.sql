-- One cursor per account shard (opentrail.shards: an account's shard is crc32(account ID) % 4), so
-- the shards' Insights can run on different nodes. Each starts where the single cursor was.
CREATE TABLE IF NOT EXISTS shard_cursors (shard INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
INSERT INTO shard_cursors (shard, seq) SELECT 0, seq FROM cursor WHERE id = 1;
INSERT INTO shard_cursors (shard, seq) SELECT 1, seq FROM cursor WHERE id = 1;
INSERT INTO shard_cursors (shard, seq) SELECT 2, seq FROM cursor WHERE id = 1;
INSERT INTO shard_cursors (shard, seq) SELECT 3, seq FROM cursor WHERE id = 1;
