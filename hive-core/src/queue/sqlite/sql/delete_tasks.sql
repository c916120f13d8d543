-- Delete the tasks in the JSON array ?1 (their traces: forget_*.sql).
DELETE FROM hive_tasks WHERE id IN (SELECT value FROM json_each(?1))
