-- Delete the tasks $1, locked by this transaction, that are still expired
-- (finished before $2, or dead-lettered before $3; NULL for none) and that
-- no task needs now. This statement sees every submit that committed
-- before the locks were taken (it may have added a dependent); later
-- submits wait for the locks and then find the task gone. Their edges,
-- needs and history go with them. Answers how many of each kind.
WITH gone AS (
    DELETE FROM hive_tasks AS t
    WHERE t.id = ANY($1::uuid[])
      AND ((t.status IN ('completed', 'failed', 'cancelled') AND t.finished_at < $2)
           OR (t.status = 'dead_lettered' AND t.updated_at < $3))
      AND NOT EXISTS (
          SELECT 1 FROM hive_task_needs AS n JOIN hive_tasks AS d ON d.id = n.task_id
          WHERE n.depends_on = t.id AND d.status NOT IN ('completed', 'failed', 'cancelled'))
    RETURNING t.id, t.status
), edges_from AS (
    DELETE FROM hive_task_deps AS e USING gone WHERE e.depends_on = gone.id
), edges_to AS (
    DELETE FROM hive_task_deps AS e USING gone WHERE e.task_id = gone.id
), needed AS (
    DELETE FROM hive_task_needs AS n USING gone WHERE n.depends_on = gone.id
), needs AS (
    DELETE FROM hive_task_needs AS n USING gone WHERE n.task_id = gone.id
), history AS (
    DELETE FROM hive_task_attempts AS a USING gone WHERE a.task_id = gone.id
)
SELECT count(*) FILTER (WHERE status <> 'dead_lettered') AS finished,
    count(*) FILTER (WHERE status = 'dead_lettered') AS dead_letters
FROM gone
