-- A released attempt does not count: forget task ?1's open attempt.
DELETE FROM hive_task_attempts WHERE task_id = ?1 AND finished_at IS NULL
