-- The schema of Insights event counts, anomalies and outbox, as released before versioned scripts:
-- IF NOT EXISTS throughout, so it is also safe on a database made then.
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
