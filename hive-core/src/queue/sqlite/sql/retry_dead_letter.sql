UPDATE hive_tasks
SET status = 'pending', attempts = 0, finished_at = NULL, run_at = NULL, updated_at = ?3
WHERE queue = ?1 AND id = ?2 AND status = 'dead_lettered'
