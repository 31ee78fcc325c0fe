-- The schema of Lake queries and their result pages (lake-results/queries.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS queries (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, statement TEXT NOT NULL,
    store_ids TEXT NOT NULL, status TEXT NOT NULL, error TEXT, creation_time REAL NOT NULL,
    delivery_s3_uri TEXT, column_names TEXT, events_scanned INTEGER NOT NULL DEFAULT 0,
    bytes_scanned INTEGER NOT NULL DEFAULT 0, execution_ms INTEGER NOT NULL DEFAULT 0,
    results_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queries_account ON queries (account_id, creation_time);
CREATE TABLE IF NOT EXISTS query_nodes (node_id TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS result_pages (
    query_id TEXT NOT NULL, page INTEGER NOT NULL, rows BLOB NOT NULL, PRIMARY KEY (query_id, page)
);
