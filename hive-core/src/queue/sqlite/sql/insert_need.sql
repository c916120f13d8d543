-- Task ?2 lists task ?1 among its dependencies (see hive_task_needs).
INSERT OR IGNORE INTO hive_task_needs (depends_on, task_id) VALUES (?1, ?2)
