SELECT status, COUNT(*) FROM hive_tasks WHERE queue = ?1 GROUP BY status
