SELECT id, status FROM hive_tasks WHERE queue = ?1 AND idempotency_key = ?2
