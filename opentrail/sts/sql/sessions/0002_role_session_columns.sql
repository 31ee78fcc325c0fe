-- The facts of an AssumeRole session, added after the first release (NULL for GetSessionToken
-- sessions). On a database that has a column already the runner skips its ALTER
-- (opentrail.state_migrate).
ALTER TABLE sts_sessions ADD COLUMN role_name TEXT;
ALTER TABLE sts_sessions ADD COLUMN role_path TEXT;
ALTER TABLE sts_sessions ADD COLUMN role_id TEXT;
ALTER TABLE sts_sessions ADD COLUMN session_name TEXT;
ALTER TABLE sts_sessions ADD COLUMN session_policy TEXT;
ALTER TABLE sts_sessions ADD COLUMN policy_arns TEXT;
ALTER TABLE sts_sessions ADD COLUMN tags TEXT;
ALTER TABLE sts_sessions ADD COLUMN transitive_tag_keys TEXT;
ALTER TABLE sts_sessions ADD COLUMN source_identity TEXT;
ALTER TABLE sts_sessions ADD COLUMN assumed_by_arn TEXT;
