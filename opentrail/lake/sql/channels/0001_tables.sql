-- The schema of channels (lake.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, doc BLOB NOT NULL);
