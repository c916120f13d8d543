-- A dependency completed: its waiting dependents have one fewer to wait for.
UPDATE hive_tasks SET pending_deps = pending_deps - 1, updated_at = ?2
WHERE id IN (SELECT task_id FROM hive_task_deps WHERE depends_on = ?1) AND status = 'waiting'
