-- The first statement of a record: locks the session's row (Postgres) or
-- takes the file's write lock (SQLite) until the entry commits (concurrent
-- records of the session wait here, so seqs come out gap-free), and hands
-- out the next seq only while the session is open.
UPDATE hive_sessions SET last_seq = last_seq + 1
WHERE id = $1 AND status = 'open'
RETURNING last_seq
