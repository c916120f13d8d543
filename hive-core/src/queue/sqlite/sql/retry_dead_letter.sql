-- Back to pending with a fresh attempt budget; the error that dead-lettered
-- it stays in the history only.
UPDATE hive_tasks
SET status = 'pending', attempts = 0, finished_at = NULL, run_at = NULL, error = NULL,
    updated_at = ?3
WHERE queue = ?1 AND id = ?2 AND status = 'dead_lettered'
