UPDATE agents SET status = 'unhealthy'
WHERE status = 'healthy' AND last_heartbeat < $1
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
