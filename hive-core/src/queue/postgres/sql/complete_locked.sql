-- Finish an attempt whose row this transaction has locked and checked, and
-- its history row.
WITH done AS (
    UPDATE hive_tasks
    SET status = 'completed', result = $3, error = NULL, finished_at = hive_now_ms(),
        updated_at = hive_now_ms(), lease_token = NULL, lease_expires_at = NULL, deadline = NULL
    WHERE id = $2 AND queue = $1
    RETURNING id
)
UPDATE hive_task_attempts AS a
SET finished_at = hive_now_ms(), outcome = 'completed'
FROM done WHERE a.task_id = done.id AND a.finished_at IS NULL
