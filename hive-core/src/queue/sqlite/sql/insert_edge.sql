INSERT OR IGNORE INTO hive_task_deps (depends_on, task_id) VALUES (?1, ?2)
