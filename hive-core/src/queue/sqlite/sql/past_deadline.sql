-- Attempts that ran past their hard deadline.
SELECT id, attempts, max_attempts, timeout_ms FROM hive_tasks
WHERE queue = ?1 AND status IN ('assigned', 'in_progress') AND deadline <= ?2
LIMIT 1000
