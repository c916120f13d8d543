DELETE FROM hive_task_deps WHERE depends_on = ?1
