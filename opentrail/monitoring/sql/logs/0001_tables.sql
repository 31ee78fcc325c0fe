-- The schema of CloudWatch Logs groups, streams, events and metric filters, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS log_groups (
    id                  INTEGER PRIMARY KEY,
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    creation_ms         INTEGER NOT NULL,
    retention_days      INTEGER,
    kms_key_id          TEXT,
    log_group_class     TEXT NOT NULL,
    deletion_protection INTEGER NOT NULL DEFAULT 0,
    stored_bytes        INTEGER NOT NULL DEFAULT 0,
    tags                TEXT NOT NULL DEFAULT '{}',
    UNIQUE (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id                INTEGER PRIMARY KEY,
    group_id          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    creation_ms       INTEGER NOT NULL,
    first_event_ms    INTEGER,
    last_event_ms     INTEGER,
    last_ingestion_ms INTEGER,
    upload_sequence   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS log_events (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL,
    stream_id    INTEGER NOT NULL,
    ts           INTEGER NOT NULL,
    ingestion_ms INTEGER NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_id, ts);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream_id, ts);
CREATE TABLE IF NOT EXISTS appended_batches (
    batch_id  TEXT PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    sequence  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS appended_batches_by_stream ON appended_batches (stream_id, sequence);
CREATE TABLE IF NOT EXISTS filters_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS metric_filters (
    group_id       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    pattern        TEXT NOT NULL,
    transformation TEXT NOT NULL,
    extra          TEXT NOT NULL DEFAULT '{}',
    creation_ms    INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
);
