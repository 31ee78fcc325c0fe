-- The schema of CloudWatch alarms, their history, tags and actions (alarms.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS alarms (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, alarm_name TEXT NOT NULL,
    alarm_type TEXT NOT NULL, ts REAL NOT NULL, item_type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_time ON history (account, region, ts);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, alarm_name TEXT NOT NULL,
    target TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL, state_change_s REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_s REAL NOT NULL, created_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, time_s REAL NOT NULL, event TEXT NOT NULL
);
