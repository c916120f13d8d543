-- The first statement of a join: locks the session's row (Postgres) or
-- takes the file's write lock (SQLite) until the join commits, and hands
-- out a position only while the session is open.
UPDATE hive_sessions SET last_position = last_position + 1
WHERE id = $1 AND status = 'open'
RETURNING last_position
