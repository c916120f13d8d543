SELECT status FROM hive_tasks WHERE queue = ?1 AND id = ?2
