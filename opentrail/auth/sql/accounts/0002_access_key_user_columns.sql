-- The IAM user of a key, its path and its storage order, added after the first release. On a
-- database that has a column already the runner skips its ALTER (opentrail.state_migrate).
ALTER TABLE access_keys ADD COLUMN user_id TEXT;
ALTER TABLE access_keys ADD COLUMN user_path TEXT NOT NULL DEFAULT '/';
ALTER TABLE access_keys ADD COLUMN seq INTEGER;
