-- No attempts left: park the task in the dead-letter store with error $3.
UPDATE hive_tasks
SET status = 'dead_lettered', error = $3, finished_at = hive_now_ms(),
    updated_at = hive_now_ms(), lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE id = $2 AND queue = $1
