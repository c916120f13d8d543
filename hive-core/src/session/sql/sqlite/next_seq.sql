-- The first statement of a record: takes the file's write lock, and hands
-- out the next seq only while the session is open.
UPDATE hive_sessions SET last_seq = last_seq + 1
WHERE id = ? AND status = 'open'
RETURNING last_seq
