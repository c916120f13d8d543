DELETE FROM hive_task_deps WHERE task_id = ?1
