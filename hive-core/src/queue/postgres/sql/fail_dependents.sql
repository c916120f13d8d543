-- Task $1 ended badly: the tasks waiting on it fail with error $2, and its
-- edges go. Returns the failed tasks that have dependents of their own, to
-- fail those in turn.
WITH gone AS (
    DELETE FROM hive_task_deps WHERE depends_on = $1 RETURNING task_id
)
UPDATE hive_tasks AS t
SET status = 'failed', error = $2, finished_at = hive_now_ms(), updated_at = hive_now_ms()
FROM gone WHERE t.id = gone.task_id AND t.status = 'waiting'
RETURNING t.id, t.has_dependents
