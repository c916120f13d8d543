-- A failed attempt with attempts left waits out its backoff until $3.
UPDATE hive_tasks
SET status = 'delayed', run_at = $3, error = $4, updated_at = hive_now_ms(),
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE id = $2 AND queue = $1
