-- Deleted tasks (the JSON array ?1) leave no waiting edge behind, either way.
DELETE FROM hive_task_deps
WHERE depends_on IN (SELECT value FROM json_each(?1))
   OR task_id IN (SELECT value FROM json_each(?1))
