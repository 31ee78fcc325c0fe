-- The schema of CloudWatch metrics and their data points (metrics.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dims TEXT NOT NULL,
    last_put_s REAL NOT NULL,
    UNIQUE (account, region, namespace, name, dims)
);
CREATE TABLE IF NOT EXISTS points (
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    unit TEXT NOT NULL,
    res INTEGER NOT NULL,
    n REAL NOT NULL,
    total REAL NOT NULL,
    lo REAL NOT NULL,
    hi REAL NOT NULL,
    dist BLOB,
    PRIMARY KEY (metric_id, ts, unit, res)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_res_ts ON points (res, ts);
