-- Up to $3 dead letters of queue $1 dead-lettered before $2, on the terms
-- of expired_finished.sql, oldest first from the dead-letter index. A dead
-- letter's `updated_at` is when it was dead-lettered: nothing changes it
-- but a retry, which makes it pending.
SELECT t.id FROM hive_tasks AS t
WHERE t.queue = $1 AND t.status = 'dead_lettered' AND t.updated_at < $2
  AND NOT EXISTS (
      SELECT 1 FROM hive_task_needs AS n JOIN hive_tasks AS d ON d.id = n.task_id
      WHERE n.depends_on = t.id AND d.status NOT IN ('completed', 'failed', 'cancelled'))
ORDER BY t.updated_at
LIMIT $3
