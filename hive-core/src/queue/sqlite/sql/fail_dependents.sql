-- A dependency ended badly: its waiting dependents fail, naming it.
UPDATE hive_tasks SET status = 'failed', error = ?2, finished_at = ?3, updated_at = ?3
WHERE id IN (SELECT task_id FROM hive_task_deps WHERE depends_on = ?1) AND status = 'waiting'
RETURNING id
