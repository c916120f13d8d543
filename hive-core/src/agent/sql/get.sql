SELECT id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
FROM agents WHERE id = $1
