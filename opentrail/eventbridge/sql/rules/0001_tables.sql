-- The schema of EventBridge rules, targets, connections and API destinations, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS rules (
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    state               TEXT NOT NULL,
    event_pattern       TEXT,
    schedule_expression TEXT,
    description         TEXT,
    role_arn            TEXT,
    created_by          TEXT NOT NULL,
    since_seq           INTEGER NOT NULL,
    tags                TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS targets (
    account_id TEXT NOT NULL,
    region     TEXT NOT NULL,
    rule       TEXT NOT NULL,
    id         TEXT NOT NULL,
    position   INTEGER NOT NULL,
    arn        TEXT NOT NULL,
    target     TEXT NOT NULL,
    PRIMARY KEY (account_id, region, rule, id)
);
CREATE INDEX IF NOT EXISTS targets_by_arn ON targets (account_id, region, arn);
CREATE TABLE IF NOT EXISTS connections (
    account_id         TEXT NOT NULL,
    region             TEXT NOT NULL,
    name               TEXT NOT NULL,
    uuid               TEXT NOT NULL,
    arn                TEXT NOT NULL UNIQUE,
    authorization_type TEXT NOT NULL,
    state              TEXT NOT NULL,
    description        TEXT,
    public_parameters  TEXT NOT NULL,
    sealed_secrets     BLOB NOT NULL,
    secret_id          TEXT NOT NULL,
    creation_s         REAL NOT NULL,
    modified_s         REAL NOT NULL,
    authorized_s       REAL NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS api_destinations (
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    uuid                TEXT NOT NULL,
    arn                 TEXT NOT NULL UNIQUE,
    connection_arn      TEXT NOT NULL,
    invocation_endpoint TEXT NOT NULL,
    http_method         TEXT NOT NULL,
    rate_limit_per_s    INTEGER NOT NULL,
    description         TEXT,
    creation_s          REAL NOT NULL,
    modified_s          REAL NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS resource_tags (
    arn  TEXT PRIMARY KEY,
    tags TEXT NOT NULL
);
