-- The rule shard of each outbox row (crc32 of the rule ARN modulo 4, opentrail.shards), so that on
-- several nodes each node's dispatcher sends the rows of the rule shards whose leases it holds.
-- Rows from before this script (-1) get theirs when the bus state opens.
ALTER TABLE outbox ADD COLUMN shard INTEGER NOT NULL DEFAULT -1;
