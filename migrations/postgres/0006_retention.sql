-- Task retention (`Queue::purge_expired`).
--
-- Every dependency of every stored task, kept as long as the dependent
-- exists: `hive_task_deps` only holds the edges a waiting task still waits
-- for, and loses them when the dependency finishes, but a finished task
-- must be kept while a dependent that has not finished may read its
-- result. Rows go when either task is purged. Written by the submits that
-- have dependencies, which already run in a transaction; never on the hot
-- path of plain tasks.
CREATE TABLE IF NOT EXISTS hive_task_needs (
    depends_on UUID NOT NULL,
    task_id    UUID NOT NULL,
    CONSTRAINT hive_task_needs_pkey PRIMARY KEY (depends_on, task_id)
);
-- Purging a task deletes its own rows, found by task.
CREATE INDEX IF NOT EXISTS hive_task_needs_task ON hive_task_needs (task_id);
-- The tasks stored before this migration.
INSERT INTO hive_task_needs (depends_on, task_id)
SELECT DISTINCT unnest(dependencies), id FROM hive_tasks WHERE cardinality(dependencies) > 0
ON CONFLICT DO NOTHING;

-- The settled statuses' index gains the finish time, so a purge reads the
-- expired tasks of a status as one range instead of every finished task of
-- the queue. Same predicate, same entries: a status change already rewrites
-- them, and `finished_at` changes only with the status.
CREATE INDEX IF NOT EXISTS hive_tasks_settled_finished
    ON hive_tasks (queue, status, finished_at)
    WHERE status IN ('waiting', 'completed', 'failed', 'cancelled');
DROP INDEX IF EXISTS hive_tasks_settled;
