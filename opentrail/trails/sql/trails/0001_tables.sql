-- The schema of trail configurations (trails.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS trails (
    account_id  TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name        TEXT NOT NULL,
    doc         BLOB NOT NULL,
    PRIMARY KEY (account_id, home_region, name)
);
