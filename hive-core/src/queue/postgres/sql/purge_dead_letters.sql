-- Delete dead letters: those among ids $2, or all when $2 is NULL, with any
-- edge or need that still names them and their history. Answers how many
-- tasks went.
WITH gone AS (
    DELETE FROM hive_tasks
    WHERE queue = $1 AND status = 'dead_lettered' AND ($2::uuid[] IS NULL OR id = ANY($2))
    RETURNING id
), edges_from AS (
    DELETE FROM hive_task_deps AS d USING gone WHERE d.depends_on = gone.id
), edges_to AS (
    DELETE FROM hive_task_deps AS d USING gone WHERE d.task_id = gone.id
), needed AS (
    DELETE FROM hive_task_needs AS n USING gone WHERE n.depends_on = gone.id
), needs AS (
    DELETE FROM hive_task_needs AS n USING gone WHERE n.task_id = gone.id
), history AS (
    DELETE FROM hive_task_attempts AS a USING gone WHERE a.task_id = gone.id
)
SELECT count(*) FROM gone
