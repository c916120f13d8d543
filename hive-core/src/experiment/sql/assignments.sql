-- The assignments of experiment $1, in the order they were made.
SELECT task_id, arm FROM hive_experiment_assignments WHERE experiment = $1
ORDER BY assigned_at, task_id
