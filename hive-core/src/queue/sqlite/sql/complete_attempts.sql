-- End the open attempts of the tasks in the JSON array ?1 as completed at ?2.
UPDATE hive_task_attempts
SET finished_at = ?2, outcome = 'completed'
WHERE task_id IN (SELECT value FROM json_each(?1)) AND finished_at IS NULL
