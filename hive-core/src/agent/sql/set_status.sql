-- Dead and stopped are final: only the same status is allowed from them.
UPDATE agents SET status = $1
WHERE id = $2 AND (status IN ('healthy', 'unhealthy') OR status = $1)
RETURNING id, name, kind, capabilities, status, load, metadata, created_at, last_heartbeat
