-- The schema of CloudWatch Logs delivery cursors and plans, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS cursors (arn TEXT PRIMARY KEY, read_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS regions (arn TEXT NOT NULL, region TEXT NOT NULL, planned_seq INTEGER NOT NULL,
                                    PRIMARY KEY (arn, region));
CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL UNIQUE,
                                  arn TEXT NOT NULL, region TEXT NOT NULL, group_arn TEXT NOT NULL,
                                  stream TEXT NOT NULL, runs BLOB NOT NULL,
                                  count INTEGER NOT NULL, through_seq INTEGER NOT NULL);
