-- A lease ran out with attempts left: hand the task out again.
UPDATE hive_tasks
SET status = 'pending', error = ?3, updated_at = ?4,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2
