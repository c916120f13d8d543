-- Give a leased task back at once; the attempt does not count, so its
-- history row goes. Answers how many tasks were released (0 or 1) and wakes
-- workers when one was.
WITH released AS (
    UPDATE hive_tasks
    SET status = 'pending', attempts = attempts - 1, updated_at = hive_now_ms(),
        lease_token = NULL, lease_expires_at = NULL, deadline = NULL
    WHERE id = $2 AND queue = $1 AND lease_token = $3 AND status IN ('assigned', 'in_progress')
    RETURNING id
), forgotten AS (
    DELETE FROM hive_task_attempts AS a
    USING released WHERE a.task_id = released.id AND a.finished_at IS NULL
)
SELECT hive_wake($1, count(*)) FROM released
