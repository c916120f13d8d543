-- Extend a live lease by its length, never past the attempt's deadline.
UPDATE hive_tasks
SET status = 'in_progress', lease_expires_at = LEAST(hive_now_ms() + lease_ms, deadline),
    updated_at = hive_now_ms()
WHERE id = $2 AND queue = $1 AND lease_token = $3
  AND status IN ('assigned', 'in_progress') AND deadline > hive_now_ms()
RETURNING lease_expires_at
