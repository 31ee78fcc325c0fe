-- The schema of digest chains, delivered files and pending digests, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS chains (
    arn TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, active INTEGER NOT NULL,
    start_time INTEGER NOT NULL, closing_at INTEGER, close_reason TEXT,
    prev_bucket TEXT, prev_key TEXT, prev_hash TEXT, prev_signature TEXT, prev_end INTEGER,
    account_id TEXT NOT NULL, trail_name TEXT NOT NULL, home_region TEXT NOT NULL,
    bucket TEXT NOT NULL, prefix TEXT,
    PRIMARY KEY (arn, region, kind));
CREATE TABLE IF NOT EXISTS files (
    bucket TEXT NOT NULL, key TEXT NOT NULL, arn TEXT NOT NULL, region TEXT NOT NULL, hash TEXT NOT NULL,
    newest INTEGER, oldest INTEGER, delivered_at INTEGER NOT NULL, digest_id INTEGER,
    PRIMARY KEY (bucket, key));
CREATE INDEX IF NOT EXISTS files_undigested ON files (arn, region, delivered_at) WHERE digest_id IS NULL;
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL, region TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
    body BLOB NOT NULL, metadata TEXT NOT NULL, end_time INTEGER NOT NULL, uploaded INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS digests_pending ON digests (uploaded, id);
