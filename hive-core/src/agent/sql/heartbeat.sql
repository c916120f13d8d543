-- Only a live agent beats; a dead or stopped one must register again.
UPDATE agents SET last_heartbeat = $1, load = $2, status = 'healthy'
WHERE id = $3 AND status IN ('healthy', 'unhealthy')
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
