-- Index only the rows each lookup needs. With one index per status group, a
-- status change touches the indexes of the two statuses involved (plus the
-- per-status counter index) instead of rewriting every index's entry.
DROP INDEX IF EXISTS hive_tasks_ready;
DROP INDEX IF EXISTS hive_tasks_due;
DROP INDEX IF EXISTS hive_tasks_leases;
-- Claim order: ready tasks by priority, then submit order.
CREATE INDEX IF NOT EXISTS hive_tasks_pending
    ON hive_tasks (queue, priority, seq) WHERE status = 'pending';
-- Due delayed tasks.
CREATE INDEX IF NOT EXISTS hive_tasks_delayed
    ON hive_tasks (queue, run_at) WHERE status = 'delayed';
-- Expiring leases and deadlines.
CREATE INDEX IF NOT EXISTS hive_tasks_leased
    ON hive_tasks (queue, lease_expires_at) WHERE status IN ('assigned', 'in_progress');
-- Statistics and dead-letter listing.
CREATE INDEX IF NOT EXISTS hive_tasks_by_status ON hive_tasks (queue, status);
-- Removing a cancelled or purged task's own edges looks them up by task.
CREATE INDEX IF NOT EXISTS hive_task_deps_by_task ON hive_task_deps (task_id);
