-- Delayed tasks whose time has come become pending.
UPDATE hive_tasks SET status = 'pending', updated_at = ?2
WHERE queue = ?1 AND status = 'delayed' AND run_at <= ?2
