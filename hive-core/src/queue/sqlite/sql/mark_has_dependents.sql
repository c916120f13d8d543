-- Completing this task must now unblock dependents.
UPDATE hive_tasks SET has_dependents = 1 WHERE id = ?1 AND has_dependents = 0
