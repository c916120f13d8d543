-- End task $1's open attempt with outcome $2 and error $3. A task has at
-- most one open attempt (one lease); a task nobody runs has none, and
-- nothing changes.
UPDATE hive_task_attempts
SET finished_at = hive_now_ms(), outcome = $2, error = $3
WHERE task_id = $1 AND finished_at IS NULL
