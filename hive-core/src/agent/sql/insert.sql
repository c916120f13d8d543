INSERT INTO agents (id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat)
VALUES ($1, $2, $3, $4, 'healthy', 0, $5, $6, $6)
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
