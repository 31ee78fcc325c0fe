-- The schema of secrets every node shares, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created INTEGER NOT NULL);
