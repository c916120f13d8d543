-- A failed attempt with attempts left waits out its backoff.
UPDATE hive_tasks
SET status = 'delayed', run_at = ?3, error = ?4, updated_at = ?5,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2
