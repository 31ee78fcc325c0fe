-- sqlite-only
-- The storage order of the keys of a file made before the seq column: SQLite's rowid. (Every key
-- stored since has a seq; PostgreSQL databases were made after it: nothing to fill there.)
UPDATE access_keys SET seq = rowid WHERE seq IS NULL;
