-- Finish the current attempt successfully.
UPDATE hive_tasks
SET status = 'completed', result = ?4, finished_at = ?5, updated_at = ?5,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2 AND lease_token = ?3 AND status IN ('assigned', 'in_progress')
