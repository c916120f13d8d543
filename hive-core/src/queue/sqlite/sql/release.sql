-- Give a leased task back at once; the attempt does not count.
UPDATE hive_tasks
SET status = 'pending', attempts = attempts - 1, updated_at = ?4,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2 AND lease_token = ?3 AND status IN ('assigned', 'in_progress')
