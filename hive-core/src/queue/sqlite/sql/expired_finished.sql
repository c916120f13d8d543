-- Up to ?3 tasks of queue ?1 that completed, failed or were cancelled before
-- ?2 and that no task needs any more: each of their dependents (if any) is
-- completed, failed or cancelled too (rules::PurgeCutoffs says why).
SELECT t.id FROM hive_tasks AS t
WHERE t.queue = ?1 AND t.status IN ('completed', 'failed', 'cancelled') AND t.finished_at < ?2
  AND NOT EXISTS (
      SELECT 1 FROM hive_task_needs AS n JOIN hive_tasks AS d ON d.id = n.task_id
      WHERE n.depends_on = t.id AND d.status NOT IN ('completed', 'failed', 'cancelled'))
LIMIT ?3
