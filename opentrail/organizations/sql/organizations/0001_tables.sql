-- The schema of Organizations and their member accounts, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS organizations (
    id    TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    account_id      TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL
);
