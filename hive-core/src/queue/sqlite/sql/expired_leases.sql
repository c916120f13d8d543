-- Leases that ran out without a heartbeat.
SELECT id, attempts, max_attempts, worker FROM hive_tasks
WHERE queue = ?1 AND status IN ('assigned', 'in_progress') AND lease_expires_at <= ?2
LIMIT 1000
