-- Extend a live lease by its length, never past the attempt's deadline.
UPDATE hive_tasks
SET status = 'in_progress', lease_expires_at = MIN(?4 + lease_ms, deadline), updated_at = ?4
WHERE queue = ?1 AND id = ?2 AND lease_token = ?3
  AND status IN ('assigned', 'in_progress') AND deadline > ?4
RETURNING lease_expires_at
