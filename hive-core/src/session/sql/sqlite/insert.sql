INSERT INTO hive_sessions (id, name, status, state, created_at, closed_at, last_position, last_seq)
VALUES (?, ?, 'open', ?, ?, NULL, ?, 0)
