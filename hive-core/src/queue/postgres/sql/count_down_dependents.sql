-- Task $2 of queue $1 completed: each task waiting on it has one dependency
-- fewer, and those with none left become pending (or delayed, until their
-- run_at). The edges from $2 go. Wakes workers when any became pending.
WITH gone AS (
    DELETE FROM hive_task_deps WHERE depends_on = $2 RETURNING task_id
), counted AS (
    UPDATE hive_tasks AS t
    SET pending_deps = t.pending_deps - 1,
        status = CASE
            WHEN t.pending_deps > 1 THEN 'waiting'
            WHEN t.run_at > hive_now_ms() THEN 'delayed'
            ELSE 'pending'
        END,
        updated_at = hive_now_ms()
    FROM gone WHERE t.id = gone.task_id AND t.status = 'waiting'
    RETURNING t.status
)
SELECT hive_wake($1, count(*) FILTER (WHERE status = 'pending')) FROM counted
