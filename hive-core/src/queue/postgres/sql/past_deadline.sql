-- Up to $2 attempts that ran past their hard deadline, locked for this
-- reaper; rows
-- another reaper (or a completing worker) holds are left to it. A lease
-- never outlives its deadline, so the lease index finds these too.
SELECT id, attempts, max_attempts, timeout_ms, has_dependents, hive_now_ms() AS now
FROM hive_tasks
WHERE queue = $1 AND status IN ('assigned', 'in_progress')
  AND lease_expires_at <= hive_now_ms() AND deadline <= hive_now_ms()
ORDER BY lease_expires_at
LIMIT $2
FOR NO KEY UPDATE SKIP LOCKED
