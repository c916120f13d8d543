UPDATE hive_tasks
SET status = 'cancelled', finished_at = ?3, updated_at = ?3,
    lease_token = NULL, lease_expires_at = NULL, deadline = NULL
WHERE queue = ?1 AND id = ?2
