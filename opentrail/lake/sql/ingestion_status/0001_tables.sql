-- The schema of the ingestion status of channels, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS ingestion_status (
    channel_id TEXT PRIMARY KEY,
    attempt_ms INTEGER, attempt_event_id TEXT,
    success_ms INTEGER, success_event_id TEXT,
    error_ms INTEGER, error_code TEXT);
