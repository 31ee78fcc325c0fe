-- The schema of event data stores, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS event_data_stores (
    id   TEXT PRIMARY KEY,
    doc  BLOB NOT NULL
);
