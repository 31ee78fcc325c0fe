-- The schema of Lake ingestion (<lake root>/ingest.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS stores (eds_id TEXT PRIMARY KEY, start_seq INTEGER NOT NULL);
