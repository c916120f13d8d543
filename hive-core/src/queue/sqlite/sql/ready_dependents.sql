-- Dependents with nothing left to wait for become ready (or delayed).
UPDATE hive_tasks
SET status = CASE WHEN run_at IS NOT NULL AND run_at > ?2 THEN 'delayed' ELSE 'pending' END,
    updated_at = ?2
WHERE id IN (SELECT task_id FROM hive_task_deps WHERE depends_on = ?1)
  AND status = 'waiting' AND pending_deps <= 0
