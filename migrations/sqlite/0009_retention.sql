-- Task retention (`Queue::purge_expired`).
--
-- Every dependency of every stored task, kept as long as the dependent
-- exists: `hive_task_deps` only holds the edges a waiting task still waits
-- for, and loses them when the dependency finishes, but a finished task
-- must be kept while a dependent that has not finished may read its
-- result. Rows go when either task is purged.
CREATE TABLE IF NOT EXISTS hive_task_needs (
    depends_on TEXT NOT NULL,
    task_id    TEXT NOT NULL,
    PRIMARY KEY (depends_on, task_id)
) WITHOUT ROWID;
-- Purging a task deletes its own rows, found by task.
CREATE INDEX IF NOT EXISTS hive_task_needs_by_task ON hive_task_needs (task_id);
-- The tasks stored before this migration.
INSERT OR IGNORE INTO hive_task_needs (depends_on, task_id)
SELECT d.value, t.id FROM hive_tasks AS t, json_each(t.dependencies) AS d
WHERE t.dependencies <> '[]';

-- The per-status index gains the finish time, so a purge reads the expired
-- tasks of a status as one range. A status change already rewrites the
-- entry, and `finished_at` changes only with the status: no extra writes.
CREATE INDEX IF NOT EXISTS hive_tasks_by_status_finished
    ON hive_tasks (queue, status, finished_at);
DROP INDEX IF EXISTS hive_tasks_by_status;
