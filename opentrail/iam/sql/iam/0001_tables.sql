-- The schema of IAM users, groups, roles, policies and their attachments (iam.db), as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
CREATE TABLE IF NOT EXISTS entities (
    id            TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    path          TEXT NOT NULL,
    created       REAL NOT NULL,
    description   TEXT,
    trust_policy  TEXT,
    max_session   INTEGER,
    boundary_arn  TEXT,
    UNIQUE (account_id, kind, name_key)
);
CREATE TABLE IF NOT EXISTS tags (
    owner_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (owner_id, key)
);
CREATE TABLE IF NOT EXISTS inline_policies (
    owner_id TEXT NOT NULL,
    name     TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (owner_id, name)
);
CREATE TABLE IF NOT EXISTS attachments (
    owner_id   TEXT NOT NULL,
    account_id TEXT NOT NULL,
    policy_arn TEXT NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (owner_id, policy_arn)
);
CREATE TABLE IF NOT EXISTS members (
    group_id TEXT NOT NULL,
    user_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE TABLE IF NOT EXISTS login_profiles (
    user_id        TEXT PRIMARY KEY,
    password_hash  TEXT NOT NULL,
    created        REAL NOT NULL,
    reset_required INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS policies (
    arn             TEXT PRIMARY KEY,
    id              TEXT NOT NULL,
    account_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    path            TEXT NOT NULL,
    description     TEXT,
    created         REAL NOT NULL,
    updated         REAL NOT NULL,
    default_version TEXT NOT NULL,
    next_version    INTEGER NOT NULL,
    UNIQUE (account_id, name_key)
);
CREATE TABLE IF NOT EXISTS policy_versions (
    arn        TEXT NOT NULL,
    version_id TEXT NOT NULL,
    number     INTEGER NOT NULL,
    document   TEXT NOT NULL,
    created    REAL NOT NULL,
    PRIMARY KEY (arn, version_id)
);
