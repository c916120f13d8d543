-- No attempts left: park the task in the dead-letter store.
UPDATE hive_tasks
SET status = 'dead_lettered', error = ?3, finished_at = ?4, updated_at = ?4,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2
