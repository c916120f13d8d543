INSERT INTO hive_sessions (id, name, status, state, created_at, closed_at, last_position, last_seq)
VALUES ($1, $2, 'open', $3, $4, NULL, $5, 0)
