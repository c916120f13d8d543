-- Up to $2 leases that ran out without a heartbeat, locked for this reaper.
SELECT id, attempts, max_attempts, worker, has_dependents, hive_now_ms() AS now
FROM hive_tasks
WHERE queue = $1 AND status IN ('assigned', 'in_progress') AND lease_expires_at <= hive_now_ms()
ORDER BY lease_expires_at
LIMIT $2
FOR NO KEY UPDATE SKIP LOCKED
