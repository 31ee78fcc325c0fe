-- The schema of S3 delivery marks, cursors and plans (delivery.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS marks (id INTEGER PRIMARY KEY, arn TEXT NOT NULL, seq INTEGER NOT NULL,
                                  logging INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS marks_arn ON marks (arn, seq, id);
CREATE TABLE IF NOT EXISTS log_group_marks (id INTEGER PRIMARY KEY, arn TEXT NOT NULL, seq INTEGER NOT NULL,
                                            group_arn TEXT);
CREATE INDEX IF NOT EXISTS log_group_marks_arn ON log_group_marks (arn, seq, id);
CREATE TABLE IF NOT EXISTS trails (arn TEXT PRIMARY KEY, read_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS regions (arn TEXT NOT NULL, region TEXT NOT NULL, planned_seq INTEGER NOT NULL,
                                    delivered_seq INTEGER NOT NULL, PRIMARY KEY (arn, region));
CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY, arn TEXT NOT NULL, region TEXT NOT NULL,
                                  bucket TEXT NOT NULL, key TEXT NOT NULL, runs BLOB NOT NULL,
                                  count INTEGER NOT NULL, through_seq INTEGER NOT NULL, sns_topic_arn TEXT);
