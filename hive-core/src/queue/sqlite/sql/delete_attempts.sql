-- A purged task's history goes with it.
DELETE FROM hive_task_attempts WHERE task_id = ?1
