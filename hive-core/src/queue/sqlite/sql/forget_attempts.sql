-- A deleted task's history (the tasks in the JSON array ?1) goes with it.
DELETE FROM hive_task_attempts WHERE task_id IN (SELECT value FROM json_each(?1))
