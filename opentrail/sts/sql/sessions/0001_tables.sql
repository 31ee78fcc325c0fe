-- The schema of STS sessions (accounts.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_name TEXT,
    parent_access_key_id TEXT NOT NULL,
    token_sha256 BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_s REAL NOT NULL,
    expires_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions (expires_s);
