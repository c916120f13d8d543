-- Deleted tasks (the JSON array ?1) need nothing and are needed by nobody.
DELETE FROM hive_task_needs
WHERE depends_on IN (SELECT value FROM json_each(?1))
   OR task_id IN (SELECT value FROM json_each(?1))
