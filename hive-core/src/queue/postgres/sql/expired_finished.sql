-- Up to $3 tasks of queue $1 that completed, failed or were cancelled
-- before $2 and that no task seems to need any more: each of their
-- dependents (if any) is completed, failed or cancelled too. Each status is
-- read oldest first from its range of `hive_tasks_settled_finished`, so the
-- (generic) plan is an index scan however many tasks the queue keeps; the
-- repeated `IN` lets the planner prove that partial index applies. Tasks
-- still needed are passed over in the scan.
WITH candidates AS (
    SELECT c.id
    FROM unnest(ARRAY['completed', 'failed', 'cancelled']) AS s(status),
    LATERAL (
        SELECT t.id FROM hive_tasks AS t
        WHERE t.queue = $1 AND t.status = s.status
          AND t.status IN ('completed', 'failed', 'cancelled') AND t.finished_at < $2
          AND NOT EXISTS (
              SELECT 1 FROM hive_task_needs AS n JOIN hive_tasks AS d ON d.id = n.task_id
              WHERE n.depends_on = t.id AND d.status NOT IN ('completed', 'failed', 'cancelled'))
        ORDER BY t.finished_at
        LIMIT $3
    ) AS c
)
SELECT id FROM candidates LIMIT $3
