"""The state stores' DDL as commit 3e74231 (before versioned schema scripts) ran it at open,
captured with ``git show 3e74231:<file>``: databases made with it must open with the new code
(tests/test_state_migrate.py). Frozen: never edit to follow the scripts."""

#: component -> (database file under the data directory, the DDL run with executescript at open)
OLD_DDL: dict[str, tuple[str, str]] = {
    'leases': ('leases.db', """
CREATE TABLE IF NOT EXISTS leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    token INTEGER NOT NULL,
    expires_at REAL NOT NULL,
    acquired_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS nodes (
    node_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""),
    'shared_secrets': ('secrets.db', """CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL, created INTEGER NOT NULL)"""),
    'trails/trails': ('trails.db', """
CREATE TABLE IF NOT EXISTS trails (
    account_id  TEXT NOT NULL,
    home_region TEXT NOT NULL,
    name        TEXT NOT NULL,
    doc         BLOB NOT NULL,
    PRIMARY KEY (account_id, home_region, name)
)
"""),
    'monitoring/metrics': ('metrics.db', """
CREATE TABLE IF NOT EXISTS metrics (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    region TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dims TEXT NOT NULL,
    last_put_s REAL NOT NULL,
    UNIQUE (account, region, namespace, name, dims)
);
CREATE TABLE IF NOT EXISTS points (
    metric_id INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    unit TEXT NOT NULL,
    res INTEGER NOT NULL,
    n REAL NOT NULL,
    total REAL NOT NULL,
    lo REAL NOT NULL,
    hi REAL NOT NULL,
    dist BLOB,
    PRIMARY KEY (metric_id, ts, unit, res)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS points_res_ts ON points (res, ts);
"""),
    'monitoring/alarms': ('alarms.db', """
CREATE TABLE IF NOT EXISTS alarms (
    account TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (account, region, name)
);
CREATE TABLE IF NOT EXISTS history (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, alarm_name TEXT NOT NULL,
    alarm_type TEXT NOT NULL, ts REAL NOT NULL, item_type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_time ON history (account, region, ts);
CREATE TABLE IF NOT EXISTS tags (
    arn TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (arn, key)
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, alarm_name TEXT NOT NULL,
    target TEXT NOT NULL, subject TEXT NOT NULL, message TEXT NOT NULL, state_change_s REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_s REAL NOT NULL, created_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, account TEXT NOT NULL, region TEXT NOT NULL, time_s REAL NOT NULL, event TEXT NOT NULL
);
"""),
    'monitoring/logs': ('logs.db', """
CREATE TABLE IF NOT EXISTS log_groups (
    id                  INTEGER PRIMARY KEY,
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    creation_ms         INTEGER NOT NULL,
    retention_days      INTEGER,
    kms_key_id          TEXT,
    log_group_class     TEXT NOT NULL,
    deletion_protection INTEGER NOT NULL DEFAULT 0,
    stored_bytes        INTEGER NOT NULL DEFAULT 0,
    tags                TEXT NOT NULL DEFAULT '{}',
    UNIQUE (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS log_streams (
    id                INTEGER PRIMARY KEY,
    group_id          INTEGER NOT NULL,
    name              TEXT NOT NULL,
    creation_ms       INTEGER NOT NULL,
    first_event_ms    INTEGER,
    last_event_ms     INTEGER,
    last_ingestion_ms INTEGER,
    upload_sequence   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (group_id, name)
);
CREATE TABLE IF NOT EXISTS log_events (
    id           INTEGER PRIMARY KEY,
    group_id     INTEGER NOT NULL,
    stream_id    INTEGER NOT NULL,
    ts           INTEGER NOT NULL,
    ingestion_ms INTEGER NOT NULL,
    message      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_events_by_group ON log_events (group_id, ts);
CREATE INDEX IF NOT EXISTS log_events_by_stream ON log_events (stream_id, ts);
CREATE TABLE IF NOT EXISTS appended_batches (
    batch_id  TEXT PRIMARY KEY,
    stream_id INTEGER NOT NULL,
    sequence  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS appended_batches_by_stream ON appended_batches (stream_id, sequence);
CREATE TABLE IF NOT EXISTS filters_version (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS metric_filters (
    group_id       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    pattern        TEXT NOT NULL,
    transformation TEXT NOT NULL,
    extra          TEXT NOT NULL DEFAULT '{}',
    creation_ms    INTEGER NOT NULL,
    PRIMARY KEY (group_id, name)
);
"""),
    'auth/accounts': ('accounts.db', """
CREATE TABLE IF NOT EXISTS accounts (
    account_id TEXT PRIMARY KEY,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_keys (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_name TEXT,
    secret_access_key TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'Active',
    created_at TEXT NOT NULL,
    user_id TEXT,
    user_path TEXT NOT NULL DEFAULT '/',
    seq INTEGER
);
"""),
    'sts/sessions': ('accounts.db', """
CREATE TABLE IF NOT EXISTS sts_sessions (
    access_key_id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    user_name TEXT,
    parent_access_key_id TEXT NOT NULL,
    token_sha256 BLOB NOT NULL,
    sealed_secret BLOB NOT NULL,
    created_s REAL NOT NULL,
    expires_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sts_sessions_expiry ON sts_sessions (expires_s);
"""),
    'delivery/delivery': ('delivery.db', """
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
"""),
    'delivery/cloudwatch_logs': ('cloudwatch-logs.db', """
CREATE TABLE IF NOT EXISTS cursors (arn TEXT PRIMARY KEY, read_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS regions (arn TEXT NOT NULL, region TEXT NOT NULL, planned_seq INTEGER NOT NULL,
                                    PRIMARY KEY (arn, region));
CREATE TABLE IF NOT EXISTS plans (id INTEGER PRIMARY KEY AUTOINCREMENT, batch_id TEXT NOT NULL UNIQUE,
                                  arn TEXT NOT NULL, region TEXT NOT NULL, group_arn TEXT NOT NULL,
                                  stream TEXT NOT NULL, runs BLOB NOT NULL,
                                  count INTEGER NOT NULL, through_seq INTEGER NOT NULL);
"""),
    'lake/dashboards': ('lake.db', """
CREATE TABLE IF NOT EXISTS dashboards (
    account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, doc BLOB NOT NULL,
    PRIMARY KEY (account_id, region, name)
);
CREATE TABLE IF NOT EXISTS dashboard_refreshes (
    refresh_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    created REAL NOT NULL, slot REAL, status TEXT NOT NULL, queries TEXT NOT NULL DEFAULT '{}',
    parameter_values TEXT NOT NULL DEFAULT '{}', failure TEXT,
    UNIQUE (account_id, region, name, slot)
);
CREATE INDEX IF NOT EXISTS dashboard_refreshes_by_dashboard ON dashboard_refreshes (account_id, region, name, created);
"""),
    'lake/queries': ('lake-results/queries.db', """
CREATE TABLE IF NOT EXISTS queries (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, statement TEXT NOT NULL,
    store_ids TEXT NOT NULL, status TEXT NOT NULL, error TEXT, creation_time REAL NOT NULL,
    delivery_s3_uri TEXT, column_names TEXT, events_scanned INTEGER NOT NULL DEFAULT 0,
    bytes_scanned INTEGER NOT NULL DEFAULT 0, execution_ms INTEGER NOT NULL DEFAULT 0,
    results_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS queries_account ON queries (account_id, creation_time);
CREATE TABLE IF NOT EXISTS query_nodes (node_id TEXT PRIMARY KEY, seen REAL NOT NULL);
CREATE TABLE IF NOT EXISTS result_pages (
    query_id TEXT NOT NULL, page INTEGER NOT NULL, rows BLOB NOT NULL, PRIMARY KEY (query_id, page)
);
"""),
    'lake/event_data_stores': ('lake.db', """
CREATE TABLE IF NOT EXISTS event_data_stores (
    id   TEXT PRIMARY KEY,
    doc  BLOB NOT NULL
)
"""),
    'lake/ingestion_status': ('lake-channel-status.db', """CREATE TABLE IF NOT EXISTS ingestion_status (
    channel_id TEXT PRIMARY KEY,
    attempt_ms INTEGER, attempt_event_id TEXT,
    success_ms INTEGER, success_event_id TEXT,
    error_ms INTEGER, error_code TEXT)"""),
    'lake/resource_policies': ('lake.db', """CREATE TABLE IF NOT EXISTS resource_policies (arn TEXT PRIMARY KEY, policy TEXT NOT NULL)"""),
    'lake/channels': ('lake.db', """CREATE TABLE IF NOT EXISTS channels (id TEXT PRIMARY KEY, doc BLOB NOT NULL)"""),
    'digests/digests': ('digests.db', """
CREATE TABLE IF NOT EXISTS chains (
    arn TEXT NOT NULL, region TEXT NOT NULL, kind TEXT NOT NULL, active INTEGER NOT NULL,
    start_time INTEGER NOT NULL, closing_at INTEGER, close_reason TEXT,
    prev_bucket TEXT, prev_key TEXT, prev_hash TEXT, prev_signature TEXT, prev_end INTEGER,
    account_id TEXT NOT NULL, trail_name TEXT NOT NULL, home_region TEXT NOT NULL,
    bucket TEXT NOT NULL, prefix TEXT,
    PRIMARY KEY (arn, region, kind));
CREATE TABLE IF NOT EXISTS files (
    bucket TEXT NOT NULL, key TEXT NOT NULL, arn TEXT NOT NULL, region TEXT NOT NULL, hash TEXT NOT NULL,
    newest INTEGER, oldest INTEGER, delivered_at INTEGER NOT NULL, digest_id INTEGER,
    PRIMARY KEY (bucket, key));
CREATE INDEX IF NOT EXISTS files_undigested ON files (arn, region, delivered_at) WHERE digest_id IS NULL;
CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY, arn TEXT NOT NULL, region TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL,
    body BLOB NOT NULL, metadata TEXT NOT NULL, end_time INTEGER NOT NULL, uploaded INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS digests_pending ON digests (uploaded, id);
"""),
    'eventbridge/bus': ('eventbridge-bus.db', """
CREATE TABLE IF NOT EXISTS cursors (rule_arn TEXT NOT NULL, source TEXT NOT NULL, seq INTEGER NOT NULL,
                                    PRIMARY KEY (rule_arn, source));
CREATE TABLE IF NOT EXISTS starts (rule_arn TEXT PRIMARY KEY, since_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS heads (source TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS custom_events (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL,
                                          region TEXT NOT NULL, log_seq INTEGER NOT NULL,
                                          received_s REAL NOT NULL, event BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS custom_by_log_seq ON custom_events (log_seq);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT, lane TEXT NOT NULL,
                                   rule_arn TEXT NOT NULL, rule_name TEXT NOT NULL, account TEXT NOT NULL,
                                   region TEXT NOT NULL, target BLOB NOT NULL, event_id TEXT NOT NULL,
                                   event BLOB NOT NULL, body BLOB, ingested_s REAL NOT NULL,
                                   attempts INTEGER NOT NULL DEFAULT 0, next_attempt_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (lane, next_attempt_s, id);
CREATE TABLE IF NOT EXISTS matches (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_arn TEXT NOT NULL,
                                    event_id TEXT NOT NULL, time_s REAL NOT NULL);
CREATE INDEX IF NOT EXISTS matches_by_rule ON matches (rule_arn, id);
CREATE TABLE IF NOT EXISTS failures (id INTEGER PRIMARY KEY AUTOINCREMENT, rule_arn TEXT NOT NULL,
                                     target_id TEXT NOT NULL, target_arn TEXT NOT NULL, event_id TEXT NOT NULL,
                                     error_code TEXT NOT NULL, error_message TEXT NOT NULL, time_s REAL NOT NULL,
                                     attempts INTEGER NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_rule ON failures (rule_arn, id);
CREATE TABLE IF NOT EXISTS last_ids (name TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""),
    'eventbridge/rules': ('eventbridge.db', """
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
"""),
    'iam/iam': ('iam.db', """
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
"""),
    'organizations/organizations': ('organizations.db', """
CREATE TABLE IF NOT EXISTS organizations (
    id    TEXT PRIMARY KEY,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS members (
    account_id      TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL
);
"""),
    'insights/counts': ('insights.db', """
CREATE TABLE IF NOT EXISTS series (
  id INTEGER PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, category TEXT NOT NULL,
  event_source TEXT NOT NULL, event_name TEXT NOT NULL, insight_type TEXT NOT NULL, error_code TEXT NOT NULL,
  newest INTEGER NOT NULL, dirty_from INTEGER, changed_at REAL NOT NULL DEFAULT 0, analysed_until INTEGER,
  open_start INTEGER, kept_from INTEGER,
  UNIQUE (account_id, region, category, event_source, event_name, insight_type, error_code));
CREATE TABLE IF NOT EXISTS m1 (series INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (series, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS m5 (series INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (series, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS h1 (series INTEGER NOT NULL, minute INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (series, minute)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attr (series INTEGER NOT NULL, minute INTEGER NOT NULL, attribute INTEGER NOT NULL,
  value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (series, minute, attribute, value)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS regions (account_id TEXT NOT NULL, region TEXT NOT NULL, first_minute INTEGER NOT NULL,
  PRIMARY KEY (account_id, region)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anomalies (series INTEGER NOT NULL, start INTEGER NOT NULL, end_minute INTEGER,
  PRIMARY KEY (series, start)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (event_id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL,
  event_time INTEGER NOT NULL, event_name TEXT NOT NULL, event_source TEXT NOT NULL, record BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
"""),
    'lake/ingest': ('lake/ingest.db', """CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);CREATE TABLE IF NOT EXISTS stores (eds_id TEXT PRIMARY KEY, start_seq INTEGER NOT NULL);"""),
    'lake/imports': ('lake-imports.db', """CREATE TABLE IF NOT EXISTS imports (id TEXT PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, destination TEXT NOT NULL, eds_id TEXT NOT NULL, s3_uri TEXT NOT NULL, bucket_region TEXT NOT NULL, role_arn TEXT NOT NULL, start_time REAL, end_time REAL, status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, prefixes_found INTEGER NOT NULL DEFAULT 0, prefixes_completed INTEGER NOT NULL DEFAULT 0, files_completed INTEGER NOT NULL DEFAULT 0, events_completed INTEGER NOT NULL DEFAULT 0, next_file INTEGER NOT NULL DEFAULT 0);CREATE TABLE IF NOT EXISTS files (import_id TEXT NOT NULL, key TEXT NOT NULL, status TEXT NOT NULL, error_type TEXT, error_message TEXT, updated REAL NOT NULL, PRIMARY KEY (import_id, key));"""),
}

#: component -> the ALTER TABLE ... ADD COLUMN statements it ran at open when a column was missing
OLD_ADDED_COLUMNS: dict[str, list[str]] = {
    'auth/accounts': [
        'ALTER TABLE access_keys ADD COLUMN user_id TEXT',
        "ALTER TABLE access_keys ADD COLUMN user_path TEXT NOT NULL DEFAULT '/'",
        'ALTER TABLE access_keys ADD COLUMN seq INTEGER',
    ],
    'sts/sessions': [
        'ALTER TABLE sts_sessions ADD COLUMN role_name TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN role_path TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN role_id TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN session_name TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN session_policy TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN policy_arns TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN tags TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN transitive_tag_keys TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN source_identity TEXT',
        'ALTER TABLE sts_sessions ADD COLUMN assumed_by_arn TEXT',
    ],
    'lake/queries': [
        'ALTER TABLE queries ADD COLUMN events_matched INTEGER NOT NULL DEFAULT 0',
        'ALTER TABLE queries ADD COLUMN started_time REAL',
        'ALTER TABLE queries ADD COLUMN completion_time REAL',
        'ALTER TABLE queries ADD COLUMN delivery_status TEXT',
        'ALTER TABLE queries ADD COLUMN owner TEXT',
    ],
}

#: accounts.db of a release before user_id, user_path and seq (access_keys without them)
ACCOUNTS_BEFORE_SEQ = """
CREATE TABLE accounts (account_id TEXT PRIMARY KEY, is_admin INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL);
CREATE TABLE access_keys (access_key_id TEXT PRIMARY KEY, account_id TEXT NOT NULL REFERENCES accounts(account_id),
    user_name TEXT, secret_access_key TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'Active', created_at TEXT NOT NULL);
"""
