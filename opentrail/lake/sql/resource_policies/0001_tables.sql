-- The schema of resource-based policies of Lake resources (lake.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS resource_policies (arn TEXT PRIMARY KEY, policy TEXT NOT NULL);
