-- Finish an attempt whose row this transaction has locked and checked.
UPDATE hive_tasks
SET status = 'completed', result = $3, finished_at = hive_now_ms(), updated_at = hive_now_ms(),
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE id = $2 AND queue = $1
