-- The schema of Lake dashboards and their refreshes, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS dashboards (
    account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc BLOB NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS dashboard_refreshes (
    refresh_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    created REAL NOT NULL, slot REAL, status TEXT NOT NULL, queries TEXT NOT NULL DEFAULT '{}',
    parameter_values TEXT NOT NULL DEFAULT '{}', failure TEXT,
    UNIQUE (account_id, region, name, slot)
);
CREATE INDEX IF NOT EXISTS dashboard_refreshes_by_dashboard ON dashboard_refreshes (account_id, region, name, created);
