INSERT INTO agents (id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat)
VALUES (?, ?, ?, ?, 'healthy', 0, ?, ?, ?)
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
