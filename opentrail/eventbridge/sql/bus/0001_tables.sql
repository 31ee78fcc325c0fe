-- The schema of EventBridge bus cursors, custom events, outbox, matches and failures, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS cursors (rule_arn TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
                                    PRIMARY KEY (rule_arn, source));
CREATE TABLE IF NOT EXISTS starts (rule_arn TEXT PRIMARY KEY, since_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heads (source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS custom_events (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
                                          region TEXT NOT NULL, log_seq INTEGER NOT NULL,
                                          received_s REAL NOT NULL, event BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS custom_by_log_seq ON custom_events (log_seq);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL,
                                   rule_arn TEXT NOT NULL, rule_name TEXT NOT NULL, account TEXT NOT NULL,
                                   region TEXT NOT NULL, target BLOB NOT NULL, event_id TEXT NOT NULL,
                                   event BLOB NOT NULL, body BLOB, ingested_s REAL NOT NULL,
                                   attempts INTEGER NOT NULL DEFAULT 0, next_attempt_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (lane, next_attempt_s, id);
CREATE TABLE IF NOT EXISTS matches (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_arn TEXT NOT NULL,
                                    event_id TEXT NOT NULL, time_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS matches_by_rule ON matches (rule_arn, id);
CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_arn TEXT NOT NULL,
                                     target_id TEXT NOT NULL, target_arn TEXT NOT NULL, event_id TEXT NOT NULL,
                                     error_code TEXT NOT NULL, error_message TEXT NOT NULL, time_s REAL NOT NULL,
                                     attempts INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_rule ON failures (rule_arn, id);
CREATE TABLE IF NOT EXISTS last_ids (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
