UPDATE agents SET status = 'dead'
WHERE status IN ('healthy', 'unhealthy') AND last_heartbeat < $1
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
