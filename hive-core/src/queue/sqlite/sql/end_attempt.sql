-- End task ?1's open attempt at ?2 with outcome ?3 and error ?4. A task has
-- at most one open attempt (one lease); a task nobody runs has none, and
-- nothing changes.
UPDATE hive_task_attempts
SET finished_at = ?2, outcome = ?3, error = ?4
WHERE task_id = ?1 AND finished_at IS NULL
