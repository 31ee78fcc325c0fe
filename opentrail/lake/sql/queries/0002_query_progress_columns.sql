-- Columns added to queries after the first version. On a database that has a column already the
-- runner skips its ALTER (opentrail.state_migrate).
ALTER TABLE queries ADD COLUMN events_matched INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queries ADD COLUMN started_time REAL;
ALTER TABLE queries ADD COLUMN completion_time REAL;
ALTER TABLE queries ADD COLUMN delivery_status TEXT;
ALTER TABLE queries ADD COLUMN owner TEXT;
