-- The first statement of a join: takes the file's write lock, and hands out
-- a position only while the session is open.
UPDATE hive_sessions SET last_position = last_position + 1
WHERE id = ? AND status = 'open'
RETURNING last_position
