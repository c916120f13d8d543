-- A task that will not run any more stops waiting on its dependencies.
DELETE FROM hive_task_deps WHERE task_id = $1
