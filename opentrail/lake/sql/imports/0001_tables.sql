-- The schema of Lake imports (lake-imports.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL,
 destination TEXT NOT NULL, eds_id TEXT NOT NULL, s3_uri TEXT NOT NULL, bucket_region TEXT NOT NULL,
 role_arn TEXT NOT NULL, start_time REAL, end_time REAL, status TEXT NOT NULL, created REAL NOT NULL,
 updated REAL NOT NULL, prefixes_found INTEGER NOT NULL DEFAULT 0,
 prefixes_completed INTEGER NOT NULL DEFAULT 0, files_completed INTEGER NOT NULL DEFAULT 0,
 events_completed INTEGER NOT NULL DEFAULT 0, next_file INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS files (import_id TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL,
 error_type TEXT, error_message TEXT, updated REAL NOT NULL, PRIMARY KEY (import_id, key));
