-- Task $2's attempts, oldest first, if it is a task of queue $1.
SELECT attempt, worker, started_at, finished_at, outcome, error
FROM hive_task_attempts
WHERE task_id = $2 AND EXISTS (SELECT 1 FROM hive_tasks WHERE id = $2 AND queue = $1)
ORDER BY seq
